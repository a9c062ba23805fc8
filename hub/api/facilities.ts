/** Facilities: registration (which returns the node's sync token, once), listing, and changes. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { HubContext } from '../context.js';
import { readBody } from '../../shared/http.js';
import { Ident } from '../../shared/ids.js';
import { FacilityBody, type FacilityDoc } from '../../shared/schemas.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import { badRequest, conflict, isStatus, notFound } from '../../shared/errors.js';

/** What a planner may change after registration (the id, type and place stay). */
export const FacilityPatch = z
  .object({
    name: z.string().min(1).max(200),
    capacity: z.number().int().nonnegative(),
    shipFromStore: z.boolean(),
    pickup: z.boolean(),
    priority: z.number().int().min(0).max(1000),
    enabled: z.boolean(),
    /** a DC's id, or null to take the store off its serving DC */
    servingDc: Ident.nullable(),
  })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

export function facilitiesApi(ctx: HubContext) {
  const app = new Hono();

  app.post('/', async (c) => {
    const body = await readBody(c, FacilityBody);
    const known = await ctx.facilities.list();
    if (known.some((f) => f.id.toLowerCase() === body.id.toLowerCase())) {
      throw conflict('facility_exists', `facility "${body.id}" is already registered`);
    }
    if (body.servingDc && !known.some((f) => f.id === body.servingDc && f.type === 'dc')) {
      throw conflict('unknown_facility', `servingDc "${body.servingDc}" is not a registered DC`);
    }
    await ctx.couch.ensureDb(nodeDbName(body.id));
    const doc: FacilityDoc = { ...body, _id: ids.facility(body.id), createdAt: new Date().toISOString() };
    try {
      await ctx.couch.db('dom').insert(doc);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 409) throw conflict('facility_exists', `facility "${body.id}" is already registered`);
      throw err;
    }
    const { token } = await ctx.registry.create(body.id);
    ctx.facilities.upsert(doc);
    ctx.monitor.follow(body.id);
    const { _id, _rev, ...facility } = doc;
    return c.json({ facility, token }, 201);
  });

  app.patch('/:id', async (c) => {
    const id = c.req.param('id');
    const patch = await readBody(c, FacilityPatch);
    const cur = await ctx.facilities.get(id);
    if (!cur) throw notFound('unknown_facility', `no facility "${id}"`);
    if (patch.servingDc !== undefined && patch.servingDc !== null) {
      if (cur.type !== 'store') throw badRequest('invalid_body', 'servingDc: only a store has a serving DC');
      const dc = await ctx.facilities.get(patch.servingDc);
      if (!dc || dc.type !== 'dc') throw conflict('unknown_facility', `servingDc "${patch.servingDc}" is not a registered DC`);
    }
    // read, change, write with the revision read: a concurrent change is a conflict, tried again
    for (let attempt = 0; ; attempt++) {
      const stored = await ctx.couch.db<FacilityDoc>('dom').get(ids.facility(id));
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const next: FacilityDoc = { ...stored };
      for (const [k, v] of Object.entries(patch) as [keyof typeof patch, unknown][]) {
        const before = (stored as unknown as Record<string, unknown>)[k];
        if (v === null) delete (next as Record<string, unknown>)[k];
        else (next as Record<string, unknown>)[k] = v;
        if ((before ?? null) !== v) changes[k] = { from: before ?? null, to: v };
      }
      if (Object.keys(changes).length === 0) {
        const { _id, _rev, ...facility } = stored;
        return c.json({ facility, changes });
      }
      (next as FacilityDoc & { updatedAt?: string }).updatedAt = new Date().toISOString();
      try {
        const res = await ctx.couch.db<FacilityDoc>('dom').insert(next);
        next._rev = res.rev;
      } catch (err) {
        if (isStatus(err, 409) && attempt < 3) continue;
        throw err;
      }
      ctx.facilities.upsert(next);
      // the audit trail: who changed what, in the event stream (and its ring)
      ctx.events.emit('facility', { id, changes, by: 'planner', at: (next as FacilityDoc & { updatedAt?: string }).updatedAt });
      ctx.log.info({ facility: id, changes }, 'facility changed');
      const { _id, _rev, ...facility } = next;
      return c.json({ facility, changes });
    }
  });

  app.get('/', async (c) => {
    const list = await ctx.facilities.list();
    return c.json(list.map(({ _id, _rev, ...f }) => f));
  });

  app.get('/:id', async (c) => {
    const f = await ctx.facilities.get(z.string().parse(c.req.param('id')));
    if (!f) return c.json({ error: { code: 'not_found', message: 'no such facility' } }, 404);
    const { _id, _rev, ...facility } = f;
    return c.json(facility);
  });

  return app;
}
