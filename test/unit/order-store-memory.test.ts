/**
 * The hub's memory follows the work in progress: an order that reached its end (shipped, completed,
 * cancelled) leaves the order store's copies, and its DOs' states leave the monitor's memory; the
 * feed's echo of the last write is still known as this instance's own (no read for it).
 */
import { describe, expect, it } from 'vitest';
import { OrderStore, type DoStates } from '../../hub/orders/store.js';
import { Monitor } from '../../hub/monitor/index.js';
import type { Couch } from '../../hub/couch/index.js';
import { createLogger } from '../../shared/log.js';
import type { OrderDoc } from '../../hub/orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';

import { fakeDom, order, state } from './order-fakes.js';

/** The monitor's memory: what `of` answers, and how often it was asked. */
function memory(list: DoStateDoc[]) {
  const m = new Map(list.map((s) => [s.doId, s]));
  const settled: string[] = [];
  const states: DoStates = {
    of: async (doIds) => new Map(doIds.flatMap((id) => (m.has(id) ? [[id, m.get(id)!] as const] : []))),
    settled: (doIds) => settled.push(...doIds),
  };
  return { states, set: (s: DoStateDoc) => m.set(s.doId, s), settled };
}

describe('OrderStore memory', () => {
  it('keeps the orders in work and lets go of those at their end, with their DOs', async () => {
    const n = 300;
    const ids = Array.from({ length: n }, (_, i) => `O${i}`);
    const mem = memory(ids.map((id) => state(`D-${id}`, id, 'released')));
    const dom = fakeDom();
    for (const id of ids) dom.write(order(id, [`D-${id}`]));
    const store = new OrderStore(dom.scope, mem.states);
    await store.rollUp(ids);
    expect(store.held).toBe(n);
    // all but the last 10 ship
    ids.slice(0, n - 10).forEach((id) => mem.set(state(`D-${id}`, id, 'shipped')));
    const views = await store.rollUp(ids);
    expect(views.get('O25')!.order.status).toBe('shipped');
    expect(views.get(`O${n - 1}`)!.order.status).toBe('released');
    expect(store.held).toBe(10);
    expect(new Set(mem.settled)).toEqual(new Set(ids.slice(0, n - 10).map((id) => `D-${id}`)));
    // the feed's echo of the write that ended O25 is this instance's own: no read for it
    const rev = (dom.docs.get('order:O25') as unknown as OrderDoc)._rev!;
    expect(store.seen('O25', rev)).toBe(true);
    expect(store.seen('O25', '9-other')).toBe(false);
    // a late roll-up of an ended order reads it, and keeps nothing
    const fetches = dom.requests.fetch;
    expect((await store.rollUp(['O26'])).get('O26')!.order.status).toBe('shipped');
    expect(dom.requests.fetch).toBe(fetches + 1);
    expect(store.held).toBe(10);
    // so does a view of one (a cancel asked of a shipped order): its DOs' states read back leave again
    mem.settled.length = 0;
    expect((await store.view('O27'))!.order.status).toBe('shipped');
    expect(mem.settled).toEqual(['D-O27']);
  });
});

describe('Monitor memory', () => {
  it("lets go of the states of an ended order's DOs that are at their end, and reads one back when asked", async () => {
    const stored = new Map([state('D1', 'O1', 'shipped'), state('D2', 'O1', 'released')].map((d) => [d._id, d]));
    let fetches = 0;
    const scope = {
      fetch: async ({ keys }: { keys: string[] }) => {
        fetches++;
        return { rows: keys.map((k) => (stored.has(k) ? { key: k, doc: structuredClone(stored.get(k)) } : { key: k, error: 'not_found' })) };
      },
    };
    const monitor = new Monitor({ couch: { db: () => scope, embedded: true } as unknown as Couch, log: createLogger('test', 'silent'), sweepMs: 0 });
    try {
      monitor.rememberStates([...stored.values()]);
      expect(monitor.cachedStates).toBe(2);
      monitor.settled(['D1', 'D2']);
      // D2 is not at its end (a DO handed over, say): kept
      expect(monitor.cachedStates).toBe(1);
      expect((await monitor.of(['D1', 'D2'])).get('D1')!.state).toBe('shipped');
      expect(fetches).toBe(1);
    } finally {
      await monitor.stop();
    }
  });
});
