/**
 * Fuzzing (fast-check) of every hub endpoint, every node endpoint and the gateway's replication
 * endpoints, against real processes: never a 5xx, the processes never die, and a refused request
 * stores nothing (the documents it could touch are compared before and after it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import PouchDB from 'pouchdb';
import { ASSOCIATE, PLANNER, api, cleanupDirs, couchAccess, freePort, spawnHub, tempDir, waitFor, type HubProcess } from '../helpers.js';
import { spawnNodeProc, type Proc } from '../../scripts/chaos/procs.js';

type Body = unknown | { raw: string; type?: string };
const raw = (s: string, type?: string) => ({ raw: s, ...(type ? { type } : {}) });

async function send(base: string, method: string, path: string, body?: Body, token = PLANNER): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let payload: string | undefined;
  if (body !== undefined) {
    if (typeof body === 'object' && body !== null && 'raw' in body && typeof (body as { raw: unknown }).raw === 'string') {
      payload = (body as { raw: string }).raw;
      headers['content-type'] = (body as { type?: string }).type ?? 'application/json';
    } else {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
  }
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

// ------------------------------------------------------------------ arbitraries

const junkValue = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 0.5, '', ' ', '\u0000', 'NaN', '💥', 'a'.repeat(300), [], {}),
  fc.string({ maxLength: 80 }),
  fc.integer(),
  fc.double(),
);
/** A body that is not valid JSON, or is JSON of the wrong shape. */
const junkBody: fc.Arbitrary<Body> = fc.oneof(
  junkValue,
  fc.constantFrom(
    raw(''),
    raw('{'),
    raw('{"a":'),
    raw('[1,2'),
    raw('nul'),
    raw('"unterminated'),
    raw('{"__proto__":{"x":1}}'),
    raw('\u0000\u0001'),
    raw('1e999999'),
  ),
  fc.string({ maxLength: 100 }).map((s) => raw(s)),
);
const oddString = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '../dom',
    '%2e%2e',
    '_design',
    '_all_docs',
    'a/b',
    'a:b',
    'a.b',
    'A'.repeat(65),
    'A'.repeat(64),
    '\u00e9',
    '💥',
    'null',
    'constructor',
    '__proto__',
    'toString',
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
);
const ident = (...known: string[]) => fc.oneof(fc.constantFrom(...known), oddString);
const num = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e9, 1e308, 10_000, 10_001, 0.5),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, junkValue);
const date = fc.oneof(
  fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    new Date(Date.now() + 86_400_000).toISOString(),
    '2024-02-30',
    '2024-13-01',
    '2024-02-30T00:00:00Z',
    '2030-01-01',
    'tomorrow',
    '',
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00.000Z',
  ),
  fc.string({ maxLength: 30 }),
);
const day = fc.oneof(
  date.map((d) => d.slice(0, 10)),
  fc.constantFrom('2024-02-30', '2024-02-29', '2023-02-29', '0000-00-00', '2030-01-01'),
);
/** Encode for a path segment, sometimes not at all (a raw odd character). */
const seg = (a: fc.Arbitrary<string>) => fc.tuple(a, fc.boolean()).map(([s, enc]) => (enc ? encodeURIComponent(s) : s.replace(/[?#\s/]/g, 'x')) || 'x');

describe('fuzzing: no 5xx, no crash, nothing stored by a refused request', () => {
  let hub: HubProcess;
  let node: Proc;
  let couchUrl = '';
  let couchAuth = '';
  let dbPrefix = '';
  let gaToken = '';
  let nodeDataDir = '';
  const tally = { requests: 0, refused: 0, accepted: 0 };
  const accepted = { sales: 0, adjustments: 0, receipts: 0, steps: 0 };
  const SKUS = ['F-1', 'F-2', 'F.3/x'];

  /** The documents (id → revision) under a prefix of a database, read straight from CouchDB. */
  async function revs(db: string, prefix: string): Promise<string> {
    const url = `${couchUrl}/${dbPrefix}${db}/_all_docs?startkey=${encodeURIComponent(JSON.stringify(prefix))}&endkey=${encodeURIComponent(JSON.stringify(`${prefix}\ufff0`))}`;
    const res = await fetch(url, { headers: { authorization: couchAuth } });
    const body = (await res.json()) as { rows: { id: string; value: { rev: string } }[] };
    return body.rows.map((r) => `${r.id}@${r.value.rev}`).join(',');
  }
  async function ids(db: string, prefix: string): Promise<string> {
    return (await revs(db, prefix)).replace(/@[^,]+/g, '');
  }
  async function updateSeq(db: string): Promise<string> {
    const res = await fetch(`${couchUrl}/${dbPrefix}${db}`, { headers: { authorization: couchAuth } });
    return String(((await res.json()) as { update_seq: unknown }).update_seq);
  }

  /** One fuzzed request: never 5xx, and when refused, the watched state is unchanged. */
  async function probe(base: string, method: string, path: string, body: Body, watch: () => Promise<string>, token?: string): Promise<number> {
    const before = await watch();
    const r = await send(base, method, path, body, token);
    tally.requests++;
    if (r.status >= 500 || r.status === 0)
      throw new Error(
        `${method} ${path} answered ${r.status}: ${String(JSON.stringify(r.body)).slice(0, 300)}\nbody: ${String(JSON.stringify(body)).slice(0, 500)}`,
      );
    if (r.status >= 400) {
      tally.refused++;
      const after = await watch();
      if (after !== before)
        throw new Error(`${method} ${path} was refused (${r.status}) but changed what it may touch\nbody: ${String(JSON.stringify(body)).slice(0, 500)}`);
    } else tally.accepted++;
    return r.status;
  }

  const alive = (withNode = true) => {
    expect(hub.child.exitCode).toBeNull();
    expect(hub.child.signalCode).toBeNull();
    if (withNode) expect(node.alive()).toBe(true);
  };

  beforeAll(async () => {
    const dataDir = tempDir('fuzz-hub');
    hub = await spawnHub(dataDir, await freePort(), { DOM_LOG_LEVEL: 'info', DOM_BATCH_WINDOW_MS: '50' });
    const access = couchAccess(dataDir);
    if (access) {
      // the test's Apache CouchDB, the hub's databases under its prefix
      couchUrl = access.url;
      couchAuth = access.auth;
      dbPrefix = access.prefix;
    } else {
      // the embedded CouchDB's address, from the hub's start log
      couchUrl = await waitFor("the hub's start log", () => /"couch":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(hub.output())?.[1]);
      couchAuth = `Basic ${Buffer.from(`admin:${readFileSync(join(dataDir, 'couch-admin-password'), 'utf8').trim()}`).toString('base64')}`;
    }
    const reg = async (id: string, extra: object = {}) => {
      const r = await api(hub.url, 'POST', '/api/v1/facilities', {
        id,
        type: 'store',
        name: id,
        lat: 33.7,
        lon: -84.4,
        capacity: 100_000,
        pickup: true,
        ...extra,
      });
      expect(r.status).toBe(201);
      return r.body.token as string;
    };
    await reg('DC', { type: 'dc' });
    gaToken = await reg('GA');
    const naToken = await reg('NA', { servingDc: 'DC' });
    expect(
      (
        await api(
          hub.url,
          'POST',
          '/api/v1/items',
          SKUS.map((sku) => ({ sku, name: sku })),
        )
      ).status,
    ).toBe(201);
    for (const f of ['DC', 'NA'])
      expect((await api(hub.url, 'POST', '/api/v1/inventory', { facility: f, positions: SKUS.map((sku) => ({ sku, onHand: 1000 })) })).status).toBe(201);
    nodeDataDir = tempDir('fuzz-node');
    node = await spawnNodeProc({ id: 'NA', hubUrl: hub.url, token: naToken, port: await freePort(), dataDir: nodeDataDir, associateToken: ASSOCIATE });
    // work for the node: DOs of orders placed at it, and an expected receipt
    for (let i = 0; i < 6; i++) {
      const r = await api(hub.url, 'POST', '/api/v1/orders', {
        id: `FZ-${i}`,
        channel: 'web',
        delivery: 'pickup',
        pickupFacility: 'NA',
        customerName: 'Fuzz',
        lines: [
          { line: 1, sku: 'F-1', qty: 2 },
          { line: 2, sku: 'F-2', qty: 1 },
        ],
      });
      expect(r.status).toBe(201);
    }
    expect(
      (
        await api(hub.url, 'POST', '/api/v1/purchase-orders', {
          id: 'PO-FZ',
          facility: 'NA',
          supplier: 'S',
          expectedAt: new Date(Date.now() + 86_400_000).toISOString(),
          lines: [{ sku: 'F-1', qty: 50 }],
        })
      ).status,
    ).toBe(201);
    await waitFor(
      'DOs and the inbound at the node',
      async () => {
        const t = await api(node.url, 'GET', '/api/v1/tasks', undefined, ASSOCIATE);
        const i = await api(node.url, 'GET', '/api/v1/inbound', undefined, ASSOCIATE);
        return t.body.length >= 6 && i.body.length >= 1;
      },
      30_000,
    );
  }, 90_000);

  afterAll(async () => {
    await node?.kill('SIGKILL');
    await hub?.kill('SIGKILL');
    await cleanupDirs();
  });

  it('the planner API answers 4xx, never 5xx, and a refused request stores nothing', async () => {
    const H = (method: string, path: fc.Arbitrary<string> | string, body: fc.Arbitrary<Body> | undefined, watch: () => Promise<string>, numRuns = 100) =>
      fc.assert(
        fc.asyncProperty(typeof path === 'string' ? fc.constant(path) : path, body ?? fc.constant(undefined), async (p, b) => {
          await probe(hub.url, method, p, b, watch);
        }),
        { numRuns },
      );
    const watchDom =
      (...prefixes: string[]) =>
      async () =>
        (await Promise.all(prefixes.map((p) => revs('dom', p)))).join('|');
    const line = fc.record({ line: maybe(num), sku: ident(...SKUS), qty: maybe(num), allowSubstitutes: maybe(fc.boolean()) }, { requiredKeys: [] });
    const order = fc.record(
      {
        id: ident('FZ-0', 'FZ-new'),
        channel: fc.oneof(fc.constantFrom('web', 'mobile', 'store', 'call_centre'), junkValue),
        priority: maybe(num),
        createdAt: date,
        dueDate: date,
        delivery: fc.oneof(fc.constantFrom('ship', 'pickup'), junkValue),
        shipTo: maybe(fc.record({ lat: maybe(num), lon: maybe(num), name: maybe(fc.string()) }, { requiredKeys: [] })),
        pickupFacility: ident('NA', 'DC', 'GA', 'nope'),
        customerName: maybe(fc.string({ maxLength: 250 })),
        hold: maybe(fc.record({ reason: fc.constantFrom('fraud_review', 'manual', 'x'), until: date }, { requiredKeys: [] })),
        lines: fc.oneof(fc.array(line, { maxLength: 4 }), junkValue),
      },
      { requiredKeys: [] },
    );
    // orders: the allocator updates accepted orders in the background, so only new ids are compared
    const orderIds = async () => ids('dom', 'order:');
    await H('POST', '/api/v1/orders', fc.oneof(order, junkBody), orderIds, 200);
    await H(
      'GET',
      seg(oddString).map((s) => `/api/v1/orders/${s}`),
      undefined,
      orderIds,
      50,
    );
    await H(
      'GET',
      fc.tuple(oddString, oddString).map(([s, l]) => `/api/v1/orders?status=${encodeURIComponent(s)}&limit=${encodeURIComponent(l)}`),
      undefined,
      orderIds,
      50,
    );
    await H(
      'POST',
      seg(ident('FZ-0', 'FZ-1', 'FZ-2')).map((s) => `/api/v1/orders/${s}/cancel`),
      fc.oneof(fc.constant(undefined), junkBody),
      orderIds,
      60,
    );
    await H(
      'POST',
      seg(ident('FZ-3', 'FZ-4')).map((s) => `/api/v1/orders/${s}/release`),
      fc.oneof(fc.constant(undefined), junkBody),
      orderIds,
      60,
    );
    const item = fc.record(
      {
        sku: ident(...SKUS, 'F-new'),
        name: maybe(fc.string({ maxLength: 210 })),
        barcode: maybe(fc.string({ maxLength: 70 })),
        substitutes: fc.oneof(fc.array(ident(...SKUS, 'F-new', 'none'), { maxLength: 3 }), junkValue),
      },
      { requiredKeys: [] },
    );
    await H('POST', '/api/v1/items', fc.oneof(fc.array(item, { maxLength: 4 }), junkBody), watchDom('item:'), 150);
    await H(
      'GET',
      seg(oddString).map((s) => `/api/v1/items/${s}`),
      undefined,
      watchDom('item:'),
      50,
    );
    const positions = fc.array(fc.record({ sku: ident(...SKUS), onHand: maybe(num), safetyStock: maybe(num) }, { requiredKeys: [] }), { maxLength: 4 });
    await H(
      'POST',
      '/api/v1/inventory',
      fc.oneof(fc.record({ facility: ident('NA', 'DC', 'GA'), positions: fc.oneof(positions, junkValue) }, { requiredKeys: [] }), junkBody),
      watchDom('count:'),
      150,
    );
    await H(
      'GET',
      seg(fc.oneof(fc.constantFrom(...SKUS), oddString)).map((s) => `/api/v1/inventory/${s}`),
      undefined,
      watchDom('count:'),
      50,
    );
    const supplyLines = fc.oneof(fc.array(fc.record({ sku: ident(...SKUS), qty: maybe(num) }, { requiredKeys: [] }), { maxLength: 3 }), junkValue);
    await H(
      'POST',
      '/api/v1/purchase-orders',
      fc.oneof(
        fc.record(
          { id: ident('PO-FZ', 'PO-new'), facility: ident('NA', 'DC'), supplier: maybe(fc.string({ maxLength: 210 })), expectedAt: date, lines: supplyLines },
          { requiredKeys: [] },
        ),
        junkBody,
      ),
      watchDom('po:'),
      150,
    );
    await H(
      'POST',
      '/api/v1/shipments',
      fc.oneof(
        fc.record({ id: ident('SH-new'), from: maybe(fc.string()), to: ident('NA', 'DC'), expectedAt: date, lines: supplyLines }, { requiredKeys: [] }),
        junkBody,
      ),
      watchDom('asn:'),
      150,
    );
    const msRow = fc.record(
      { facility: ident('NA', 'DC'), sku: ident(...SKUS), min: maybe(num), max: maybe(num), daysOfSupply: maybe(num) },
      { requiredKeys: [] },
    );
    for (const method of ['PUT', 'POST'])
      await H(method, '/api/v1/model-stock', fc.oneof(fc.array(msRow, { maxLength: 4 }), junkBody), watchDom('modelstock:'), 100);
    const csvCell = fc.oneof(
      fc.constantFrom('NA', 'DC', 'F-1', '3', '-1', '', '"', '""', '"a,b"', '1e3', '2030-01-01', '2024-02-30', 'week', 'day'),
      fc.string({ maxLength: 8 }),
    );
    const csv = (header: string) =>
      fc
        .array(fc.array(csvCell, { minLength: 1, maxLength: 6 }), { maxLength: 5 })
        .map((rows) => raw(`${header}\n${rows.map((r) => r.join(',')).join('\n')}`, 'text/csv'));
    await H(
      'PUT',
      '/api/v1/model-stock',
      fc.oneof(
        csv('facility,sku,min,max'),
        csv('facility,sku,daysOfSupply'),
        csv('__proto__,constructor,facility,sku,min,max'),
        fc.string({ maxLength: 60 }).map((s) => raw(s, 'text/csv')),
      ),
      watchDom('modelstock:'),
      150,
    );
    const fcRow = fc.record(
      { facility: ident('NA', 'DC'), sku: ident(...SKUS), date: day, qty: maybe(num), period: fc.oneof(fc.constantFrom('day', 'week'), junkValue) },
      { requiredKeys: [] },
    );
    await H('POST', '/api/v1/forecasts', fc.oneof(fc.array(fcRow, { maxLength: 4 }), junkBody), watchDom('forecast:'), 150);
    await H('POST', '/api/v1/forecasts', fc.oneof(csv('facility,sku,date,qty,period'), csv('facility,sku,date,qty')), watchDom('forecast:'), 100);
    await H(
      'GET',
      fc
        .record(
          {
            sku: fc.oneof(fc.constantFrom(...SKUS), oddString),
            qty: fc.oneof(num.map(String), oddString),
            lat: fc.oneof(num.map(String), oddString),
            lon: fc.oneof(num.map(String), oddString),
            limit: fc.oneof(num.map(String), oddString),
          },
          { requiredKeys: [] },
        )
        .map((q) => `/api/v1/atp?${new URLSearchParams(q as Record<string, string>)}`),
      undefined,
      watchDom('order:'),
      100,
    );
    const facility = fc.record(
      {
        id: ident('NA', 'na', 'F-new'),
        type: fc.oneof(fc.constantFrom('store', 'dc'), junkValue),
        name: maybe(fc.string({ maxLength: 210 })),
        lat: maybe(num),
        lon: maybe(num),
        capacity: maybe(num),
        shipFromStore: maybe(fc.boolean()),
        pickup: maybe(fc.boolean()),
        priority: maybe(num),
        enabled: maybe(fc.boolean()),
        servingDc: ident('DC', 'NA', 'nope'),
      },
      { requiredKeys: [] },
    );
    await H('POST', '/api/v1/facilities', fc.oneof(facility, junkBody), watchDom('facility:', 'node:'), 150);
    await H(
      'GET',
      seg(oddString).map((s) => `/api/v1/facilities/${s}`),
      undefined,
      watchDom('facility:'),
      40,
    );
    await H(
      'GET',
      fc
        .record({ atRisk: oddString, state: oddString, facility: oddString, limit: oddString }, { requiredKeys: [] })
        .map((q) => `/api/v1/dos?${new URLSearchParams(q as Record<string, string>)}`),
      undefined,
      orderIds,
      50,
    );
    await H('POST', '/api/v1/replenishment/run', fc.oneof(fc.constant(undefined), junkBody), async () => '', 5);
    for (const p of [
      '/api/v1/nodes',
      '/api/v1/model-stock',
      '/api/v1/purchase-orders',
      '/api/v1/shipments',
      '/api/v1/facilities',
      '/healthz',
      '/readyz',
      '/openapi.json',
      '/metrics',
    ]) {
      expect((await send(hub.url, 'GET', p)).status, p).toBeLessThan(500);
    }
    alive();
  }, 180_000);

  it('the node API answers 4xx, never 5xx, and stores only what it accepted', async () => {
    const tasks = (await send(node.url, 'GET', '/api/v1/tasks', undefined, ASSOCIATE)).body as { doId: string }[];
    const doIds = tasks.map((t) => t.doId);
    const N = (method: string, path: fc.Arbitrary<string> | string, body: fc.Arbitrary<Body> | undefined, count: keyof typeof accepted | null, numRuns = 100) =>
      fc.assert(
        fc.asyncProperty(typeof path === 'string' ? fc.constant(path) : path, body ?? fc.constant(undefined), async (p, b) => {
          const status = await probe(node.url, method, p, b, async () => '', ASSOCIATE);
          if (count && (status === 200 || status === 201) && method === 'POST') accepted[count]++;
        }),
        { numRuns },
      );
    const lines = fc.oneof(
      fc.array(fc.record({ line: maybe(num), qty: maybe(num), reason: maybe(fc.string({ maxLength: 210 })) }, { requiredKeys: [] }), { maxLength: 3 }),
      junkValue,
    );
    const stepBody = fc.oneof(
      fc.record(
        {
          lines,
          packages: fc.oneof(fc.array(fc.record({ lines: fc.oneof(fc.array(maybe(num), { maxLength: 3 }), junkValue) }), { maxLength: 2 }), junkValue),
          carrier: maybe(fc.string({ maxLength: 110 })),
          tracking: maybe(fc.string({ maxLength: 110 })),
          reason: maybe(fc.string({ maxLength: 510 })),
          customerName: fc.oneof(fc.constantFrom('Fuzz', 'fuzz ', 'Other'), junkValue),
        },
        { requiredKeys: [] },
      ),
      junkBody,
    );
    const step = fc.oneof(fc.constantFrom('ack', 'pick', 'pack', 'ship', 'ready', 'pickedup', 'reject'), oddString);
    await N(
      'POST',
      fc.tuple(seg(fc.oneof(fc.constantFrom(...doIds), oddString)), seg(step)).map(([d, s]) => `/api/v1/dos/${d}/${s}`),
      stepBody,
      'steps',
      300,
    );
    await N(
      'GET',
      seg(fc.oneof(fc.constantFrom(...doIds), oddString)).map((d) => `/api/v1/dos/${d}`),
      undefined,
      null,
      50,
    );
    await N(
      'GET',
      oddString.map((s) => `/api/v1/tasks?all=${encodeURIComponent(s)}`),
      undefined,
      null,
      30,
    );
    await N('POST', '/api/v1/sales', fc.oneof(fc.record({ sku: ident(...SKUS), qty: maybe(num) }, { requiredKeys: [] }), junkBody), 'sales', 150);
    await N(
      'POST',
      '/api/v1/adjustments',
      fc.oneof(fc.record({ sku: ident(...SKUS), onHand: maybe(num), reason: maybe(fc.string({ maxLength: 210 })) }, { requiredKeys: [] }), junkBody),
      'adjustments',
      150,
    );
    await N(
      'POST',
      '/api/v1/receipts',
      fc.oneof(
        fc.record(
          {
            inboundId: ident('PO-FZ', 'nope'),
            lines: fc.oneof(fc.array(fc.record({ sku: ident(...SKUS), qty: maybe(num) }, { requiredKeys: [] }), { maxLength: 3 }), junkValue),
          },
          { requiredKeys: [] },
        ),
        junkBody,
      ),
      'receipts',
      150,
    );
    for (const p of ['/api/v1/inventory', '/api/v1/inbound', '/api/v1/sync', '/healthz', '/openapi.json', '/'])
      expect((await send(node.url, 'GET', p, undefined, ASSOCIATE)).status, p).toBeLessThan(500);
    alive();

    // nothing but what was accepted is in the node's ledger: stop it and read its database
    await node.kill('SIGTERM');
    const db = new PouchDB(join(nodeDataDir, 'db'));
    try {
      const docs = (await db.allDocs({ include_docs: true })).rows.map((r) => r.doc as any);
      expect(docs.filter((d) => d.type === 'sale')).toHaveLength(accepted.sales);
      expect(docs.filter((d) => d.type === 'adj' && !d.countId)).toHaveLength(accepted.adjustments);
      expect(docs.filter((d) => d.type === 'rcpt')).toHaveLength(accepted.receipts);
      // at_risk, cancelled and cancel_refused are written by the node itself, not by a step
      expect(docs.filter((d) => d.type === 'evt' && !['at_risk', 'cancelled', 'cancel_refused'].includes(d.status))).toHaveLength(accepted.steps);
    } finally {
      await db.close();
    }
  }, 180_000);

  it('the gateway refuses odd replication requests with 4xx, stores nothing for them, and CouchDB survives', async () => {
    const watch = () => updateSeq('node_ga');
    const G = (method: string, path: fc.Arbitrary<string>, body: fc.Arbitrary<Body> | undefined, numRuns = 150) =>
      fc.assert(
        fc.asyncProperty(path, body ?? fc.constant(undefined), async (p, b) => {
          await probe(hub.url, method, `/sync/GA${p}`, b, watch, gaToken);
        }),
        { numRuns },
      );
    const paramName = fc.oneof(
      fc.constantFrom(
        'since',
        'limit',
        'feed',
        'heartbeat',
        'timeout',
        'style',
        'include_docs',
        'conflicts',
        'descending',
        'seq_interval',
        'return_docs',
        'filter',
        'selector',
        'view',
        'doc_ids',
        'attachments',
        'keys',
        'key',
        'startkey',
        'endkey',
        'skip',
        'rev',
        'revs',
        'open_revs',
        'latest',
        'new_edits',
        'update_seq',
      ),
      oddString,
    );
    const paramValue = fc.oneof(
      fc.constantFrom(
        '_selector',
        '_view',
        '_doc_ids',
        '_design',
        'now',
        '0',
        '-1',
        '1e9',
        'true',
        'false',
        'normal',
        'longpoll',
        'continuous',
        'eventsource',
        'all_docs',
        'main_only',
        '["a"]',
        '{"a":1}',
        '"x"',
        '[',
        'all',
        '1-abc',
        '99999999999',
      ),
      oddString,
    );
    // a long-lived feed must end: longpoll and continuous always get a short timeout
    const query = fc.array(fc.tuple(paramName, paramValue), { maxLength: 4 }).map((pairs) => {
      const q = new URLSearchParams(pairs);
      if (/longpoll|continuous/.test(q.get('feed') ?? '') || q.getAll('feed').length > 1) {
        q.delete('timeout');
        q.delete('heartbeat');
        q.set('timeout', '50');
      }
      return q.size ? `?${q}` : '';
    });
    await G(
      'GET',
      query.map((q) => `/_changes${q}`),
      undefined,
      250,
    );
    await G(
      'POST',
      query.map((q) => `/_changes${q}`),
      fc.oneof(fc.record({ selector: junkValue, doc_ids: junkValue }), junkBody),
      40,
    );
    const evt = (n: unknown, extra: object = {}) => ({
      _id: `evt:X.1.GA:${String(n).padStart(4, '0')}`,
      type: 'evt',
      doId: 'X.1.GA',
      n,
      status: 'ack',
      facility: 'GA',
      at: new Date().toISOString(),
      ...extra,
    });
    const doc = fc.oneof(
      junkValue,
      fc.record(
        {
          _id: fc.oneof(fc.constantFrom('evt:X.1.GA:0001', 'do:X.1.GA', 'inv:F-1', 'sale:1', '_design/x', '_local/x', 'node:GA', ''), oddString),
          type: fc.oneof(fc.constantFrom('evt', 'do', 'inv', 'sale', 'adj', 'rcpt'), junkValue),
          _rev: maybe(fc.constantFrom('1-abc', '2-def', '1-0123456789abcdef0123456789abcdef')),
          _deleted: maybe(fc.boolean()),
          _attachments: maybe(fc.constant({ a: { data: 'eA==', content_type: 'text/plain' } })),
          n: maybe(num),
          status: maybe(fc.constantFrom('ack', 'shipped', 'teleported')),
        },
        { requiredKeys: [] },
      ),
      fc.integer({ min: 1, max: 9999 }).map((n) => evt(n, { status: 'teleported' })),
      fc.integer({ min: 1, max: 9999 }).map((n) => evt(n, { _id: 'evt:other:0001' })),
    );
    await G(
      'POST',
      query.map((q) => `/_bulk_docs${q}`),
      fc.oneof(fc.record({ docs: fc.oneof(fc.array(doc, { maxLength: 4 }), junkValue), new_edits: maybe(fc.boolean()) }, { requiredKeys: [] }), junkBody),
      250,
    );
    await G(
      'POST',
      fc.constant('/_revs_diff'),
      fc.oneof(fc.dictionary(oddString, fc.oneof(fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }), junkValue), { maxKeys: 3 }), junkBody),
      150,
    );
    await G(
      'POST',
      query.map((q) => `/_bulk_get${q}`),
      fc.oneof(
        fc.record(
          { docs: fc.oneof(fc.array(fc.record({ id: maybe(oddString), rev: maybe(fc.string()) }, { requiredKeys: [] }), { maxLength: 3 }), junkValue) },
          { requiredKeys: [] },
        ),
        junkBody,
      ),
      150,
    );
    await G(
      'GET',
      query.map((q) => `/_all_docs${q}`),
      undefined,
      150,
    );
    await G(
      'POST',
      query.map((q) => `/_all_docs${q}`),
      fc.oneof(fc.record({ keys: fc.oneof(fc.array(oddString, { maxLength: 3 }), junkValue) }, { requiredKeys: [] }), junkBody),
      100,
    );
    // _local: a refused PUT leaves no document behind
    await fc.assert(
      fc.asyncProperty(
        oddString,
        fc.oneof(
          fc.record({ last_seq: maybe(num), session_id: maybe(fc.string()), _rev: maybe(fc.constantFrom('0-1', '0-9', '1-abc', 'x')) }, { requiredKeys: [] }),
          junkBody,
        ),
        async (id, b) => {
          const path = `/sync/GA/_local/${encodeURIComponent(id)}`;
          const before = await fetch(`${couchUrl}/${dbPrefix}node_ga/_local/${encodeURIComponent(id)}`, { headers: { authorization: couchAuth } }).then(
            (r) => r.status,
          );
          const status = await probe(hub.url, 'PUT', path, b, async () => '', gaToken);
          if (status >= 400 && before === 404) {
            const after = await fetch(`${couchUrl}/${dbPrefix}node_ga/_local/${encodeURIComponent(id)}`, { headers: { authorization: couchAuth } }).then(
              (r) => r.status,
            );
            expect(after, `refused PUT ${path} stored a document`).not.toBe(200);
          }
          await probe(hub.url, 'GET', path, undefined, async () => '', gaToken);
        },
      ),
      { numRuns: 100 },
    );
    // single documents with odd ids, GET and PUT
    const docPath = fc.oneof(
      oddString.map((s) => `/${encodeURIComponent(s)}`),
      oddString.map((s) => `/${s.replace(/[?#\s]/g, 'x')}`),
      fc.constantFrom('/%', '/%zz', '/..%2f..%2fdom', '/_design%2Fx', '/evt%3AX.1.GA%3A0001', '/a%00b', '/_local', '/_local/', `/${'x'.repeat(400)}`),
    );
    await G(
      'GET',
      fc.tuple(docPath, query).map(([p, q]) => `${p}${q}`),
      undefined,
      150,
    );
    await G(
      'PUT',
      fc.tuple(docPath, query).map(([p, q]) => `${p}${q}`),
      fc.oneof(doc, junkBody),
      150,
    );
    await G('HEAD', docPath, undefined, 30);
    for (const m of ['DELETE', 'COPY', 'PATCH', 'OPTIONS']) await G(m, fc.oneof(docPath, fc.constantFrom('', '/', '/_changes', '/_bulk_docs')), undefined, 10);
    // CouchDB is alive and the database still readable
    expect((await api(hub.url, 'GET', '/sync/GA/', undefined, gaToken)).status).toBe(200);
    expect((await fetch(`${couchUrl}/${dbPrefix}node_ga`, { headers: { authorization: couchAuth } })).status).toBe(200);
    alive(false);
    expect(tally.refused).toBeGreaterThan(1000);
  }, 180_000);
});
