/**
 * The roll-up of DO states into line and order status (hub/orders/model.ts `lineViews` and
 * `orderStatus`): what a customer-service agent reads on an order. Every line status comes from the
 * DOs' states alone, so re-sourcing (a short pick, a rejection) needs no bookkeeping: units a DO
 * will not deliver are no longer covered, `unallocated` says what the allocator still has to place,
 * and `excluded` where not to look again.
 */
import { describe, expect, it } from 'vitest';
import { lineViews, orderStatus, type Allocation, type OrderDoc } from '../../hub/orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import type { DoLine } from '../../shared/schemas.js';
import type { DoState, LineStatus, OrderStatus } from '../../shared/states.js';

const AT = '2026-03-02T09:00:00.000Z';

function order(o: {
  delivery?: 'ship' | 'pickup';
  lines: [line: number, sku: string, qty: number][];
  allocations?: Allocation[];
  cancelRequested?: boolean;
  backordered?: boolean;
}): OrderDoc {
  const delivery = o.delivery ?? 'ship';
  return {
    _id: 'order:ORD-1',
    id: 'ORD-1',
    type: 'order',
    channel: 'web',
    priority: 5,
    delivery,
    ...(delivery === 'ship' ? { shipTo: { lat: 33.7, lon: -84.4 } } : { pickupFacility: 'STORE-1' }),
    lines: o.lines.map(([line, sku, qty]) => ({ line, sku, qty, allowSubstitutes: true })),
    bodyHash: 'h',
    receivedAt: AT,
    createdAt: AT,
    updatedAt: AT,
    status: 'received',
    attempts: 1,
    allocations: o.allocations ?? [],
    explanations: [],
    ...(o.cancelRequested ? { cancelRequested: true } : {}),
    ...(o.backordered ? { backorderedAt: AT } : {}),
  };
}

function alloc(doId: string, facility: string, lines: DoLine[], extra: Partial<Allocation> = {}): Allocation {
  return { attempt: 1, doId, facility, kind: 'ship', lines, ...extra };
}

const dl = (line: number, sku: string, qty: number, extra: Partial<DoLine> = {}): DoLine => ({ line, sku, qty, ...extra });

function st(doId: string, state: DoState, picked?: Record<string, number>): [string, DoStateDoc] {
  const doc: DoStateDoc = {
    _id: `dostate:${doId}`,
    type: 'dostate',
    doId,
    orderId: 'ORD-1',
    attempt: 1,
    facility: 'F',
    kind: 'ship',
    lines: [],
    state,
    lastEvent: 1,
    history: [],
    createdAt: AT,
    updatedAt: AT,
  };
  return [doId, picked ? { ...doc, picked } : doc];
}

const states = (...s: [string, DoStateDoc][]) => new Map(s);

/** Line statuses and order status of an order under these DO states. */
function rollup(o: OrderDoc, s: Map<string, DoStateDoc> = new Map()): { lines: LineStatus[]; order: OrderStatus } {
  const v = lineViews(o, s);
  return { lines: v.map((l) => l.status), order: orderStatus(o, v) };
}

describe('line and order status of a ship order', () => {
  it('received: nothing allocated, allocation not yet tried', () => {
    const o = order({ lines: [[1, 'A', 2]] });
    expect(rollup(o)).toEqual({ lines: ['received'], order: 'received' });
    expect(lineViews(o, new Map())[0]).toMatchObject({ delivered: 0, open: 0, unallocated: 2, allocations: [], excluded: [] });
  });

  it('backordered: allocation tried and nothing placed', () => {
    expect(
      rollup(
        order({
          lines: [
            [1, 'A', 2],
            [2, 'B', 1],
          ],
          backordered: true,
        }),
      ),
    ).toEqual({ lines: ['backordered', 'backordered'], order: 'backordered' });
  });

  it('released: every unit on a DO not yet started; a DO whose state is not read yet counts as released', () => {
    const o = order({
      lines: [
        [1, 'A', 2],
        [2, 'B', 1],
      ],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 2)]), alloc('D2', 'DC-2', [dl(1, 'B', 1, { orderLine: 2 })])],
    });
    expect(rollup(o, states(st('D1', 'released')))).toEqual({ lines: ['released', 'released'], order: 'released' });
    expect(lineViews(o, states(st('D1', 'released')))[1]).toMatchObject({
      open: 1,
      unallocated: 0,
      allocations: [{ facility: 'DC-2', sku: 'B', qty: 1, doId: 'D2', doStatus: 'released', kind: 'ship' }],
    });
  });

  it('partially allocated: part of a line placed, or one line placed and another backordered', () => {
    const part = order({ lines: [[1, 'A', 5]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 3)])], backordered: true });
    expect(rollup(part, states(st('D1', 'released')))).toEqual({ lines: ['partially_allocated'], order: 'partially_allocated' });
    expect(lineViews(part, states(st('D1', 'released')))[0]).toMatchObject({ open: 3, unallocated: 2 });
    const mixed = order({
      lines: [
        [1, 'A', 1],
        [2, 'B', 1],
      ],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 1)])],
      backordered: true,
    });
    expect(rollup(mixed, states(st('D1', 'released')))).toEqual({ lines: ['released', 'backordered'], order: 'partially_allocated' });
  });

  it('in fulfilment: a DO acknowledged, picked or packed', () => {
    for (const s of ['acknowledged', 'picked', 'packed'] as const) {
      const o = order({
        lines: [
          [1, 'A', 2],
          [2, 'B', 1],
        ],
        allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 2)]), alloc('D2', 'DC-1', [dl(2, 'B', 1)])],
      });
      expect(rollup(o, states(st('D1', s), st('D2', 'released'))), s).toEqual({ lines: ['in_fulfilment', 'released'], order: 'in_fulfilment' });
    }
  });

  it('shipped: every unit shipped, across DOs and facilities', () => {
    const o = order({ lines: [[1, 'A', 3]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 2)]), alloc('D2', 'DC-2', [dl(1, 'A', 1)])] });
    expect(rollup(o, states(st('D1', 'shipped'), st('D2', 'shipped')))).toEqual({ lines: ['shipped'], order: 'shipped' });
    expect(lineViews(o, states(st('D1', 'shipped'), st('D2', 'shipped')))[0]).toMatchObject({ delivered: 3, open: 0, unallocated: 0 });
  });

  it('partially shipped: some units shipped, the rest still coming', () => {
    const o = order({
      lines: [
        [1, 'A', 3],
        [2, 'B', 1],
      ],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 2)]), alloc('D2', 'DC-2', [dl(1, 'A', 1), dl(2, 'B', 1)])],
    });
    const s = states(st('D1', 'shipped'), st('D2', 'packed'));
    expect(rollup(o, s)).toEqual({ lines: ['partially_shipped', 'in_fulfilment'], order: 'partially_shipped' });
    expect(lineViews(o, s)[0]).toMatchObject({ delivered: 2, open: 1, unallocated: 0 });
    // one line complete, the other not: the order is partially shipped
    expect(rollup(o, states(st('D1', 'released'), st('D2', 'shipped')))).toEqual({ lines: ['partially_shipped', 'shipped'], order: 'partially_shipped' });
  });
});

describe('re-sourcing: short picks and rejections', () => {
  it('a short pick covers only what was found; the rest is unallocated and the facility excluded', () => {
    const o = order({ lines: [[1, 'A', 3]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 3)])] });
    const v = lineViews(o, states(st('D1', 'short_picked', { '1': 1 })))[0]!;
    expect(v).toMatchObject({ status: 'in_fulfilment', delivered: 0, open: 1, unallocated: 2, excluded: ['DC-1'] });
    // the short DO then ships what it found: partially shipped, two still to place
    expect(lineViews(o, states(st('D1', 'shipped', { '1': 1 })))[0]).toMatchObject({
      status: 'partially_shipped',
      delivered: 1,
      unallocated: 2,
      excluded: ['DC-1'],
    });
  });

  it('a pick of nothing leaves the line to the allocator: received, or backordered once tried', () => {
    const o = order({ lines: [[1, 'A', 3]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 3)])] });
    const s = states(st('D1', 'short_picked', { '1': 0 }));
    expect(lineViews(o, s)[0]).toMatchObject({ status: 'received', open: 0, unallocated: 3, excluded: ['DC-1'] });
    expect(rollup({ ...o, backorderedAt: AT }, s)).toEqual({ lines: ['backordered'], order: 'backordered' });
  });

  it('the re-sourced units elsewhere cover the line again', () => {
    const o = order({
      lines: [[1, 'A', 3]],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 3)]), alloc('D2', 'DC-2', [dl(1, 'A', 2)], { attempt: 2 })],
    });
    const v = lineViews(o, states(st('D1', 'shipped', { '1': 1 }), st('D2', 'released')))[0]!;
    expect(v).toMatchObject({ status: 'partially_shipped', delivered: 1, open: 2, unallocated: 0, excluded: ['DC-1'] });
    expect(v.allocations.map((a) => [a.facility, a.qty, a.doStatus])).toEqual([
      ['DC-1', 3, 'shipped'],
      ['DC-2', 2, 'released'],
    ]);
    expect(rollup(o, states(st('D1', 'shipped', { '1': 1 }), st('D2', 'shipped')))).toEqual({ lines: ['shipped'], order: 'shipped' });
  });

  it('a rejected DO covers nothing; its facility is excluded; a new DO elsewhere releases the line', () => {
    const o = order({ lines: [[1, 'A', 2]], allocations: [alloc('D1', 'STORE-9', [dl(1, 'A', 2)])], backordered: true });
    expect(lineViews(o, states(st('D1', 'rejected')))[0]).toMatchObject({ status: 'backordered', open: 0, unallocated: 2, excluded: ['STORE-9'] });
    const again = { ...o, allocations: [...o.allocations, alloc('D2', 'DC-1', [dl(1, 'A', 2)], { attempt: 2 })] };
    expect(lineViews(again, states(st('D1', 'rejected'), st('D2', 'released')))[0]).toMatchObject({
      status: 'released',
      open: 2,
      unallocated: 0,
      excluded: ['STORE-9'],
    });
    // excluded lists a facility once, however many of its DOs came up short
    const twice = { ...o, allocations: [...o.allocations, alloc('D3', 'STORE-9', [dl(1, 'A', 2)], { attempt: 2 })] };
    expect(lineViews(twice, states(st('D1', 'rejected'), st('D3', 'rejected')))[0]!.excluded).toEqual(['STORE-9']);
  });

  it('a full pick excludes nobody', () => {
    const o = order({ lines: [[1, 'A', 2]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 2)])] });
    expect(lineViews(o, states(st('D1', 'picked', { '1': 2 })))[0]).toMatchObject({ excluded: [], unallocated: 0 });
  });
});

describe('substitutes and DO line numbers', () => {
  it('a substitute SKU fills the order line it names; the view shows the SKU sent', () => {
    const o = order({
      lines: [
        [1, 'A', 2],
        [2, 'B', 1],
      ],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'A-ALT', 2, { orderLine: 1, orderedSku: 'A' }), dl(2, 'B', 1)])],
    });
    const v = lineViews(o, states(st('D1', 'shipped')));
    expect(v.map((l) => [l.line, l.sku, l.status, l.delivered])).toEqual([
      [1, 'A', 'shipped', 2],
      [2, 'B', 'shipped', 1],
    ]);
    expect(v[0]!.allocations).toEqual([{ facility: 'DC-1', sku: 'A-ALT', qty: 2, doId: 'D1', doStatus: 'shipped', kind: 'ship' }]);
  });

  it('DO lines are matched to order lines by orderLine, not by their own number', () => {
    // the DO's line 1 fills order line 2 and its line 2 fills order line 1
    const o = order({
      lines: [
        [1, 'A', 1],
        [2, 'B', 4],
      ],
      allocations: [alloc('D1', 'DC-1', [dl(1, 'B', 4, { orderLine: 2 }), dl(2, 'A', 1, { orderLine: 1 })])],
    });
    const v = lineViews(o, states(st('D1', 'short_picked', { '1': 4, '2': 0 })));
    expect(v.map((l) => [l.line, l.open, l.unallocated, l.excluded])).toEqual([
      [1, 0, 1, ['DC-1']],
      [2, 4, 0, []],
    ]);
  });
});

describe('pickup orders', () => {
  const pickup = (allocations: Allocation[], extra: { backordered?: boolean; cancelRequested?: boolean } = {}) =>
    order({ delivery: 'pickup', lines: [[1, 'A', 2]], allocations, ...extra });

  it('ready for pickup, then completed once picked up', () => {
    const o = pickup([alloc('P1', 'STORE-1', [dl(1, 'A', 2)], { kind: 'pickup' })]);
    expect(rollup(o, states(st('P1', 'picked')))).toEqual({ lines: ['in_fulfilment'], order: 'in_fulfilment' });
    expect(rollup(o, states(st('P1', 'ready_for_pickup')))).toEqual({ lines: ['ready_for_pickup'], order: 'ready_for_pickup' });
    expect(rollup(o, states(st('P1', 'picked_up')))).toEqual({ lines: ['picked_up'], order: 'completed' });
  });

  it('a transfer to the pickup store delivers nothing itself: in fulfilment while it moves, its handover DO delivers', () => {
    const transfer = alloc('T1', 'DC-1', [dl(1, 'A', 2)], { kind: 'transfer' });
    expect(rollup(pickup([transfer]), states(st('T1', 'released')))).toEqual({ lines: ['released'], order: 'released' });
    expect(rollup(pickup([transfer]), states(st('T1', 'packed')))).toEqual({ lines: ['in_fulfilment'], order: 'in_fulfilment' });
    // shipped to the store: still in fulfilment (not "shipped": the customer has nothing yet)
    const moving = lineViews(pickup([transfer]), states(st('T1', 'shipped')))[0]!;
    expect(moving).toMatchObject({ status: 'in_fulfilment', delivered: 0, open: 2, unallocated: 0 });
    // the handover DO at the pickup store takes over
    const handover = alloc('P2', 'STORE-1', [dl(1, 'A', 2)], { kind: 'pickup', attempt: 2, handoverOf: 'T1' });
    const o = pickup([transfer, handover]);
    expect(lineViews(o, states(st('T1', 'shipped'), st('P2', 'released')))[0]).toMatchObject({ status: 'released', open: 2, delivered: 0 });
    expect(rollup(o, states(st('T1', 'shipped'), st('P2', 'ready_for_pickup')))).toEqual({ lines: ['ready_for_pickup'], order: 'ready_for_pickup' });
    expect(rollup(o, states(st('T1', 'shipped'), st('P2', 'picked_up')))).toEqual({ lines: ['picked_up'], order: 'completed' });
  });

  it('a transfer that came up short: the handover carries what was found, the rest is re-sourced away from the DC', () => {
    const transfer = alloc('T1', 'DC-1', [dl(1, 'A', 2)], { kind: 'transfer' });
    const handover = alloc('P2', 'STORE-1', [dl(1, 'A', 1)], { kind: 'pickup', attempt: 2, handoverOf: 'T1' });
    const v = lineViews(pickup([transfer, handover]), states(st('T1', 'shipped', { '1': 1 }), st('P2', 'ready_for_pickup')))[0]!;
    expect(v).toMatchObject({ open: 1, unallocated: 1, excluded: ['DC-1'] });
    // half ready is not ready: the line is not "ready for pickup" until all of it is
    expect(v.status).not.toBe('ready_for_pickup');
  });

  // Was a bug in lineViews (fixed): units waiting at the pickup counter count as "open" but not as work, so a line
  // with part of it ready and the rest on a DO not yet started reads "released", as if nothing had
  // happened. `ready > 0` should make the line in_fulfilment.
  it('a line partly ready for pickup, the rest still to come, is in fulfilment', () => {
    const o = pickup([alloc('P1', 'STORE-1', [dl(1, 'A', 1)], { kind: 'pickup' }), alloc('T2', 'DC-1', [dl(1, 'A', 1)], { kind: 'transfer', attempt: 2 })]);
    expect(rollup(o, states(st('P1', 'ready_for_pickup'), st('T2', 'released'))).lines).toEqual(['in_fulfilment']);
  });

  it('ready for pickup while another line was cancelled', () => {
    const lines = lineViews(
      order({ delivery: 'pickup', lines: [[1, 'A', 1]], allocations: [alloc('P1', 'STORE-1', [dl(1, 'A', 1)], { kind: 'pickup' })] }),
      states(st('P1', 'ready_for_pickup')),
    );
    expect(orderStatus(order({ delivery: 'pickup', lines: [[1, 'A', 1]] }), [...lines, { ...lines[0]!, line: 2, status: 'cancelled' }])).toBe(
      'ready_for_pickup',
    );
  });
});

describe('cancellation', () => {
  const two = (cancelRequested: boolean) =>
    order({ lines: [[1, 'A', 2]], allocations: [alloc('D1', 'DC-1', [dl(1, 'A', 1)]), alloc('D2', 'DC-2', [dl(1, 'A', 1)])], cancelRequested });

  it('cancelled once every DO is cancelled; an order never allocated is cancelled at once', () => {
    expect(rollup(two(true), states(st('D1', 'cancelled'), st('D2', 'cancelled')))).toEqual({ lines: ['cancelled'], order: 'cancelled' });
    expect(
      rollup(
        order({
          lines: [
            [1, 'A', 1],
            [2, 'B', 1],
          ],
          cancelRequested: true,
          backordered: true,
        }),
      ),
    ).toEqual({ lines: ['cancelled', 'cancelled'], order: 'cancelled' });
  });

  it('a cancel still pending at a facility leaves the line in its current state', () => {
    expect(rollup(two(true), states(st('D1', 'cancelled'), st('D2', 'packed')))).toEqual({ lines: ['in_fulfilment'], order: 'in_fulfilment' });
    expect(rollup(two(true), states(st('D1', 'cancelled'), st('D2', 'released')))).toEqual({ lines: ['partially_allocated'], order: 'partially_allocated' });
  });

  it('a cancel that came too late for part of it: partially shipped, the rest cancelled', () => {
    const s = states(st('D1', 'shipped'), st('D2', 'cancelled'));
    expect(rollup(two(true), s)).toEqual({ lines: ['partially_shipped'], order: 'partially_shipped' });
    expect(lineViews(two(true), s)[0]).toMatchObject({ delivered: 1, open: 0 });
    // too late for all of it: shipped
    expect(rollup(two(true), states(st('D1', 'shipped'), st('D2', 'shipped')))).toEqual({ lines: ['shipped'], order: 'shipped' });
  });

  it('a DO cancelled without a cancel request (not the customer) is not a cancelled line', () => {
    expect(rollup(two(false), states(st('D1', 'cancelled'), st('D2', 'cancelled')))).toEqual({ lines: ['received'], order: 'received' });
  });
});

describe('orderStatus over line statuses', () => {
  const o = order({ lines: [[1, 'A', 1]] });
  const p = order({ delivery: 'pickup', lines: [[1, 'A', 1]] });
  const of = (order: OrderDoc, ...s: LineStatus[]) =>
    orderStatus(
      order,
      s.map((status, i) => ({ line: i + 1, sku: 'A', qty: 1, status, delivered: 0, open: 0, unallocated: 0, allocations: [], excluded: [] })),
    );

  it('takes the least advanced line, with the customer-facing facts first', () => {
    expect(of(o, 'cancelled', 'cancelled')).toBe('cancelled');
    expect(of(o, 'shipped', 'shipped')).toBe('shipped');
    expect(of(p, 'picked_up', 'picked_up')).toBe('completed');
    expect(of(o, 'shipped', 'cancelled')).toBe('partially_shipped');
    expect(of(o, 'shipped', 'backordered')).toBe('partially_shipped');
    expect(of(o, 'partially_shipped', 'released')).toBe('partially_shipped');
    expect(of(p, 'ready_for_pickup', 'ready_for_pickup')).toBe('ready_for_pickup');
    expect(of(p, 'ready_for_pickup', 'released')).toBe('in_fulfilment');
    expect(of(o, 'in_fulfilment', 'backordered')).toBe('in_fulfilment');
    expect(of(o, 'released', 'released')).toBe('released');
    expect(of(o, 'released', 'received')).toBe('partially_allocated');
    expect(of(o, 'partially_allocated', 'partially_allocated')).toBe('partially_allocated');
    expect(of(o, 'backordered', 'backordered')).toBe('backordered');
    expect(of(o, 'backordered', 'received')).toBe('partially_allocated');
    expect(of(o, 'received', 'received')).toBe('received');
  });
});
