/**
 * The allocator's pure core: one entry point for what the rest of DOM uses. The modules, read in
 * this order, are:
 *
 * - facility-index.ts: where facilities are and which are nearest a point (unit vectors, a 1° grid);
 * - network.ts: the network (facilities, available units per facility and SKU, capacity left);
 * - plan.ts: an order's plan, and the operations every pass shares (release, retake, fill-first comparisons);
 * - workspace.ts: the scratch state of one allocation, passed in (nothing at module level: re-entrant);
 * - reach.ts: which facilities may serve an order (nearest eligible, nearest DCs, pickup store, holders of a SKU);
 * - candidate-table.ts: one order's wants × candidates, the set-cover greedy and its variants;
 * - plan-order.ts: planning one order (`allocateOrder`: the single-order path), substitutes included;
 * - explain.ts: a plan's explanation;
 * - batch.ts: the batch path (`allocateBatch`): rank order, then price-rounds.ts, then improvement
 *   rounds of ejection.ts, re-planning and stock-moves.ts (min-cost-flow.ts); fill-repair.ts checks
 *   that no unit stays unfilled that a feasible assignment in rank order could fill, and repairs;
 *   where capacity binds, flow-moves.ts sources every filled unit afresh at once before the rounds.
 */
export { FacilityIndex, EARTH_RADIUS_KM, type Point, type Found } from './facility-index.js';
export { Network, type Prices } from './network.js';
export { release, retake, type Pick, type CandidateNote, type OrderPlan, type Candidate } from './plan.js';
export { Workspace } from './workspace.js';
export { allocateOrder, type PlanOptions } from './plan-order.js';
export { allocateBatch, BATCH_EFFORT, FILL_REPAIR_BUDGET, type BatchOptions } from './batch.js';
export { MinCostFlow } from './min-cost-flow.js';
export { repairFill, type FillCheck } from './fill-repair.js';

import type { Network } from './network.js';
import type { OrderPlan } from './plan.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import { explainPlan as explainWith } from './explain.js';
import { Workspace } from './workspace.js';

/** Fill a plan's explanation: the candidates as they stood for it, and what each chosen facility costs. */
export function explainPlan(net: Network, order: SourcingOrder, s: SourcingStrategy, plan: OrderPlan, ws: Workspace = new Workspace()): void {
  explainWith(ws, net, order, s, plan);
}
