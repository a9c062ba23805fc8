/**
 * The monitor's application of status events (hub/monitor): a DO state counts as holding its events
 * only once stored. The roll-up started with a state being written sees it; another application
 * of the same events (the follower's catch-up, a second upload) does not, or it would take them
 * for applied, and when the write then failed (CouchDB killed mid-request) no one would apply them
 * again: the quick chaos run left two DOs released this way. Against an in-memory `dom`, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { Monitor } from '../../hub/monitor/index.js';
import type { Couch } from '../../hub/couch/index.js';
import { newDoState, type DoStateDoc } from '../../shared/dostate.js';
import type { DistributionOrderDoc, DoEventDoc } from '../../shared/schemas.js';
import { createLogger } from '../../shared/log.js';

const AT = '2026-03-02T09:00:00.000Z';
const DO = {
  _id: 'do:DO-1',
  type: 'do',
  doId: 'DO-1',
  orderId: 'ORD-1',
  attempt: 1,
  facility: 'S01',
  kind: 'ship',
  lines: [{ line: 1, sku: 'SKU-A', qty: 1 }],
  createdAt: AT,
} as DistributionOrderDoc;

const evt = (n: number, status: DoEventDoc['status']): DoEventDoc => ({
  _id: `evt:DO-1:${String(n).padStart(4, '0')}`,
  _rev: `1-${n}`,
  type: 'evt',
  doId: 'DO-1',
  n,
  status,
  facility: 'S01',
  at: AT,
});

function fakeCouch() {
  const docs = new Map<string, DoStateDoc>([['dostate:DO-1', { ...newDoState(DO), _rev: '1-a' }]]);
  /** the next bulk requests' answers: a function that decides when and how each one answers */
  const gates: ((run: () => unknown[]) => Promise<unknown[]>)[] = [];
  const write = (d: DoStateDoc) => {
    const cur = docs.get(d._id);
    if (cur?._rev !== d._rev) return { id: d._id, error: 'conflict' };
    const rev = `${Number.parseInt(cur?._rev ?? '0', 10) + 1}-x`;
    docs.set(d._id, structuredClone({ ...d, _rev: rev }));
    return { id: d._id, rev, ok: true };
  };
  const scope = {
    fetch: async ({ keys }: { keys: string[] }) => ({
      rows: keys.map((k) => (docs.has(k) ? { key: k, doc: structuredClone(docs.get(k)) } : { key: k, error: 'not_found' })),
    }),
    bulk: ({ docs: list }: { docs: DoStateDoc[] }) => {
      const gate = gates.shift() ?? ((run) => Promise.resolve(run()));
      return gate(() => list.map(write));
    },
  };
  const couch = { db: () => scope, embedded: true } as unknown as Couch;
  return { couch, docs, gates };
}

describe('Monitor: status events applied', () => {
  it('a second application while the first one is being written applies the events itself; the first failing loses nothing', async () => {
    const { couch, docs, gates } = fakeCouch();
    let failFirst!: () => void;
    let firstAsked!: () => void;
    const asked = new Promise<void>((ok) => (firstAsked = ok));
    // the first write hangs, then fails as a request to a killed CouchDB does
    gates.push(
      () =>
        new Promise((_ok, fail) => {
          firstAsked();
          failFirst = () => fail(new Error('socket hang up'));
        }),
    );
    const monitor = new Monitor({ couch, log: createLogger('test', 'silent'), catchUp: 'marked', catchUpMs: 3_600_000 });
    const rolledUp: DoStateDoc[][] = [];
    monitor.setHooks({
      rollUp: async (states) => {
        rolledUp.push(states.map((s) => structuredClone(s)));
        return new Map();
      },
    });
    monitor.follow('S01');
    const events = [evt(1, 'ack'), evt(2, 'picked')];
    const first = monitor.applyUploaded('S01', events as never);
    await asked;
    // the roll-up started with the first write already sees the state being written
    expect(rolledUp[0]?.map((s) => s.lastEvent)).toEqual([2]);
    // the same events again (the follower's catch-up), while the first write is in flight
    await monitor.applyUploaded('S01', events as never);
    expect(docs.get('dostate:DO-1')).toMatchObject({ state: 'picked', lastEvent: 2 });
    failFirst();
    await first;
    expect(docs.get('dostate:DO-1')).toMatchObject({ state: 'picked', lastEvent: 2 });
    // and what the roll-up reads now is the stored state
    expect((await monitor.of(['DO-1'])).get('DO-1')).toMatchObject({ lastEvent: 2, _rev: docs.get('dostate:DO-1')!._rev });
    await monitor.stop();
  });

  it('lets go of what it no longer needs: a DO with no order behind it at its end, an older upload of a document, an upload it does not handle', async () => {
    const { couch } = fakeCouch();
    const monitor = new Monitor({ couch, log: createLogger('test', 'silent'), catchUp: 'marked', catchUpMs: 3_600_000 });
    try {
      // no order found for the DO (a replenishment transfer): the roll-up answers nothing for it
      monitor.setHooks({ rollUp: async () => new Map() });
      monitor.follow('S01');
      await monitor.applyUploaded('S01', [evt(1, 'ack'), evt(2, 'picked')] as never);
      expect(monitor.cachedStates).toBe(1);
      await monitor.applyUploaded('S01', [evt(3, 'packed'), evt(4, 'shipped')] as never);
      expect((await couch.db('dom').fetch({ keys: ['dostate:DO-1'] })).rows[0]).toMatchObject({ doc: { state: 'shipped' } });
      expect(monitor.cachedStates).toBe(0);
      // a position uploaded twice before the catch-up reads the database: one entry waits for it, the latest
      const pos = (rev: string) => ({
        _id: 'inv:SKU-A',
        _rev: rev,
        type: 'inv',
        sku: 'SKU-A',
        onHand: 3,
        reserved: 0,
        safetyStock: 0,
        available: 3,
        updatedAt: AT,
      });
      const before = monitor.awaitingCatchUp;
      await monitor.applyUploaded('S01', [pos('1-a')] as never);
      await monitor.applyUploaded('S01', [pos('2-b')] as never);
      expect(monitor.awaitingCatchUp - before).toBe(1);
      // a walk-in sale: not what the monitor handles, nor what its catch-up reads back (on Apache
      // CouchDB it asks for the handled documents only), so nothing waits for it
      await monitor.applyUploaded('S01', [{ _id: 'sale:0001', _rev: '1-c', type: 'sale', lines: [{ sku: 'SKU-A', qty: 1 }], at: AT }] as never);
      expect(monitor.awaitingCatchUp - before).toBe(1);
    } finally {
      await monitor.stop();
    }
  });
});
