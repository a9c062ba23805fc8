/**
 * The hub's requests to CouchDB stay few at a time however many orders a batch touches. Every
 * backorder is planned again at each supply change, and its bookkeeping (a read of the order, a
 * roll-up of its DO states) was done for all of them at once: in the soak, with a few hundred
 * backorders, that was a burst of a few hundred requests at a time to the embedded server, each on
 * a connection of its own kept open for a minute after (the hub at 1,400 descriptors and +31 % RSS;
 * docs/RELIABILITY.md, finding 26). Counted here: the requests to CouchDB open at once while the hub
 * plans 80 backorders again; the live feeds (longpolls held open on purpose) are not counted.
 *
 * And the node health list (`GET /api/v1/nodes`, which the dashboard and the soak poll) read every
 * node database's info at once, each through a connection of its own closed 4 s later: in the
 * 30-minute soak on Apache CouchDB the hub's and CouchDB's descriptors swung by the number of nodes
 * with each poll. Counted here: the connections this process holds open to CouchDB, from the kernel's
 * table (whichever client opened them), after the list is read three times.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';

const ORDERS = 80;
/** The allocator's bookkeeping runs 8 orders at a time; the rest is the batch's own writes and the feeds' reads. */
const MAX_AT_ONCE = 24;

/** Established TCP connections of this process to `port` (Linux: its socket descriptors matched against /proc/net/tcp). */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const c = row.trim().split(/\s+/);
      if (c.length < 10) continue;
      const remotePort = parseInt(c[2]!.split(':').at(-1)!, 16);
      if (remotePort === port && c[3] === '01' && inodes.has(c[9]!)) n++;
    }
  }
  return n;
}

describe("the hub's requests to CouchDB", () => {
  let hub: Hub | undefined;
  const realFetch = globalThis.fetch;
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await hub?.stop();
    await cleanupDirs();
  });

  it('stay a few at a time while a batch of backorders is planned again', async () => {
    hub = await testHub();
    const h = hub;
    const couchUrl = h.ctx.couch.url;
    let open = 0;
    let peak = 0;
    let counted = 0;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const live = /[?&]feed=(longpoll|continuous)/.test(url);
      if (!url.startsWith(couchUrl) || live) return realFetch(input, init);
      open++;
      counted++;
      peak = Math.max(peak, open);
      try {
        return await realFetch(input, init);
      } finally {
        open--;
      }
    }) as typeof fetch;

    await registerFacility(h.url, { id: 'DC1', type: 'dc' });
    expect((await api(h.url, 'POST', '/api/v1/items', [{ sku: 'NONE', name: 'never stocked' }])).status).toBe(201);
    const orders = Array.from({ length: ORDERS }, (_, i) => ({
      id: `BO-${String(i).padStart(3, '0')}`,
      channel: 'web',
      delivery: 'ship',
      shipTo: { lat: 33.75, lon: -84.39 },
      lines: [{ line: 1, sku: 'NONE', qty: 1 }],
    }));
    const intake = await api(h.url, 'POST', '/api/v1/orders/bulk', { orders });
    expect(intake.status).toBe(200);
    expect(intake.body.summary.created).toBe(ORDERS);
    const backordered = async () => {
      if (!h.allocator.idle) return false;
      const views = await Promise.all(orders.map((o) => api(h.url, 'GET', `/api/v1/orders/${o.id}`)));
      return views.every((v) => v.status === 200 && v.body.status === 'backordered');
    };
    await waitFor(`all ${ORDERS} orders backordered`, backordered, 60_000, 200);

    // a new facility: every backorder is planned again, in one batch, and finds nothing again
    const batches = h.allocator.stats.batches;
    peak = 0;
    counted = 0;
    await registerFacility(h.url, { id: 'DC2', type: 'dc' });
    await waitFor('the backorders planned again', () => h.allocator.stats.batches > batches && h.allocator.idle, 60_000, 50);
    const one = await api(h.url, 'GET', `/api/v1/orders/${orders[0]!.id}`);
    expect(one.body.status).toBe('backordered');
    // the retry did read every order (otherwise the bound would say nothing)
    expect(counted).toBeGreaterThanOrEqual(ORDERS);
    expect(peak).toBeLessThanOrEqual(MAX_AT_ONCE);
  }, 120_000);

  it('stay a few whatever the number of nodes while the node health list is read', async () => {
    await hub?.stop();
    hub = await testHub();
    const h = hub;
    const NODES = 60;
    for (let i = 0; i < NODES; i++) await registerFacility(h.url, { id: `S${String(i).padStart(2, '0')}` });
    const port = Number(new URL(h.ctx.couch.url).port);
    const before = connectionsTo(port);
    let peak = before;
    for (let round = 0; round < 3; round++) {
      const list = await api(h.url, 'GET', '/api/v1/nodes');
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(NODES);
      // every node's database was read (a failed read gives null)
      expect(list.body.every((n: { docCount: number | null }) => typeof n.docCount === 'number')).toBe(true);
      peak = Math.max(peak, connectionsTo(port));
    }
    // 16 databases are read at a time, on the hub's keep-alive connections, which the feeds and
    // the sweep share (21–27 more here): not one per node (before: a connection for each database
    // at each read, 57 more after the first read, 112 after the third)
    expect(peak - before).toBeLessThan(NODES * 0.66);
  }, 120_000);
});
