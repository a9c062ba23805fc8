/**
 * Purchase Order Flow Management API: purchase orders, in-transit shipments, model stock (JSON or
 * CSV), forecasts (JSON or CSV), the replenishment run, and time-phased availability (ATP).
 */
import { Hono, type Context } from 'hono';
import { createHash } from 'node:crypto';
import type { HubContext } from '../context.js';
import type { PlanningStore, SupplyDoc, ModelStockDoc, ForecastDoc } from '../planning/store.js';
import { runReplenishment } from '../planning/run.js';
import { modelStockStanding, rowTarget } from '../planning/replenish.js';
import { mergeForecasts } from '../planning/forecasts.js';
import { csvRecords } from '../planning/csv.js';
import { parseBody, parseQuery, readBody, readJson } from '../../shared/http.js';
import { badRequest, conflict, isStatus } from '../../shared/errors.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import type { InboundDoc } from '../../shared/schemas.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';
import { singleFacility, skuAvailability } from '../inventory/atp.js';
import { planHolds } from '../inventory/holds.js';
import { reservationView } from './reservations.js';
import { pagedPrefix } from '../inventory/index.js';

async function rows(c: Context, columns: Parameters<typeof csvRecords>[1]): Promise<unknown[]> {
  if ((c.req.header('content-type') ?? '').includes('text/csv')) return csvRecords(await c.req.text(), columns);
  const body = await readJson(c);
  if (!Array.isArray(body)) throw badRequest('invalid_body', 'expected a JSON array (or text/csv)');
  return body;
}

export function planningApi(ctx: HubContext, planning: PlanningStore) {
  const app = new Hono();
  const route = serve(app, '/api/v1');

  const checkRefs = async (facilities: string[], skus: string[]) => {
    for (const f of new Set(facilities)) if (!(await ctx.facilities.get(f))) throw badRequest('unknown_facility', `unknown facility "${f}"`);
    const unknown = await ctx.items.ensure(skus);
    if (unknown.length) throw badRequest('unknown_sku', `unknown SKU(s): ${unknown.slice(0, 10).join(', ')}`);
  };

  const supply = (type: 'po' | 'asn') => async (c: Context) => {
    const raw = await readJson(c);
    const b = type === 'po' ? parseBody(R.poCreate.body, raw) : parseBody(R.shipmentCreate.body, raw);
    const to = 'facility' in b ? b.facility : b.to;
    await checkRefs(
      [to],
      b.lines.map((l) => l.sku),
    );
    const bodyHash = createHash('sha256').update(JSON.stringify(b)).digest('hex');
    const now = new Date().toISOString();
    const doc: SupplyDoc = {
      _id: `${type}:${b.id}`,
      type,
      id: b.id,
      facility: to,
      expectedAt: b.expectedAt,
      lines: b.lines,
      bodyHash,
      createdAt: now,
      ...('supplier' in b ? { supplier: b.supplier } : { from: b.from }),
    };
    const same = (existing: SupplyDoc) => {
      if (existing.bodyHash !== bodyHash) throw conflict('exists', `"${b.id}" already exists with a different body`);
      return c.json(view(existing), 200);
    };
    const held = planning.supply.get(b.id);
    if (held) return same(held);
    try {
      doc._rev = (await ctx.couch.db<SupplyDoc>('dom').insert(doc)).rev;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      // stored already and not open here: closed (every line received), or another instance's
      return same(planning.withClosed(await ctx.couch.db<SupplyDoc>('dom').get(doc._id)));
    }
    planning.addSupply(doc);
    const fromFacility = doc.from && (await ctx.facilities.get(doc.from)) ? doc.from : undefined;
    const inbound: InboundDoc = {
      _id: ids.inbound(b.id),
      type: 'inbound',
      inboundId: b.id,
      kind: type === 'po' ? 'po' : fromFacility ? 'transfer' : 'asn',
      facility: to,
      ...(doc.supplier ? { supplier: doc.supplier } : {}),
      ...(doc.from ? { from: doc.from } : {}),
      expectedAt: b.expectedAt,
      lines: b.lines,
      createdAt: now,
    };
    await ctx.couch.ensureDb(nodeDbName(to));
    await ctx.couch.db(nodeDbName(to)).bulk({ docs: [inbound] });
    ctx.events.emit('supply', { id: b.id, type, facility: to });
    return c.json(view(doc), 201);
  };
  /** An inbound as the API shows it: the open one held in memory (with what its receipts left), a closed one as stored. */
  const view = (stored: SupplyDoc) => {
    const d = planning.supply.get(stored.id) ?? planning.withClosed(stored);
    return { ...strip(d), remaining: planning.remaining(d) };
  };
  // every one, closed included: read from `dom` (the hub holds the open ones only)
  const list = (type: 'po' | 'asn') => async (c: Context) => c.json((await pagedPrefix(ctx.couch.db<SupplyDoc>('dom'), `${type}:`)).map(view));
  route(R.poCreate, supply('po'));
  route(R.shipmentCreate, supply('asn'));
  route(R.poList, list('po'));
  route(R.shipmentList, list('asn'));

  const putModelStock = async (c: Context) => {
    const input = await rows(c, {
      facility: { required: true, type: 'string' },
      sku: { required: true, type: 'string' },
      min: { required: false, type: 'int' },
      max: { required: false, type: 'int' },
      daysOfSupply: { required: false, type: 'int' },
    });
    const list = parseBody(R.modelStockPut.body, input);
    await checkRefs(
      list.map((r) => r.facility),
      list.map((r) => r.sku),
    );
    const now = new Date().toISOString();
    const docs: ModelStockDoc[] = list.map((r) => {
      const { min, max } = rowTarget(r, planning.daily(r.facility, r.sku) ?? 0);
      const cur = planning.getModelStock(r.facility, r.sku);
      return {
        _id: `modelstock:${r.facility}:${r.sku}`,
        ...(cur?._rev ? { _rev: cur._rev } : {}),
        type: 'modelstock',
        facility: r.facility,
        sku: r.sku,
        min,
        max,
        ...(r.daysOfSupply ? { daysOfSupply: r.daysOfSupply } : {}),
        updatedAt: now,
      };
    });
    const saved = await bulkSave(ctx, docs);
    for (const d of saved) planning.setModelStock(d);
    return c.json({ written: saved.length });
  };
  route(R.modelStockPut, putModelStock);
  route(R.modelStockPost, putModelStock);

  route(R.modelStockGet, (c) => {
    const { facility: f, sku } = parseQuery(R.modelStockGet.query, c.req.query());
    const out = [...planning.modelStock.values()]
      .filter((m) => (!f || m.facility === f) && (!sku || m.sku === sku))
      .map((m) => {
        const n = {
          onHand: ctx.index.view(m.facility, m.sku)?.onHand ?? 0,
          inTransit: planning.inTransit(m.facility, m.sku),
          onOrder: planning.onOrder(m.facility, m.sku),
          committed: ctx.index.reserved(m.facility, m.sku),
        };
        // days of supply in units of today's forecast, as the next run will use them
        const { min, max, actual, gap, belowMin } = modelStockStanding(m, n, planning.daily(m.facility, m.sku) ?? 0);
        return {
          facility: m.facility,
          sku: m.sku,
          min,
          max,
          ...(m.daysOfSupply ? { daysOfSupply: m.daysOfSupply } : {}),
          ...n,
          actual,
          gap,
          belowMin,
        };
      })
      .sort((a, b) => a.facility.localeCompare(b.facility) || a.sku.localeCompare(b.sku));
    return c.json(out);
  });

  route(R.forecasts, async (c) => {
    const input = await rows(c, {
      facility: { required: true, type: 'string' },
      sku: { required: true, type: 'string' },
      date: { required: true, type: 'date' },
      qty: { required: true, type: 'int' },
      period: { required: false, type: 'string' },
    });
    const list = parseBody(R.forecasts.body, input);
    await checkRefs(
      list.map((r) => r.facility),
      list.map((r) => r.sku),
    );
    const now = new Date().toISOString();
    const merged = mergeForecasts(list, (f, sku) => planning.forecasts.get(`${f}|${sku}`)?.days);
    const docs: ForecastDoc[] = [...merged].map(([k, m]) => {
      const rev = planning.forecasts.get(k)?._rev;
      return { _id: `forecast:${m.facility}:${m.sku}`, ...(rev ? { _rev: rev } : {}), type: 'forecast', ...m, updatedAt: now };
    });
    const saved = await bulkSave(ctx, docs);
    for (const d of saved) planning.setForecast(d);
    return c.json({ written: saved.length, rows: list.length }, 201);
  });

  route(R.replenishmentRun, async (c) => {
    // an empty body, {} or {"dryRun": true} (plan only, nothing written); anything else is refused
    const text = (await c.req.text()).trim();
    let raw: unknown = {};
    if (text) {
      try {
        raw = JSON.parse(text);
      } catch {
        throw badRequest('malformed_json', 'the body is not valid JSON');
      }
    }
    const { dryRun } = parseBody(R.replenishmentRun.body, raw);
    return c.json(await runReplenishment(ctx, planning, { dryRun }));
  });

  route(R.atp, async (c) => {
    const q = parseQuery(R.atp.query, c.req.query());
    if (!ctx.items.has(q.sku) && (await ctx.items.ensure([q.sku])).length) throw badRequest('unknown_sku', `unknown SKU ${q.sku}`);
    const at = q.lat !== undefined && q.lon !== undefined ? { lat: q.lat, lon: q.lon } : null;
    return c.json(skuAvailability(ctx.index, ctx.grid, (sku) => planning.unpromised(sku), q.sku, q.qty, at, q.limit));
  });

  // a whole cart: per line its availability, whether one facility can ship it all, and (asked) a hold
  route(R.atpCart, async (c) => {
    const body = await readBody(c, R.atpCart.body);
    if (new Set(body.lines.map((l) => l.sku)).size !== body.lines.length)
      throw badRequest('duplicate_sku', 'a SKU appears on two lines of the cart; give it one line with the total');
    const unknown = await ctx.items.ensure(body.lines.map((l) => l.sku));
    if (unknown.length) throw badRequest('unknown_sku', `unknown SKU(s): ${unknown.slice(0, 10).join(', ')}`);
    let at: { lat: number; lon: number } | null = body.shipTo ?? null;
    if (body.pickupFacility) {
      const f = await ctx.facilities.get(body.pickupFacility);
      if (!f) throw badRequest('unknown_facility', `unknown pickup facility "${body.pickupFacility}"`);
      if (!f.pickup) throw badRequest('no_pickup', `facility "${f.id}" does not offer pickup`);
      at = { lat: f.lat, lon: f.lon };
    }
    const ahead = (sku: string) => planning.unpromised(sku);
    const lines = body.lines.map((l) => skuAvailability(ctx.index, ctx.grid, ahead, l.sku, l.qty, at, body.limit));
    const single = singleFacility(ctx.index, ctx.grid, ahead, body.lines, at, body.pickupFacility);
    const out: Record<string, unknown> = { lines, singleFacility: single, allAvailableNow: lines.every((l) => l.availableNow >= l.qty) };
    if (body.reserve) {
      const offers = lines.map((l) => l.facilities);
      const holds = planHolds(body.lines, offers, single, body.pickupFacility, (f, sku) => ctx.index.available(f, sku));
      const r = await ctx.reservations.create(holds, body.reserve.ttlSeconds);
      out.reservation = reservationView(r);
    }
    return c.json(out);
  });

  return app;
}

function strip<T extends { _id: string; _rev?: string; bodyHash?: string }>(d: T) {
  const { _id, _rev, bodyHash, ...rest } = d;
  return rest;
}

async function bulkSave<T extends { _id: string; _rev?: string }>(ctx: HubContext, docs: T[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < docs.length; i += 2000) {
    const chunk = docs.slice(i, i + 2000);
    const res = await ctx.couch.db<T>('dom').bulk({ docs: chunk });
    res.forEach((r, j) => r.rev && out.push({ ...chunk[j]!, _rev: r.rev }));
  }
  return out;
}
