/**
 * A DO's progress (shared/dostate.ts), the one fold of status events that the hub (its `dostate:`
 * documents) and the node (its tasks) both use: `applyEvents` moves a DO state only through the
 * shared transition table, in the order of the events' numbers whatever order they come in, and
 * applying events it already holds changes nothing (the changes follower replays after a crash).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyEvents, foldEvents, newDoState, shortfall, type DoStateDoc } from '../../shared/dostate.js';
import { EventStatus, type DistributionOrderDoc, type DoEventDoc } from '../../shared/schemas.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const at = (n: number) => new Date(T0 + n * 60_000).toISOString();

const DO: DistributionOrderDoc = {
  _id: 'do:DO-1',
  type: 'do',
  doId: 'DO-1',
  orderId: 'ORD-1',
  attempt: 1,
  facility: 'ATL-01',
  kind: 'ship',
  lines: [
    { line: 1, sku: 'SKU-A', qty: 3 },
    { line: 2, sku: 'SKU-B', qty: 2 },
  ],
  createdAt: at(0),
} as DistributionOrderDoc;

function ev(n: number, status: EventStatus, extra: Partial<DoEventDoc> = {}): DoEventDoc {
  return { _id: `evt:DO-1:${String(n).padStart(4, '0')}`, type: 'evt', doId: 'DO-1', n, status, facility: 'ATL-01', at: at(n), ...extra };
}

/** Number a list of statuses 1..k as a node would write them. */
const numbered = (statuses: EventStatus[]) =>
  statuses.map((s, i) =>
    ev(
      i + 1,
      s,
      s === 'picked' || s === 'short'
        ? {
            lines: [
              { line: 1, qty: i % 4 },
              { line: 2, qty: 2 },
            ],
          }
        : {},
    ),
  );

function fresh(): DoStateDoc {
  return newDoState(DO);
}

function applied(events: DoEventDoc[]): DoStateDoc {
  const s = fresh();
  applyEvents(s, events);
  return s;
}

describe('newDoState', () => {
  it('starts released, with no events, carrying the DO facts', () => {
    expect(fresh()).toEqual({
      _id: 'dostate:DO-1',
      type: 'dostate',
      doId: 'DO-1',
      orderId: 'ORD-1',
      attempt: 1,
      facility: 'ATL-01',
      kind: 'ship',
      lines: DO.lines,
      state: 'released',
      lastEvent: 0,
      history: [],
      createdAt: at(0),
      updatedAt: at(0),
    });
  });
});

describe('applyEvents', () => {
  it('walks a DO to shipped and records carrier, tracking and history', () => {
    const s = fresh();
    expect(
      applyEvents(s, [
        ev(1, 'ack'),
        ev(2, 'picked', {
          lines: [
            { line: 1, qty: 3 },
            { line: 2, qty: 2 },
          ],
        }),
        ev(3, 'packed'),
        ev(4, 'shipped', { carrier: 'UPS', tracking: '1Z999' }),
      ]),
    ).toBe(true);
    expect(s).toMatchObject({ state: 'shipped', lastEvent: 4, carrier: 'UPS', tracking: '1Z999', picked: { '1': 3, '2': 2 }, updatedAt: at(4) });
    expect(s.history.map((h) => [h.n, h.status, h.applied])).toEqual([
      [1, 'ack', true],
      [2, 'picked', true],
      [3, 'packed', true],
      [4, 'shipped', true],
    ]);
    expect(shortfall(s)).toEqual([]);
  });

  it('applies events in the order of their numbers, whatever order they arrive in', () => {
    const s = fresh();
    applyEvents(s, [
      ev(3, 'packed'),
      ev(1, 'ack'),
      ev(2, 'picked', {
        lines: [
          { line: 1, qty: 3 },
          { line: 2, qty: 2 },
        ],
      }),
    ]);
    expect(s.state).toBe('packed');
    expect(s.history.map((h) => h.n)).toEqual([1, 2, 3]);
    expect(s.history.every((h) => h.applied)).toBe(true);
  });

  it('ignores events it already holds: a replay returns false and changes nothing', () => {
    const s = applied([ev(1, 'ack'), ev(2, 'picked', { lines: [{ line: 1, qty: 3 }] })]);
    const before = structuredClone(s);
    expect(applyEvents(s, [ev(2, 'picked'), ev(1, 'ack')])).toBe(false);
    expect(applyEvents(s, [])).toBe(false);
    expect(s).toEqual(before);
    // a duplicate inside one batch counts once
    const t = fresh();
    applyEvents(t, [ev(1, 'ack'), ev(1, 'ack'), ev(2, 'rejected', { reason: 'damaged' }), ev(2, 'rejected', { reason: 'damaged' })]);
    expect(t.history).toHaveLength(2);
    expect(t).toMatchObject({ state: 'rejected', rejectReason: 'damaged' });
  });

  it('records an event the table refuses, without moving the DO', () => {
    const s = fresh();
    expect(applyEvents(s, [ev(1, 'shipped', { carrier: 'UPS' })])).toBe(true);
    expect(s.state).toBe('released');
    expect(s.carrier).toBeUndefined();
    expect(s.updatedAt).toBe(at(0));
    expect(s.lastEvent).toBe(1);
    expect(s.history).toEqual([{ n: 1, status: 'shipped', at: at(1), applied: false, note: 'not allowed in released' }]);
    // the next event still applies from the state the DO is really in
    applyEvents(s, [ev(2, 'ack')]);
    expect(s.state).toBe('acknowledged');
  });

  it('a terminal DO stays terminal', () => {
    const s = applied([ev(1, 'cancelled'), ev(2, 'ack'), ev(3, 'picked', { lines: [{ line: 1, qty: 3 }] })]);
    expect(s.state).toBe('cancelled');
    expect(s.picked).toBeUndefined();
    expect(s.history.map((h) => h.applied)).toEqual([true, false, false]);
  });

  it('a short pick keeps what was found per line and the reason; shortfall lists what is missing', () => {
    const s = applied([
      ev(1, 'short', {
        lines: [
          { line: 1, qty: 1, reason: 'damaged' },
          { line: 2, qty: 2 },
        ],
      }),
    ]);
    expect(s).toMatchObject({ state: 'short_picked', picked: { '1': 1, '2': 2 }, shortReason: 'damaged' });
    expect(shortfall(s)).toEqual([{ line: DO.lines[0], missing: 2 }]);
    // a line the pick does not mention was not found at all; the event's own reason stands in
    const t = applied([ev(1, 'short', { lines: [{ line: 1, qty: 3 }], reason: 'bin empty' })]);
    expect(t.shortReason).toBe('bin empty');
    expect(shortfall(t)).toEqual([{ line: DO.lines[1], missing: 2 }]);
    // a pick reporting more than ordered is not a negative shortfall
    expect(
      shortfall(
        applied([
          ev(1, 'picked', {
            lines: [
              { line: 1, qty: 9 },
              { line: 2, qty: 2 },
            ],
          }),
        ]),
      ),
    ).toEqual([]);
  });

  it('a rejection misses every line; a cancellation misses none (nothing to re-source)', () => {
    const r = applied([ev(1, 'rejected', { reason: 'store closed' })]);
    expect(r).toMatchObject({ state: 'rejected', rejectReason: 'store closed' });
    expect(shortfall(r)).toEqual([
      { line: DO.lines[0], missing: 3 },
      { line: DO.lines[1], missing: 2 },
    ]);
    const c = applied([ev(1, 'short', { lines: [{ line: 1, qty: 0 }] }), ev(2, 'cancelled')]);
    expect(c.state).toBe('cancelled');
    expect(shortfall(c)).toEqual([]);
    expect(shortfall(fresh())).toEqual([]);
  });

  it('notes (at_risk, cancel_refused) set their flags and keep the state', () => {
    const s = applied([ev(1, 'ack'), ev(2, 'at_risk'), ev(3, 'cancel_refused')]);
    expect(s).toMatchObject({ state: 'acknowledged', atRisk: true, cancelRefused: true, lastEvent: 3 });
    expect(s.history.every((h) => h.applied)).toBe(true);
  });

  // a list of events as a node writes them (numbered 1..k, any statuses, refused ones too) and a
  // delivery of it: shuffled, with repeats
  const delivery = fc.array(fc.constantFrom(...EventStatus.options), { minLength: 1, maxLength: 10 }).chain((statuses) => {
    const events = numbered(statuses);
    const repeats = fc.array(fc.constantFrom(...events), { minLength: 0, maxLength: 10 });
    return fc.tuple(
      fc.constant(events),
      repeats.chain((extra) => fc.shuffledSubarray([...events, ...extra], { minLength: events.length + extra.length })),
    );
  });

  it('property: a shuffled, duplicated delivery in one batch gives the state of the ordered list', () => {
    fc.assert(
      fc.property(delivery, ([ordered, shuffled]) => {
        expect(applied(shuffled)).toEqual(applied(ordered));
      }),
    );
  });

  it('property: batches delivered in order, each replayed any number of times, give the state of one batch', () => {
    fc.assert(
      fc.property(delivery, fc.array(fc.nat(), { maxLength: 4 }), fc.nat(3), ([ordered], cuts, replays) => {
        const bounds = [...new Set([0, ...cuts.map((c) => c % (ordered.length + 1)), ordered.length])].sort((a, b) => a - b);
        const s = fresh();
        for (let i = 1; i < bounds.length; i++) {
          const batch = ordered.slice(bounds[i - 1], bounds[i]);
          expect(applyEvents(s, batch)).toBe(batch.length > 0);
          for (let r = 0; r < replays; r++) expect(applyEvents(s, batch)).toBe(false);
        }
        expect(s).toEqual(applied(ordered));
      }),
    );
  });

  // Was a risk (fixed: later events wait in `pending`): "any order" held inside one call only. An event that comes in a later batch than a
  // higher-numbered one is dropped (n <= lastEvent), and the DO can stay behind for good: here the
  // pick is lost, so the pack is refused and the DO stays acknowledged although the node packed it.
  // CouchDB's _changes feed is not ordered across shards (q > 1), so a follower batch can hold
  // evt …0003 without …0002. Fixing it means holding an event back until the ones before it came
  // (or refolding the DO's whole event list), not skipping on lastEvent.
  it('an event that arrives after a higher-numbered one still applies', () => {
    const s = fresh();
    applyEvents(s, [ev(1, 'ack'), ev(3, 'packed')]);
    applyEvents(s, [
      ev(2, 'picked', {
        lines: [
          { line: 1, qty: 3 },
          { line: 2, qty: 2 },
        ],
      }),
    ]);
    expect(s.state).toBe('packed');
  });
});

describe("foldEvents (the node's view of its own DOs)", () => {
  it("says what the hub's DO state says, whatever order and repeats the events come in", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EventStatus.options), { maxLength: 8 }), fc.integer({ min: 0, max: 1000 }), (statuses, seed) => {
        const events = numbered(statuses);
        // shuffled and partly repeated, as a node's changes feed or a restore may hand them over
        const mixed = [...events, ...events.filter((_, i) => (i + seed) % 3 === 0)].sort((a, b) => ((a.n * 7919 + seed) % 13) - ((b.n * 7919 + seed) % 13));
        const node = foldEvents(mixed);
        const hub = applied(events);
        expect({ state: node.state, picked: node.picked, lastEvent: node.lastEvent, pending: node.pending }).toEqual({
          state: hub.state,
          picked: hub.picked,
          lastEvent: hub.lastEvent,
          pending: hub.pending,
        });
      }),
    );
  });

  it('a pick reported and then refused by the state machine leaves what was picked before', () => {
    const p = foldEvents([
      ev(1, 'ack'),
      ev(2, 'picked', {
        lines: [
          { line: 1, qty: 3 },
          { line: 2, qty: 1 },
        ],
      }),
      ev(3, 'packed'),
      ev(4, 'shipped'),
      ev(5, 'picked', { lines: [{ line: 1, qty: 0 }] }),
    ]);
    expect(p.state).toBe('shipped');
    expect(p.picked).toEqual({ 1: 3, 2: 1 });
    expect(p.history.at(-1)).toMatchObject({ n: 5, applied: false });
  });

  it('an event whose predecessor is missing waits: the node shows the state before it', () => {
    const p = foldEvents([ev(1, 'ack'), ev(3, 'packed')]);
    expect(p.state).toBe('acknowledged');
    expect(p.pending?.map((e) => e.n)).toEqual([3]);
  });
});
