/** Checkout reservations: read one, or release it before it expires (created by `POST /api/v1/atp` with `reserve`). */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { notFound } from '../../shared/errors.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';
import type { ReservationDoc } from '../inventory/reservations.js';

export function reservationView(r: ReservationDoc) {
  return {
    id: r.id,
    status: r.status,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    lines: r.lines.map((l) => ({ sku: l.sku, qty: l.qty, reserved: l.holds.reduce((s, h) => s + h.qty, 0), holds: l.holds })),
    ...(r.orderId ? { orderId: r.orderId } : {}),
    ...(r.endedAt ? { endedAt: r.endedAt } : {}),
  };
}

export function reservationsApi(ctx: HubContext) {
  const app = new Hono();
  const route = serve(app, '/api/v1/reservations');

  route(R.reservationGet, async (c) => {
    const r = await ctx.reservations.read(c.req.param('id'));
    if (!r) throw notFound('unknown_reservation', `no reservation "${c.req.param('id')}"`);
    // held but past its time: reads expired even before the timer has given the units back
    return c.json(reservationView(r.status === 'held' && r.expiresAt <= new Date().toISOString() ? { ...r, status: 'expired' } : r));
  });

  // release: the units go back to the network at once (a reservation already ended answers as it is)
  route(R.reservationRelease, async (c) => {
    const id = c.req.param('id');
    const ended = await ctx.reservations.end(id, 'released');
    if (ended) return c.json(reservationView(ended));
    const r = await ctx.reservations.read(id);
    if (!r) throw notFound('unknown_reservation', `no reservation "${id}"`);
    return c.json(reservationView(r));
  });

  return app;
}
