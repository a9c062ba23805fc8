/** Facilities: registration (which returns the node's sync token, once) and listing. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { HubContext } from '../context.js';
import { readBody } from '../../shared/http.js';
import { FacilityBody, type FacilityDoc } from '../../shared/schemas.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import { conflict } from '../../shared/errors.js';

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
