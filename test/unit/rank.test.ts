import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareRank, compareStrings, rankKey, type Ranked } from '../../shared/rank.js';

const date = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }).map((t) => new Date(t).toISOString());
const ranked: fc.Arbitrary<Ranked> = fc.record(
  {
    priority: fc.integer({ min: 0, max: 12 }),
    dueDate: fc.option(
      date.map((d) => d.slice(0, 10)),
      { nil: undefined },
    ),
    createdAt: date,
    // ids that share beginnings, mixed case and punctuation: where a locale's collation and code-unit order differ
    id: fc.stringMatching(/^[A-Za-z0-9_.-]{1,6}$/),
  },
  { requiredKeys: ['priority', 'createdAt', 'id'] },
);

describe('order rank', () => {
  it('ranks priority first, then due date (none last), then arrival, then id', () => {
    const base = { priority: 5, createdAt: '2026-12-01T10:00:00.000Z', id: 'B' };
    const orders: Ranked[] = [
      { ...base, id: 'no-due' },
      { ...base, dueDate: '2026-12-03', id: 'due-3rd' },
      { ...base, priority: 1, id: 'urgent' },
      { ...base, dueDate: '2026-12-02', createdAt: '2026-12-01T11:00:00.000Z', id: 'due-2nd-later' },
      { ...base, dueDate: '2026-12-02', id: 'due-2nd' },
    ];
    expect([...orders].sort(compareRank).map((o) => o.id)).toEqual(['urgent', 'due-2nd', 'due-2nd-later', 'due-3rd', 'no-due']);
  });

  it('orders ids by code unit, not by the locale (upper case before lower case)', () => {
    const at = { priority: 5, createdAt: '2026-12-01T10:00:00.000Z' };
    expect(compareRank({ ...at, id: 'b' }, { ...at, id: 'C' })).toBeGreaterThan(0);
    expect(compareRank({ ...at, id: 'A1' }, { ...at, id: 'A10' })).toBeLessThan(0);
  });

  it('the rank key sorts as compareRank does', () => {
    fc.assert(
      fc.property(ranked, ranked, (a, b) => {
        expect(Math.sign(compareStrings(rankKey(a), rankKey(b)))).toBe(Math.sign(compareRank(a, b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a priority the key cannot hold', () => {
    expect(() => rankKey({ priority: -1, createdAt: '2026-12-01T10:00:00.000Z', id: 'x' })).toThrow(/priority -1/);
  });
});
