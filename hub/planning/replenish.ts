/**
 * Replenishment, pure. For each store and SKU with model stock:
 *   inventory position IP = on hand + in transit + on order − committed,
 *   need = max − IP when IP ≤ min (the reorder point), else none.
 * Needs are grouped by serving DC and SKU. When the DC's available units cover them, each store
 * gets its need. When they do not, the units are shared fairly: equal projected days of supply,
 *   DS = (A + ΣIⱼ) / ΣDⱼ,   Aⱼ = max(0, DS·Dⱼ − Iⱼ),
 * capped at each store's need (water-filling: a capped or zero store leaves the set and DS is
 * recomputed), then rounded to whole units by largest remainder, so nothing a store needs is left
 * unallocated. DC positions below their own model stock become purchase suggestions.
 */
export interface StoreNeedInput {
  store: string;
  dc: string;
  sku: string;
  onHand: number;
  inTransit: number;
  onOrder: number;
  committed: number;
  min: number;
  max: number;
  /** Forecast daily demand. */
  daily: number;
}

export interface Transfer {
  from: string;
  to: string;
  sku: string;
  qty: number;
}

export interface FairShareReport {
  dc: string;
  sku: string;
  available: number;
  totalNeed: number;
  daysOfSupply: number | null;
  stores: { store: string; need: number; qty: number; position: number; daily: number; projectedDays: number | null }[];
}

export function position(n: Pick<StoreNeedInput, 'onHand' | 'inTransit' | 'onOrder' | 'committed'>): number {
  return n.onHand + n.inTransit + n.onOrder - n.committed;
}

export function needOf(n: StoreNeedInput): number {
  const ip = position(n);
  return ip <= n.min ? Math.max(0, n.max - ip) : 0;
}

/** Share `available` units among stores by equal days of supply; whole units, capped at each need. */
export function fairShare(available: number, stores: { id: string; position: number; daily: number; need: number }[]): Map<string, number> {
  const out = new Map<string, number>(stores.map((s) => [s.id, 0]));
  const totalNeed = stores.reduce((s, x) => s + x.need, 0);
  if (available >= totalNeed) {
    for (const s of stores) out.set(s.id, s.need);
    return out;
  }
  // continuous water-filling
  const share = new Map<string, number>();
  let active = stores.filter((s) => s.need > 0);
  let A = available;
  for (let guard = 0; guard < stores.length + 2 && active.length > 0 && A > 0; guard++) {
    const sumD = active.reduce((s, x) => s + x.daily, 0);
    if (sumD <= 0) {
      // no forecast among the rest: split what is left in proportion to need
      const sumNeed = active.reduce((s, x) => s + x.need, 0);
      for (const s of active) share.set(s.id, Math.min(s.need, (A * s.need) / sumNeed));
      break;
    }
    const ds = (A + active.reduce((s, x) => s + x.position, 0)) / sumD;
    const raw = active.map((s) => ({ s, a: ds * s.daily - s.position }));
    const zero = raw.filter((r) => r.a <= 0);
    const capped = raw.filter((r) => r.a >= r.s.need);
    if (zero.length === 0 && capped.length === 0) {
      for (const r of raw) share.set(r.s.id, r.a);
      break;
    }
    // drop the stores already above the common level first; cap at need only once none are left,
    // so the units handed out always add up to what the DC has
    const leaving = zero.length ? zero : capped;
    for (const r of leaving) {
      const q = zero.length ? 0 : r.s.need;
      share.set(r.s.id, q);
      A -= q;
    }
    const gone = new Set(leaving.map((r) => r.s.id));
    active = active.filter((s) => !gone.has(s.id));
  }
  // whole units: floor, then the largest remainders, while units and needs remain
  let left = available;
  const rema: { id: string; frac: number }[] = [];
  for (const s of stores) {
    const x = Math.max(0, Math.min(s.need, share.get(s.id) ?? 0));
    const f = Math.floor(x + 1e-9);
    out.set(s.id, f);
    left -= f;
    rema.push({ id: s.id, frac: x - f });
  }
  rema.sort((a, b) => b.frac - a.frac || a.id.localeCompare(b.id));
  const needOfId = new Map(stores.map((s) => [s.id, s.need]));
  // first by largest remainder, then round the stores still short (those with no forecast last),
  // so no unit stays at the DC while a store needs it
  for (const r of rema) {
    if (left <= 0) break;
    if (r.frac > 1e-9 && out.get(r.id)! < needOfId.get(r.id)!) {
      out.set(r.id, out.get(r.id)! + 1);
      left--;
    }
  }
  const order = [...stores].sort((a, b) => b.daily - a.daily || a.id.localeCompare(b.id));
  while (left > 0) {
    let gave = false;
    for (const s of order) {
      if (left <= 0) break;
      if (out.get(s.id)! < s.need) {
        out.set(s.id, out.get(s.id)! + 1);
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return out;
}

export interface PlanInput {
  stores: StoreNeedInput[];
  /** Available units at each DC per SKU (on hand − committed − safety stock). */
  dcAvailable: (dc: string, sku: string) => number;
  dcModelStock: { dc: string; sku: string; min: number; max: number; onHand: number; onOrder: number; committed: number }[];
}

export interface ReplenishmentPlan {
  transfers: Transfer[];
  purchaseSuggestions: { facility: string; sku: string; qty: number; position: number; min: number; max: number }[];
  fairShare: FairShareReport[];
}

export function planReplenishment(input: PlanInput): ReplenishmentPlan {
  const groups = new Map<string, StoreNeedInput[]>();
  for (const s of input.stores) {
    const k = `${s.dc}|${s.sku}`;
    const g = groups.get(k);
    if (g) g.push(s);
    else groups.set(k, [s]);
  }
  const transfers: Transfer[] = [];
  const reports: FairShareReport[] = [];
  const shipped = new Map<string, number>(); // dc|sku → units sent to stores
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const [dc, sku] = key.split('|') as [string, string];
    const needs = rows.map((r) => ({ id: r.store, position: position(r), daily: r.daily, need: needOf(r) })).filter((n) => n.need > 0);
    if (!needs.length) continue;
    const A = Math.max(0, input.dcAvailable(dc, sku));
    const alloc = fairShare(A, needs);
    const totalNeed = needs.reduce((s, n) => s + n.need, 0);
    for (const n of needs) {
      const q = alloc.get(n.id) ?? 0;
      if (q > 0) transfers.push({ from: dc, to: n.id, sku, qty: q });
    }
    const sent = [...alloc.values()].reduce((s, q) => s + q, 0);
    shipped.set(key, sent);
    if (A < totalNeed) {
      const sumD = needs.reduce((s, n) => s + n.daily, 0);
      reports.push({
        dc,
        sku,
        available: A,
        totalNeed,
        daysOfSupply: sumD > 0 ? (A + needs.reduce((s, n) => s + n.position, 0)) / sumD : null,
        stores: needs.map((n) => ({
          store: n.id,
          need: n.need,
          qty: alloc.get(n.id) ?? 0,
          position: n.position,
          daily: n.daily,
          projectedDays: n.daily > 0 ? (n.position + (alloc.get(n.id) ?? 0)) / n.daily : null,
        })),
      });
    }
  }
  const purchaseSuggestions: ReplenishmentPlan['purchaseSuggestions'] = [];
  for (const m of input.dcModelStock) {
    const ip = m.onHand + m.onOrder - m.committed - (shipped.get(`${m.dc}|${m.sku}`) ?? 0);
    // unmet store needs count as demand on the DC too
    const unmet = (groups.get(`${m.dc}|${m.sku}`) ?? []).reduce((s, r) => s + needOf(r), 0) - (shipped.get(`${m.dc}|${m.sku}`) ?? 0);
    const effective = ip - Math.max(0, unmet);
    if (effective <= m.min) purchaseSuggestions.push({ facility: m.dc, sku: m.sku, qty: m.max - effective, position: effective, min: m.min, max: m.max });
  }
  return { transfers, purchaseSuggestions, fairShare: reports };
}

/**
 * A model stock's min and max as they stand now: given as units, or as days of supply of the
 * forecast (or sales-history) demand at the time of the run, reordering at half the target.
 */
export function modelTarget(m: { min: number; max: number; daysOfSupply?: number }, daily: number): { min: number; max: number } {
  if (!m.daysOfSupply) return { min: m.min, max: m.max };
  return daysOfSupplyTarget(m.daysOfSupply, daily);
}

/** Days of supply in units: the target is that many days of demand (at least one unit); reorder at half of it. */
export function daysOfSupplyTarget(daysOfSupply: number, daily: number): { min: number; max: number } {
  const max = Math.max(1, Math.ceil(daily * daysOfSupply));
  return { min: Math.floor(max / 2), max };
}

/**
 * The min and max a model-stock row (PUT /api/v1/model-stock) stores: as given, else from its days
 * of supply at today's forecast. A row with days of supply is re-targeted at every run (`modelTarget`).
 */
export function rowTarget(r: { min?: number; max?: number; daysOfSupply?: number }, daily: number): { min: number; max: number } {
  if (r.min !== undefined && r.max !== undefined) return { min: r.min, max: r.max };
  if (r.daysOfSupply === undefined) throw new Error('a model-stock row needs min and max, or daysOfSupply');
  return daysOfSupplyTarget(r.daysOfSupply, daily);
}

/** Where a model-stock row stands (GET /api/v1/model-stock): its target today, the position, the gap to max. */
export function modelStockStanding(
  m: { min: number; max: number; daysOfSupply?: number },
  n: Pick<StoreNeedInput, 'onHand' | 'inTransit' | 'onOrder' | 'committed'>,
  daily: number,
): { min: number; max: number; actual: number; gap: number; belowMin: boolean } {
  const { min, max } = modelTarget(m, daily);
  const actual = position(n);
  return { min, max, actual, gap: Math.max(0, max - actual), belowMin: actual <= min };
}

/** The DC nearest a store (great-circle km), among the enabled DCs; null when there is none. */
export function nearestDc<F extends { id: string; type: string; lat: number; lon: number; enabled?: boolean }>(
  store: F,
  facilities: F[],
  km: (a: F, b: F) => number,
): F | null {
  let best: F | null = null;
  let bestKm = Infinity;
  for (const f of facilities) {
    if (f.type !== 'dc' || f.enabled === false) continue;
    const d = km(store, f);
    if (d < bestKm || (d === bestKm && best && f.id < best.id)) [best, bestKm] = [f, d];
  }
  return best;
}
