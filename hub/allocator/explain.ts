/**
 * Explanations: for a plan, the candidates as they stood for it (the nearest facilities, why each
 * was or was not used, the units each could give) and what each chosen facility costs.
 */
import { distanceKm } from '../../shared/geo.js';
import type { LineWant } from './candidate-table.js';
import type { Network } from './network.js';
import { release, retake, type Candidate, type CandidateNote, type OrderPlan } from './plan.js';
import { candidates, destination, reachOf } from './reach.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import type { Workspace } from './workspace.js';
import type { Point } from './facility-index.js';

const round = (x: number) => Math.round(x * 100) / 100;

/** Fill a plan's explanation: the candidates as they stood for it, and what each chosen facility costs. */
export function explainPlan(ws: Workspace, net: Network, order: SourcingOrder, s: SourcingStrategy, plan: OrderPlan): void {
  const to = destination(net, order);
  if (!to) return;
  release(net, plan);
  try {
    const cands = candidates(ws, net, order, s, reachOf(ws, net, order, s));
    const wants: LineWant[] = order.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude }));
    plan.explanation.candidates = explainCandidates(net, order, s, to, cands, wants, plan);
    const units = new Map<string, number>();
    for (const p of plan.picks) units.set(p.facility, (units.get(p.facility) ?? 0) + p.qty);
    plan.explanation.chosen = [...units].map(([id, u]) => {
      const f = net.facilities[net.indexOf(id)!]!;
      const km = distanceKm(f, to);
      return { facility: id, units: u, km: round(km), cost: round(s.shipmentCost(f, km, order) + u * s.unitCost(f)) };
    });
  } finally {
    retake(net, plan);
  }
}

function explainCandidates(
  net: Network,
  order: SourcingOrder,
  s: SourcingStrategy,
  to: Point,
  cands: Candidate[],
  wants: LineWant[],
  plan: OrderPlan,
): CandidateNote[] {
  const notes: CandidateNote[] = [];
  const considered = new Set(cands.map((c) => c.fi));
  const note = (fi: number, km: number) => {
    const f = net.facilities[fi]!;
    const units = wants.reduce((sum, w) => sum + Math.min(w.qty, w.exclude?.includes(f.id) ? 0 : net.available(fi, w.sku)), 0);
    const excl = wants.every((w) => w.exclude?.includes(f.id)) ? 'came up short on this order before' : undefined;
    notes.push({ facility: f.id, km, units, ...(excl ? { excluded: excl } : {}) });
  };
  const listed = new Set<number>();
  for (const fi of net.nearest(to, s.maxCandidates + 8, s.maxDistanceKm, () => true)) {
    listed.add(fi);
    const f = net.facilities[fi]!;
    const km = round(distanceKm(f, to));
    if (considered.has(fi) || plan.picks.some((p) => p.facility === f.id)) note(fi, km);
    else
      notes.push({
        facility: f.id,
        km,
        excluded: s.eligible(f, order) ?? (net.capacity[fi]! <= 0 ? 'no capacity left today' : 'beyond the nearest candidates'),
      });
  }
  // farther candidates: the nearest DCs, and facilities the plan uses because they hold what the nearest could not give
  for (const fi of [...considered, ...plan.picks.map((p) => net.indexOf(p.facility)!)]) {
    if (listed.has(fi)) continue;
    listed.add(fi);
    note(fi, round(distanceKm(net.facilities[fi]!, to)));
  }
  return notes;
}
