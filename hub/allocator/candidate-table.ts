/**
 * One order's wants against its candidates, as dense arrays (candidates × SKU groups), and the
 * searches for a cheap assignment over them: a set-cover greedy (cost per unit covered, so a
 * shipment already paid for pulls more lines to it: fewer splits), one facility for everything,
 * and dropping a facility from the greedy's choice.
 */
import type { Network } from './network.js';
import type { Candidate } from './plan.js';
import type { Workspace } from './workspace.js';

/** Units of one SKU an order line wants (the ordered SKU, or a substitute for what it could not fill). */
export interface LineWant {
  line: number;
  sku: string;
  qty: number;
  substitute: boolean;
  exclude?: readonly string[];
}

/** An assignment of the wants to candidates, not yet taken from the network. */
export interface Draft {
  /** parallel: candidate index, want index, units */
  c: number[];
  w: number[];
  q: number[];
  filled: number;
  cost: number;
}

/**
 * Room per (candidate, SKU group) and capacity per candidate, as the network stands, so that the
 * greedy can be re-run cheaply. A table is loaded (`load`) for one set of wants and candidates and
 * reused: a workspace keeps a few (Workspace.table), their arrays grown as needed, so that planning
 * an order allocates none. Its scratch is the workspace's (one greedy runs at a time per workspace).
 */
export class CandidateTable {
  C = 0;
  W = 0;
  G = 0;
  wants: LineWant[] = [];
  cands: Candidate[] = [];
  /** want → SKU group (wants of the same SKU share its stock) */
  group = new Int32Array(8);
  room = new Float64Array(64);
  cap = new Float64Array(32);
  /** cost per unit per (candidate, SKU group): the candidate's handling cost plus the network's prices */
  unit = new Float64Array(64);
  /** (candidate, want) the want may not use the candidate, or null when no want excludes any */
  excl: Uint8Array | null = null;
  private exclBuf = new Uint8Array(0);
  total = 0;
  private readonly skus: string[] = [];

  constructor(private readonly ws: Workspace) {}

  /** Fill the table for these wants and candidates as the network stands; returns the table. */
  load(net: Network, wants: LineWant[], cands: Candidate[]): this {
    this.wants = wants;
    this.cands = cands;
    const C = (this.C = cands.length);
    const W = (this.W = wants.length);
    const skus = this.skus;
    skus.length = 0;
    if (this.group.length < W) this.group = new Int32Array(2 * W);
    let total = 0;
    let anyExcl = false;
    for (let wi = 0; wi < W; wi++) {
      const w = wants[wi]!;
      let g = skus.indexOf(w.sku);
      if (g < 0) g = skus.push(w.sku) - 1;
      this.group[wi] = g;
      total += w.qty;
      if (w.exclude && w.exclude.length > 0) anyExcl = true;
    }
    this.total = total;
    const G = (this.G = skus.length);
    if (this.room.length < C * G) {
      this.room = new Float64Array(2 * C * G);
      this.unit = new Float64Array(2 * C * G);
    }
    if (this.cap.length < C) this.cap = new Float64Array(2 * C);
    const room = this.room;
    const unit = this.unit;
    const prices = net.prices;
    for (let g = 0; g < G; g++) {
      const row = net.row(skus[g]!);
      if (row) for (let c = 0; c < C; c++) room[c * G + g] = row[cands[c]!.fi]!;
      else for (let c = 0; c < C; c++) room[c * G + g] = 0;
      const sp = prices ? prices.stock[net.skuId(skus[g]!)] : undefined;
      for (let c = 0; c < C; c++) {
        const fi = cands[c]!.fi;
        unit[c * G + g] = cands[c]!.unit + (prices ? prices.cap[fi]! + (sp ? sp[fi]! : 0) : 0);
      }
    }
    for (let c = 0; c < C; c++) this.cap[c] = net.capacity[cands[c]!.fi]!;
    this.excl = null;
    if (anyExcl) {
      if (this.exclBuf.length < C * W) this.exclBuf = new Uint8Array(2 * C * W);
      const ex = this.exclBuf;
      ex.fill(0, 0, C * W);
      for (let c = 0; c < C; c++) {
        const id = net.facilities[cands[c]!.fi]!.id;
        for (let wi = 0; wi < W; wi++) if (wants[wi]!.exclude?.includes(id)) ex[c * W + wi] = 1;
      }
      this.excl = ex;
    }
    this.ws.grow(C, G, W);
    return this;
  }

  /** Units candidate c could give now (the workspace's room, capacity and remaining wants), without taking them; their cost in ws.unitsCost. */
  private units(c: number): number {
    const { G, W, group, excl, unit, ws } = this;
    const room = ws.room;
    const given = ws.givenOfGroup;
    const remaining = ws.remaining;
    ws.unitsCost = 0;
    let capLeft = ws.capLeft[c]!;
    if (capLeft <= 0) return 0;
    if (W === 1) {
      if (excl && excl[c]) return 0;
      const u = Math.min(remaining[0]!, room[c * G]!, capLeft);
      ws.unitsCost = u * unit[c * G]!;
      return u;
    }
    // wants of one SKU share its room: track what this candidate has given per group so far
    const shared = G < W;
    if (shared) given.fill(0, 0, G);
    let u = 0;
    let cost = 0;
    for (let wi = 0; wi < W && capLeft > 0; wi++) {
      const need = remaining[wi]!;
      if (need <= 0) continue;
      if (excl && excl[c * W + wi]) continue;
      const g = group[wi]!;
      const avail = shared ? room[c * G + g]! - given[g]! : room[c * G + g]!;
      const t = Math.min(need, avail, capLeft);
      if (t <= 0) continue;
      u += t;
      cost += t * unit[c * G + g]!;
      capLeft -= t;
      if (shared) given[g] = given[g]! + t;
    }
    ws.unitsCost = cost;
    return u;
  }

  /**
   * Set-cover greedy: repeatedly take the candidate with the lowest incremental cost per unit
   * covered. `paid`: candidates whose shipment the order already pays for; `banned`: a candidate
   * left out (for drop-one), or -1.
   */
  greedy(paid: Uint8Array | null, banned = -1): Draft {
    const { C, G, W, group, cands, excl, unit, ws } = this;
    const room = ws.room;
    const remaining = ws.remaining;
    const shipping = ws.shipping;
    for (let k = 0; k < C * G; k++) room[k] = this.room[k]!;
    for (let c = 0; c < C; c++) ws.capLeft[c] = this.cap[c]!;
    for (let wi = 0; wi < W; wi++) remaining[wi] = this.wants[wi]!.qty;
    if (paid) shipping.set(paid);
    else shipping.fill(0, 0, C);
    const sol: Draft = { c: [], w: [], q: [], filled: 0, cost: 0 };
    for (;;) {
      let best = -1;
      let bestScore = Infinity;
      let bestUnits = 0;
      for (let c = 0; c < C; c++) {
        if (c === banned) continue;
        const u = this.units(c);
        if (u <= 0) continue;
        const cd = cands[c]!;
        const score = ((shipping[c] ? 0 : cd.ship) + ws.unitsCost) / u;
        if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && u > bestUnits)) {
          best = c;
          bestScore = score;
          bestUnits = u;
        }
      }
      if (best < 0) break;
      const cd = cands[best]!;
      let capLeft = ws.capLeft[best]!;
      for (let wi = 0; wi < W && capLeft > 0; wi++) {
        if (remaining[wi]! <= 0) continue;
        if (excl && excl[best * W + wi]) continue;
        const ri = best * G + group[wi]!;
        const t = Math.min(remaining[wi]!, room[ri]!, capLeft);
        if (t <= 0) continue;
        sol.c.push(best);
        sol.w.push(wi);
        sol.q.push(t);
        remaining[wi] = remaining[wi]! - t;
        room[ri] = room[ri]! - t;
        capLeft -= t;
        sol.filled += t;
        sol.cost += t * unit[ri]!;
      }
      ws.capLeft[best] = capLeft;
      if (!shipping[best]) sol.cost += cd.ship;
      shipping[best] = 1;
    }
    return sol;
  }

  /** One candidate taking every want, when one can; the cheapest such. */
  single(): Draft | null {
    const { C, G, W, group, cands, excl, total } = this;
    const perGroup = this.ws.givenOfGroup;
    perGroup.fill(0, 0, G);
    for (let wi = 0; wi < W; wi++) perGroup[group[wi]!] = perGroup[group[wi]!]! + this.wants[wi]!.qty;
    let best = -1;
    let bestCost = Infinity;
    for (let c = 0; c < C; c++) {
      if (this.cap[c]! < total) continue;
      let ok = true;
      for (let g = 0; g < G && ok; g++) if (this.room[c * G + g]! < perGroup[g]!) ok = false;
      if (excl) for (let wi = 0; wi < W && ok; wi++) if (excl[c * W + wi]) ok = false;
      if (!ok) continue;
      let cost = cands[c]!.ship;
      for (let wi = 0; wi < W; wi++) cost += this.wants[wi]!.qty * this.unit[c * G + group[wi]!]!;
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    if (best < 0) return null;
    const sol: Draft = { c: [], w: [], q: [], filled: total, cost: bestCost };
    for (let wi = 0; wi < W; wi++) {
      sol.c.push(best);
      sol.w.push(wi);
      sol.q.push(this.wants[wi]!.qty);
    }
    return sol;
  }
}

/** Fill first, then cost. */
export function better(a: Draft, b: Draft | null): boolean {
  return !b || a.filled > b.filled || (a.filled === b.filled && a.cost < b.cost - 1e-9);
}

function distinct(cs: number[]): number[] {
  const out: number[] = [];
  for (const c of cs) if (!out.includes(c)) out.push(c);
  return out;
}

/** The best plan for the table's wants: the greedy, one facility for all, then drop-one. */
export function bestDraft(t: CandidateTable, paid: Uint8Array | null): Draft {
  let best = t.greedy(paid);
  if (!paid && best.filled > 0 && distinct(best.c).length > 1) {
    const one = t.single();
    if (one && better(one, best)) best = one;
  }
  // drop-one improvement: a split whose worst shipment can go is often cheaper without it
  for (let round = 0; round < 3; round++) {
    const usedCs = distinct(best.c);
    if (usedCs.length < 2) break;
    let improved = false;
    for (const c of usedCs) {
      const alt = t.greedy(paid, c);
      if (better(alt, best)) {
        best = alt;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return best;
}
