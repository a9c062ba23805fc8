/**
 * The operator's surface of a real hub: the OpenAPI document (valid, and covering every route the
 * hub serves), Swagger UI served from this machine, Prometheus metrics with the figures an
 * operator checks after orders flow, and the server-sent event feed with resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Hono } from 'hono';
import { ASSOCIATE, PLANNER, api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';
import type { HubContext } from '../../hub/context.js';
import { createHubApp } from '../../hub/app.js';
import { eventsApi } from '../../hub/api/events.js';
import { EventBus } from '../../hub/events.js';
import { nodeOpenApiDocument } from '../../node/api/openapi.js';

const ATL = { lat: 33.749, lon: -84.388 };

interface Frame {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** An SSE client on fetch: read frames until one matches, then abort. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const seen: Frame[] = [];
  const parse = (text: string): Frame => {
    const f: Frame = {};
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) f.comment = line.slice(1).trim();
      const m = /^(event|id|data): ?(.*)$/.exec(line);
      if (m) f[m[1] as 'event' | 'id' | 'data'] = m[2];
    }
    return f;
  };
  async function next(pred: (f: Frame) => boolean, timeoutMs = 15_000): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const f = parse(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
        seen.push(f);
        if (pred(f)) return f;
      }
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching event; saw ${JSON.stringify(seen.slice(-5))}`);
      const r = await Promise.race([reader.read(), new Promise<null>((ok) => setTimeout(() => ok(null), left))]);
      if (r === null) continue;
      if (r.done) throw new Error('stream ended');
      buf += r.value;
    }
  }
  return { res, next, seen, close: () => ctrl.abort() };
}

/** One sample of a Prometheus text exposition, by name and labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('operator surface of a hub', () => {
  let hub: Hub;
  let node: DomNode;
  let seq = 0;
  const order = (sku: string, qty: number) => ({
    id: `OP-${++seq}`,
    channel: 'web',
    priority: 5,
    delivery: 'ship',
    shipTo: ATL,
    lines: [{ line: 1, sku, qty }],
  });
  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const until = (id: string, pred: (o: any) => boolean) =>
    waitFor(`${id}`, async () => {
      const r = await api(hub.url, 'GET', `/api/v1/orders/${id}`);
      return r.status === 200 && pred(r.body) ? r.body : null;
    });
  const metrics = async () => {
    const res = await fetch(`${hub.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    const token = await registerFacility(hub.url, { id: 'S1', lat: 33.75, lon: -84.39 });
    await registerFacility(hub.url, { id: 'DC1', type: 'dc', lat: 33.9, lon: -84.6, capacity: 1000 });
    await registerFacility(hub.url, { id: 'S2', lat: 33.8, lon: -84.3 });
    node = await testNode(hub.url, 'S1', token);
    expect(
      (
        await post('/api/v1/items', [
          { sku: 'TEE', name: 'Tee', substitutes: [] },
          { sku: 'MUG', name: 'Mug', substitutes: [] },
        ])
      ).status,
    ).toBe(201);
    expect(
      (
        await post('/api/v1/inventory', {
          facility: 'S1',
          positions: [
            { sku: 'TEE', onHand: 10, safetyStock: 0 },
            { sku: 'MUG', onHand: 2, safetyStock: 0 },
          ],
        })
      ).status,
    ).toBe(201);
    expect((await post('/api/v1/inventory', { facility: 'DC1', positions: [{ sku: 'MUG', onHand: 5, safetyStock: 0 }] })).status).toBe(201);
    expect((await post('/api/v1/inventory', { facility: 'S2', positions: [{ sku: 'TEE', onHand: 5, safetyStock: 0 }] })).status).toBe(201);
    await waitFor('S1 counted', () => node.store.positions().find((p) => p.sku === 'TEE')?.onHand === 10);
  });
  afterAll(async () => {
    await node?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('serves a valid OpenAPI 3.1 document that documents every route the hub serves', async () => {
    const res = await fetch(`${hub.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    await SwaggerParser.validate(structuredClone(doc));
    const paths = Object.keys(doc.paths);
    // the contract (docs/CONTRACT.md)
    for (const p of [
      '/api/v1/facilities',
      '/api/v1/items',
      '/api/v1/inventory',
      '/api/v1/orders',
      '/api/v1/orders/{id}',
      '/api/v1/orders/{id}/cancel',
      '/api/v1/inventory/{sku}',
      '/api/v1/atp',
      '/api/v1/model-stock',
      '/api/v1/forecasts',
      '/api/v1/purchase-orders',
      '/api/v1/shipments',
      '/api/v1/replenishment/run',
      '/api/v1/nodes',
      '/api/v1/events',
      '/openapi.json',
      '/docs',
      '/metrics',
      '/healthz',
      '/readyz',
    ])
      expect(paths).toContain(p);
    // every route of the app, as Hono has it (the gateway is documented separately, under /sync)
    const app = createHubApp(hub.ctx, { app: new Hono(), openConnections: () => 0 }, hub.allocator, () => true);
    const served = app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/sync') && !r.path.startsWith('/docs/') && !r.path.startsWith('/web/'));
    const missing = served.filter((r) => !doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    // the request schemas are the validating ones: the order body's limits show through
    const orderBody = doc.components.schemas.OrderBody ?? doc.paths['/api/v1/orders'].post.requestBody.content['application/json'].schema;
    expect(orderBody.properties.lines.maxItems).toBe(100);
    expect(doc.paths['/api/v1/orders'].post.security).toEqual([{ planner: [] }]);
    expect(doc.components.securitySchemes.planner).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/metrics'].get.security).toEqual([]);
    // and the node API has its own document
    await SwaggerParser.validate(structuredClone(nodeOpenApiDocument()) as never);
  });

  it('serves Swagger UI from this machine, not from a CDN', async () => {
    const res = await fetch(`${hub.url}/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${hub.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it('exposes Prometheus metrics with the allocation, backorder, re-sourcing and sync figures', async () => {
    const placed = order('TEE', 2);
    expect((await post('/api/v1/orders', placed)).status).toBe(201);
    await until(placed.id, (o) => o.status === 'released');
    // MUG: S1 holds 2, DC1 5; an order for 9 leaves 2 backordered
    const short = order('MUG', 9);
    expect((await post('/api/v1/orders', short)).status).toBe(201);
    await until(short.id, (o) => o.status === 'partially_allocated');
    // a short pick at S1 is re-sourced at S2, the next store
    const resource = order('TEE', 1);
    await post('/api/v1/orders', resource);
    const first = (await until(resource.id, (o) => o.status === 'released')).lines[0].allocations[0];
    expect(first.facility).toBe('S1');
    await waitFor('the DO at S1', () => node.store.dos.get(first.doId));
    await node.store.step(first.doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'not on shelf' }] });
    await until(resource.id, (o) => o.lines[0].allocations.some((a: any) => a.facility === 'S2'));

    const text = await metrics();
    expect(sample(text, 'dom_orders_received_total')).toBe(3);
    expect(sample(text, 'dom_orders_allocated_total')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'dom_dos_created_total')).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'dom_orders_backordered_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'dom_backorders_open')).toBe(1);
    expect(sample(text, 'dom_lines_resourced_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'dom_allocation_batch_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'dom_allocation_batch_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'dom_do_state_changes_total', { state: 'short_picked' })).toBe(1);
    // sync health: S1 runs a node, DC1 and S2 do not
    expect(sample(text, 'dom_nodes')).toBe(3);
    expect(sample(text, 'dom_node_online', { node: 'S1' })).toBe(1);
    expect(sample(text, 'dom_node_online', { node: 'DC1' })).toBe(0);
    expect(sample(text, 'dom_node_last_seen_timestamp_seconds', { node: 'S1' })).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(sample(text, 'dom_node_sync_pending_changes', { node: 'S1' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'dom_node_replication_errors', { node: 'S1' })).toBe(0);
    // HTTP latency by route pattern, never by raw path
    expect(sample(text, 'dom_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/orders', status: '201' })).toBe(3);
    expect(sample(text, 'dom_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/orders/:id', status: '200' })).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain(`route="/api/v1/orders/${placed.id}"`);
    expect(text).toMatch(/dom_hub_process_cpu_seconds_total/);
  });

  it('streams order and DO events, resumes from Last-Event-ID, and lets go of a client that leaves', async () => {
    // a wrong token is refused; the token is also accepted as ?token= (EventSource cannot send headers)
    expect((await fetch(`${hub.url}/api/v1/events`)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/events?token=wrong`)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/events?since=abc`, { headers: { authorization: `Bearer ${PLANNER}` } })).status).toBe(400);

    const live = await openStream(`${hub.url}/api/v1/events?token=${PLANNER}`);
    expect(live.res.status).toBe(200);
    expect(live.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await live.next((f) => f.event === 'hello');
    const a = order('TEE', 1);
    await post('/api/v1/orders', a);
    const got = await live.next((f) => f.event === 'order' && JSON.parse(f.data!).data.id === a.id);
    expect(got.id).toMatch(/^\d+$/);
    expect(JSON.parse(got.data!)).toMatchObject({ id: Number(got.id), type: 'order', data: { id: a.id, status: 'received' } });
    // the DO for it reaches S1; acknowledging it there comes back as a DO event
    const placed = await until(a.id, (o) => o.status === 'released');
    const doId = placed.lines[0].allocations[0].doId;
    await waitFor('the DO at S1', () => node.store.dos.get(doId));
    await node.store.step(doId, 'ack', {});
    const moved = await live.next((f) => f.event === 'do' && JSON.parse(f.data!).data.doId === doId);
    expect(JSON.parse(moved.data!).data).toMatchObject({ orderId: a.id, facility: 'S1', state: 'acknowledged' });
    live.close();
    await waitFor('the client let go', async () => sample(await metrics(), 'dom_sse_clients') === 0);

    // while no one listens, another order arrives; a client resuming from the order event gets it
    const b = order('TEE', 1);
    await post('/api/v1/orders', b);
    const resumed = await openStream(`${hub.url}/api/v1/events`, { authorization: `Bearer ${PLANNER}`, 'last-event-id': got.id! });
    const missed = await resumed.next((f) => f.event === 'order' && JSON.parse(f.data!).data.id === b.id);
    const replayed = resumed.seen.filter((f) => f.id).map((f) => Number(f.id));
    expect(Math.min(...replayed)).toBe(Number(got.id) + 1);
    expect(replayed).toEqual([...replayed].sort((x, y) => x - y));
    expect(Number(missed.id)).toBeGreaterThan(Number(moved.id));
    // ?since= does the same, and ?types= filters
    const since = await openStream(`${hub.url}/api/v1/events?since=${got.id}&types=order`, { authorization: `Bearer ${PLANNER}` });
    const first = await since.next((f) => !!f.id);
    expect(first.event).toBe('order');
    resumed.close();
    since.close();
    await waitFor('both clients let go', async () => sample(await metrics(), 'dom_sse_clients') === 0);
  });

  it('keeps an idle event stream open with heartbeat comments', async () => {
    const events = new EventBus();
    const clients = {
      n: 0,
      inc() {
        this.n++;
      },
      dec() {
        this.n--;
      },
    };
    const app = eventsApi({ events } as unknown as HubContext, { authorize: (t) => t === 'ok', clients, heartbeatMs: 40 });
    const ctrl = new AbortController();
    const res = await app.request('/', { headers: { authorization: 'Bearer ok' }, signal: ctrl.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(': ping')) text += (await reader.read()).value ?? '';
    expect(clients.n).toBe(1);
    await reader.cancel();
    await waitFor('unsubscribed', () => clients.n === 0, 2000, 10);
    events.close();
  });

  it('associate token is not a planner token on the event stream', async () => {
    expect((await fetch(`${hub.url}/api/v1/events`, { headers: { authorization: `Bearer ${ASSOCIATE}` } })).status).toBe(401);
  });
});
