/**
 * Smoke test of `dom bench allocator --quick`: every figure is produced and recorded. No timing
 * thresholds: the figures are what the bench is for, not what the test checks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../scripts/bench/allocator.js';
import { BATCH_EFFORT } from '../../hub/allocator/core.js';
import { formulate } from '../../scripts/bench/highs.js';
import { generateInstance } from '../../scripts/bench/instances.js';
import { Instance } from '../../shared/instance.js';

const finite = (x: unknown) => expect(typeof x === 'number' && Number.isFinite(x), `${String(x)} is a finite number`).toBe(true);

describe('dom bench allocator --quick', () => {
  it('produces every figure, prints the table and appends the run to the Allocator section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom-bench-'));
    const file = join(dir, 'BENCHMARKS.md');
    writeFileSync(file, '# Benchmarks\n\n## Allocator\n\nintro\n\n## Other\n\nother runs\n');
    const printed: string[] = [];
    try {
      const r = await run({ quick: true, record: file, progress: false, print: (s) => printed.push(s) });
      expect(r.instances).toHaveLength(3);
      for (const i of r.instances) {
        for (const m of [i.batch, i.light, i.single]) {
          finite(m.ordersPerSec);
          expect(m.ordersPerSec).toBeGreaterThan(0);
        }
        for (const m of [i.batch, i.light, i.single, i.greedy]) {
          for (const k of ['cost', 'shipments', 'filled', 'substituted', 'unfilled', 'value', 'ratio'] as const) finite(m[k]);
          expect(m.filled + m.unfilled).toBe(i.stats.units);
          // the optimum (or its lower bound) is never above a feasible result of the same model
          expect(m.ratio).toBeGreaterThanOrEqual(1 - 1e-6);
        }
        for (const k of ['value', 'cost', 'filled', 'seconds', 'columns', 'rows'] as const) finite(i.optimum[k]);
        for (const k of ['p50', 'p90', 'p99', 'max'] as const) finite(i.latencyUs[k]);
        finite(i.gapClosed);
        finite(i.sameFill.ratio);
        // the fill check ran on every path, and reports what it repaired
        for (const m of [i.batch, i.light, i.single]) {
          expect(m.fillCheck).not.toBeNull();
          expect(m.fillCheck!.unfilledAfter).toBe(m.unfilled);
          expect(m.fillCheck!.unfilledBefore).toBeGreaterThanOrEqual(m.fillCheck!.unfilledAfter);
        }
        expect(i.sameFill.ratio).toBeGreaterThanOrEqual(1 - 1e-6);
      }
      expect(r.instances.map((i) => i.optimum.method)).toEqual(['MIP', 'LP', 'MIP']);
      expect(r.targets.some((t) => t.name.startsWith('no unit left unfilled'))).toBe(true);
      expect(r.targets.length).toBeGreaterThan(0);
      finite(r.machine.cores);
      expect(r.commit).not.toBe('');
      const table = printed.join('\n');
      for (const i of r.instances) expect(table).toContain(i.name);
      expect(table).toContain('nearest-facility greedy');
      const md = readFileSync(file, 'utf8');
      // inside the Allocator section, before the next one
      expect(md.indexOf('### dom bench allocator --quick')).toBeGreaterThan(md.indexOf('## Allocator'));
      expect(md.indexOf('### dom bench allocator --quick')).toBeLessThan(md.indexOf('## Other'));
      expect(md).toContain(r.commit);
      expect(md).toContain(`| batch path (${BATCH_EFFORT.priceRounds} price + ${BATCH_EFFORT.improveRounds} improvement rounds) |`);
      expect(md).toContain('| light batch path (improveRounds 1) |');
      expect(md).toContain('capacity binding');
      expect(md).toContain('unfilled units: batch path');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generates the same valid instance from the same seed', () => {
    const spec = { orders: 200, facilities: 30, skus: 50, seed: 7 };
    const a = generateInstance(spec);
    expect(generateInstance(spec)).toEqual(a);
    expect(Instance.safeParse(a).success).toBe(true);
    expect(a.orders.some((o) => o.delivery === 'pickup')).toBe(true);
    expect(a.items.some((i) => i.substitutes.length > 0)).toBe(true);
    expect(a.inventory.some((p) => p.safetyStock > 0)).toBe(true);
  });

  it('formulates the fixed-fill model with exactly the given units and no substitute penalty', () => {
    const inst = generateInstance({ orders: 30, facilities: 8, skus: 20, seed: 3 });
    const o = inst.orders[0]!;
    const fill = new Map([[`${o.id}|${o.lines[0]!.line}`, new Map([[o.lines[0]!.sku, 1]])]]);
    const f = formulate(inst, { fill });
    expect(f.units).toBe(1);
    expect(f.uCols).toBe(1);
    expect(f.substitutePenalty).toBe(0);
    expect(f.lp).toMatch(/^Minimize/);
  });
});
