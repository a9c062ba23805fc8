/**
 * `dom bench replenish`: the replenishment run on 1,000 stores × 5,000 SKUs (the planning core, in
 * memory), and the spread of projected days of supply across stores after it where DCs were
 * constrained; then a full run through a live hub's API at a smaller size (positions, model stock
 * and forecasts loaded through the API, transfer DOs written to the DC's database).
 */
import { mkdtempSync, rmSync, appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import cliProgress from 'cli-progress';
import { planReplenishment, type StoreNeedInput } from '../../hub/planning/replenish.js';
import { startHub } from '../../hub/index.js';
import { createLogger } from '../../shared/log.js';
import { saveResult } from './common.js';

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function instance(stores: number, skus: number, dcs: number, seed = 7) {
  const r = rng(seed);
  const rows: StoreNeedInput[] = [];
  for (let s = 0; s < stores; s++) {
    for (let k = 0; k < skus; k++) {
      const daily = r() < 0.2 ? 0 : Math.round(r() ** 2 * 8 * 10) / 10;
      const max = Math.max(2, Math.ceil(daily * 14));
      const min = Math.floor(max / 3);
      rows.push({
        store: `S${s}`,
        dc: `DC${s % dcs}`,
        sku: `K${k}`,
        onHand: Math.floor(r() * max),
        inTransit: r() < 0.1 ? Math.floor(r() * 5) : 0,
        onOrder: 0,
        committed: r() < 0.1 ? 1 : 0,
        min,
        max,
        daily,
      });
    }
  }
  // DC stock: plentiful for most SKUs, constrained (a third of the need) for one in ten
  const dcStock = new Map<string, number>();
  const need = new Map<string, number>();
  for (const x of rows) {
    const ip = x.onHand + x.inTransit + x.onOrder - x.committed;
    if (ip <= x.min) need.set(`${x.dc}|${x.sku}`, (need.get(`${x.dc}|${x.sku}`) ?? 0) + x.max - ip);
  }
  for (const [k, n] of need) dcStock.set(k, Number(k.split('|')[1]!.slice(1)) % 10 === 0 ? Math.floor(n / 3) : n * 2);
  return { rows, dcAvailable: (dc: string, sku: string) => dcStock.get(`${dc}|${sku}`) ?? 0 };
}

export async function run(opts: { quick?: boolean; record?: boolean }): Promise<Record<string, unknown>> {
  const stores = opts.quick ? 50 : 1000;
  const skus = opts.quick ? 200 : 5000;
  const bar = new cliProgress.SingleBar({ format: ' {phase} [{bar}] {value}/{total}', hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(4, 0, { phase: 'build instance' });
  const t0 = performance.now();
  const inst = instance(stores, skus, Math.max(1, Math.round(stores / 100)));
  const buildMs = performance.now() - t0;
  bar.update(1, { phase: 'plan (3 runs)' });
  const times: number[] = [];
  let plan!: ReturnType<typeof planReplenishment>;
  for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
    const t = performance.now();
    plan = planReplenishment({ stores: inst.rows, dcAvailable: inst.dcAvailable, dcModelStock: [] });
    times.push(performance.now() - t);
  }
  bar.update(2, { phase: 'spread' });
  // spread of projected days of supply across the stores of each constrained (DC, SKU)
  // (stores that received units are brought to one level; stores already above it get none and stay above)
  const spreads: number[] = [];
  const spreadsAll: number[] = [];
  let constrainedUnitsLeft = 0;
  let maxUnitDeviation = 0;
  for (const f of plan.fairShare) {
    // stores that got units but not all they need: those the fair share levels (a store given its whole need sits at its max)
    const served = f.stores.filter((s) => s.daily > 0 && s.qty > 0 && s.qty < s.need && s.projectedDays !== null).map((s) => s.projectedDays!);
    const all = f.stores.filter((s) => s.daily > 0 && s.projectedDays !== null).map((s) => s.projectedDays!);
    if (served.length >= 2) spreads.push(Math.max(...served) - Math.min(...served));
    // whole units: how far each levelled store is from the exact fair-share quantity DS·D − I
    for (const st of f.stores)
      if (st.qty > 0 && st.qty < st.need && f.daysOfSupply !== null)
        maxUnitDeviation = Math.max(maxUnitDeviation, Math.abs(st.position + st.qty - f.daysOfSupply * st.daily));
    if (all.length >= 2) spreadsAll.push(Math.max(...all) - Math.min(...all));
    constrainedUnitsLeft += f.available - f.stores.reduce((s, x) => s + x.qty, 0);
  }
  bar.update(3, { phase: 'live hub run' });
  const live = await liveRun(opts.quick ? 10 : 100, opts.quick ? 20 : 200);
  bar.update(4, { phase: 'done' });
  bar.stop();

  const result = {
    stores,
    skus,
    pairs: stores * skus,
    buildMs: Math.round(buildMs),
    planMsMedian: Math.round(median(times)),
    transfers: plan.transfers.length,
    unitsTransferred: plan.transfers.reduce((s, t) => s + t.qty, 0),
    constrainedGroups: plan.fairShare.length,
    daysOfSupplySpreadMedian: spreads.length ? Math.round(median(spreads) * 100) / 100 : 0,
    daysOfSupplySpreadMax: spreads.length ? Math.round(Math.max(...spreads) * 100) / 100 : 0,
    daysOfSupplySpreadAllNeedingMedian: spreadsAll.length ? Math.round(median(spreadsAll) * 100) / 100 : 0,
    constrainedUnitsLeftAtDc: constrainedUnitsLeft,
    maxDeviationFromFairShareUnits: Math.round(maxUnitDeviation * 100) / 100,
    live,
  };
  console.table({
    [`plan ${stores} stores × ${skus} SKUs (median of ${times.length})`]: `${result.planMsMedian} ms`,
    'transfers / units': `${result.transfers} / ${result.unitsTransferred}`,
    'constrained (DC, SKU) groups': result.constrainedGroups,
    'days-of-supply spread, stores levelled by fair share (median / max)': `${result.daysOfSupplySpreadMedian} / ${result.daysOfSupplySpreadMax} days`,
    'days-of-supply spread, all stores below reorder point (median)': `${result.daysOfSupplySpreadAllNeedingMedian} days`,
    'units left at constrained DCs': result.constrainedUnitsLeftAtDc,
    'max deviation from DS·D − I (whole units)': result.maxDeviationFromFairShareUnits,
    [`live run ${live.stores} stores × ${live.skus} SKUs through the API`]: `${live.runMs} ms (${live.transferDos} transfer DOs)`,
  });
  if (opts.record) record(result, opts.quick);
  else if (!opts.quick) process.stdout.write(`raw results: ${saveResult(process.cwd(), 'replenish', result)}\n`);
  return result;
}

/** A full run through a live hub: facilities, items, counts, model stock and forecasts by API. */
async function liveRun(stores: number, skus: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dom-bench-repl-'));
  const token = 'bench-planner-token';
  const hub = await startHub({ port: 0, dataDir: dir, plannerToken: token, sweepMs: 0 }, createLogger('bench', 'error'));
  const call = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${hub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (r.status >= 400) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  try {
    const r = rng(11);
    await call('POST', '/api/v1/facilities', { id: 'DC0', type: 'dc', name: 'DC0', lat: 33.7, lon: -84.4, capacity: 1_000_000 });
    for (let s = 0; s < stores; s++)
      await call('POST', '/api/v1/facilities', { id: `S${s}`, type: 'store', name: `S${s}`, lat: 33 + r(), lon: -85 + r(), capacity: 1000, servingDc: 'DC0' });
    const skuIds = Array.from({ length: skus }, (_, k) => `K${k}`);
    await call(
      'POST',
      '/api/v1/items',
      skuIds.map((sku) => ({ sku, name: sku })),
    );
    await call('POST', '/api/v1/inventory', { facility: 'DC0', positions: skuIds.map((sku, k) => ({ sku, onHand: k % 10 === 0 ? 50 : 100_000 })) });
    const ms: object[] = [];
    const fc: object[] = [];
    const today = new Date().toISOString().slice(0, 10);
    for (let s = 0; s < stores; s++) {
      await call('POST', '/api/v1/inventory', { facility: `S${s}`, positions: skuIds.map((sku) => ({ sku, onHand: Math.floor(r() * 10) })) });
      for (const sku of skuIds) {
        ms.push({ facility: `S${s}`, sku, min: 10, max: 30 });
        fc.push({ facility: `S${s}`, sku, date: today, qty: Math.ceil(r() * 21), period: 'week' });
      }
    }
    await call('PUT', '/api/v1/model-stock', ms);
    await call('POST', '/api/v1/forecasts', fc);
    const t = performance.now();
    const res = await call('POST', '/api/v1/replenishment/run', {});
    const runMs = Math.round(performance.now() - t);
    return { stores, skus, runMs, transferDos: res.created, lines: res.transfers.length };
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function record(result: Record<string, unknown>, quick?: boolean) {
  if (quick) return;
  const file = 'docs/BENCHMARKS.md';
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n');
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD').toString().trim();
  } catch {
    /* not a git checkout */
  }
  const machine = `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
  const entry = `### dom bench replenish — ${new Date().toISOString()} — ${commit}\n\nMachine: ${machine}\n\n\`\`\`json\n${JSON.stringify(result, null, 2)}\n\`\`\`\n`;
  // at the end of the Replenishment section (before the next section), else at the end of the file
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('\n## Replenishment');
  const next = at < 0 ? -1 : text.indexOf('\n## ', at + 1);
  if (next < 0) appendFileSync(file, `\n${entry}`);
  else writeFileSync(file, `${text.slice(0, next).trimEnd()}\n\n${entry}${text.slice(next)}`);
}
