/**
 * `tsx scripts/bench/allocator-fingerprint.ts [--orders-per-s]`: the allocator's results on the bench's seeded instances as a
 * fingerprint (cost, fill, shipments and a hash of every assignment, per path), so that a refactor
 * can be shown to change nothing: run it before and after, and compare the lines.
 */
import { createHash } from 'node:crypto';
import { allocateBatch, type BatchOptions } from '../../hub/allocator/core.js';
import { costStrategy } from '../../hub/allocator/strategy.js';
import { networkOf, ordersOf, substitutesOf, resultOf } from '../../hub/allocator/instance.js';
import { generateInstance, type InstanceSpec } from './instances.js';

const SPECS: InstanceSpec[] = [
  { orders: 100, facilities: 15, skus: 60, seed: 42 },
  { orders: 300, facilities: 40, skus: 80, seed: 42 },
  { orders: 1000, facilities: 100, skus: 300, seed: 42 },
  { orders: 5000, facilities: 1000, skus: 300, seed: 42 },
  // capacity binding hard, as the bench's binding instances (allocator.ts BINDING)
  { orders: 200, facilities: 30, skus: 60, seed: 42, binding: { dcCapacityShare: 0.55, storeScale: 0.5 } },
  { orders: 1000, facilities: 100, skus: 300, seed: 42, binding: { dcCapacityShare: 0.55, storeScale: 0.5 } },
  { orders: 5000, facilities: 1000, skus: 300, seed: 42, binding: { dcCapacityShare: 0.55, storeScale: 0.5 } },
];
const PATHS: [string, BatchOptions][] = [
  ['batch', {}],
  ['light', { improveRounds: 1 }],
  ['single', { improveRounds: 0 }],
];

for (const spec of SPECS) {
  const inst = generateInstance(spec);
  const strategy = costStrategy(inst.costs);
  for (const [name, opts] of PATHS) {
    const net = networkOf(inst);
    const orders = ordersOf(inst);
    const t0 = performance.now();
    const plans = allocateBatch(net, orders, () => strategy, substitutesOf(inst), opts);
    const ms = performance.now() - t0;
    const r = resultOf(inst, plans);
    const h = createHash('sha256').update(JSON.stringify(r.assignments)).digest('hex').slice(0, 16);
    const t = r.totals;
    const speed = process.argv.includes('--orders-per-s') ? ` ${Math.round((orders.length / ms) * 1000)} orders/s` : '';
    console.log(
      `${spec.orders}x${spec.facilities}${spec.binding ? ' binding' : ''} ${name.padEnd(6)} cost ${t.cost.toFixed(6)} filled ${t.unitsFilled} unfilled ${t.unitsUnfilled} shipments ${t.shipments} hash ${h}${speed}`,
    );
  }
}
