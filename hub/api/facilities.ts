/** Facilities: registration (which returns the node's sync token, once), listing, and changes. */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { readBody } from '../../shared/http.js';
import type { FacilityDoc } from '../../shared/schemas.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import { badRequest, conflict, isStatus, notFound } from '../../shared/errors.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';
import { applyFacilityPatch } from '../facilities.js';

export function facilitiesApi(ctx: HubContext) {
  const app = new Hono();
  const route = serve(app, '/api/v1/facilities');

  route(R.facilityCreate, async (c) => {
    const body = await readBody(c, R.facilityCreate.body);
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

  route(R.facilityPatch, async (c) => {
    const id = c.req.param('id');
    const patch = await readBody(c, R.facilityPatch.body);
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
      const { next, changes } = applyFacilityPatch(stored, patch);
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

  route(R.facilityList, async (c) => {
    const list = await ctx.facilities.list();
    return c.json(list.map(({ _id, _rev, ...f }) => f));
  });

  route(R.facilityGet, async (c) => {
    const f = await ctx.facilities.get(c.req.param('id'));
    if (!f) return c.json({ error: { code: 'not_found', message: 'no such facility' } }, 404);
    const { _id, _rev, ...facility } = f;
    return c.json(facility);
  });

  return app;
}
