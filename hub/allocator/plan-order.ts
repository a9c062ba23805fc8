/**
 * Planning one order against the network: a cheap whole-order assignment over its candidates
 * (candidate-table.ts: the set-cover greedy, checked against every single-facility fill and
 * improved by dropping facilities); when those cannot fill a line, the nearest eligible facilities
 * that hold its SKU are added (fill first, then cost); substitutes, in the item's order of
 * preference, only for what the ordered SKUs could not fill. The plan is committed: its stock and
 * capacity are taken from the network.
 */
import { explainPlan } from './explain.js';
import { bestDraft, better, type Draft, type LineWant } from './candidate-table.js';
import type { Network } from './network.js';
import { setRefs, type Candidate, type OrderPlan, type PickRefs } from './plan.js';
import { candidates, holders, reachOf, type OrderReach } from './reach.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import { Workspace } from './workspace.js';

/** Facilities holding a line's SKU added when the nearest candidates cannot fill it. */
const EXTRA_HOLDERS = 6;

export interface PlanOptions {
  explain?: boolean;
  /** Scratch to plan with (a fresh one when absent); one allocation at a time per workspace. */
  workspace?: Workspace;
}

interface Taken {
  want: LineWant;
  cand: Candidate;
  qty: number;
}

function paidOf(cs: Candidate[], taken: Taken[]): Uint8Array {
  const p = new Uint8Array(cs.length);
  for (let i = 0; i < cs.length; i++) for (const t of taken) if (t.cand.fi === cs[i]!.fi) p[i] = 1;
  return p;
}

/** SKU ids of the wants a draft leaves (partly) unfilled. */
function missingSkus(net: Network, wants: LineWant[], sol: Draft): number[] {
  const got = new Float64Array(wants.length);
  for (let i = 0; i < sol.w.length; i++) got[sol.w[i]!] = got[sol.w[i]!]! + sol.q[i]!;
  const ids: number[] = [];
  for (let wi = 0; wi < wants.length; wi++) {
    if (got[wi]! >= wants[wi]!.qty) continue;
    const id = net.skuId(wants[wi]!.sku);
    if (id >= 0 && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** Plan one order against the network and commit it (stock and capacity are taken). */
export function allocateOrder(
  net: Network,
  order: SourcingOrder,
  strategy: SourcingStrategy,
  substitutesOf: (sku: string) => readonly string[],
  opts: PlanOptions = {},
): OrderPlan {
  const ws = opts.workspace ?? new Workspace();
  const plan = planOrder(ws, net, order, strategy, substitutesOf, reachOf(ws, net, order, strategy));
  if (opts.explain) explainPlan(ws, net, order, strategy, plan);
  return plan;
}

/** Plan one order whose reach is known, and commit it. */
export function planOrder(
  ws: Workspace,
  net: Network,
  order: SourcingOrder,
  strategy: SourcingStrategy,
  substitutesOf: (sku: string) => readonly string[],
  reach: OrderReach,
): OrderPlan {
  const plan: OrderPlan = {
    order: order.id,
    picks: [],
    unfilled: [],
    cost: 0,
    shipments: 0,
    explanation: { strategy: strategy.name, candidates: [], chosen: [], substitutions: [] },
  };
  if (!reach.to) {
    for (const l of order.lines) plan.unfilled.push({ line: l.line, qty: l.qty });
    plan.explanation.candidates.push({ facility: order.pickupFacility ?? '?', km: 0, excluded: 'unknown destination' });
    return plan;
  }
  let cands = candidates(ws, net, order, strategy, reach);
  const wants: LineWant[] = [];
  for (const l of order.lines) wants.push({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude });
  let table = ws.table(0).load(net, wants, cands);
  let first = bestDraft(table, null);
  if (first.filled < table.total) {
    // the nearest facilities cannot fill it all: add the nearest that hold what is missing
    const extra = holders(ws, net, order, strategy, reach, missingSkus(net, wants, first), cands, EXTRA_HOLDERS);
    if (extra.length > 0) {
      const wider = ws.table(1).load(net, wants, cands.concat(extra));
      const alt = bestDraft(wider, null);
      if (better(alt, first)) {
        first = alt;
        table = wider;
        cands = wider.cands;
      }
    }
  }
  const taken: Taken[] = [];
  for (let i = 0; i < first.c.length; i++) {
    const cd = table.cands[first.c[i]!]!;
    const w = wants[first.w[i]!]!;
    net.take(cd.fi, w.sku, first.q[i]!);
    taken.push({ want: w, cand: cd, qty: first.q[i]! });
  }

  // substitutes, in the item's order of preference, for what the ordered SKU could not fill
  if (first.filled < table.total) {
    const remaining = new Map<number, number>();
    for (const l of order.lines) remaining.set(l.line, l.qty);
    for (const t of taken) remaining.set(t.want.line, remaining.get(t.want.line)! - t.qty);
    for (const l of order.lines) {
      let rem = remaining.get(l.line)!;
      if (rem <= 0 || !l.allowSubstitutes) continue;
      for (const alt of substitutesOf(l.sku)) {
        if (rem <= 0) break;
        const altId = net.skuId(alt);
        if (altId < 0) continue;
        const w: LineWant = { line: l.line, sku: alt, qty: rem, substitute: true, exclude: l.exclude };
        let st = ws.table(0).load(net, [w], cands);
        let sol = st.greedy(paidOf(cands, taken));
        if (sol.filled < rem) {
          const extra = holders(ws, net, order, strategy, reach, [altId], cands, EXTRA_HOLDERS);
          if (extra.length > 0) {
            const wider = ws.table(1).load(net, [w], cands.concat(extra));
            const wsol = wider.greedy(paidOf(wider.cands, taken));
            if (better(wsol, sol)) {
              sol = wsol;
              st = wider;
              cands = wider.cands;
            }
          }
        }
        if (sol.filled === 0) continue;
        for (let i = 0; i < sol.c.length; i++) {
          const cd = st.cands[sol.c[i]!]!;
          net.take(cd.fi, alt, sol.q[i]!);
          taken.push({ want: w, cand: cd, qty: sol.q[i]! });
        }
        rem -= sol.filled;
        plan.explanation.substitutions.push(`line ${l.line}: ${sol.filled} × ${alt} for ${l.sku}`);
      }
      remaining.set(l.line, rem);
    }
    for (const [line, qty] of remaining) if (qty > 0) plan.unfilled.push({ line, qty });
  }

  // the cost as docs/CONTRACT.md (the instance format) counts it: a shipment per facility, handling per unit
  const seen: number[] = [];
  const refs: PickRefs = { net, fis: [], skus: [] };
  let cost = 0;
  for (const t of taken) {
    plan.picks.push({ line: t.want.line, facility: net.facilities[t.cand.fi]!.id, sku: t.want.sku, qty: t.qty, substitute: t.want.substitute });
    refs.fis.push(t.cand.fi);
    refs.skus.push(net.skuId(t.want.sku));
    if (!seen.includes(t.cand.fi)) {
      seen.push(t.cand.fi);
      cost += t.cand.ship;
    }
    cost += t.qty * t.cand.unit;
  }
  plan.shipments = seen.length;
  plan.cost = cost;
  setRefs(plan, refs);
  return plan;
}
