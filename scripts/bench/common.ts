/**
 * What the end-to-end and scale-out benchmarks share: percentiles from an HDR histogram, a seeded
 * random source, and the box (continental US) where their facilities and customers are.
 */
import hdr from 'hdr-histogram-js';

export type Pct = { p50: number; p99: number; max: number; count: number };

/** p50, p99, max and count of millisecond values. */
export function pct(values: number[]): Pct {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) h.recordValue(Math.max(0, Math.round(v)));
  const out = { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue, count: h.totalCount };
  h.destroy();
  return out;
}

/** mulberry32: the same data on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Continental US, where the facilities and customers are: [minLat, maxLat, minLon, maxLon]. */
export const BOX: [number, number, number, number] = [30, 47, -122, -75];
