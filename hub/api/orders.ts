/** Orders: accept (idempotent on the order id), read with status, allocations and explanation, cancel, release a hold. */
import { Hono } from 'hono';
import { createHash } from 'node:crypto';
import type { HubContext } from '../context.js';
import type { Allocator } from '../allocator/service.js';
import { parseBody, parseQuery, readBody, readJson } from '../../shared/http.js';
import { DomError, badRequest, conflict, isStatus, isStorageUnavailable, notFound } from '../../shared/errors.js';
import { ids } from '../../shared/ids.js';
import { writeCancel } from '../dos.js';
import { cancelPlan, lineViews, type LineView, type OrderDoc } from '../orders/model.js';
import { BULK_MAX, OrderBody } from '../../shared/bodies/orders.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

export function orderView(order: OrderDoc, lines: LineView[], promises?: Map<number, string | null>) {
  return {
    id: order.id,
    status: order.status,
    channel: order.channel,
    priority: order.priority,
    delivery: order.delivery,
    ...(order.pickupFacility ? { pickupFacility: order.pickupFacility } : {}),
    ...(order.shipTo ? { shipTo: order.shipTo } : {}),
    ...(order.hold ? { hold: order.hold } : {}),
    ...(order.cancelRequested ? { cancelRequested: true } : {}),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    lines: lines.map((l) => ({
      line: l.line,
      sku: l.sku,
      qty: l.qty,
      status: l.status,
      delivered: l.delivered,
      unallocated: l.unallocated,
      ...(l.unallocated > 0 && promises?.has(l.line) ? { promiseDate: promises.get(l.line) } : {}),
      allocations: l.allocations.map((a) => ({ facility: a.facility, sku: a.sku, qty: a.qty, doId: a.doId, doStatus: a.doStatus })),
    })),
    explanation: order.explanations.at(-1) ?? null,
    explanations: order.explanations,
  };
}

interface BulkResult {
  index: number;
  id?: string;
  status: number;
  order?: ReturnType<typeof orderView>;
  error?: { code: string; message: string; details?: unknown };
}

/**
 * Accept one validated order: 201 stored now, 200 the same body again (the stored order answers),
 * a 409 for the same id with another body, a 400 for an unknown SKU or pickup store. Idempotent on
 * the order id; the insert shares a group commit with the orders arriving beside it.
 */
export async function acceptOrder(ctx: HubContext, allocator: Allocator, body: OrderBody): Promise<{ status: 200 | 201; body: ReturnType<typeof orderView> }> {
  const unknown = await ctx.items.ensure(body.lines.map((l) => l.sku));
  if (unknown.length) throw badRequest('unknown_sku', `unknown SKU(s): ${unknown.join(', ')}`);
  if (body.delivery === 'pickup') {
    const f = await ctx.facilities.get(body.pickupFacility!);
    if (!f) throw badRequest('unknown_facility', `unknown pickup facility "${body.pickupFacility}"`);
    if (!f.pickup) throw badRequest('no_pickup', `facility "${f.id}" does not offer pickup`);
  }
  if (body.reservation) {
    const r = await ctx.reservations.read(body.reservation);
    if (!r) throw badRequest('unknown_reservation', `no reservation "${body.reservation}"`);
    // taken by another order; an expired or released one is no error: the order is allocated as any other
    if (r.orderId && r.orderId !== body.id) throw conflict('reservation_used', `reservation "${r.id}" went to order "${r.orderId}"`);
  }
  const bodyHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  // no read first: the insert itself finds a used id (409), and then the stored order answers
  const now = new Date().toISOString();
  const doc: OrderDoc = {
    ...body,
    _id: ids.order(body.id),
    type: 'order',
    bodyHash,
    receivedAt: now,
    createdAt: body.createdAt ?? now,
    status: 'received',
    attempts: 0,
    allocations: [],
    explanations: [],
    updatedAt: now,
  };
  try {
    await ctx.orders.insert(doc);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    const stored = await ctx.orders.view(body.id);
    // deleted in between (never, in DOM): the id is taken all the same
    if (!stored || stored.order.bodyHash !== bodyHash) throw conflict('order_exists', `order "${body.id}" already exists with a different body`);
    return { status: 200, body: orderView(stored.order, stored.lines) };
  }
  ctx.events.emit('order', { id: doc.id, status: doc.status, channel: doc.channel, created: true });
  if (doc.hold && (!doc.hold.until || doc.hold.until > now)) allocator.hold(doc.id, doc.hold.until);
  else allocator.submit(doc.id);
  return { status: 201, body: orderView(doc, lineViews(doc, new Map())) };
}

export function ordersApi(ctx: HubContext, allocator: Allocator) {
  const app = new Hono();
  const route = serve(app, '/api/v1/orders');

  route(R.orderCreate, async (c) => {
    const r = await acceptOrder(ctx, allocator, await readBody(c, R.orderCreate.body));
    return c.json(r.body, r.status);
  });

  // many orders in one request: a result per order, each as the single-order endpoint would answer
  route(R.orderBulk, async (c) => {
    const raw = await readJson(c);
    const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null && 'orders' in raw ? (raw as { orders: unknown }).orders : undefined;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      const extra = Object.keys(raw).filter((k) => k !== 'orders');
      if (extra.length) throw badRequest('unknown_field', `unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}`, { fields: extra });
    }
    if (!Array.isArray(list)) throw badRequest('invalid_body', 'the body must be {"orders": [...]} (or an array of orders)');
    if (list.length === 0) throw badRequest('invalid_body', 'orders: at least one order is needed');
    if (list.length > BULK_MAX) throw new DomError(413, 'too_many_orders', `at most ${BULK_MAX} orders per request, not ${list.length}`);
    const results = await Promise.all(
      list.map(async (item, index): Promise<BulkResult> => {
        const id = typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : undefined;
        try {
          const r = await acceptOrder(ctx, allocator, parseBody(OrderBody, item));
          return { index, id: r.body.id, status: r.status, order: r.body };
        } catch (err) {
          // a bad order answers for itself; the others in the request go on (storage errors too:
          // that order was not stored, and the client retries it alone)
          const e =
            err instanceof DomError
              ? err
              : isStorageUnavailable(err)
                ? new DomError(503, 'storage_unavailable', 'the database is not reachable just now; retry')
                : null;
          if (!e) throw err;
          return { index, ...(id ? { id } : {}), status: e.status, error: e.toJSON().error };
        }
      }),
    );
    const count = (f: (r: BulkResult) => boolean) => results.filter(f).length;
    return c.json({
      results,
      summary: {
        created: count((r) => r.status === 201),
        unchanged: count((r) => r.status === 200),
        conflicts: count((r) => r.status === 409),
        invalid: count((r) => r.status >= 400 && r.status !== 409 && r.status < 500),
        unavailable: count((r) => r.status >= 500),
      },
    });
  });

  route(R.orderList, async (c) => {
    const { status, limit } = parseQuery(R.orderList.query, c.req.query());
    const res = await ctx.couch
      .db<OrderDoc>('dom')
      .list({ startkey: 'order:', endkey: 'order:\ufff0', include_docs: true, limit: status ? 5000 : limit, descending: false });
    const rows = res.rows
      .map((r) => r.doc!)
      .filter((o) => o && (!status || o.status === status))
      .slice(0, limit);
    return c.json(
      rows.map((o) => ({
        id: o.id,
        status: o.status,
        channel: o.channel,
        priority: o.priority,
        delivery: o.delivery,
        createdAt: o.createdAt,
        updatedAt: o.updatedAt,
        ...(o.hold ? { hold: o.hold } : {}),
      })),
    );
  });

  route(R.orderGet, async (c) => {
    const v = await ctx.orders.view(c.req.param('id'));
    if (!v) throw notFound('unknown_order', `no order "${c.req.param('id')}"`);
    return c.json(orderView(v.order, v.lines, ctx.planning.promises().get(v.order.id)));
  });

  route(R.orderCancel, async (c) => {
    const id = c.req.param('id');
    const before = await ctx.orders.view(id);
    if (!before) throw notFound('unknown_order', `no order "${id}"`);
    const states = await ctx.orders.statesOf([before.order]);
    const plan = cancelPlan(before.order, (doId) => states.get(doId)?.state ?? 'released');
    if (plan.already) throw conflict('already_shipped', `order "${id}" has already ${plan.already}`);
    for (const a of plan.cancel) await writeCancel(ctx.couch, a.facility, a.doId, 'order cancelled');
    const cancelled = plan.cancel.map((a) => a.doId);
    const tooLate = plan.tooLate;
    let first = false;
    await ctx.orders.update(id, (o) => {
      if (o.cancelRequested) return false;
      o.cancelRequested = first = true;
    });
    ctx.planning.clearBackorder(id);
    const after = (await ctx.orders.refresh(id))!;
    // the event (and dom_orders_cancel_requested_total) once per order, not once per repeated call
    if (first) ctx.events.emit('order', { id, status: after.order.status, cancelRequested: true });
    return c.json({ ...orderView(after.order, after.lines), cancelledDos: cancelled, alreadyShippedDos: tooLate });
  });

  route(R.orderRelease, async (c) => {
    const id = c.req.param('id');
    const o = await ctx.orders.update(id, (doc) => {
      if (!doc.hold) return false;
      delete doc.hold;
    });
    if (!o) throw notFound('unknown_order', `no order "${id}"`);
    allocator.unhold(id);
    allocator.submit(id);
    const v = (await ctx.orders.view(id))!;
    return c.json(orderView(v.order, v.lines));
  });

  return app;
}
