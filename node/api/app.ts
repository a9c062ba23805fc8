/** The associate API of a node. Works with the hub down: it reads and writes the local database only. */
import { Hono } from 'hono';
import type { NodeStore } from '../store/index.js';
import type { HubSync } from '../sync/index.js';
import { errorHandler, limitAuthFailures, limitBody, notFoundHandler, parseBody, parseQuery, readBody, requireToken } from '../../shared/http.js';
import { serve } from '../../shared/openapi.js';
import { NODE_ROUTES as R, STEP_ROUTES } from '../../shared/routes/node.js';
import { FailureLimiter } from '../../shared/ratelimit.js';
import { storageUnavailable } from '../store/db.js';
import { secretEquals } from '../../shared/secrets.js';
import { badRequest } from '../../shared/errors.js';
import { STEP_EVENTS, type Step } from '../../shared/states.js';
import type { Logger } from '../../shared/log.js';
import { StepBody } from '../../shared/bodies/node.js';
import { pageHtml } from '../web/page.js';
import { nodeOpenApiDocument } from './openapi.js';

export interface NodeAppOptions {
  store: NodeStore;
  sync: HubSync | null;
  associateToken: string;
  facility: string;
  log: Logger;
}

export function createNodeApp(o: NodeAppOptions): Hono {
  // `o.store` is read on every call: the node replaces its store when it reopens its database
  const app = new Hono();
  const onError = errorHandler(o.log);
  // a write that reaches the database while the node reopens it (after a disk failure): 503, not 500
  app.onError((err, c) => (/database is closed/.test(err.message) ? onError(storageUnavailable(), c) : onError(err, c)));
  app.notFound(notFoundHandler);

  const top = serve(app);
  top(R.page, (c) => c.html(pageHtml(o.facility)));
  top(R.healthz, (c) => c.json({ ok: true }));
  top(R.openapi, (c) => c.json(nodeOpenApiDocument()));

  const api = new Hono();
  // repeated bad associate tokens from one address: 429
  api.use(limitAuthFailures(new FailureLimiter()));
  // the token first: a request without one is refused before its body is read
  api.use(requireToken((t) => secretEquals(t, o.associateToken)));
  api.use(limitBody(1024 * 1024));
  const route = serve(api, '/api/v1');

  route(R.tasks, (c) => c.json(o.store.tasks(parseQuery(R.tasks.query, c.req.query()).all === 'true')));
  route(R.task, (c) => c.json(o.store.getTask(c.req.param('id'))));
  for (const r of STEP_ROUTES) {
    const step = r.path.slice(r.path.lastIndexOf('/') + 1) as Step;
    route(r, async (c) => {
      // an empty body is {} (ack, ready and reject need nothing)
      const text = await c.req.text();
      let raw: unknown = {};
      if (text.trim()) {
        try {
          raw = JSON.parse(text);
        } catch {
          throw badRequest('malformed_json', 'the body is not valid JSON');
        }
      }
      return c.json(await o.store.step(c.req.param('id'), step, parseBody(StepBody, raw)));
    });
  }
  // a step the table does not have: 400 naming the steps there are (not a bare 404)
  api.post('/dos/:id/:step', (c) => {
    throw badRequest('unknown_step', `unknown step "${c.req.param('step')}"; steps are ${Object.keys(STEP_EVENTS).join(', ')}`);
  });

  // positions with the item's name and barcode, without the database's bookkeeping (_id, _rev)
  route(R.inventory, (c) =>
    c.json(
      o.store.positions().map(({ _id, _rev, ...p }) => {
        const item = o.store.items.get(p.sku);
        return { ...p, ...(item?.name ? { name: item.name } : {}), ...(item?.barcode ? { barcode: item.barcode } : {}) };
      }),
    ),
  );
  route(R.inbound, (c) => c.json([...o.store.inbound.values()].map(({ _id, _rev, ...i }) => i)));
  route(R.sale, async (c) => {
    const b = await readBody(c, R.sale.body);
    return c.json(await o.store.sale(b.sku, b.qty), 201);
  });
  route(R.adjustment, async (c) => {
    const b = await readBody(c, R.adjustment.body);
    return c.json(await o.store.adjust(b.sku, b.onHand, b.reason), 201);
  });
  route(R.receipt, async (c) => {
    const b = await readBody(c, R.receipt.body);
    return c.json(await o.store.receive(b.inboundId, b.lines), 201);
  });
  route(R.sync, (c) => c.json(o.sync?.snapshot() ?? { online: false, pending: 0, lastSyncAt: null, lastError: null, pulled: 0, pushed: 0, hub: null }));

  app.route('/api/v1', api);
  return app;
}
