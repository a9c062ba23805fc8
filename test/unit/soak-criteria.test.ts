import { describe, expect, it } from 'vitest';
import { fdTrend } from '../../scripts/chaos/soak.js';

/** Sockets that come and go with traffic: 132–212 around 170, no drift (a fixed pseudo-random scatter). */
const scatter = Array.from({ length: 50 }, (_, i) => [300 + i * 30, 170 + Math.round(40 * Math.sin(i * 2.7) * Math.cos(i * 1.3))] as [number, number]);

describe('the soak: descriptors flat', () => {
  it('takes traffic scatter for flat, even where the last samples fall on a burst', () => {
    const pts = scatter.map(([t, v], i) => [t, i >= 47 ? 205 : v] as [number, number]);
    // the means of the first and last 3 samples (the criterion before) differ by 25, +14 %: a fail
    const mean3 = (xs: [number, number][]) => xs.reduce((a, x) => a + x[1], 0) / 3;
    expect(mean3(pts.slice(-3)) - mean3(pts.slice(0, 3))).toBeGreaterThan(20);
    expect(mean3(pts.slice(-3)) / mean3(pts.slice(0, 3))).toBeGreaterThan(1.1);
    const tr = fdTrend('hub: sockets', pts)!;
    expect(tr.min).toBeLessThanOrEqual(135);
    expect(tr.max).toBeGreaterThanOrEqual(205);
    expect(tr.ok).toBe(true);
    expect(Math.abs(tr.change)).toBeLessThan(tr.limit);
    expect(fdTrend('hub: sockets', scatter)!.ok).toBe(true);
  });

  it('finds a steady leak under the same scatter: one descriptor a minute over 25 minutes', () => {
    const pts = scatter.map(([t, v]) => [t, v + Math.round((t - 300) / 60)] as [number, number]);
    const tr = fdTrend('hub: sockets', pts)!;
    expect(tr.change).toBeGreaterThan(20);
    expect(tr.ok).toBe(false);
  });

  it('allows 10 % of a large count, and 20 of a small one', () => {
    const line = (from: number, to: number) => Array.from({ length: 11 }, (_, i) => [i * 60, from + ((to - from) * i) / 10] as [number, number]);
    expect(fdTrend('files', line(1000, 1090))!.ok).toBe(true);
    expect(fdTrend('files', line(1000, 1120))!.ok).toBe(false);
    expect(fdTrend('files', line(10, 29))!.ok).toBe(true);
    expect(fdTrend('files', line(10, 32))!.ok).toBe(false);
    // shrinking is flat enough
    expect(fdTrend('files', line(300, 100))!.ok).toBe(true);
    expect(fdTrend('files', line(1, 2).slice(0, 2))).toBeNull();
  });
});
