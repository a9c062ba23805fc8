/** Items (bulk) and inventory counts for a facility; the network inventory view of a SKU. */
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import type { HubContext } from '../context.js';
import { readBody } from '../../shared/http.js';
import { badRequest, notFound } from '../../shared/errors.js';
import type { CountDoc, ItemDoc } from '../../shared/schemas.js';
import { itemBatchProblem } from '../items.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

export function catalogueApi(ctx: HubContext) {
  const app = new Hono();
  const route = serve(app, '/api/v1');

  route(R.items, async (c) => {
    const items = await readBody(c, R.items.body);
    const skus = new Set(items.map((it) => it.sku));
    // substitutes outside the batch: read the ones not cached yet, then check the batch
    if (skus.size === items.length) await ctx.items.ensure(items.flatMap((it) => it.substitutes).filter((s) => !skus.has(s)));
    const problem = itemBatchProblem(items, (s) => ctx.items.has(s));
    if (problem) throw badRequest(problem.code, problem.message);
    const written = await ctx.items.upsert(items);
    return c.json({ written }, 201);
  });

  route(R.item, (c) => {
    const it = ctx.items.get(c.req.param('sku'));
    if (!it) throw notFound('unknown_sku', `no item ${c.req.param('sku')}`);
    const { _id, _rev, type, ...item } = it;
    return c.json(item);
  });

  route(R.inventoryCount, async (c) => {
    const body = await readBody(c, R.inventoryCount.body);
    const f = await ctx.facilities.get(body.facility);
    if (!f) throw badRequest('unknown_facility', `unknown facility "${body.facility}"`);
    const unknown = await ctx.items.ensure(body.positions.map((p) => p.sku));
    if (unknown.length) throw badRequest('unknown_sku', `unknown SKU(s): ${unknown.slice(0, 10).join(', ')}`);
    if (new Set(body.positions.map((p) => p.sku)).size !== body.positions.length) throw badRequest('duplicate_sku', 'a SKU appears twice in the count');
    const countId = `${body.facility}-${Date.now()}-${randomUUID().slice(0, 8)}`;
    const count: CountDoc = {
      _id: ids.count(countId),
      type: 'count',
      countId,
      facility: body.facility,
      positions: body.positions,
      createdAt: new Date().toISOString(),
    };
    // the hub keeps the count (the truth for a facility without a node) and sends it down
    await ctx.couch.db('dom').insert(count);
    const db = nodeDbName(body.facility);
    await ctx.couch.ensureDb(db);
    const items: ItemDoc[] = body.positions.map((p) => ctx.items.get(p.sku)!).map(({ _rev, ...it }) => it as ItemDoc);
    const existing = await ctx.couch.db(db).fetchRevs({ keys: items.map((i) => i._id) });
    const fresh = items.filter((_, i) => !(existing.rows[i] as { value?: unknown }).value);
    // the items first, the count after them: Apache CouchDB orders one bulk's documents by id
    // ("count:" before "item:"), so a node pulled the count first and applied it, writing and
    // uploading a position per SKU, while 50,000 items were still coming down (3–12× slower)
    if (fresh.length) await ctx.couch.db(db).bulk({ docs: fresh });
    await ctx.couch.db(db).bulk({ docs: [count] });
    ctx.index.applyCount(count);
    return c.json({ countId, facility: body.facility, positions: body.positions.length }, 201);
  });

  route(R.inventoryView, async (c) => {
    const sku = c.req.param('sku');
    if (!ctx.items.has(sku) && (await ctx.items.ensure([sku])).length) throw notFound('unknown_sku', `no item ${sku}`);
    const withSupply = [...ctx.planning.supply.values()].filter((d) => d.lines.some((l) => l.sku === sku)).map((d) => d.facility);
    const withModel = [...ctx.planning.modelStock.values()].filter((m) => m.sku === sku).map((m) => m.facility);
    const out = [...new Set([...ctx.index.facilitiesWith(sku), ...withSupply, ...withModel])].sort().map((f) => {
      const v = ctx.index.view(f, sku) ?? { onHand: 0, reserved: 0, reservedForCheckout: 0, available: 0, safetyStock: 0, asOf: null };
      const ms = ctx.planning.getModelStock(f, sku);
      // below zero: more was sold or shipped than the records say was there (a count is due)
      return {
        facility: f,
        onHand: v.onHand,
        reserved: v.reserved,
        reservedForCheckout: v.reservedForCheckout,
        available: v.available,
        safetyStock: v.safetyStock,
        inTransit: ctx.planning.inTransit(f, sku),
        onOrder: ctx.planning.onOrder(f, sku),
        modelStock: ms ? { min: ms.min, max: ms.max } : null,
        asOf: v.asOf,
        countSuggested: v.onHand < 0,
      };
    });
    return c.json({
      sku,
      facilities: out,
      totals: {
        onHand: sum(out, 'onHand'),
        reserved: sum(out, 'reserved'),
        reservedForCheckout: sum(out, 'reservedForCheckout'),
        available: sum(out, 'available'),
        inTransit: sum(out, 'inTransit'),
        onOrder: sum(out, 'onOrder'),
      },
    });
  });

  return app;
}

const sum = <T extends Record<string, unknown>>(rows: T[], k: keyof T) => rows.reduce((s, r) => s + (r[k] as number), 0);
