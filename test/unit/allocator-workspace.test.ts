import { describe, expect, it } from 'vitest';
import { networkOf, ordersOf, resultOf, substitutesOf } from '../../hub/allocator/instance.js';
import { allocateBatch, allocateOrder, type BatchOptions } from '../../hub/allocator/core.js';
import { costStrategy, type SourcingStrategy } from '../../hub/allocator/strategy.js';
import { generateInstance } from '../../scripts/bench/instances.js';
import type { Instance } from '../../shared/instance.js';

const A = generateInstance({ orders: 120, facilities: 30, skus: 50, seed: 11 });
const B = generateInstance({ orders: 150, facilities: 300, skus: 60, seed: 12 });

/**
 * A strategy that turns every third store away (so that whose eligibility a search reads shows in
 * the result) and calls `inside` once, deep inside the first order's nearest search.
 */
function picky(inst: Instance, inside?: () => void): SourcingStrategy {
  const s = costStrategy(inst.costs);
  let calls = 0;
  return {
    ...s,
    eligibilityKey: undefined,
    eligible(f, o) {
      if (inside && ++calls === 5) inside();
      if (f.type === 'store' && Number(f.id.replace(/\D/g, '')) % 3 === 0) return 'not today';
      return s.eligible(f, o);
    },
  };
}

/** A batch's result on a fresh network (see picky). */
function run(inst: Instance, opts: BatchOptions, inside?: () => void) {
  const strategy = picky(inst, inside);
  return resultOf(
    inst,
    allocateBatch(networkOf(inst), ordersOf(inst), () => strategy, substitutesOf(inst), opts),
  );
}

describe('allocator workspace: re-entrant', () => {
  it('gives two interleaved batches the same results as two sequential ones, on every path', () => {
    for (const opts of [{}, { improveRounds: 1 }, { improveRounds: 0 }] as BatchOptions[]) {
      const soloA = run(A, opts);
      const soloB = run(B, opts);
      expect(soloA.totals.unitsFilled).toBeGreaterThan(0);
      let nestedB: ReturnType<typeof run> | null = null;
      const outerA = run(A, opts, () => (nestedB = run(B, opts)));
      expect(nestedB).not.toBeNull();
      expect(outerA).toEqual(soloA);
      expect(nestedB).toEqual(soloB);
    }
  });

  it('plans a single order the same when another allocation runs inside its search', () => {
    for (const order of ordersOf(A).slice(0, 20)) {
      const solo = allocateOrder(networkOf(A), order, picky(A), substitutesOf(A));
      let ran = false;
      const nested = allocateOrder(
        networkOf(A),
        order,
        picky(A, () => ((ran = true), run(B, {}))),
        substitutesOf(A),
      );
      expect(ran).toBe(true);
      expect(nested.picks).toEqual(solo.picks);
      expect(nested.cost).toBe(solo.cost);
    }
  });
});
