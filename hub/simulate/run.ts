/**
 * One simulation from start to end over a scenario: the current configuration and each candidate
 * replayed (replay.ts), summarised and compared (compare.ts). Asynchronous between batches, so a
 * hub keeps serving while it runs; reports progress; stops with `time_limit` past its deadline.
 * Used by the hub's runs (runs.ts), `dom simulate --offline` and `dom bench simulate`.
 */
import { DomError } from '../../shared/errors.js';
import { candidateFacilities, candidateSourcing } from './config.js';
import { fidelityOf, summarise, versus, type ConfigResult, type Fidelity, type Replayed } from './compare.js';
import { replay, type ReplayConfig } from './replay.js';
import { LIMITS, type Candidate, type Scenario } from './scenario.js';

export interface SimulationResult {
  source: Scenario['source'];
  window: { from: string; to: string } | null;
  orders: number;
  batches: number;
  skipped: Record<string, number>;
  notes: string[];
  measure: Scenario['measure'];
  /** The current configuration's replay against the live decisions (a window only). */
  fidelity: Fidelity | null;
  configurations: (ConfigResult & {
    sourcing: ReplayConfig['sourcing'];
    facilityChanges: Candidate['facilities'];
    newFacilities: string[];
    replayMs: number;
  })[];
  elapsedMs: number;
}

export interface Progress {
  done: number;
  total: number;
  phase: string;
}

/** Refuse a candidate that names a facility the scenario does not have, or adds one it has. */
export function checkCandidates(sc: Scenario, candidates: Candidate[]): void {
  const known = new Set(sc.facilities.map((f) => f.id));
  for (const c of candidates) {
    for (const f of c.facilities ?? [])
      if (!known.has(f.id))
        throw new DomError(422, 'unknown_facility', `candidate "${c.name}": no facility "${f.id}" to change (new ones go in "newFacilities")`);
    const added = new Set<string>();
    for (const f of c.newFacilities ?? []) {
      if (known.has(f.id) || added.has(f.id)) throw new DomError(422, 'facility_exists', `candidate "${c.name}": new facility "${f.id}" exists already`);
      added.add(f.id);
    }
  }
}

export function configsOf(sc: Scenario, candidates: Candidate[]): (ReplayConfig & { candidate: Candidate | null })[] {
  return [
    { name: 'current', sourcing: sc.sourcing, facilities: sc.facilities, candidate: null },
    ...candidates.map((c) => ({
      name: c.name,
      sourcing: candidateSourcing(sc.sourcing, c),
      facilities: candidateFacilities(sc.facilities, c),
      extraStock: (c.newFacilities ?? []).flatMap((f) =>
        f.stock.map((s) => ({ facility: f.id, sku: s.sku, available: Math.max(0, s.onHand - s.safetyStock) })),
      ),
      candidate: c,
    })),
  ];
}

export async function simulate(
  sc: Scenario,
  candidates: Candidate[],
  opts: { onProgress?: (p: Progress) => void; maxMs?: number; cancelled?: () => boolean } = {},
): Promise<SimulationResult> {
  checkCandidates(sc, candidates);
  const t0 = performance.now();
  const deadline = t0 + (opts.maxMs ?? LIMITS.maxRunMs);
  const configs = configsOf(sc, candidates);
  const total = configs.length * sc.batches.length;
  let done = 0;
  const replayed: Replayed[] = [];
  const replayMs: number[] = [];
  for (const cfg of configs) {
    let busy = 0; // the replay's own time, without the pauses that let the hub serve
    let t = performance.now();
    const it = replay(sc, cfg);
    let plans;
    for (;;) {
      const r = it.next();
      busy += performance.now() - t;
      if (r.done) {
        plans = r.value;
        break;
      }
      done++;
      opts.onProgress?.({ done, total, phase: cfg.name });
      if (performance.now() > deadline)
        throw new DomError(
          422,
          'time_limit',
          `the run took longer than ${Math.round((opts.maxMs ?? LIMITS.maxRunMs) / 1000)} s (at ${done} of ${total} batches); narrow the window`,
        );
      if (opts.cancelled?.()) throw new DomError(503, 'interrupted', 'the hub stopped during the run; post the same inputs to run it again');
      // let the hub serve between batches
      await new Promise((ok) => setImmediate(ok));
      t = performance.now();
    }
    replayMs.push(Math.round(busy * 10) / 10);
    replayed.push({ cfg, plans, result: summarise(sc, cfg, plans) });
  }
  const current = replayed[0]!;
  for (const r of replayed.slice(1)) r.result.vsCurrent = versus(sc, current, r);
  return {
    source: sc.source,
    window: sc.from && sc.to ? { from: sc.from, to: sc.to } : null,
    orders: sc.batches.reduce((s, b) => s + b.orders.length, 0),
    batches: sc.batches.length,
    skipped: sc.skipped,
    notes: sc.notes,
    measure: sc.measure,
    fidelity: fidelityOf(sc, current.plans),
    configurations: replayed.map((r, i) => ({
      ...r.result,
      sourcing: r.cfg.sourcing,
      facilityChanges: configs[i]!.candidate?.facilities ?? [],
      newFacilities: (configs[i]!.candidate?.newFacilities ?? []).map((f) => f.id),
      replayMs: replayMs[i]!,
    })),
    elapsedMs: Math.round(performance.now() - t0),
  };
}
