/**
 * The pull as any replicator sees it through the gateway: only what the hub writes comes down (a
 * node's own uploads never come back to it), a longpoll is not woken by the node's own uploads, a
 * `limit` counts the documents that come down, and `GET /sync/` answers the sync epoch that
 * PouchDB builds its replication ids from (a new one starts every node's replications from 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import { writeDos } from '../../hub/dos.js';
import type { DistributionOrderDoc } from '../../shared/schemas.js';
import { ids } from '../../shared/ids.js';
import { SYNC_EPOCH_ID } from '../../hub/gateway/epoch.js';

function aDo(facility: string, orderId: string): DistributionOrderDoc {
  const doId = ids.doId(orderId, 1, facility);
  return {
    _id: ids.do(doId),
    type: 'do',
    doId,
    orderId,
    attempt: 1,
    facility,
    kind: 'ship',
    lines: [{ line: 1, sku: 'SKU-1', qty: 1 }],
    shipTo: { lat: 34, lon: -84 },
    createdAt: new Date().toISOString(),
  };
}

const evt = (doId: string, n: number, status = 'ack') => ({
  _id: ids.evt(doId, n),
  type: 'evt',
  doId,
  n,
  status,
  facility: 'P1',
  at: new Date().toISOString(),
});

/** The hub's requests to node P1's `_changes` from now on (as URLs), until `restore`. */
function recordChangesRequests(): { asked: string[]; restore(): void } {
  const asked: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const u = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (u.includes('node_p1/_changes')) asked.push(u);
    return realFetch(input, init);
  }) as typeof fetch;
  return { asked, restore: () => void (globalThis.fetch = realFetch) };
}

describe('the pull through the gateway', () => {
  let hub: Hub;
  let token = '';
  const sync = (path: string, init: RequestInit = {}) =>
    fetch(`${hub.url}/sync/P1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const changes = async (query: string) => {
    const res = await sync(`/_changes?${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { results: { id: string; seq: string | number }[]; last_seq: string | number };
  };

  beforeAll(async () => {
    hub = await testHub();
    token = await registerFacility(hub.url, { id: 'P1' });
  });
  afterAll(async () => {
    await hub?.stop();
    await cleanupDirs();
  });

  it("carries the hub's documents down and never the node's own", async () => {
    const d1 = aDo('P1', 'PL-1');
    await writeDos(hub.ctx.couch, [d1]);
    // the node's uploads, stored at the hub
    const up = await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: [evt(d1.doId, 1), evt(d1.doId, 2, 'picked')] }) });
    expect(up.status).toBe(201);
    const d2 = aDo('P1', 'PL-2');
    await writeDos(hub.ctx.couch, [d2]);
    const all = await changes('since=0');
    const idsDown = all.results.map((r) => r.id);
    expect(idsDown).toContain(d1._id);
    expect(idsDown).toContain(d2._id);
    expect(idsDown.filter((id) => id.startsWith('evt:'))).toEqual([]);
    // they are at the hub all the same
    expect((await hub.ctx.couch.db('node_p1').get(ids.evt(d1.doId, 1)))._id).toBe(ids.evt(d1.doId, 1));
    // a limit counts what comes down: one DO a batch, the node's events between them skipped
    const first = await changes('since=0&limit=1');
    expect(first.results.map((r) => r.id)).toHaveLength(1);
    const second = await changes(`since=${encodeURIComponent(String(first.last_seq))}&limit=1`);
    expect([...first.results, ...second.results].map((r) => r.id).sort()).toEqual([d1._id, d2._id].sort());
  });

  it("keeps a longpoll waiting through the node's own uploads and answers it with the hub's next document", async () => {
    const { last_seq } = await changes('since=0');
    const poll = changes(`feed=longpoll&heartbeat=1000&since=${encodeURIComponent(String(last_seq))}`);
    const d = aDo('P1', 'PL-3');
    const up = await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: [evt(d.doId, 1)] }) });
    expect(up.status).toBe(201);
    await waitFor('the upload in the node database', () =>
      hub.ctx.couch
        .db('node_p1')
        .get(ids.evt(d.doId, 1))
        .then(
          () => true,
          () => false,
        ),
    );
    // written after the upload: a poll woken by the upload would have answered with the event
    await writeDos(hub.ctx.couch, [d]);
    const got = await poll;
    expect(got.results.map((r) => r.id)).toEqual([d._id]);
  });

  it.runIf(BACKEND === 'embedded')(
    'asks the database nothing for a longpoll from where the last answer ended until the hub writes there (the in-process embedded server)',
    async () => {
      const { last_seq } = await changes('since=0');
      const { asked, restore } = recordChangesRequests();
      try {
        const poll = changes(`feed=longpoll&heartbeat=1000&since=${encodeURIComponent(String(last_seq))}`);
        const d = aDo('P1', 'PL-Q');
        const up = await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: [evt(d.doId, 1)] }) });
        expect(up.status).toBe(201);
        // the node's own upload asked nothing of its database's feed
        expect(asked).toEqual([]);
        await writeDos(hub.ctx.couch, [d]);
        expect((await poll).results.map((r) => r.id)).toEqual([d._id]);
        // one request, made once the hub had written
        expect(asked).toHaveLength(1);
      } finally {
        restore();
      }
    },
  );

  it.runIf(BACKEND === 'couchdb')(
    "reads a catch-up without CouchDB's selector, and a longpoll from where the node was left caught up waits in it, one request (Apache CouchDB)",
    async () => {
      const { asked, restore } = recordChangesRequests();
      try {
        // the selector opens every document it matches: a feed read to its end is read as it is
        const { last_seq } = await changes('since=0&limit=100');
        expect(asked).toHaveLength(1);
        expect(asked[0]).not.toContain('filter=_selector');
        asked.length = 0;
        const poll = changes(`feed=longpoll&heartbeat=1000&since=${encodeURIComponent(String(last_seq))}`);
        const d = aDo('P1', 'PL-S');
        const up = await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: [evt(d.doId, 1)] }) });
        expect(up.status).toBe(201);
        await writeDos(hub.ctx.couch, [d]);
        expect((await poll).results.map((r) => r.id)).toEqual([d._id]);
        // one request, through the selector: the node's own upload woke nothing
        expect(asked).toHaveLength(1);
        expect(asked[0]).toContain('filter=_selector');
        // a stretch of the node's own rows is read in growing pages, not one request per `limit`
        const events = Array.from({ length: 40 }, (_, i) => evt(d.doId, i + 2, 'picked'));
        expect((await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: events }) })).status).toBe(201);
        const next = aDo('P1', 'PL-T');
        await writeDos(hub.ctx.couch, [next]);
        asked.length = 0;
        const one = await changes(`since=${encodeURIComponent(String(last_seq))}&limit=1`);
        expect(one.results.map((r) => r.id)).toEqual([d._id]);
        const two = await changes(`since=${encodeURIComponent(String(one.last_seq))}&limit=1`);
        expect(two.results.map((r) => r.id)).toEqual([next._id]);
        // 8 requests in doubling pages; 43 at one row a request
        expect(asked.length).toBeLessThanOrEqual(10);
      } finally {
        restore();
      }
    },
  );

  it("applies a node's upload from what the gateway wrote, without reading the node database back", async () => {
    const d = aDo('P1', 'PL-5');
    await writeDos(hub.ctx.couch, [d]);
    await waitFor('the DO state at the hub', () =>
      hub.ctx.couch
        .db<any>('dom')
        .get(ids.doState(d.doId))
        .catch(() => null),
    );
    // every request this process makes to the node database's feed from now on
    const realFetch = globalThis.fetch;
    const reads: string[] = [];
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      const u = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (u.startsWith(hub.ctx.couch.url) && /node_p1\/_changes/.test(u)) reads.push(u);
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      const up = await sync('/_bulk_docs', { method: 'POST', body: JSON.stringify({ docs: [evt(d.doId, 1)] }) });
      expect(up.status).toBe(201);
      const s = await waitFor('the DO state acknowledged', async () => {
        const x = await hub.ctx.couch.db<any>('dom').get(ids.doState(d.doId));
        return x.state === 'acknowledged' ? x : null;
      });
      expect(s.history.map((h: any) => h.status)).toEqual(['ack']);
      expect(reads).toEqual([]);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it('answers the sync epoch at GET /sync/, and a new epoch is answered at once', async () => {
    const root = async () => (await (await fetch(`${hub.url}/sync/`)).json()) as { couchdb: string; uuid: string };
    const before = await root();
    expect(before.couchdb).toBe('Welcome');
    expect(before.uuid).toBe(((await hub.ctx.couch.db<any>('dom').get(SYNC_EPOCH_ID)) as { epoch: string }).epoch);
    // what docs/OPERATIONS.md tells an operator to do after restoring the hub from a backup
    const doc = await hub.ctx.couch.db<any>('dom').get(SYNC_EPOCH_ID);
    await hub.ctx.couch.db<any>('dom').insert({ ...doc, epoch: 'after-restore-1', at: new Date().toISOString() });
    await waitFor('the new epoch answered', async () => (await root()).uuid === 'after-restore-1');
  });

  it('a node whose replications start under a new epoch uploads again what the hub lost', async () => {
    const t2 = await registerFacility(hub.url, { id: 'P2' });
    const node = await testNode(hub.url, 'P2', t2);
    try {
      const d = aDo('P2', 'PL-4');
      await writeDos(hub.ctx.couch, [d]);
      await waitFor('DO at the node', () => node.store.dos.get(d.doId));
      await node.store.step(d.doId, 'ack', {});
      const evtId = ids.evt(d.doId, 1);
      const hubDb = hub.ctx.couch.db('node_p2');
      await waitFor('the event at the hub', () => hubDb.get(evtId).catch(() => null));
      node.sync.pause();
      // the node database restored from a backup taken before the event: the DO is there, the event is not
      await hub.ctx.couch.server.db.destroy(hub.ctx.couch.prefix + 'node_p2');
      await hub.ctx.couch.server.db.create(hub.ctx.couch.prefix + 'node_p2');
      await writeDos(hub.ctx.couch, [d]);
      const doc = await hub.ctx.couch.db<any>('dom').get(SYNC_EPOCH_ID);
      await hub.ctx.couch.db<any>('dom').insert({ ...doc, epoch: 'after-restore-2', at: new Date().toISOString() });
      await waitFor('the new epoch answered', async () => ((await (await fetch(`${hub.url}/sync/`)).json()) as { uuid: string }).uuid === 'after-restore-2');
      node.sync.resume();
      // its push starts from 0 under the new epoch: _revs_diff finds the event missing and it goes up again
      const back = await waitFor('the event uploaded again', () => hubDb.get(evtId).catch(() => null), 30_000);
      expect(back._id).toBe(evtId);
    } finally {
      await node.stop();
    }
  });
});
