/** Sync health of every node, as the gateway has seen it. */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

/**
 * Online means linked now: this instance holds an open sync request from the node (its live pull
 * waits in a longpoll between changes), or the node was heard from within this window (between
 * two requests, or through another hub instance). Last seen is reported beside it.
 */
const ONLINE_WINDOW_MS = 60_000;

function seqNumber(seq: string | number | null | undefined): number | null {
  if (seq === null || seq === undefined) return null;
  const n = parseInt(String(seq), 10);
  return Number.isFinite(n) ? n : null;
}

export function nodesApi(ctx: HubContext) {
  const app = new Hono();
  serve(app, '/api/v1/nodes')(R.nodes, async (c) => {
    const nodes = await ctx.registry.list();
    const out = await Promise.all(
      nodes.map(async (n) => {
        const s = await ctx.stats.load(n.id);
        const info = await ctx.couch.dbInfo(n.db).catch(() => null);
        const head = seqNumber(info?.update_seq as string | number | undefined);
        const pulled = seqNumber(s.lastPullSeq);
        return {
          id: n.id,
          db: n.db,
          online: s.openConnections > 0 || (s.lastSeen !== null && Date.now() - Date.parse(s.lastSeen) < ONLINE_WINDOW_MS),
          linked: s.openConnections > 0,
          lastSeen: s.lastSeen,
          lastCheckpoint: s.lastCheckpoint,
          lastUploadAt: s.lastUploadAt,
          docsUploaded: s.docsUploaded,
          /**
           * Changes in the node's database it has not pulled yet (approximate on a cluster); none
           * while its live pull waits here (the node's own uploads move the sequence on, never come down).
           */
          pending: s.pullsWaiting > 0 ? 0 : head !== null && pulled !== null ? Math.max(0, head - pulled) : head,
          docCount: info?.doc_count ?? null,
          openConnections: s.openConnections,
          errorCount: s.errorCount,
          errors: s.errors.slice(0, 5),
        };
      }),
    );
    return c.json(out);
  });
  return app;
}
