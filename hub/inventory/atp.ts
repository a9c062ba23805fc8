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

/** Facilities by place: a grid of 1° cells, rebuilt when the facility catalogue changes. */
export class FacilityGrid {
  private cells = new Map<string, FacilityDoc[]>();
  private source: ReadonlyMap<string, FacilityDoc> | null = null;
  private size = -1;

  constructor(private readonly facilities: () => ReadonlyMap<string, FacilityDoc>) {}

  private key(latCell: number, lonCell: number) {
    return `${latCell}|${lonCell}`;
  }

  private current(): void {
    const map = this.facilities();
    if (map === this.source && map.size === this.size) return;
    this.source = map;
    this.size = map.size;
    this.cells = new Map();
    for (const f of map.values()) {
      const k = this.key(Math.floor(f.lat / CELL_DEG), Math.floor(f.lon / CELL_DEG));
      const list = this.cells.get(k);
      if (list) list.push(f);
      else this.cells.set(k, [f]);
    }
  }

  facility(id: string): FacilityDoc | undefined {
    return this.facilities().get(id);
  }

  /**
   * The `k` nearest facilities to `at` that `has` accepts, nearest first (ties: more units first,
   * as `units` says). Searches rings of cells outwards and stops once no farther cell can hold a
   * nearer facility, or after `maxRings`.
   */
  nearest(at: Point, k: number, has: (id: string) => boolean, units: (id: string) => number, maxRings = 180): FacilityOffer[] {
    this.current();
    const top: FacilityOffer[] = [];
    const lc = Math.floor(at.lat / CELL_DEG);
    const oc = Math.floor(at.lon / CELL_DEG);
    // a cell r rings out is at least (r - 1) cells of latitude away, and of longitude at the widest
    // latitude the ring reaches
    for (let r = 0; r <= maxRings; r++) {
      if (top.length === k) {
        const lonKm = KM_PER_DEG * CELL_DEG * Math.cos((Math.min(89, Math.abs(at.lat) + r * CELL_DEG) * Math.PI) / 180);
        const bound = (r - 1) * Math.min(KM_PER_DEG * CELL_DEG, lonKm);
        if (bound > top[k - 1]!.km!) break;
      }
      for (let dl = -r; dl <= r; dl++) {
        const edge = Math.abs(dl) === r;
        for (let dn = -r; dn <= r; dn += edge ? 1 : 2 * r) {
          const list = this.cells.get(this.key(lc + dl, oc + dn));
          if (list) for (const f of list) if (has(f.id)) insert(top, k, { facility: f.id, available: units(f.id), km: Math.round(distanceKm(f, at) * 10) / 10 });
          if (r === 0) break;
        }
      }
    }
    return top;
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

/** A SKU's availability now and by date, with the best `limit` facilities (nearest to `at`, or most units). */
export function skuAvailability(index: AvailabilityIndex, grid: FacilityGrid, supplyAhead: (sku: string) => SupplyAhead[], sku: string, qty: number, at: Point | null, limit: number): SkuAvailability {
  const free = index.availableAt(sku);
  let facilities: FacilityOffer[];
  if (!at) {
    facilities = [];
    for (const [f, a] of free) insert(facilities, limit, { facility: f, available: a, km: null });
  } else if (free.size <= 4 * limit) {
    // few facilities have it: measure them all
    facilities = [];
    for (const [f, a] of free) {
      const fd = grid.facility(f);
      insert(facilities, limit, { facility: f, available: a, km: fd ? Math.round(distanceKm(fd, at) * 10) / 10 : null });
    }
  } else {
    facilities = grid.nearest(at, limit, (id) => free.has(id), (id) => free.get(id) ?? 0);
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

/**
 * Can one facility ship (or hand over) the whole cart, and when? Candidates are the facilities that
 * have the cart's scarcest SKU now or have a supply of it coming; for each, the date by which every
 * line is covered by what is there now plus what arrives there. The earliest wins, then the nearest.
 * With a pickup store, only that store is asked.
 */
export function singleFacility(index: AvailabilityIndex, grid: FacilityGrid, supplyAhead: (sku: string) => SupplyAhead[], lines: CartLine[], at: Point | null, only?: string): SingleFacility | null {
  if (!lines.length) return null;
  const ahead = new Map(lines.map((l) => [l.sku, supplyAhead(l.sku)]));
  const candidates = new Set<string>();
  if (only) candidates.add(only);
  else {
    const scarcest = [...lines].sort((a, b) => index.availableAt(a.sku).size + ahead.get(a.sku)!.length - (index.availableAt(b.sku).size + ahead.get(b.sku)!.length))[0]!;
    for (const f of index.availableAt(scarcest.sku).keys()) candidates.add(f);
    for (const s of ahead.get(scarcest.sku)!) candidates.add(s.facility);
  }
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
    if (!date) continue;
    const fd = grid.facility(f);
    const km = at && fd ? Math.round(distanceKm(fd, at) * 10) / 10 : null;
    const x = { facility: f, km, date };
    if (!best || rankDate(x.date) < rankDate(best.date) || (x.date === best.date && (x.km ?? 0) < (best.km ?? 0))) best = x;
  }
  return best;
}

const rankDate = (d: string) => (d === 'now' ? '' : d);
