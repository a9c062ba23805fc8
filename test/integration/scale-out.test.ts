import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanupDirs,
  dbPrefixFor,
  freePort,
  registerFacility,
  spawnDom,
  spawnHub,
  tempDir,
  testNode,
  waitFor,
  TEST_COUCH_URL,
  type HubProcess,
} from '../helpers.js';
import { couchAccessOf } from '../../hub/couch/index.js';
import type { DomNode } from '../../node/index.js';
import nano from 'nano';

const COUCH_ENV = { COUCH_USER: 'admin', COUCH_PASSWORD: 'scale-out-secret' };

describe('scale-out: two hub instances over one CouchDB', () => {
  const procs: HubProcess[] = [];
  const nodes: DomNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    for (const p of procs) await p.kill('SIGKILL');
    await cleanupDirs();
  }, 120_000);

  it('allocates every order exactly once, across instances and through the death of the lease holder', async () => {
    // one CouchDB for both instances: the suite's Apache CouchDB, or a `dom couch` of its own
    let couchUrl: string;
    let shared: Record<string, string> = {};
    if (TEST_COUCH_URL) {
      couchUrl = TEST_COUCH_URL;
      shared = { DOM_DB_PREFIX: dbPrefixFor(tempDir('scale-out-shared')) };
    } else {
      const couchPort = await freePort();
      procs.push(await spawnDom(['couch', '--port', String(couchPort), '--data', tempDir('couch')], 'couch_ready', COUCH_ENV));
      couchUrl = `http://admin:scale-out-secret@127.0.0.1:${couchPort}`;
    }
    const { url: couchBase, auth } = couchAccessOf(couchUrl);
    const server = nano({ url: couchBase, headers: { authorization: auth } });
    const dbPrefix = shared.DOM_DB_PREFIX ?? '';
    const start = async (name: string) => {
      const p = await spawnHub(tempDir(name), await freePort(), { COUCH_URL: couchUrl, ...shared, DOM_INSTANCE: name, DOM_LEASE_TTL_MS: '3000' });
      procs.push(p);
      return p;
    };
    const h1 = await start('hub1');
    const h2 = await start('hub2');
    const hubs = [h1, h2];

    // facilities registered on one instance, nodes connected to either
    const ids = ['DC1', 'S1', 'S2', 'S3'];
    for (const [i, id] of ids.entries()) {
      const token = await registerFacility(hubs[i % 2]!.url, { id, type: i === 0 ? 'dc' : 'store', lat: 33.7 + i * 0.1, lon: -84.4, capacity: 100_000 });
      // each node knows both instances (no load balancer here) and starts on the other one
      const first = hubs[(i + 1) % 2]!.url;
      nodes.push(await testNode([first, ...hubs.map((h) => h.url).filter((u) => u !== first)].join(','), id, token));
    }
    // the catalogue through one instance, the counts through the other, at once
    expect(
      (
        await api(
          h2.url,
          'POST',
          '/api/v1/items',
          ['A', 'B'].map((sku) => ({ sku, name: sku })),
        )
      ).status,
    ).toBe(201);
    for (const f of ids)
      expect(
        (
          await api(h1.url, 'POST', '/api/v1/inventory', {
            facility: f,
            positions: [
              { sku: 'A', onHand: 5000 },
              { sku: 'B', onHand: 5000 },
            ],
          })
        ).status,
      ).toBe(201);
    // read after write across instances: a facility registered on one is known at once on the other
    await registerFacility(h1.url, { id: 'S9', lat: 40, lon: -100 });
    expect((await api(h2.url, 'POST', '/api/v1/inventory', { facility: 'S9', positions: [{ sku: 'A', onHand: 0 }] })).status).toBe(201);
    await waitFor('nodes online', () => nodes.every((n) => n.sync.snapshot().online));

    const orders = Array.from({ length: 120 }, (_, i) => ({
      id: `SO-${i}`,
      channel: 'web',
      delivery: 'ship',
      shipTo: { lat: 33.6 + (i % 5) * 0.1, lon: -84.4 },
      lines: [{ line: 1, sku: i % 2 ? 'A' : 'B', qty: 1 + (i % 3) }],
    }));
    const accepted = new Set<string>();
    const post = async (o: (typeof orders)[number], i: number) => {
      for (let tries = 0; tries < 100 && !accepted.has(o.id); tries++) {
        const target =
          hubs.filter((h) => h.child.exitCode === null && h.child.signalCode === null)[(i + tries) % 2] ?? hubs.find((h) => h.child.exitCode === null)!;
        const r = await api(target.url, 'POST', '/api/v1/orders', o).catch(() => ({ status: 0 }));
        if (r.status === 200 || r.status === 201) accepted.add(o.id);
        else await new Promise((res) => setTimeout(res, 100));
      }
    };
    // the first half to both instances
    for (const [i, o] of orders.slice(0, 60).entries()) await post(o, i);
    // who allocates? kill that one, in the middle of the stream
    const db = server.use<any>(`${dbPrefix}dom`);
    const holder = (await db.get('lease:allocator')).holder as string;
    const victim = holder.startsWith('hub1/') ? h1 : h2;
    const survivor = victim === h1 ? h2 : h1;
    await victim.kill('SIGKILL');
    for (const [i, o] of orders.slice(60).entries()) await post(o, i);
    expect(accepted.size).toBe(orders.length);
    await waitFor(
      'the survivor holds the lease',
      async () => ((await db.get('lease:allocator')).holder as string).startsWith(survivor === h1 ? 'hub1/' : 'hub2/'),
      20_000,
    );
    await waitFor(
      'every order allocated',
      async () => {
        const r = await api(survivor.url, 'GET', '/api/v1/orders?limit=500');
        return r.body.length === orders.length && r.body.every((o: any) => o.status === 'released');
      },
      60_000,
      250,
    ).catch(async (err) => {
      const r = await api(survivor.url, 'GET', '/api/v1/orders?limit=500');
      const stuck = r.body.filter((o: any) => o.status !== 'released');
      for (const o of stuck.slice(0, 3)) console.log(JSON.stringify((await api(survivor.url, 'GET', `/api/v1/orders/${o.id}`)).body));
      console.log(
        'SURVIVOR LOG',
        survivor
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50)/.test(l))
          .slice(-15)
          .join('\n'),
      );
      console.log(
        'VICTIM LOG',
        victim
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50)/.test(l))
          .slice(-8)
          .join('\n'),
      );
      throw err;
    });

    // exactly once: the DOs in the facilities' databases add up to each order line, no DO twice
    const units = new Map<string, number>();
    const doIds: string[] = [];
    for (const f of ids) {
      const rows = (await server.use<any>(`${dbPrefix}node_${f.toLowerCase()}`).list({ startkey: 'do:', endkey: 'do:\ufff0', include_docs: true })).rows;
      for (const r of rows) {
        doIds.push(r.id);
        for (const l of r.doc.lines) units.set(r.doc.orderId, (units.get(r.doc.orderId) ?? 0) + l.qty);
      }
    }
    expect(new Set(doIds).size).toBe(doIds.length);
    expect(orders.filter((o) => units.get(o.id) !== o.lines[0]!.qty).map((o) => o.id)).toEqual([]);
    // and the DOs reached the nodes connected to either instance
    await waitFor(
      'DOs at the nodes',
      async () => {
        let n = 0;
        for (const node of nodes) n += node.store.tasks().length;
        return n === doIds.length;
      },
      30_000,
    );
  }, 240_000);
});
