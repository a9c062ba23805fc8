/**
 * The planning store holds the open supply only: a purchase order or shipment whose every line is
 * received leaves memory, and `dom` is told when (`closedAt`), so that the hub's memory and every
 * sum over the supply follow the open supply, not every PO since the start (in the 30-minute soak,
 * about 50 POs and shipments a minute, all kept: docs/RELIABILITY.md).
 */
import { describe, expect, it } from 'vitest';
import { PlanningStore, type SupplyDoc } from '../../hub/planning/store.js';
import type { ReceiptDoc } from '../../shared/schemas.js';

const AT = '2026-12-02T03:00:00.000Z';
const po = (id: string, lines: { sku: string; qty: number }[], extra: Partial<SupplyDoc> = {}): SupplyDoc => ({
  _id: `po:${id}`,
  _rev: '1-a',
  type: 'po',
  id,
  facility: 'DC1',
  supplier: 'Acme',
  expectedAt: '2026-12-05T00:00:00.000Z',
  lines,
  createdAt: AT,
  ...extra,
});
const rcpt = (id: string, inboundId: string, lines: { sku: string; qty: number }[]): ReceiptDoc => ({
  _id: `rcpt:${id}`,
  type: 'rcpt',
  inboundId,
  lines,
  at: AT,
});

describe('the planning store', () => {
  it('lets go of an inbound once every line is received, and says when', () => {
    const store = new PlanningStore();
    const closed: SupplyDoc[] = [];
    store.onClosed = (d) => closed.push(d);
    store.addSupply(
      po('PO-1', [
        { sku: 'A', qty: 10 },
        { sku: 'B', qty: 4 },
      ]),
    );
    store.addSupply(po('PO-2', [{ sku: 'A', qty: 5 }]));
    expect(store.onOrder('DC1', 'A')).toBe(15);
    // an under-receipt leaves it open with what is still to come
    store.applyReceipts([
      rcpt('1', 'PO-1', [
        { sku: 'A', qty: 10 },
        { sku: 'B', qty: 1 },
      ]),
    ]);
    expect(store.supply.has('PO-1')).toBe(true);
    expect(store.remaining(store.supply.get('PO-1')!)).toEqual([{ sku: 'B', qty: 3 }]);
    // the same receipt again (a catch-up reading it back) counts once
    store.applyReceipts([
      rcpt('1', 'PO-1', [
        { sku: 'A', qty: 10 },
        { sku: 'B', qty: 1 },
      ]),
    ]);
    expect(store.remaining(store.supply.get('PO-1')!)).toEqual([{ sku: 'B', qty: 3 }]);
    store.applyReceipts([rcpt('2', 'PO-1', [{ sku: 'B', qty: 3 }])]);
    expect(store.supply.has('PO-1')).toBe(false);
    expect(closed.map((d) => d.id)).toEqual(['PO-1']);
    expect(closed[0]!.closedAt).toEqual(expect.any(String));
    expect(closed[0]!._rev).toBe('1-a');
    expect(store.onOrder('DC1', 'A')).toBe(5);
    expect(store.onOrder('DC1', 'B')).toBe(0);
    // as stored, without its closedAt yet: shown closed all the same
    expect(store.remaining(store.withClosed(po('PO-1', [{ sku: 'A', qty: 10 }])))).toEqual([]);
    // the feed's echo of the write that stored closedAt brings nothing back, nor does an older copy
    store.addSupply(closed[0]!);
    store.addSupply(
      po('PO-1', [
        { sku: 'A', qty: 10 },
        { sku: 'B', qty: 4 },
      ]),
    );
    expect(store.supply.has('PO-1')).toBe(false);
    expect(store.onOrder('DC1', 'A')).toBe(5);
  });

  it('counts receipts that came before their inbound, and never holds one stored closed', () => {
    const store = new PlanningStore();
    const closed: string[] = [];
    store.onClosed = (d) => closed.push(d.id);
    // another instance's PO, received before this instance's feed brought it: closed as it arrives
    store.applyReceipts([rcpt('9', 'PO-9', [{ sku: 'A', qty: 2 }])]);
    store.addSupply(po('PO-9', [{ sku: 'A', qty: 2 }]));
    expect(store.supply.has('PO-9')).toBe(false);
    expect(closed).toEqual(['PO-9']);
    // stored closed already (another instance closed it): never held
    store.addSupply(po('PO-8', [{ sku: 'A', qty: 1 }], { closedAt: AT }));
    expect(store.supply.has('PO-8')).toBe(false);
    expect(closed).toEqual(['PO-9']);
  });
});
