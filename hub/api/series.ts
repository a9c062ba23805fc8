/**
 * What the dashboard's pictures read: GET /api/v1/series (the last hours, one point a minute, from
 * hub/timeseries.ts) and GET /api/v1/network (every facility with where it is, today's load
 * against its capacity and its node's sync health, for the map). Both read memory only, except
 * the node registry and its stats, as GET /api/v1/nodes does.
 */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import type { HubSeries } from '../timeseries.js';
import { parseQuery } from '../../shared/http.js';
import { syncHealth as healthOf, type SyncHealth } from '../nodehealth.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

/** Sync health of every registered node, by node (= facility) id. */
export async function syncHealth(ctx: HubContext): Promise<Map<string, { health: SyncHealth; lastSeen: string | null }>> {
  const out = new Map<string, { health: SyncHealth; lastSeen: string | null }>();
  const now = Date.now();
  for (const n of await ctx.registry.list()) {
    const s = await ctx.stats.load(n.id);
    const health = healthOf({ openConnections: s.openConnections, lastSeenMs: s.lastSeen ? Date.parse(s.lastSeen) : null }, now);
    out.set(n.id, { health, lastSeen: s.lastSeen });
  }
  return out;
}

export function seriesApi(ctx: HubContext, series: HubSeries) {
  const app = new Hono();
  const route = serve(app, '/api/v1');

  route(R.series, async (c) => {
    const q = parseQuery(R.series.query, c.req.query());
    return c.json(await series.read(q.since === undefined ? undefined : Date.parse(q.since)));
  });

  route(R.network, async (c) => {
    const [facilities, health] = await Promise.all([ctx.facilities.list(), syncHealth(ctx)]);
    const day = new Date().toISOString().slice(0, 10);
    const load = ctx.index.unitsReleasedOn(day);
    return c.json({
      day,
      facilities: facilities
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((f) => ({
          id: f.id,
          name: f.name,
          type: f.type,
          lat: f.lat,
          lon: f.lon,
          capacity: f.capacity,
          enabled: f.enabled !== false,
          shipFromStore: f.shipFromStore,
          pickup: f.pickup,
          /** Units released to the facility today, which count against its daily capacity. */
          loadToday: load.get(f.id) ?? 0,
          sync: health.get(f.id)?.health ?? 'none',
          lastSeen: health.get(f.id)?.lastSeen ?? null,
        })),
    });
  });

  return app;
}
