/**
 * Purchase Order Flow Management API: purchase orders, in-transit shipments, model stock (JSON or
 * CSV), forecasts (JSON or CSV), the replenishment run, and time-phased availability (ATP).
 */
import { Hono, type Context } from 'hono';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HubContext } from '../context.js';
import type { PlanningStore, SupplyDoc, ModelStockDoc, ForecastDoc } from '../planning/store.js';
import { runReplenishment } from '../planning/run.js';
import { modelTarget } from '../planning/replenish.js';
import { csvRecords } from '../planning/csv.js';
import { parseBody, parseQuery, parseWith, readBody, readJson } from '../../shared/http.js';
import { badRequest, conflict, isStatus } from '../../shared/errors.js';
import { Ident, Sku, ids, nodeDbName } from '../../shared/ids.js';
import type { InboundDoc } from '../../shared/schemas.js';
import { singleFacility, skuAvailability } from '../inventory/atp.js';
import { RESERVATION_LIMITS } from '../inventory/reservations.js';
import { reservationView } from './reservations.js';

const Qty = z.number().int('must be a whole number').positive('must be positive');
const Lines = z
  .array(z.object({ sku: Sku, qty: Qty }))
  .min(1)
  .max(5_000);
const Future = z.iso.datetime({ offset: true }).refine((d) => Date.parse(d) >= startOfToday(), 'must not be in the past');
export const RunBody = z.strictObject({ dryRun: z.boolean().default(false) });
export const PoBody = z.object({ id: Ident, facility: Ident, supplier: z.string().min(1).max(200), expectedAt: Future, lines: Lines });
export const ShipmentBody = z.object({ id: Ident, from: z.string().min(1).max(200), to: Ident, expectedAt: Future, lines: Lines });
export const ModelStockRow = z
  .object({
    facility: Ident,
    sku: Sku,
    min: z.number().int().nonnegative().optional(),
    max: z.number().int().positive().optional(),
    daysOfSupply: z.number().positive().max(365).optional(),
  })
  .refine((r) => (r.min !== undefined && r.max !== undefined) || r.daysOfSupply !== undefined, 'give "min" and "max", or "daysOfSupply"')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, '"min" must not exceed "max"');
export const ForecastRow = z.object({
  facility: Ident,
  sku: Sku,
  date: z.iso.date(),
  qty: z.number().nonnegative('must not be negative'),
  period: z.enum(['day', 'week']).default('day'),
});

export const CartBody = z
  .object({
    lines: z
      .array(z.object({ sku: Sku, qty: z.number().int('qty must be a whole number').positive('qty must be positive').max(10_000) }))
      .min(1, 'a cart needs at least one line')
      .max(100, 'at most 100 lines'),
    shipTo: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
    pickupFacility: Ident.optional(),
    /** facilities per line in the answer */
    limit: z.number().int().min(1).max(20).default(5),
    reserve: z.object({ ttlSeconds: z.number().int().min(RESERVATION_LIMITS.minTtlSeconds).max(RESERVATION_LIMITS.maxTtlSeconds) }).optional(),
  })
  .refine((b) => !(b.shipTo && b.pickupFacility), { message: 'give "shipTo" or "pickupFacility", not both', path: ['pickupFacility'] });

export const AtpQuery = z.object({
  sku: Sku,
  qty: z.coerce.number().int().positive().default(1),
  lat: z.coerce.number().min(-90).max(90).optional(),
  lon: z.coerce.number().min(-180).max(180).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

function startOfToday(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

async function rows(c: Context, columns: Parameters<typeof csvRecords>[1]): Promise<unknown[]> {
  if ((c.req.header('content-type') ?? '').includes('text/csv')) return csvRecords(await c.req.text(), columns);
  const body = await readJson(c);
  if (!Array.isArray(body)) throw badRequest('invalid_body', 'expected a JSON array (or text/csv)');
  return body;
}

export function planningApi(ctx: HubContext, planning: PlanningStore) {
  const app = new Hono();

  const checkRefs = async (facilities: string[], skus: string[]) => {
    for (const f of new Set(facilities)) if (!(await ctx.facilities.get(f))) throw badRequest('unknown_facility', `unknown facility "${f}"`);
    const unknown = await ctx.items.ensure(skus);
    if (unknown.length) throw badRequest('unknown_sku', `unknown SKU(s): ${unknown.slice(0, 10).join(', ')}`);
  };

  const supply = (type: 'po' | 'asn') => async (c: Context) => {
    const raw = await readJson(c);
    const b = type === 'po' ? parseBody(PoBody, raw) : parseBody(ShipmentBody, raw);
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
    const existing = planning.supply.get(b.id);
    if (existing) {
      if (existing.bodyHash === bodyHash) return c.json({ ...strip(existing), remaining: planning.remaining(existing) }, 200);
      throw conflict('exists', `"${b.id}" already exists with a different body`);
    }
    try {
      await ctx.couch.db<SupplyDoc>('dom').insert(doc);
    } catch (err) {
      if (isStatus(err, 409)) throw conflict('exists', `"${b.id}" already exists`);
      throw err;
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
    return c.json({ ...strip(doc), remaining: planning.remaining(doc) }, 201);
  };
  app.post('/purchase-orders', supply('po'));
  app.post('/shipments', supply('asn'));
  app.get('/purchase-orders', (c) =>
    c.json([...planning.supply.values()].filter((d) => d.type === 'po').map((d) => ({ ...strip(d), remaining: planning.remaining(d) }))),
  );
  app.get('/shipments', (c) =>
    c.json([...planning.supply.values()].filter((d) => d.type === 'asn').map((d) => ({ ...strip(d), remaining: planning.remaining(d) }))),
  );

  const putModelStock = async (c: Context) => {
    const input = await rows(c, {
      facility: { required: true, type: 'string' },
      sku: { required: true, type: 'string' },
      min: { required: false, type: 'int' },
      max: { required: false, type: 'int' },
      daysOfSupply: { required: false, type: 'int' },
    });
    const list = parseBody(z.array(ModelStockRow).min(1).max(100_000), input);
    await checkRefs(
      list.map((r) => r.facility),
      list.map((r) => r.sku),
    );
    const now = new Date().toISOString();
    const docs: ModelStockDoc[] = list.map((r) => {
      let { min, max } = r;
      if (min === undefined || max === undefined) {
        // days of supply: the target is that many days of forecast demand; reorder at half of it
        const d = planning.daily(r.facility, r.sku) ?? 0;
        max = Math.max(1, Math.ceil(d * r.daysOfSupply!));
        min = Math.floor(max / 2);
      }
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
  app.put('/model-stock', putModelStock);
  app.post('/model-stock', putModelStock);

  app.get('/model-stock', (c) => {
    const f = c.req.query('facility');
    const sku = c.req.query('sku');
    const out = [...planning.modelStock.values()]
      .filter((m) => (!f || m.facility === f) && (!sku || m.sku === sku))
      .map((m) => {
        const onHand = ctx.index.view(m.facility, m.sku)?.onHand ?? 0;
        const inTransit = planning.inTransit(m.facility, m.sku);
        const onOrder = planning.onOrder(m.facility, m.sku);
        const committed = ctx.index.reserved(m.facility, m.sku);
        const actual = onHand + inTransit + onOrder - committed;
        // days of supply in units of today's forecast, as the next run will use them
        const { min, max } = modelTarget(m, planning.daily(m.facility, m.sku) ?? 0);
        return {
          facility: m.facility,
          sku: m.sku,
          min,
          max,
          ...(m.daysOfSupply ? { daysOfSupply: m.daysOfSupply } : {}),
          onHand,
          inTransit,
          onOrder,
          committed,
          actual,
          gap: Math.max(0, max - actual),
          belowMin: actual <= min,
        };
      })
      .sort((a, b) => a.facility.localeCompare(b.facility) || a.sku.localeCompare(b.sku));
    return c.json(out);
  });

  app.post('/forecasts', async (c) => {
    const input = await rows(c, {
      facility: { required: true, type: 'string' },
      sku: { required: true, type: 'string' },
      date: { required: true, type: 'date' },
      qty: { required: true, type: 'int' },
      period: { required: false, type: 'string' },
    });
    const list = parseBody(z.array(ForecastRow).min(1).max(500_000), input);
    await checkRefs(
      list.map((r) => r.facility),
      list.map((r) => r.sku),
    );
    const now = new Date().toISOString();
    const byKey = new Map<string, ForecastDoc>();
    for (const r of list) {
      const k = `${r.facility}:${r.sku}`;
      let d = byKey.get(k);
      if (!d) {
        const cur = planning.forecasts.get(`${r.facility}|${r.sku}`);
        d = {
          _id: `forecast:${k}`,
          ...(cur?._rev ? { _rev: cur._rev } : {}),
          type: 'forecast',
          facility: r.facility,
          sku: r.sku,
          days: { ...(cur?.days ?? {}) },
          updatedAt: now,
        };
        byKey.set(k, d);
      }
      const start = Date.parse(`${r.date}T00:00:00Z`);
      const n = r.period === 'week' ? 7 : 1;
      for (let i = 0; i < n; i++) d.days[new Date(start + i * 86_400_000).toISOString().slice(0, 10)] = r.qty / n;
    }
    const saved = await bulkSave(ctx, [...byKey.values()]);
    for (const d of saved) planning.setForecast(d);
    return c.json({ written: saved.length, rows: list.length }, 201);
  });

  app.post('/replenishment/run', async (c) => {
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
    const { dryRun } = parseBody(RunBody, raw);
    return c.json(await runReplenishment(ctx, planning, { dryRun }));
  });

  app.get('/atp', async (c) => {
    const q = parseQuery(AtpQuery, c.req.query());
    if (!ctx.items.has(q.sku) && (await ctx.items.ensure([q.sku])).length) throw badRequest('unknown_sku', `unknown SKU ${q.sku}`);
    const at = q.lat !== undefined && q.lon !== undefined ? { lat: q.lat, lon: q.lon } : null;
    return c.json(skuAvailability(ctx.index, ctx.grid, (sku) => planning.unpromised(sku), q.sku, q.qty, at, q.limit));
  });

  // a whole cart: per line its availability, whether one facility can ship it all, and (asked) a hold
  app.post('/atp', async (c) => {
    const body = await readBody(c, CartBody);
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
      // hold what is there now: all at the one facility that has the whole cart now, else per line
      // from its best facilities in turn (nearest first)
      const holds = body.lines.map((l, i) => {
        if (single?.date === 'now') return { sku: l.sku, qty: l.qty, holds: [{ facility: single.facility, qty: l.qty }] };
        let need = l.qty;
        const hs: { facility: string; qty: number }[] = [];
        const offers = body.pickupFacility ? lines[i]!.facilities.filter((f) => f.facility === body.pickupFacility) : lines[i]!.facilities;
        for (const f of offers) {
          if (need <= 0) break;
          const take = Math.min(need, ctx.index.available(f.facility, l.sku));
          if (take > 0) hs.push({ facility: f.facility, qty: take });
          need -= take;
        }
        return { sku: l.sku, qty: l.qty, holds: hs };
      });
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
