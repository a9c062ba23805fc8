/**
 * The network as the allocator sees it: facilities (with their index for nearest searches),
 * available units per facility and SKU (safety stock already taken off), and capacity left today.
 * Planning takes units (stock and capacity together) and gives them back when it re-plans; SKUs
 * are interned to dense ids, one Int32Array row of available units per SKU.
 */
import { FacilityIndex, type Found, type Point } from './facility-index.js';
import type { SourcingFacility, SourcingOrder, SourcingStrategy } from './strategy.js';

/** Shadow prices of capacity (per facility) and stock (per SKU id, per facility): see `Network.prices`. */
export interface Prices {
  cap: Float64Array;
  stock: (Float64Array | undefined)[];
}

export class Network {
  readonly facilities: SourcingFacility[];
  private readonly byId = new Map<string, number>();
  index: FacilityIndex;
  private skuIds = new Map<string, number>();
  /** available units per facility, one row per interned SKU */
  private rows: Int32Array[] = [];
  /** per SKU id: the facilities that have held it (stock > 0) since the list was made, with a membership mask */
  private holderLists: ({ ids: number[]; has: Uint8Array } | undefined)[] = [];
  capacity: Float64Array;
  /** strategy → eligibility key → per facility 0 unknown, 1 eligible, 2 not */
  private eligibility = new WeakMap<SourcingStrategy, Map<string, Uint8Array>>();
  /**
   * Prices added to a unit's cost while planning (not to a plan's cost): per facility for its
   * capacity, per SKU id and facility for its stock. Set by the batch's price rounds, else null.
   */
  prices: Prices | null = null;

  constructor(facilities: SourcingFacility[]) {
    this.facilities = facilities;
    this.capacity = new Float64Array(facilities.length);
    facilities.forEach((f, i) => {
      this.byId.set(f.id, i);
      this.capacity[i] = f.capacity;
    });
    this.index = new FacilityIndex(facilities);
  }

  /** The DCs' facility indices. */
  get dcs(): Int32Array {
    return this.index.dcs;
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** A copy whose stock and capacity change independently of this one's. */
  clone(): Network {
    const c = Object.create(Network.prototype) as Network;
    Object.assign(c, this);
    c.index = this.index.clone();
    c.capacity = Float64Array.from(this.capacity);
    c.rows = this.rows.map((r) => r.slice());
    c.skuIds = new Map(this.skuIds);
    c.holderLists = this.holderLists.map((h) => (h ? { ids: h.ids.slice(), has: h.has.slice() } : undefined));
    c.prices = null;
    return c;
  }

  /** The number of interned SKUs (ids are 0 … skuCount − 1). */
  get skuCount(): number {
    return this.rows.length;
  }

  /** The available units per facility of the SKU with this id. */
  rowAt(id: number): Int32Array {
    return this.rows[id]!;
  }

  /** The available units of one SKU per facility index (undefined when no facility ever had it). */
  row(sku: string): Int32Array | undefined {
    const id = this.skuIds.get(sku);
    return id === undefined ? undefined : this.rows[id];
  }

  private rowFor(sku: string): Int32Array {
    let id = this.skuIds.get(sku);
    if (id === undefined) {
      id = this.rows.length;
      this.skuIds.set(sku, id);
      this.rows.push(new Int32Array(this.facilities.length));
    }
    return this.rows[id]!;
  }

  /** The SKU's interned id, or -1. */
  skuId(sku: string): number {
    return this.skuIds.get(sku) ?? -1;
  }

  available(fi: number, sku: string): number {
    return this.row(sku)?.[fi] ?? 0;
  }

  setAvailable(facility: string | number, sku: string, units: number): void {
    const fi = typeof facility === 'number' ? facility : this.byId.get(facility);
    if (fi === undefined) return;
    const v = Math.max(0, Math.floor(units));
    this.rowFor(sku)[fi] = v;
    if (v > 0) this.held(this.skuIds.get(sku)!, fi);
  }

  take(fi: number, sku: string, q: number): void {
    const arr = this.rowFor(sku);
    arr[fi] = arr[fi]! - q;
    this.capacity[fi] = this.capacity[fi]! - q;
  }

  give(fi: number, sku: string, q: number): void {
    const arr = this.rowFor(sku);
    arr[fi] = arr[fi]! + q;
    this.capacity[fi] = this.capacity[fi]! + q;
    if (arr[fi]! > 0) this.held(this.skuIds.get(sku)!, fi);
  }

  /** take/give by facility index and SKU id (as a plan's refs hold them) */
  takeAt(fi: number, id: number, q: number): void {
    const arr = this.rows[id]!;
    arr[fi] = arr[fi]! - q;
    this.capacity[fi] = this.capacity[fi]! - q;
  }

  giveAt(fi: number, id: number, q: number): void {
    const arr = this.rows[id]!;
    arr[fi] = arr[fi]! + q;
    this.capacity[fi] = this.capacity[fi]! + q;
    if (arr[fi]! > 0) this.held(id, fi);
  }

  private held(id: number, fi: number) {
    const h = this.holderLists[id];
    if (h && !h.has[fi]) {
      h.has[fi] = 1;
      h.ids.push(fi);
    }
  }

  /** Facilities that may hold the SKU (a superset of those with stock now). */
  holdersOf(id: number): readonly number[] {
    let h = this.holderLists[id];
    if (!h) {
      const row = this.rows[id]!;
      h = { ids: [], has: new Uint8Array(this.facilities.length) };
      for (let fi = 0; fi < row.length; fi++)
        if (row[fi]! > 0) {
          h.ids.push(fi);
          h.has[fi] = 1;
        }
      this.holderLists[id] = h;
    }
    return h.ids;
  }

  /**
   * Memo of `s.eligible(·, order)` per facility. Orders with the same `s.eligibilityKey` share one;
   * without a key, each call gets a fresh one (to share within one order's searches).
   */
  eligibleMemo(s: SourcingStrategy, order: SourcingOrder): Uint8Array {
    if (!s.eligibilityKey) return new Uint8Array(this.facilities.length);
    const key = s.eligibilityKey(order);
    let byKey = this.eligibility.get(s);
    if (!byKey) this.eligibility.set(s, (byKey = new Map()));
    let memo = byKey.get(key);
    if (!memo) byKey.set(key, (memo = new Uint8Array(this.facilities.length)));
    return memo;
  }

  /** Facilities nearest `point` first that pass `ok`, at most `k`, within `maxKm` great-circle km. */
  nearest(point: Point, k: number, maxKm: number, ok: (fi: number) => boolean): number[] {
    return this.index.search(point, k, maxKm, ok).ids;
  }

  /** `nearest`, with the dot products of the unit vectors (cos of the angle) alongside. */
  search(point: Point, k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    return this.index.search(point, k, maxKm, ok);
  }

  /** Nearest facilities among `lists` (de-duplicated) that pass `ok`, at most k, with dot products. */
  searchAmong(point: Point, lists: readonly (readonly number[])[], k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    return this.index.searchAmong(point, lists, k, maxKm, ok);
  }

  /** The nearest DCs that pass `ok`, at most `k`, with their dot products. */
  nearestDcs(point: Point, k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    return this.index.nearestDcs(point, k, maxKm, ok);
  }
}
