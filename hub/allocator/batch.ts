/**
 * The batch path: orders served in rank order (no priority inversion: a lower-ranked order only
 * sees what higher-ranked ones left), then price rounds that steer that pass (price-rounds.ts),
 * then the fill check and repair (fill-repair.ts: no unit left unfilled that a feasible assignment
 * could fill), then, where capacity binds, a flow move (flow-moves.ts: every filled unit sourced
 * afresh at once, fill fixed), then improvement rounds that never take a unit of fill from any order: ejection moves
 * (ejection.ts), re-planning each order against what the others hold, and stock moves
 * (stock-moves.ts).
 */
import { batchState, local, replan, setPlan, signature, type BatchState } from './batch-state.js';
import { eject } from './ejection.js';
import { flowMove } from './flow-moves.js';
import type { Network } from './network.js';
import { explainPlan } from './explain.js';
import { repairFill, type FillCheck } from './fill-repair.js';
import { filledOf, keepsFill, release, retake, type OrderPlan } from './plan.js';
import { planOrder } from './plan-order.js';
import { priceRounds } from './price-rounds.js';
import { reachOf } from './reach.js';
import { reassign } from './stock-moves.js';
import { compareRank, type SourcingOrder, type SourcingStrategy } from './strategy.js';
import { Workspace } from './workspace.js';

/** The batch path's effort: what the live allocator and `dom allocate` run (docs/BENCHMARKS.md measures it). */
export const BATCH_EFFORT = { priceRounds: 4, improveRounds: 5 } as const;

export interface BatchOptions {
  /**
   * Improvement rounds after the rank-order pass (default BATCH_EFFORT's; 0 is the single-order
   * path): each moves the orders in the way of orders that cost far more than they would alone,
   * re-plans each order against what the others hold, then reassigns the units of each SKU some
   * facility ran out of among the lines that hold them (stock moves). No order's fill ever drops.
   * Rounds stop early when one changes nothing.
   */
  improveRounds?: number;
  /**
   * Price rounds before the improvement rounds (default BATCH_EFFORT's when improveRounds is not
   * given, else 0): shadow prices on capacity and stock, from the demand each order would make alone
   * at the current prices (a subgradient step on the Lagrangian dual), then a rank-order pass at
   * those prices; the cheapest pass is kept (see priceRounds for how fill weighs).
   */
  priceRounds?: number;
  /** Step of the price rounds, in cost per unit at 100% over-demand (default 1). */
  priceStep?: number;
  /** Stock moves in the improvement rounds (default true): see `reassign`. */
  stockMoves?: boolean;
  /**
   * A flow move before the improvement rounds (default: at full effort, that is with price rounds
   * and improvement rounds): every filled unit sourced afresh at once where capacity binds, in
   * batches of up to 2,000 orders (see flow-moves.ts).
   */
  flowMoves?: boolean;
  explain?: boolean;
  /**
   * The max-flow check and repair of fill after the rank-order pass (default true): see
   * fill-repair.ts. `onFillCheck` hears what it found.
   */
  fillRepair?: boolean;
  /**
   * Arcs of the flow network the fill check may examine, per order in the batch (default
   * FILL_REPAIR_BUDGET): where capacity binds everywhere, a complete check can take seconds; past
   * the budget it stops, keeps what it repaired, and says so (FillCheck.complete false).
   */
  fillRepairBudget?: number;
  onFillCheck?: (check: FillCheck) => void;
  /** Hears each pass's CPU time as it ends (ms of this process's user + system time): for profiling the batch path. */
  onPhase?: (phase: 'rank order' | 'price rounds' | 'fill repair' | 'flow moves' | 'ejection' | 'replan' | 'stock moves', cpuMs: number) => void;
  /** Scratch to allocate with (a fresh one when absent); one allocation at a time per workspace. */
  workspace?: Workspace;
}

/** Arcs per order the fill check may examine (BatchOptions.fillRepairBudget), beyond a floor for small batches. */
export const FILL_REPAIR_BUDGET = 1_000;
const FILL_REPAIR_MIN_ARCS = 2_000_000;

/** Allocate orders in rank order, then improve the batch. Returns plans in rank order. */
export function allocateBatch(
  net: Network,
  orders: SourcingOrder[],
  strategyFor: (o: SourcingOrder) => SourcingStrategy,
  substitutesOf: (sku: string) => readonly string[],
  opts: BatchOptions = {},
): OrderPlan[] {
  const ws = opts.workspace ?? new Workspace();
  const onPhase = opts.onPhase;
  let cpu0 = onPhase ? process.cpuUsage() : null;
  const phase = (name: Parameters<NonNullable<typeof onPhase>>[0]) => {
    if (!onPhase) return;
    const d = process.cpuUsage(cpu0!);
    onPhase(name, (d.user + d.system) / 1000);
    cpu0 = process.cpuUsage();
  };
  const ranked = [...orders].sort(compareRank);
  const strategies = ranked.map((o) => strategyFor(o));
  const rounds = opts.improveRounds ?? BATCH_EFFORT.improveRounds;
  const pRounds = opts.priceRounds ?? (opts.improveRounds === undefined ? BATCH_EFFORT.priceRounds : 0);
  const start = rounds > 0 || pRounds > 0 ? net.clone() : null;
  const reaches = ranked.map((o, i) => reachOf(ws, net, o, strategies[i]!));
  let plans = ranked.map((o, i) => planOrder(ws, net, o, strategies[i]!, substitutesOf, reaches[i]!));
  phase('rank order');
  if (start && pRounds > 0) {
    const prices = priceRounds(ws, start, ranked, strategies, reaches, plans, substitutesOf, pRounds, opts.priceStep ?? 1);
    if (prices) {
      for (const p of plans) release(net, p);
      net.prices = prices;
      try {
        plans = ranked.map((o, i) => planOrder(ws, net, o, strategies[i]!, substitutesOf, reaches[i]!));
      } finally {
        net.prices = null;
      }
    }
  }
  phase('price rounds');
  const batch = batchState(ws, net, start ?? net, ranked, strategies, reaches, plans, substitutesOf);
  if (opts.fillRepair !== false) {
    const check = repairFill(batch, FILL_REPAIR_MIN_ARCS + (opts.fillRepairBudget ?? FILL_REPAIR_BUDGET) * ranked.length);
    opts.onFillCheck?.(check);
  }
  phase('fill repair');
  if (start && rounds > 0 && (opts.flowMoves ?? pRounds > 0)) {
    flowMove(batch);
    phase('flow moves');
  }
  if (start) {
    for (let r = 0; r < rounds; r++) {
      const moved = eject(batch);
      phase('ejection');
      const replanned = replanEach(batch);
      phase('replan');
      const swapped = opts.stockMoves === false ? false : reassign(batch);
      phase('stock moves');
      if (!moved && !replanned && !swapped) break;
    }
  }
  if (opts.explain) {
    for (let i = 0; i < ranked.length; i++) explainPlan(ws, net, ranked[i]!, strategies[i]!, plans[i]!);
  }
  return plans;
}

/** Re-plan each order against what the others hold; keep the new plan when it fills more or costs less. */
function replanEach(b: BatchState): boolean {
  let improved = false;
  for (let i = 0; i < b.ranked.length; i++) {
    const old = b.plans[i]!;
    if (old.picks.length === 0) continue;
    // the same neighbourhood as at a re-planning that changed nothing: it would change nothing again
    const sig = signature(b, i, 0);
    if (sig !== null && b.replanSeen[i] === sig) continue;
    release(b.net, old);
    const alt = replan(b, i);
    const oldFilled = filledOf(old);
    const altFilled = filledOf(alt);
    if (keepsFill(alt, old) && (altFilled > oldFilled || alt.cost < old.cost - 1e-9)) {
      setPlan(b, i, alt);
      improved = true;
    } else {
      release(b.net, alt);
      retake(b.net, old);
      b.replanSeen[i] = sig !== null && local(alt) ? sig : NaN;
    }
  }
  return improved;
}
