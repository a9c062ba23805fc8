import { describe, expect, it } from 'vitest';
import { fdTrend, judgeSoak, memPartsOf, soakMarkdown, type SoakSample } from '../../scripts/chaos/soak.js';

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

/** A sample of a soak under load: the hub's RSS, and whatever else of the hub's is given. */
const sample = (t: number, hubRss: number, final?: boolean, hub: Partial<SoakSample['hub']> = {}): SoakSample => ({
  t,
  hub: { rssMb: hubRss, fds: 30, sockets: 20, files: 4, ...hub },
  couch: null,
  nodes: { up: 2, rssMeanMb: 100, rssMaxMb: 100, fds: 60, steadyRssMeanMb: 100, steadyFds: 60 },
  lag: { notPulled: 0, notPushed: 0, notPushedMax: 0, notPulledMax: 0 },
  up: { n: 0, p50: null, max: null },
  down: { n: 0, p50: null, max: null },
  ordersAccepted: 0,
  ...(final ? { final } : {}),
});

describe('the soak: resident memory', () => {
  it('compares the means of 3 samples from minute 5 and of the last 3 under load; the sample after the work stopped is not judged', () => {
    const samples = Array.from({ length: 61 }, (_, i) => sample(i * 30, 200 + i));
    // the hub idles once the work stops, and its heap shrinks: that must not hide the growth
    samples.push(sample(1805, 150, true));
    const j = judgeSoak(samples, 1_800_000, 0);
    expect(j.rssFromTo.hub).toEqual([211, 259]);
    expect(j.growth.hubRss).toBe(22.7);
    expect(j.pass.rss).toBe(false);
    expect(j.pass.noStall).toBe(true);
    expect(j.pass.fds).toBe(true);
  });
});

describe("the soak: where the hub's memory is", () => {
  const map = (start: string, end: string, name: string, rssKb: number) => `${start}-${end} rw-p 00000000 00:00 0 ${name}\nSize: 1 kB\nRss: ${rssKb} kB\n`;

  it("tells malloc's main arena, the other threads' arenas, other anonymous memory and mapped files apart", () => {
    const smaps =
      map('55d0c0000000', '55d0c2000000', '[heap]', 10 * 1024) +
      // glibc's per-thread heaps: a 64 MiB-aligned start, no further than 64 MiB
      map('7f3c04000000', '7f3c05800000', '', 20 * 1024) +
      map('7f3c08000000', '7f3c0c000000', '', 4 * 1024) +
      // V8's heap pages and the like: anonymous, not on a 64 MiB boundary, or larger
      map('7f3c0e001000', '7f3c0f000000', '', 30 * 1024) +
      map('7f3800000000', '7f3810000000', '', 50 * 1024) +
      map('7f3d00000000', '7f3d00100000', '/usr/bin/node', 45 * 1024);
    expect(memPartsOf(smaps)).toEqual({ brkMb: 10, arenasMb: 24, anonMb: 104, fileMb: 45 });
  });

  it('reports each part from minute 5 to the end beside the criterion', () => {
    const samples = Array.from({ length: 61 }, (_, i) =>
      sample(i * 30, 200 + i, false, {
        mem: { brkMb: 10, arenasMb: 20, anonMb: 140 + i, fileMb: 50 },
        heap: {
          heapTotalBeforeMb: 100 + i / 2,
          heapUsedBeforeMb: 80,
          heapUsedMb: 50,
          heapTotalMb: 60,
          externalMb: 4,
          arrayBuffersMb: 1,
          rssMb: 200,
          oldSpaceMb: 60 + i / 2,
          newSpaceMb: 32,
          codeSpaceMb: 6,
          v8MallocPeakMb: 43,
        },
      }),
    );
    const j = judgeSoak(samples, 1_800_000, 0);
    // samples 10–12 against 58–60
    expect(j.hubMemFromTo).toMatchObject({ v8: [105.5, 129.5], oldSpace: [65.5, 89.5], newSpace: [32, 32], native: [55.5, 79.5], files: [50, 50] });
    const md = soakMarkdown({ durationS: 1800, intervalS: 30, ratePerS: 1, samples, stalls: [], probes: { up: [], down: [], failed: 0 }, ...j });
    expect(md).toContain("V8's heap 105.5 → 129.5 MB (its old space 65.5 → 89.5 MB, young generation 32 → 32 MB)");
    expect(md).toContain("native memory outside it 55.5 → 79.5 MB (malloc's main arena 10 → 10 MB, the other threads' arenas 20 → 20 MB)");
  });
});
