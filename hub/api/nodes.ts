/** Sync health of every node, as the gateway has seen it. */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { isOnline, pendingChanges } from '../nodehealth.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

export function nodesApi(ctx: HubContext) {
  const app = new Hono();
  serve(app, '/api/v1/nodes')(R.nodes, async (c) => {
    const nodes = await ctx.registry.list();
    const out = await Promise.all(
      nodes.map(async (n) => {
        const s = await ctx.stats.load(n.id);
        const info = await ctx.couch.dbInfo(n.db).catch(() => null);
        return {
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
        };
      }),
    );
    return c.json(out);
  });
  return app;
}
