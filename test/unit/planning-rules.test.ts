/** The planning rules the API applies, without I/O: model-stock targets and standing, forecast rows into days. */
import { describe, expect, it } from 'vitest';
import { modelStockStanding, modelTarget, rowTarget } from '../../hub/planning/replenish.js';
import { forecastDays, mergeForecasts } from '../../hub/planning/forecasts.js';

describe('model stock', () => {
  it('a row with min and max stores them; one with days of supply stores that many days of demand, reordering at half', () => {
    expect(rowTarget({ min: 10, max: 40 }, 3)).toEqual({ min: 10, max: 40 });
    // 10 days × 3 a day = 30; reorder at 15
    expect(rowTarget({ daysOfSupply: 10 }, 3)).toEqual({ min: 15, max: 30 });
    // no demand: at least one unit, reorder at 0
    expect(rowTarget({ daysOfSupply: 10 }, 0)).toEqual({ min: 0, max: 1 });
    // fractions round the target up
    expect(rowTarget({ daysOfSupply: 7 }, 1.1)).toEqual({ min: 4, max: 8 });
    expect(() => rowTarget({}, 1)).toThrow(/daysOfSupply/);
  });

  it('the standing uses the replenishment position: on hand + in transit + on order − committed', () => {
    const n = { onHand: 12, inTransit: 5, onOrder: 3, committed: 4 };
    expect(modelStockStanding({ min: 20, max: 40 }, n, 0)).toEqual({ min: 20, max: 40, actual: 16, gap: 24, belowMin: true });
    // at min counts as below (the run orders then), above max has no gap
    expect(modelStockStanding({ min: 16, max: 40 }, n, 0).belowMin).toBe(true);
    expect(modelStockStanding({ min: 1, max: 10 }, n, 0)).toMatchObject({ gap: 0, belowMin: false });
  });

  it('days of supply are re-targeted with the demand of today, as the run does', () => {
    const m = { min: 5, max: 10, daysOfSupply: 10 };
    expect(modelTarget(m, 3)).toEqual({ min: 15, max: 30 });
    expect(modelStockStanding(m, { onHand: 0, inTransit: 0, onOrder: 0, committed: 0 }, 3)).toMatchObject({ max: 30, gap: 30 });
  });
});

describe('forecasts', () => {
  it('a daily row is its day; a weekly row is spread evenly over seven days from its date', () => {
    expect(forecastDays({ date: '2026-03-01', qty: 7, period: 'day' })).toEqual([['2026-03-01', 7]]);
    const week = forecastDays({ date: '2026-02-26', qty: 14, period: 'week' });
    expect(week.map(([d]) => d)).toEqual(['2026-02-26', '2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
    expect(week.every(([, q]) => q === 2)).toBe(true);
    expect(week.reduce((s, [, q]) => s + q, 0)).toBe(14);
  });

  it('rows replace the days they cover and keep the others a facility and SKU already had', () => {
    const have = { '2026-03-01': 9, '2026-03-09': 4 };
    const out = mergeForecasts(
      [
        { facility: 'S1', sku: 'A', date: '2026-03-01', qty: 7, period: 'week' },
        { facility: 'S1', sku: 'A', date: '2026-03-02', qty: 3, period: 'day' },
        { facility: 'S2', sku: 'A', date: '2026-03-01', qty: 2, period: 'day' },
      ],
      (f, sku) => (f === 'S1' && sku === 'A' ? have : undefined),
    );
    expect([...out.keys()]).toEqual(['S1|A', 'S2|A']);
    const s1 = out.get('S1|A')!.days;
    expect(s1['2026-03-01']).toBe(1);
    // the later daily row wins over the week's share of that day
    expect(s1['2026-03-02']).toBe(3);
    expect(s1['2026-03-07']).toBe(1);
    expect(s1['2026-03-09']).toBe(4);
    expect(out.get('S2|A')!.days).toEqual({ '2026-03-01': 2 });
    // what the store held is not changed in place
    expect(have).toEqual({ '2026-03-01': 9, '2026-03-09': 4 });
  });
});
