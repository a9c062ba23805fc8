/**
 * GET /api/v1/dos: distribution orders as the hub sees them (`dostate:` documents), for the
 * planner dashboard's "at risk" panel and for operators: `?atRisk=true` keeps the open DOs that a
 * walk-in sale ate into, `?state=` and `?facility=` filter. It reads `dom` in pages and stops after
 * MAX_SCAN documents, so one call stays bounded however many DOs the hub holds.
 */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import { parseQuery } from '../../shared/http.js';
import { TERMINAL_DO_STATES } from '../../shared/states.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

const MAX_SCAN = 20_000;
const PAGE = 2_000;

export function dosApi(ctx: HubContext) {
  const app = new Hono();
  serve(app, '/api/v1/dos')(R.dos, async (c) => {
    const q = parseQuery(R.dos.query, c.req.query());
    const keep = (d: DoStateDoc) =>
      (!q.state || d.state === q.state) &&
      (!q.facility || d.facility === q.facility) &&
      (q.atRisk === undefined || (q.atRisk === 'true' ? !!d.atRisk && !TERMINAL_DO_STATES.has(d.state) : !d.atRisk));
    const out: DoStateDoc[] = [];
    let startkey = 'dostate:';
    for (let scanned = 0; scanned < MAX_SCAN && out.length < q.limit;) {
      const res = await ctx.couch.db<DoStateDoc>('dom').list({ startkey, endkey: 'dostate:\ufff0', include_docs: true, limit: PAGE + 1 });
      const rows = res.rows.slice(0, PAGE);
      scanned += rows.length;
      for (const r of rows) if (r.doc && keep(r.doc)) out.push(r.doc);
      if (res.rows.length <= PAGE) break;
      startkey = res.rows[PAGE]!.id;
    }
    return c.json(
      out.slice(0, q.limit).map((d) => ({
        doId: d.doId,
        orderId: d.orderId,
        facility: d.facility,
        kind: d.kind,
        state: d.state,
        atRisk: !!d.atRisk,
        lines: d.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty })),
        updatedAt: d.updatedAt,
      })),
    );
  });
  return app;
}
