/** The catalogue rules the API applies, without I/O: a batch of items, a change to a facility. */
import { describe, expect, it } from 'vitest';
import { itemBatchProblem } from '../../hub/items.js';
import { applyFacilityPatch } from '../../hub/facilities.js';

describe('a batch of items', () => {
  const known = (sku: string) => sku === 'OLD-1';

  it('passes when every substitute is in the batch or a known item', () => {
    expect(
      itemBatchProblem(
        [
          { sku: 'A', substitutes: ['B', 'OLD-1'] },
          { sku: 'B', substitutes: [] },
        ],
        known,
      ),
    ).toBeNull();
  });

  it('names a SKU twice, an item that substitutes itself, and an unknown substitute', () => {
    expect(
      itemBatchProblem(
        [
          { sku: 'A', substitutes: [] },
          { sku: 'A', substitutes: [] },
        ],
        known,
      ),
    ).toEqual({ code: 'duplicate_sku', message: 'SKU A appears twice' });
    expect(itemBatchProblem([{ sku: 'A', substitutes: ['A'] }], known)).toMatchObject({ code: 'invalid_substitute' });
    expect(itemBatchProblem([{ sku: 'A', substitutes: ['NOPE'] }], known)).toEqual({
      code: 'unknown_sku',
      message: 'substitute NOPE of A is not a known item',
    });
  });
});

describe('a change to a facility', () => {
  const stored = { id: 'S1', name: 'Store', capacity: 100, pickup: false, servingDc: 'DC1' };

  it('applies the fields given and lists those whose value differs, from and to', () => {
    const { next, changes } = applyFacilityPatch(stored, { capacity: 150, pickup: false, name: 'Store' });
    expect(next).toEqual({ ...stored, capacity: 150 });
    expect(changes).toEqual({ capacity: { from: 100, to: 150 } });
    // the stored facility is left as it was
    expect(stored.capacity).toBe(100);
  });

  it('null takes a field off; a field set for the first time changes from null', () => {
    const { next, changes } = applyFacilityPatch(stored, { servingDc: null, priority: 3 });
    expect(next).not.toHaveProperty('servingDc');
    expect(changes).toEqual({ servingDc: { from: 'DC1', to: null }, priority: { from: null, to: 3 } });
  });

  it('nothing to change: no changes', () => {
    expect(applyFacilityPatch(stored, { name: 'Store' }).changes).toEqual({});
  });
});
