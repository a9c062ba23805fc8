import { describe, expect, it } from 'vitest';
import { cancelPlan } from '../../hub/orders/model.js';
import type { DoState } from '../../shared/states.js';

const alloc = (doId: string) => ({ attempt: 1, doId, facility: doId.split('.')[2]!, kind: 'ship' as const, lines: [] });

describe('cancelling an order', () => {
  it('cancels the DOs not finished, keeps those shipped or picked up, and leaves the ended ones alone', () => {
    const states: Record<string, DoState> = {
      'O.1.A': 'released',
      'O.1.B': 'picked',
      'O.1.C': 'shipped',
      'O.2.D': 'rejected',
      'O.2.E': 'picked_up',
      'O.2.F': 'cancelled',
      'O.2.G': 'short_picked',
    };
    const plan = cancelPlan({ status: 'in_fulfilment', allocations: Object.keys(states).map(alloc) }, (d) => states[d]!);
    expect(plan.already).toBeUndefined();
    expect(plan.cancel.map((a) => a.doId)).toEqual(['O.1.A', 'O.1.B', 'O.2.G']);
    expect(plan.tooLate).toEqual(['O.1.C', 'O.2.E']);
  });

  it('refuses an order that has shipped or completed', () => {
    for (const status of ['shipped', 'completed'] as const) {
      expect(cancelPlan({ status, allocations: [alloc('O.1.A')] }, () => 'released')).toEqual({ already: status, cancel: [], tooLate: [] });
    }
  });
});
