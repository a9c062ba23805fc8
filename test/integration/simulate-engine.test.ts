/**
 * The what-if engine without a hub (hub/simulate: scenario, replay, comparison): candidates'
 * sourcing merged over the current one, a new facility with its stock taking the orders near it,
 * a disabled pickup store, the bounds of a run.
 */
import { describe, expect, it } from 'vitest';
import { candidateSourcing } from '../../hub/simulate/config.js';
import { scenarioFromInstance } from '../../hub/simulate/history.js';
import { simulate } from '../../hub/simulate/run.js';
import { toCsv } from '../../hub/simulate/compare.js';
import { Instance } from '../../shared/instance.js';
import { DomError } from '../../shared/errors.js';

const inst = Instance.parse({
  facilities: [
    { id: 'DC1', type: 'dc', lat: 33.64, lon: -84.43, capacity: 1000 },
    { id: 'S1', type: 'store', lat: 33.75, lon: -84.39, capacity: 100, pickup: true },
    { id: 'S2', type: 'store', lat: 35.2, lon: -80.8, capacity: 100, pickup: true },
  ],
  inventory: [
    { facility: 'DC1', sku: 'A', onHand: 100 },
    { facility: 'S1', sku: 'A', onHand: 5 },
    { facility: 'S2', sku: 'A', onHand: 5 },
  ],
  orders: [
    // near Charlotte, far from the DC
    { id: 'C1', createdAt: '2026-12-01T10:00:00Z', shipTo: { lat: 35.22, lon: -80.84 }, lines: [{ line: 1, sku: 'A', qty: 2 }] },
    { id: 'C2', createdAt: '2026-12-01T10:01:00Z', shipTo: { lat: 35.1, lon: -80.7 }, lines: [{ line: 1, sku: 'A', qty: 6 }] },
    { id: 'P1', createdAt: '2026-12-01T10:02:00Z', delivery: 'pickup', pickupFacility: 'S1', lines: [{ line: 1, sku: 'A', qty: 1 }] },
    { id: 'A1', createdAt: '2026-12-01T10:03:00Z', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 3 }] },
  ],
});

describe('what-if engine', () => {
  it("merges a candidate's sourcing field by field over the current one, and its costs over every strategy", () => {
    const cur = { default: { perShipment: 6, maxCandidates: 12 }, pickup: { maxDistanceKm: 80 } };
    expect(candidateSourcing(cur, { sourcing: { default: { perKm: 0.01 } }, costs: { perShipment: 9 } })).toEqual({
      default: { perShipment: 9, maxCandidates: 12, perKm: 0.01 },
      pickup: { maxDistanceKm: 80, perShipment: 9 },
    });
    expect(cur.default.perShipment).toBe(6); // the current one is left as it was
  });

  it('a new facility with stock takes the orders near it, and costs less than shipping from afar', async () => {
    const sc = scenarioFromInstance(inst, 1);
    const r = await simulate(sc, [
      {
        name: 'DC Charlotte',
        newFacilities: [
          {
            id: 'DC2',
            type: 'dc',
            lat: 35.23,
            lon: -80.84,
            capacity: 500,
            shipFromStore: true,
            pickup: false,
            priority: 0,
            stock: [{ sku: 'A', onHand: 50, safetyStock: 0 }],
          },
        ],
      },
      { name: 'S1 closed', facilities: [{ id: 'S1', enabled: false }] },
    ]);
    expect(r.batches).toBe(4);
    const [current, dc2, noS1] = r.configurations;
    expect(current!.load.find((l) => l.facility === 'DC2')).toBeUndefined();
    const dc2Load = dc2!.load.find((l) => l.facility === 'DC2')!;
    expect(dc2Load.units).toBe(8); // C1 and C2
    expect(dc2!.vsCurrent!.gainers[0]).toEqual({ facility: 'DC2', units: 8 });
    expect(dc2!.vsCurrent!.costDelta).toBeLessThan(0);
    expect(dc2!.distanceKm).toBeLessThan(current!.distanceKm);
    // the pickup order at a closed store gets nothing (and the batch with it still runs)
    const p1 = noS1!.vsCurrent!.changed.find((c) => c.order === 'P1')!;
    expect(p1.candidate.picks).toEqual([]);
    expect(p1.candidate.unfilled).toEqual([{ line: 1, qty: 1 }]);
    expect(noS1!.load.find((l) => l.facility === 'S1')!.units).toBe(0);
    expect(noS1!.unitsBackordered).toBe(current!.unitsBackordered + 1);
    const csv = toCsv(r.configurations, 'load').trim().split('\n');
    expect(csv[0]).toBe('configuration,facility,type,enabled,units,capacity,peak_units,peak_day,utilisation');
    expect(csv).toContain('S1 closed,S1,store,false,0,100,0,,0');
  });

  it('counts capacity per batch for an instance, as dom allocate does per call', async () => {
    const tight = Instance.parse({ ...inst, facilities: inst.facilities.map((f) => ({ ...f, capacity: f.id === 'DC1' ? 3 : 0 })) });
    const r = await simulate(scenarioFromInstance(tight, 1), [{ name: 'same', costs: {} }]);
    // each batch (one order) may take 3 units at DC1, the only facility with capacity: C1 (2),
    // C2 (3 of 6), P1 (1, a transfer to its store) and A1 (3)
    expect(r.configurations[0]!.unitsFilled).toBe(9);
    expect(r.configurations[0]!.unitsBackordered).toBe(3);
    expect(r.configurations[0]!.load.find((l) => l.facility === 'DC1')).toMatchObject({ peakUnits: 3, capacity: 3, utilisation: 1 });
  });

  it('is bounded: too many orders are refused, and a run past its time stops with time_limit', async () => {
    const many = Instance.parse({
      ...inst,
      orders: Array.from({ length: 50_001 }, (_, i) => ({ id: `O${i}`, shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 1 }] })),
    });
    expect(() => scenarioFromInstance(many)).toThrow(expect.objectContaining({ status: 413, code: 'too_many_orders' }));
    const err = await simulate(scenarioFromInstance(inst, 1), [{ name: 'x', costs: {} }], { maxMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomError);
    expect(err).toMatchObject({ code: 'time_limit' });
    await expect(simulate(scenarioFromInstance(inst), [{ name: 'x', facilities: [{ id: 'NOPE', enabled: false }] }])).rejects.toMatchObject({
      status: 422,
      code: 'unknown_facility',
    });
  });
});
