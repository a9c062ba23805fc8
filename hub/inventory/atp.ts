/**
 * Availability checks (ATP) for storefronts: one SKU (`GET /api/v1/atp`) or a whole cart
 * (`POST /api/v1/atp`). A check reads the availability index by SKU (the facilities with units and
 * their total, kept current as positions and DOs change) and a grid of facilities by place, so its
 * cost follows the facilities it answers with, not the size of the network: no per-request work
 * over every facility.
 */
import { distanceKm } from '../../shared/geo.js';
import type { FacilityDoc } from '../../shared/schemas.js';
import type { AvailabilityIndex } from './index.js';

export interface Point {
  lat: number;
  lon: number;
}

export interface FacilityOffer {
  facility: string;
  available: number;
  km: number | null;
}

export interface SupplyAhead {
  facility: string;
  date: string;
  qty: number;
}

export interface SkuAvailability {
  sku: string;
  qty: number;
  availableNow: number;
  /** When `qty` units are available across the network: now, the date of a supply, or null. */
  promiseDate: string | null;
  byDate: { date: string; qty: number; cumulative: number; from?: string }[];
  facilities: FacilityOffer[];
}

/** Cells of this many degrees: a US store network puts a few facilities in each. */
const CELL_DEG = 1;
const KM_PER_DEG = 111.2;
const RAD = Math.PI / 180;
const EARTH_KM = 6371.0088;

/** Latitude and longitude cells a grid can hold: every whole degree, -90…90 by -180…180. */
const LAT_CELLS = 181;
const LON_CELLS = 361;
/** The cell of a place, or -1 outside the grid (no facility can be there). */
const cellOf = (latCell: number, lonCell: number) =>
  latCell < -90 || latCell > 90 || lonCell < -180 || lonCell > 180 ? -1 : (latCell + 90) * LON_CELLS + (lonCell + 180);
const unit = (p: Point) => ({ x: Math.cos(p.lat * RAD) * Math.cos(p.lon * RAD), y: Math.cos(p.lat * RAD) * Math.sin(p.lon * RAD), z: Math.sin(p.lat * RAD) });
const kmOfDot = (d: number) => Math.acos(Math.max(-1, Math.min(1, d))) * EARTH_KM;

/**
 * Facilities by place: a grid of 1° cells, rebuilt when the facility catalogue changes. The cells
 * are laid out flat (a facility's unit vector in three number arrays, grouped by cell, and where each
 * cell starts): a check walks a few dozen cells of a large network, and flat arrays keep that walk
 * off the heap's objects and out of hash lookups.
 */
export class FacilityGrid {
  /** facilities grouped by cell; cell c holds the indices start[c] … start[c + 1] - 1 */
  private start = new Int32Array(LAT_CELLS * LON_CELLS + 1);
  private ids: string[] = [];
  /** unit vectors: the dot product of two ranks them as great-circle distance does */
  private xs = new Float64Array(0);
  private ys = new Float64Array(0);
  private zs = new Float64Array(0);
  private source: ReadonlyMap<string, FacilityDoc> | null = null;
  private size = -1;

  constructor(private readonly facilities: () => ReadonlyMap<string, FacilityDoc>) {}

  private current(): void {
    const map = this.facilities();
    if (map === this.source && map.size === this.size) return;
    this.source = map;
    this.size = map.size;
    const placed: { cell: number; id: string; x: number; y: number; z: number }[] = [];
    for (const f of map.values()) {
      const cell = cellOf(Math.floor(f.lat / CELL_DEG), Math.floor(f.lon / CELL_DEG));
      if (cell >= 0) placed.push({ cell, id: f.id, ...unit(f) });
    }
    // grouped by cell, in catalogue order within a cell (a stable sort)
    placed.sort((a, b) => a.cell - b.cell);
    const start = new Int32Array(LAT_CELLS * LON_CELLS + 1);
    for (const p of placed) start[p.cell + 1]!++;
    for (let c = 0; c < LAT_CELLS * LON_CELLS; c++) start[c + 1]! += start[c]!;
    this.start = start;
    this.ids = placed.map((p) => p.id);
    this.xs = Float64Array.from(placed, (p) => p.x);
    this.ys = Float64Array.from(placed, (p) => p.y);
    this.zs = Float64Array.from(placed, (p) => p.z);
  }

  facility(id: string): FacilityDoc | undefined {
    return this.facilities().get(id);
  }

  /**
   * The `k` nearest facilities to `at` that `has` accepts, nearest first (ties: more units first,
   * as `units` says). Searches rings of cells outwards and stops once no farther cell can hold a
   * nearer facility, after `maxRings`, or once `maxTried` facilities were put to `has`.
   */
  nearest(at: Point, k: number, has: (id: string) => boolean, units: (id: string) => number, maxTried = Infinity, maxRings = 180): FacilityOffer[] {
    this.current();
    const { start, ids, xs, ys, zs } = this;
    const u = unit(at);
    // the best k as (dot, index), most similar first
    const dots: number[] = [];
    const picks: number[] = [];
    const lc = Math.floor(at.lat / CELL_DEG);
    const oc = Math.floor(at.lon / CELL_DEG);
    let tried = 0;
    // a cell r rings out is at least (r - 1) cells of latitude away, and of longitude at the widest
    // latitude the ring reaches
    rings: for (let r = 0; r <= maxRings; r++) {
      if (dots.length === k) {
        const lonKm = KM_PER_DEG * CELL_DEG * Math.cos(Math.min(89, Math.abs(at.lat) + r * CELL_DEG) * RAD);
        if ((r - 1) * Math.min(KM_PER_DEG * CELL_DEG, lonKm) > kmOfDot(dots[k - 1]!)) break;
      }
      for (let dl = -r; dl <= r; dl++) {
        const edge = dl === -r || dl === r;
        for (let dn = -r; dn <= r; dn += edge || r === 0 ? 1 : 2 * r) {
          const cell = cellOf(lc + dl, oc + dn);
          if (cell < 0) continue;
          for (let j = start[cell]!, end = start[cell + 1]!; j < end; j++) {
            const dot = xs[j]! * u.x + ys[j]! * u.y + zs[j]! * u.z;
            if (dots.length === k && dot <= dots[k - 1]!) continue;
            if (tried++ >= maxTried) break rings;
            if (!has(ids[j]!)) continue;
            let i = dots.length;
            while (i > 0 && dot > dots[i - 1]!) i--;
            dots.splice(i, 0, dot);
            picks.splice(i, 0, j);
            if (dots.length > k) {
              dots.pop();
              picks.pop();
            }
          }
        }
      }
    }
    const out: FacilityOffer[] = [];
    for (let i = 0; i < picks.length; i++) {
      const id = ids[picks[i]!]!;
      insert(out, k, { facility: id, available: units(id), km: Math.round(kmOfDot(dots[i]!) * 10) / 10 });
    }
    return out;
  }
}

const closer = (a: FacilityOffer, b: FacilityOffer) => (a.km ?? 0) - (b.km ?? 0) || b.available - a.available || (a.facility < b.facility ? -1 : 1);

/** Keep `top` the best `k` of what it has seen, sorted. */
function insert(top: FacilityOffer[], k: number, x: FacilityOffer) {
  if (top.length === k && closer(x, top[k - 1]!) >= 0) return;
  let i = top.length;
  while (i > 0 && closer(x, top[i - 1]!) < 0) i--;
  top.splice(i, 0, x);
  if (top.length > k) top.pop();
}

/**
 * Which facilities a check reports: of those with units (`free`), the best `limit`: nearest first
 * when `kmTo` measures them (ties: more units, then the id), else the most units first. (Over many
 * facilities with a place given, `FacilityGrid.nearest` finds the same without measuring them all.)
 */
export function topFacilities(free: ReadonlyMap<string, number>, limit: number, kmTo: ((facility: string) => number | null) | null): FacilityOffer[] {
  const top: FacilityOffer[] = [];
  for (const [f, a] of free) insert(top, limit, { facility: f, available: a, km: kmTo ? kmTo(f) : null });
  return top;
}

/** A SKU's availability now and by date, with the best `limit` facilities (nearest to `at`, or most units). */
export function skuAvailability(
  index: AvailabilityIndex,
  grid: FacilityGrid,
  supplyAhead: (sku: string) => SupplyAhead[],
  sku: string,
  qty: number,
  at: Point | null,
  limit: number,
): SkuAvailability {
  const free = index.availableAt(sku);
  let facilities: FacilityOffer[];
  if (!at) facilities = topFacilities(free, limit, null);
  // few facilities have it: measure them all
  else if (free.size <= 4 * limit)
    facilities = topFacilities(free, limit, (f) => {
      const fd = grid.facility(f);
      return fd ? Math.round(distanceKm(fd, at) * 10) / 10 : null;
    });
  else {
    facilities = grid.nearest(
      at,
      limit,
      (id) => free.has(id),
      (id) => free.get(id) ?? 0,
    );
  }
  const now = index.totalAvailable(sku);
  const byDate: SkuAvailability['byDate'] = [{ date: 'now', qty: now, cumulative: now }];
  let cum = now;
  for (const s of supplyAhead(sku)) {
    cum += s.qty;
    byDate.push({ date: s.date, qty: s.qty, cumulative: cum, from: s.facility });
  }
  const enough = byDate.find((d) => d.cumulative >= qty);
  return { sku, qty, availableNow: now, promiseDate: enough ? (enough.date === 'now' ? new Date().toISOString() : enough.date) : null, byDate, facilities };
}

export interface CartLine {
  sku: string;
  qty: number;
}

export interface SingleFacility {
  facility: string;
  km: number | null;
  /** `now`, or the date of the supply that completes the cart there */
  date: string;
}

/** Facilities a cart's single-facility search asks at most for "now", nearest first. */
export const SINGLE_FACILITY_SEARCH = 64;

/**
 * Can one facility ship (or hand over) the whole cart, and when? Now: the nearest facility that has
 * every line available (among the `SINGLE_FACILITY_SEARCH` nearest that have the first line's SKU).
 * Otherwise: of the facilities with a supply coming of some line's SKU, the one where every line is
 * covered soonest by what is there plus what arrives there (then the nearest). With a pickup store,
 * only that store is asked.
 */
export function singleFacility(
  index: AvailabilityIndex,
  grid: FacilityGrid,
  supplyAhead: (sku: string) => SupplyAhead[],
  lines: CartLine[],
  at: Point | null,
  only?: string,
): SingleFacility | null {
  if (!lines.length) return null;
  const hasAllNow = (f: string) => lines.every((l) => (index.availableAt(l.sku).get(f) ?? 0) >= l.qty);
  const km = (f: string) => {
    const fd = grid.facility(f);
    return at && fd ? Math.round(distanceKm(fd, at) * 10) / 10 : null;
  };
  if (only) {
    if (hasAllNow(only)) return { facility: only, km: km(only), date: 'now' };
  } else {
    const first = index.availableAt(lines[0]!.sku);
    if (at && first.size > SINGLE_FACILITY_SEARCH) {
      const near = grid.nearest(
        at,
        1,
        (f) => first.has(f) && hasAllNow(f),
        () => 0,
        SINGLE_FACILITY_SEARCH,
      );
      if (near.length) return { facility: near[0]!.facility, km: near[0]!.km, date: 'now' };
    } else {
      let best: SingleFacility | null = null;
      for (const f of first.keys()) {
        if (!hasAllNow(f)) continue;
        const x = { facility: f, km: km(f), date: 'now' };
        if (!best || (x.km ?? 0) < (best.km ?? 0)) best = x;
        if (!at) break;
      }
      if (best) return best;
    }
  }
  // later: only where a supply of one of the cart's SKUs is coming
  const ahead = new Map(lines.map((l) => [l.sku, supplyAhead(l.sku)]));
  const candidates = new Set<string>();
  if (only) candidates.add(only);
  else for (const list of ahead.values()) for (const s of list) candidates.add(s.facility);
  let best: SingleFacility | null = null;
  for (const f of candidates) {
    let date = 'now';
    for (const l of lines) {
      let have = index.availableAt(l.sku).get(f) ?? 0;
      let when: string | null = have >= l.qty ? 'now' : null;
      if (!when) {
        for (const s of ahead.get(l.sku)!) {
          if (s.facility !== f) continue;
          have += s.qty;
          if (have >= l.qty) {
            when = s.date;
            break;
          }
        }
      }
      if (!when) {
        date = '';
        break;
      }
      if (when !== 'now' && (date === 'now' || when > date)) date = when;
    }
    if (!date || date === 'now') continue;
    const x = { facility: f, km: km(f), date };
    if (!best || x.date < best.date || (x.date === best.date && (x.km ?? 0) < (best.km ?? 0))) best = x;
  }
  return best;
}
