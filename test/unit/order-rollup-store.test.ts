/**
 * The order roll-up as the hub runs it (hub/orders/store.ts `rollUp`): the order store is the one
 * writer of an order's status, the DO states come from the monitor's memory, the orders from the
 * copies this instance holds, and the orders whose status moved are written together in one
 * `_bulk_docs`. A copy another instance changed meanwhile fails its write with a conflict and the
 * order is rolled up again from its latest copy. Against an in-memory stand-in for `dom`, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { OrderStore, type DoStates } from '../../hub/orders/store.js';
import type { OrderDoc } from '../../hub/orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';

import { fakeDom, order, state } from './order-fakes.js';

/** The monitor's memory: what `of` answers, and how often it was asked. */
function memory(list: DoStateDoc[]) {
  const m = new Map(list.map((s) => [s.doId, s]));
  const asked: string[][] = [];
  const states: DoStates = {
    of: async (doIds) => {
      asked.push([...doIds]);
      return new Map(doIds.flatMap((id) => (m.has(id) ? [[id, m.get(id)!] as const] : [])));
    },
  };
  return { states, set: (s: DoStateDoc) => m.set(s.doId, s), asked };
}

async function seeded(orders: OrderDoc[], mem: ReturnType<typeof memory>) {
  const dom = fakeDom();
  for (const o of orders) dom.write(o);
  const store = new OrderStore(dom.scope, mem.states);
  // a first roll-up reads the orders: their copies are held from then on
  await store.rollUp(orders.map((o) => o.id));
  return { dom, store };
}

describe('OrderStore.rollUp', () => {
  it("writes the orders whose status moved in one request, from the copies it holds and the monitor's states", async () => {
    const mem = memory([state('D1', 'O1', 'released'), state('D2', 'O2', 'released'), state('D3', 'O3', 'released')]);
    const dom = fakeDom();
    for (const o of [order('O1', ['D1']), order('O2', ['D2']), order('O3', ['D3'])]) dom.write(o);
    const statuses: [string, string][] = [];
    const store = new OrderStore(dom.scope, mem.states, (o) => statuses.push([o.id, o.status]));
    // first roll-up: the orders are read once (no copies yet), nothing moved
    const first = await store.rollUp(['O1', 'O2', 'O3']);
    expect([...first.values()].map((v) => v.order.status)).toEqual(['released', 'released', 'released']);
    expect(dom.requests).toMatchObject({ fetch: 1, bulk: 0 });

    mem.set(state('D1', 'O1', 'acknowledged'));
    mem.set(state('D2', 'O2', 'shipped'));
    const views = await store.rollUp(['O1', 'O2', 'O3']);
    expect(views.get('O1')!.order.status).toBe('in_fulfilment');
    expect(views.get('O2')!.order.status).toBe('shipped');
    expect(views.get('O2')!.lines[0]!.delivered).toBe(1);
    // no read: the copies held; one write for both orders that moved; O3 unchanged is not written
    expect(dom.requests).toMatchObject({ fetch: 1, bulk: 1, get: 0, insert: 0 });
    expect((dom.docs.get('order:O1') as unknown as OrderDoc).status).toBe('in_fulfilment');
    expect((dom.docs.get('order:O3') as unknown as OrderDoc)._rev).toMatch(/^1-/);
    expect(statuses).toEqual([
      ['O1', 'in_fulfilment'],
      ['O2', 'shipped'],
    ]);
  });

  it('an order another instance changed meanwhile is rolled up again from its latest copy', async () => {
    const mem = memory([state('D1', 'O1', 'released'), state('D9', 'O1', 'released')]);
    const { dom, store } = await seeded([order('O1', ['D1'])], mem);
    // another instance adds an allocation (D9) to the order: this instance's copy is stale
    const theirs = structuredClone(dom.docs.get('order:O1')) as unknown as OrderDoc;
    theirs.allocations.push({ attempt: 2, doId: 'D9', facility: 'G', kind: 'ship', lines: [{ line: 1, sku: 'SKU-A', qty: 1 }] });
    theirs.lines[0]!.qty = 2;
    dom.write(theirs);
    mem.set(state('D1', 'O1', 'shipped'));
    const views = await store.rollUp(['O1']);
    // the stale copy's write failed with a conflict; the latest copy (two DOs, one shipped) wins
    expect(views.get('O1')!.order.allocations.map((a) => a.doId)).toEqual(['D1', 'D9']);
    expect(views.get('O1')!.order.status).toBe('partially_shipped');
    expect((dom.docs.get('order:O1') as unknown as OrderDoc).status).toBe('partially_shipped');
  });

  it('drops a copy the dom feed shows another revision of, and reads the order at the next roll-up', async () => {
    const mem = memory([state('D1', 'O1', 'released')]);
    const { dom, store } = await seeded([order('O1', ['D1'])], mem);
    const mine = (dom.docs.get('order:O1') as { _rev: string })._rev;
    expect(store.seen('O1', mine)).toBe(true);
    const fetches = dom.requests.fetch;
    await store.rollUp(['O1']);
    expect(dom.requests.fetch).toBe(fetches);
    expect(store.seen('O1', '9-other')).toBe(false);
    await store.rollUp(['O1']);
    expect(dom.requests.fetch).toBe(fetches + 1);
  });

  it('every update derives the status: a caller cannot leave it behind its DO states', async () => {
    const mem = memory([state('D1', 'O1', 'picked')]);
    const dom = fakeDom();
    dom.write(order('O1', ['D1']));
    const store = new OrderStore(dom.scope, mem.states);
    // an update that changes something else (a caller setting the status by hand is overruled)
    const o = await store.update('O1', (doc) => {
      doc.priority = 1;
      doc.status = 'received';
    });
    expect(o!.status).toBe('in_fulfilment');
    // and one that changes nothing still writes a status that had fallen behind
    mem.set(state('D1', 'O1', 'shipped'));
    const p = await store.update('O1', () => false);
    expect(p!.status).toBe('shipped');
    expect((dom.docs.get('order:O1') as unknown as OrderDoc).status).toBe('shipped');
  });
});
