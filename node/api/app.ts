/** The associate API of a node. Works with the hub down: it reads and writes the local database only. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { NodeStore } from '../store/index.js';
import type { HubSync } from '../sync/index.js';
import { errorHandler, limitAuthFailures, limitBody, notFoundHandler, parseBody, readBody, requireToken } from '../../shared/http.js';
import { FailureLimiter } from '../../shared/ratelimit.js';
import { storageUnavailable } from '../store/db.js';
import { secretEquals } from '../../shared/secrets.js';
import { badRequest } from '../../shared/errors.js';
import { Sku } from '../../shared/ids.js';
import { STEP_EVENTS, type Step } from '../../shared/states.js';
import type { Logger } from '../../shared/log.js';
import { pageHtml } from '../web/page.js';
import { nodeOpenApiDocument } from './openapi.js';

const Qty = z.number().int('must be a whole number').positive('must be positive');
export const SaleBody = z.object({ sku: Sku, qty: Qty });
export const AdjustmentBody = z.object({
  sku: Sku,
  onHand: z.number().int('must be a whole number').nonnegative('must not be negative'),
  reason: z.string().min(1).max(200),
});
export const ReceiptBody = z.object({
  inboundId: z.string().min(1).max(100),
  lines: z.array(z.object({ sku: Sku, qty: z.number().int().nonnegative('must not be negative') })).min(1),
});
export const StepBody = z.object({
  lines: z
    .array(
      z.object({
        line: z.number().int().positive(),
        qty: z.number().int('must be a whole number').nonnegative('must not be negative'),
        reason: z.string().max(200).optional(),
      }),
    )
    .optional(),
  packages: z.array(z.object({ lines: z.array(z.number().int().positive()).min(1) })).optional(),
  carrier: z.string().min(1).max(100).optional(),
  tracking: z.string().min(1).max(100).optional(),
  reason: z.string().min(1).max(500).optional(),
  customerName: z.string().min(1).max(200).optional(),
});

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

  app.get('/', (c) => c.html(pageHtml(o.facility)));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/openapi.json', (c) => c.json(nodeOpenApiDocument({ StepBody, SaleBody, AdjustmentBody, ReceiptBody })));

  const api = new Hono();
  // repeated bad associate tokens from one address: 429
  api.use(limitAuthFailures(new FailureLimiter()));
  api.use(limitBody(1024 * 1024));
  api.use(requireToken((t) => secretEquals(t, o.associateToken)));

  api.get('/tasks', (c) => c.json(o.store.tasks(c.req.query('all') === 'true')));
  api.get('/dos/:id', (c) => c.json(o.store.getTask(c.req.param('id'))));
  api.post('/dos/:id/:step', async (c) => {
    const step = c.req.param('step');
    if (!Object.hasOwn(STEP_EVENTS, step)) throw badRequest('unknown_step', `unknown step "${step}"; steps are ${Object.keys(STEP_EVENTS).join(', ')}`);
    const text = await c.req.text();
    let raw: unknown = {};
    if (text.trim()) {
      try {
        raw = JSON.parse(text);
      } catch {
        throw badRequest('malformed_json', 'the body is not valid JSON');
      }
    }
    return c.json(await o.store.step(c.req.param('id'), step as Step, parseBody(StepBody, raw)));
  });

  // positions with the item's name and barcode, without the database's bookkeeping (_id, _rev)
  api.get('/inventory', (c) =>
    c.json(
      o.store.positions().map(({ _id, _rev, ...p }) => {
        const item = o.store.items.get(p.sku);
        return { ...p, ...(item?.name ? { name: item.name } : {}), ...(item?.barcode ? { barcode: item.barcode } : {}) };
      }),
    ),
  );
  api.get('/inbound', (c) => c.json([...o.store.inbound.values()].map(({ _id, _rev, ...i }) => i)));
  api.post('/sales', async (c) => {
    const b = await readBody(c, SaleBody);
    return c.json(await o.store.sale(b.sku, b.qty), 201);
  });
  api.post('/adjustments', async (c) => {
    const b = await readBody(c, AdjustmentBody);
    return c.json(await o.store.adjust(b.sku, b.onHand, b.reason), 201);
  });
  api.post('/receipts', async (c) => {
    const b = await readBody(c, ReceiptBody);
    return c.json(await o.store.receive(b.inboundId, b.lines), 201);
  });
  api.get('/sync', (c) => c.json(o.sync?.snapshot() ?? { online: false, pending: 0, lastSyncAt: null, lastError: null, pulled: 0, pushed: 0, hub: null }));

  app.route('/api/v1', api);
  return app;
}
