/**
 * The allocation instance as a MIP (or its LP relaxation) in CPLEX LP format, solved with HiGHS
 * (the `highs` npm package, WebAssembly, in a worker thread): the yardstick for the allocator.
 *
 *   x[o,l,f,s] ≥ 0   units of line l of order o from facility f as SKU s (the line's own SKU, or one
 *                    of the item's substitutes when the line allows them); integer in the MIP
 *   y[o,f] ∈ {0,1}   order o has a shipment from f (0..1 in the LP)
 *   u[o,l] ≥ 0       units of the line left unfilled
 *
 *   min Σ ship(o,f)·y + Σ perUnit[type f]·x + Q·Σ x[s a substitute] + P·Σ u
 *   demand    Σ_f,s x[o,l,f,s] + u[o,l] = qty(o,l)
 *   linking   x[o,l,f,s] ≤ min(qty, available(f,s), capacity f) · y[o,f]
 *   capacity  Σ x[·,·,f,·] ≤ capacity f            (only where the candidates could exceed it)
 *   stock     Σ x[·,·,f,s] ≤ onHand − safetyStock  (likewise)
 *
 * ship(o,f) = perShipment + perKm·km(f, destination), 0 for a pickup order handed over at its own
 * pickup store: exactly the contract's cost (docs/CONTRACT.md; costOf). P per unfilled unit and Q per substitute unit are
 * the metric's penalties (see DEFAULT_PENALTY).
 *
 * What the model leaves out, which makes it a relaxation of the allocator's problem (its optimum is
 * a lower bound for what the allocator may return): order priority (the allocator may not take a
 * higher-ranked order's units to save cost or to fill a lower-ranked one), and the substitute rule
 * is a price here (Q per unit), not the allocator's hard rule.
 *
 * What keeps it tractable, which makes it a restriction: each order may only use the K nearest
 * eligible facilities to its destination, plus the H nearest eligible facilities holding each of
 * its SKUs (so a far-away unit stays reachable), plus any facility a compared result used for it
 * (so every compared result is a feasible point of the model: the optimum is never worse than them).
 *
 * With `fill`, the model instead fills exactly a given result's units (same SKUs per line) and only
 * chooses where they come from: the cost of the result against the best sourcing of the same fill.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { distanceKm } from '../../shared/geo.js';
import type { Assignment, Instance } from '../../shared/instance.js';
import { costStrategy } from '../../hub/allocator/strategy.js';
import { networkOf } from '../../hub/allocator/instance.js';

export interface FormulationOptions {
  /** Nearest eligible facilities per order (K). */
  nearest?: number;
  /** Nearest eligible holders of each of an order's SKUs added to its candidates (H). */
  holders?: number;
  /** order id → facilities some compared result used for it. */
  include?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Penalty per unfilled unit. */
  penalty?: number;
  /** Penalty per unit filled with a substitute. */
  substitutePenalty?: number;
  /** A fixed fill: `${order}|${line}` → SKU → units; the model fills exactly these (see the file comment). */
  fill?: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export interface Formulation {
  lp: string;
  cols: number;
  rows: number;
  nonzeros: number;
  /** columns, in this order in the LP's objective (HiGHS numbers columns by first appearance): y, x, u */
  yCols: number;
  xCols: number;
  uCols: number;
  /** units the model is asked to fill */
  units: number;
  penalty: number;
  substitutePenalty: number;
  nearest: number;
  holders: number;
  /** candidate facilities per order, mean */
  meanCandidates: number;
  /** what each x column is: order index, line, facility index, SKU, whether a substitute */
  xMeta: { o: number; l: number; f: number; sku: string; sub: boolean }[];
}

/**
 * The metric's penalties: per unfilled unit, and per unit filled with a substitute. Both exceed the
 * most a unit can cost in a US-wide network (a one-unit shipment across the continent: 6 + 0.004 ×
 * 4,600 km + 1.5 ≈ 26), and an unfilled unit costs more than a substitute one plus that: so the
 * optimum fills all it can, then uses the ordered SKU wherever it can (as the allocator's rule
 * "substitutes only for what the ordered SKU cannot fill" does), and only then minimises cost.
 * They are no larger than that, so that they do not drown the cost in the ratio.
 */
export const DEFAULT_PENALTY = 60;
export const DEFAULT_SUBSTITUTE_PENALTY = 30;

/** Build the LP text (see the file comment). */
export function formulate(inst: Instance, opts: FormulationOptions = {}): Formulation {
  const K = opts.nearest ?? 25;
  const H = opts.holders ?? 5;
  const P = opts.penalty ?? DEFAULT_PENALTY;
  const Q = opts.fill ? 0 : (opts.substitutePenalty ?? DEFAULT_SUBSTITUTE_PENALTY);
  const strategy = costStrategy(inst.costs);
  const facs = inst.facilities;
  const fIndex = new Map(facs.map((f, i) => [f.id, i]));
  // the allocator's own network and nearest search (stock and capacity as at the start)
  const net = networkOf(inst);
  const avail = (fi: number, sku: string) => net.available(fi, sku);
  const subs = new Map(inst.items.map((i) => [i.sku, i.substitutes]));

  type X = { o: number; l: number; f: number; sku: string; ub: number; y: number; sub: boolean };
  const yCost: number[] = [];
  const xs: X[] = [];
  const demandRows: { xs: number[]; qty: number }[] = [];
  let units = 0;
  let candTotal = 0;

  inst.orders.forEach((o, oi) => {
    const pickupFi = o.delivery === 'pickup' ? fIndex.get(o.pickupFacility!) : undefined;
    const to = o.delivery === 'pickup' ? (pickupFi === undefined ? undefined : facs[pickupFi]) : o.shipTo;
    const skus = new Set<string>();
    for (const l of o.lines) {
      skus.add(l.sku);
      if (l.allowSubstitutes) for (const s of subs.get(l.sku) ?? []) skus.add(s);
    }
    const cand = new Set<number>();
    if (to) {
      const ok = (fi: number) => facs[fi]!.capacity > 0 && strategy.eligible(net.facilities[fi]!, o) === null;
      for (const fi of net.nearest(to, K, Infinity, ok)) cand.add(fi);
      if (pickupFi !== undefined && ok(pickupFi)) cand.add(pickupFi);
      for (const s of skus) {
        const id = net.skuId(s);
        if (id >= 0) for (const fi of net.searchAmong(to, [net.holdersOf(id)], H, Infinity, ok).ids) cand.add(fi);
      }
      for (const id of opts.include?.get(o.id) ?? []) {
        const fi = fIndex.get(id);
        if (fi !== undefined) cand.add(fi);
      }
    }
    candTotal += cand.size;
    const yOf = new Map<number, number>();
    for (const l of o.lines) {
      // what to fill: the line (its SKU or a substitute), or, at a fixed fill, each SKU as given
      const lineSkus = [...new Set([l.sku, ...(l.allowSubstitutes ? (subs.get(l.sku) ?? []) : [])])];
      const fixed = opts.fill?.get(`${o.id}|${l.line}`);
      const demands = opts.fill ? [...(fixed ?? [])].map(([sku, qty]) => ({ skus: [sku], qty })) : [{ skus: lineSkus, qty: l.qty }];
      for (const d of demands) {
        units += d.qty;
        const row = { xs: [] as number[], qty: d.qty };
        for (const fi of cand) {
          for (const sku of d.skus) {
            const ub = Math.min(d.qty, avail(fi, sku), facs[fi]!.capacity);
            if (ub <= 0) continue;
            let y = yOf.get(fi);
            if (y === undefined) {
              y = yCost.length;
              yOf.set(fi, y);
              const handover = o.delivery === 'pickup' && fi === pickupFi;
              yCost.push(handover ? 0 : inst.costs.perShipment + inst.costs.perKm * distanceKm(facs[fi]!, to!));
            }
            row.xs.push(xs.length);
            xs.push({ o: oi, l: l.line, f: fi, sku, ub, y, sub: sku !== l.sku });
          }
        }
        demandRows.push(row);
      }
    }
  });

  // LP text. Every column appears in the objective first, y then x then u, so that HiGHS numbers
  // them in that order (checked after the solve).
  const out: string[] = ['Minimize', ' obj:'];
  const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(12));
  let line: string[] = [];
  const term = (t: string) => {
    line.push(t);
    if (line.length >= 16) {
      out.push(' ' + line.join(' '));
      line = [];
    }
  };
  yCost.forEach((c, j) => term(`+ ${num(c)} y${j}`));
  xs.forEach((x, j) => term(`+ ${num(inst.costs.perUnit[facs[x.f]!.type] + (x.sub ? Q : 0))} x${j}`));
  demandRows.forEach((_, j) => term(`+ ${num(P)} u${j}`));
  if (line.length) out.push(' ' + line.join(' '));
  out.push('Subject To');
  let rows = 0;
  let nonzeros = 0;
  const row = (name: string, terms: string[], rhs: string) => {
    rows++;
    nonzeros += terms.length;
    out.push(` ${name}:`);
    for (let i = 0; i < terms.length; i += 16) out.push(' ' + terms.slice(i, i + 16).join(' '));
    out.push(` ${rhs}`);
  };
  demandRows.forEach((d, j) => row(`d${j}`, [...d.xs.map((x) => `+ x${x}`), `+ u${j}`], `= ${d.qty}`));
  xs.forEach((x, j) => row(`k${j}`, [`+ x${j}`, `- ${num(x.ub)} y${x.y}`], '<= 0'));
  const byFac = new Map<number, number[]>();
  const byStock = new Map<string, { f: number; sku: string; js: number[] }>();
  xs.forEach((x, j) => {
    let a = byFac.get(x.f);
    if (!a) byFac.set(x.f, (a = []));
    a.push(j);
    const key = `${x.f}|${x.sku}`;
    let b = byStock.get(key);
    if (!b) byStock.set(key, (b = { f: x.f, sku: x.sku, js: [] }));
    b.js.push(j);
  });
  // a capacity or stock the candidates cannot exhaust needs no row
  for (const [fi, js] of byFac) {
    const cap = facs[fi]!.capacity;
    if (js.reduce((s, j) => s + xs[j]!.ub, 0) > cap)
      row(
        `c${fi}`,
        js.map((j) => `+ x${j}`),
        `<= ${cap}`,
      );
  }
  let si = 0;
  for (const { f, sku, js } of byStock.values()) {
    const a = avail(f, sku);
    if (js.reduce((s, j) => s + xs[j]!.ub, 0) > a)
      row(
        `s${si++}`,
        js.map((j) => `+ x${j}`),
        `<= ${a}`,
      );
  }
  out.push('Bounds');
  yCost.forEach((_, j) => out.push(` 0 <= y${j} <= 1`));
  out.push('End');
  return {
    lp: out.join('\n'),
    cols: yCost.length + xs.length + demandRows.length,
    rows,
    nonzeros,
    yCols: yCost.length,
    xCols: xs.length,
    uCols: demandRows.length,
    units,
    penalty: P,
    substitutePenalty: Q,
    nearest: K,
    holders: H,
    meanCandidates: inst.orders.length ? candTotal / inst.orders.length : 0,
    xMeta: xs.map((x) => ({ o: x.o, l: x.l, f: x.f, sku: x.sku, sub: x.sub })),
  };
}

/** The LP text with integrality: y binary, x general integer. */
export function asMip(f: Formulation): string {
  const body = f.lp.slice(0, f.lp.lastIndexOf('End'));
  const out = [body.trimEnd(), 'Binary'];
  for (let j = 0; j < f.yCols; j += 16) out.push(' ' + Array.from({ length: Math.min(16, f.yCols - j) }, (_, k) => `y${j + k}`).join(' '));
  out.push('General');
  for (let j = 0; j < f.xCols; j += 16) out.push(' ' + Array.from({ length: Math.min(16, f.xCols - j) }, (_, k) => `x${j + k}`).join(' '));
  out.push('End');
  return out.join('\n');
}

export interface OptimumResult {
  /** 'MIP' when the integer model ran, 'LP' for the relaxation alone. */
  method: 'MIP' | 'LP';
  /** HiGHS's model status: optimal, timeLimit, … */
  status: string;
  /** True when the MIP reached its relative gap (its incumbent is that close to the optimum); false for the LP, or a MIP stopped at its time limit. */
  optimal: boolean;
  /** What results are compared against: a proven lower bound on the optimum (the MIP's dual bound, or the LP's optimum). Penalised. */
  value: number;
  /** Best integer solution found, penalised (MIP only). */
  incumbent?: number;
  /** Relative MIP gap at the end (MIP only). */
  gap?: number;
  /** Of the solution HiGHS returned (fractional for the LP): cost without penalties, units filled, substituted, unfilled, shipments (Σ y). */
  cost: number;
  filled: number;
  unfilled: number;
  substituted: number;
  shipments: number;
  seconds: number;
  formulation: Omit<Formulation, 'lp' | 'xMeta'>;
  /** The solution's nonzero x (fractional for the LP). */
  assignments?: Assignment[];
}

export interface SolveOptions extends FormulationOptions {
  /** 'mip' solves the integer model (its best bound at the time limit), 'lp' the relaxation only. */
  method: 'mip' | 'lp';
  timeLimitSec?: number;
  /** relative MIP gap at which HiGHS may stop and call the result optimal */
  mipRelGap?: number;
}

interface RawSolve {
  status: string;
  optimal: boolean;
  objective: number;
  dualBound: number;
  gap: number;
  hasSolution: boolean;
  values: Float64Array | null;
  firstCol: string;
  lastCol: string;
  seconds: number;
  error?: string;
}

// The worker: loads HiGHS, solves one model, posts the raw result. CommonJS, evaluated as a string
// (no separate file to ship); `highs` is required by the absolute path the parent resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { highsPath, text, options, mip } = workerData;
  try {
    const highs = await require(highsPath)();
    const t0 = performance.now();
    const model = highs.createModel({ format: 'lp', data: text });
    try {
      model.options.set(options);
      model.run();
      const code = model.getModelStatus();
      const names = highs.constants.modelStatus;
      const status = Object.keys(names).find((k) => names[k] === code) || String(code);
      const optimal = code === names.optimal;
      let hasSolution = optimal;
      let dualBound = NaN, gap = NaN;
      if (mip) {
        dualBound = Number(model.info.get('mip_dual_bound'));
        gap = Number(model.info.get('mip_gap'));
        hasSolution = Number(model.info.get('primal_solution_status')) === 2;
      }
      const objective = hasSolution ? model.getObjectiveValue() : NaN;
      const values = hasSolution ? Float64Array.from(model.getSolution().colValue) : null;
      const n = values ? values.length : 0;
      const firstCol = n ? model.getColName(0) : '';
      const lastCol = n ? model.getColName(n - 1) : '';
      const seconds = (performance.now() - t0) / 1000;
      parentPort.postMessage({ status, optimal, objective, dualBound, gap, hasSolution, values, firstCol, lastCol, seconds }, values ? [values.buffer] : []);
    } finally {
      model.dispose();
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.stack || err) });
  }
})();
`;

function solveInWorker(text: string, options: Record<string, string | number | boolean>, mip: boolean): Promise<RawSolve> {
  const highsPath = createRequire(import.meta.url).resolve('highs');
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { highsPath, text, options, mip }, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    let done = false;
    w.once('message', (m: RawSolve) => {
      done = true;
      void w.terminate();
      if (m.error) reject(new Error(`HiGHS: ${m.error}`));
      else resolve(m);
    });
    w.once('error', (err) => {
      done = true;
      reject(err);
    });
    w.once('exit', (code) => {
      if (!done) reject(new Error(`HiGHS worker exited (${code}) without a result (out of memory?)`));
    });
  });
}

/** Formulate and solve in a worker thread; `value` is the optimum or a proven lower bound on it. */
export async function solveOptimum(inst: Instance, opts: SolveOptions): Promise<OptimumResult> {
  const f = formulate(inst, opts);
  const mip = opts.method === 'mip';
  // the LP: interior point then crossover (an exact vertex optimum), faster than simplex on these models
  const options: Record<string, string | number | boolean> = mip
    ? { output_flag: false, time_limit: opts.timeLimitSec ?? 120, mip_rel_gap: opts.mipRelGap ?? 1e-4 }
    : { output_flag: false, time_limit: opts.timeLimitSec ?? 120, solver: 'ipm', run_crossover: 'on' };
  const raw = await solveInWorker(mip ? asMip(f) : f.lp, options, mip);
  const nCols = f.yCols + f.xCols + f.uCols;
  if (raw.values && ((f.yCols && raw.firstCol !== 'y0') || (f.uCols && raw.lastCol !== `u${f.uCols - 1}`) || raw.values.length !== nCols))
    throw new Error('unexpected HiGHS column order');
  let value: number;
  // a MIP's dual bound: a proven lower bound on its optimum, even when it stopped within its relative gap
  if (mip) value = Number.isFinite(raw.dualBound) ? Math.min(raw.dualBound, raw.hasSolution ? raw.objective : Infinity) : raw.optimal ? raw.objective : NaN;
  else if (raw.optimal) value = raw.objective;
  else throw new Error(`HiGHS LP ended ${raw.status}`);
  if (!Number.isFinite(value)) throw new Error(`HiGHS ${opts.method.toUpperCase()} ended (${raw.status}) without a bound`);
  let unfilled = NaN;
  let shipments = NaN;
  let substituted = NaN;
  let assignments: Assignment[] | undefined;
  const v = raw.values;
  if (v) {
    unfilled = 0;
    shipments = 0;
    substituted = 0;
    assignments = [];
    for (let j = 0; j < f.yCols; j++) shipments += v[j]!;
    for (let j = 0; j < f.xCols; j++) {
      const q = v[f.yCols + j]!;
      if (q <= 1e-9) continue;
      const m = f.xMeta[j]!;
      if (m.sub) substituted += q;
      assignments.push({ order: inst.orders[m.o]!.id, line: m.l, facility: inst.facilities[m.f]!.id, sku: m.sku, qty: mip ? Math.round(q) : q });
    }
    for (let j = f.yCols + f.xCols; j < nCols; j++) unfilled += v[j]!;
  }
  const { lp: _lp, xMeta: _x, ...formulation } = f;
  return {
    method: mip ? 'MIP' : 'LP',
    status: raw.status,
    optimal: mip && raw.optimal,
    value,
    ...(mip && raw.hasSolution ? { incumbent: raw.objective } : {}),
    ...(mip ? { gap: raw.gap } : {}),
    cost: raw.objective - f.penalty * unfilled - f.substitutePenalty * substituted,
    filled: f.units - unfilled,
    unfilled,
    substituted,
    shipments,
    seconds: raw.seconds,
    formulation,
    ...(assignments ? { assignments } : {}),
  };
}
