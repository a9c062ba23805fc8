/** Sync health of every node, as the gateway has seen it. */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { isOnline, pendingChanges } from '../nodehealth.js';
import { serve } from '../../shared/openapi.js';
import { mapLimit } from '../../shared/collections.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

/** Node databases read at once for one answer. */
const NODE_INFO_CONCURRENCY = 16;

/**
 * Every registered node with what the gateway counted and its database's info (null when it cannot
 * be read): a few databases at a time, for a chain has thousands of stores. Read for this list and
 * for the metrics.
 */
export async function readNodeStats(ctx: HubContext) {
  const nodes = await ctx.registry.list();
  return mapLimit(nodes, NODE_INFO_CONCURRENCY, async (n) => ({
    node: n,
    stat: await ctx.stats.load(n.id),
    info: await ctx.couch.dbInfo(n.db).catch(() => null),
  }));
}

export function nodesApi(ctx: HubContext) {
  const app = new Hono();
  serve(app, '/api/v1/nodes')(R.nodes, async (c) => {
    const out = (await readNodeStats(ctx)).map(({ node: n, stat: s, info }) => ({
      id: n.id,
      db: n.db,
      online: isOnline({ openConnections: s.openConnections, lastSeenMs: s.lastSeen ? Date.parse(s.lastSeen) : null }, Date.now()),
      linked: s.openConnections > 0,
      lastSeen: s.lastSeen,
      lastCheckpoint: s.lastCheckpoint,
      lastUploadAt: s.lastUploadAt,
      docsUploaded: s.docsUploaded,
      pending: pendingChanges(s, info?.update_seq),
      docCount: info?.doc_count ?? null,
      openConnections: s.openConnections,
      errorCount: s.errorCount,
      errors: s.errors.slice(0, 5),
    }));
    return c.json(out);
  });
  return app;
}
