import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, stockNode, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';
import { writeDos } from '../../hub/dos.js';
import type { DistributionOrderDoc } from '../../shared/schemas.js';
import { ids } from '../../shared/ids.js';

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
    lines: [{ line: 1, sku: 'SKU-1', qty: 2 }],
    shipTo: { lat: 34, lon: -84 },
    createdAt: new Date().toISOString(),
  };
}

describe('sync backbone: hub and two nodes on loopback', () => {
  let hub: Hub;
  let a: DomNode;
  let b: DomNode;
  let tokenA: string;
  let tokenB: string;

  beforeAll(async () => {
    hub = await testHub();
    tokenA = await registerFacility(hub.url, { id: 'A' });
    tokenB = await registerFacility(hub.url, { id: 'B' });
    a = await testNode(hub.url, 'A', tokenA);
    b = await testNode(hub.url, 'B', tokenB);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('delivers a DO written into node_a to node A only', async () => {
    const d = aDo('A', 'O-100');
    await writeDos(hub.ctx.couch, [d]);
    const got = await waitFor('DO at node A', () => a.db.get(d._id).catch(() => null));
    expect(got.doId).toBe(d.doId);
    // give B the same time to (wrongly) receive it
    await waitFor('B caught up', () => b.sync.snapshot().online);
    await expect(b.db.get(d._id)).rejects.toMatchObject({ status: 404 });
    expect(b.store.tasks()).toHaveLength(0);
  });

  it('carries a status event from node A to the hub and moves the DO state', async () => {
    const d = aDo('A', 'O-101');
    await writeDos(hub.ctx.couch, [d]);
    await waitFor('DO at node A', () => a.store.dos.get(d.doId));
    const task = await a.store.step(d.doId, 'ack', {});
    expect(task.status).toBe('acknowledged');
    const state = await waitFor('hub DO state acknowledged', async () => {
      const s = await hub.ctx.couch.db<any>('dom').get(ids.doState(d.doId));
      return s.state === 'acknowledged' ? s : null;
    });
    expect(state.history.map((h: any) => h.status)).toEqual(['ack']);
  });

  it('reports sync health per node', async () => {
    const r = await api(hub.url, 'GET', '/api/v1/nodes');
    expect(r.status).toBe(200);
    const nodeA = r.body.find((n: any) => n.id === 'A');
    expect(nodeA.online).toBe(true);
    expect(nodeA.lastSeen).not.toBeNull();
    expect(nodeA.docsUploaded).toBeGreaterThan(0);
  });

  it('reports an idle node that is linked (its live pull waiting at the hub) as online, however long ago it last sent anything', async () => {
    const get = async () => (await api(hub.url, 'GET', '/api/v1/nodes')).body.find((n: any) => n.id === 'A');
    await waitFor('node A linked', async () => (await get()).linked === true);
    // as after ten quiet minutes: nothing heard, the pull still open (retried if A spoke meanwhile)
    const quiet = await waitFor('a quiet reading', async () => {
      hub.ctx.stats.get('A').lastSeen = new Date(Date.now() - 10 * 60_000).toISOString();
      const n = await get();
      return Date.parse(n.lastSeen) < Date.now() - 9 * 60_000 ? n : null;
    });
    expect(quiet).toMatchObject({ linked: true, online: true });
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/dom_node_online\{[^}]*node="A"[^}]*\} 1/);
  });

  it("keeps uploading a node's other documents when the hub refuses one, and shows the refused one at the node and the hub", async () => {
    // a document the gateway must refuse, in the node's own database (a bug, or a tampered store)
    const poison = { _id: 'evt:P.1.B:0001', type: 'evt', doId: 'P.1.B', n: 1, status: 'teleported', facility: 'B', at: new Date().toISOString() };
    await stockNode(hub.url, b, 'B', 'SKU-1', 10);
    await b.db.put(poison);
    const sale = await b.store.sale('SKU-1', 1);
    // the sale after it reaches the hub: the refusal did not stop the upload
    await waitFor('the sale at the hub', () =>
      hub.ctx.couch
        .db('node_b')
        .get(sale.sale._id)
        .then(
          () => true,
          () => false,
        ),
    );
    await expect(hub.ctx.couch.db('node_b').get(poison._id)).rejects.toMatchObject({ statusCode: 404 });
    const refused = await waitFor('the refusal at the node', () => b.sync.snapshot().refused.find((r) => r.id === poison._id));
    expect(refused.reason).toMatch(/invalid evt/);
    expect(b.sync.snapshot().online).toBe(true);
    // ... and later uploads go on as well
    const later = await b.store.sale('SKU-1', 1);
    await waitFor('the later sale at the hub', () =>
      hub.ctx.couch
        .db('node_b')
        .get(later.sale._id)
        .then(
          () => true,
          () => false,
        ),
    );
    // the hub's node health names it
    const nodes = await api(hub.url, 'GET', '/api/v1/nodes');
    const nodeB = nodes.body.find((n: any) => n.id === 'B');
    expect(nodeB.errors.map((e: any) => e.message).join('\n')).toContain(poison._id);
  });
});
