import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
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
});
