/**
 * The network availability index, in memory: available = on hand − open DO quantity − safety stock
 * (docs/CONTRACT.md). On hand comes from the nodes' `inv:` positions (their truth) or, for a facility
 * without a node, from counts loaded through the planner API; open DO quantity is the larger of
 * what the hub has released and not seen finish, and what the node reports as reserved (a DO the
 * node has not pulled yet, or a shipment the hub has not heard of yet, then counts once).
 * Rebuilt at start from CouchDB and kept current by the monitor.
 */
import type { DocumentScope } from 'nano';
import type { Couch } from '../couch/index.js';
import type { InvDoc, CountDoc, DistributionOrderDoc } from '../../shared/schemas.js';
import { newDoState, type DoStateDoc } from '../../shared/dostate.js';
import { DONE_DO_STATES, TERMINAL_DO_STATES } from '../../shared/states.js';

export interface PositionView {
  facility: string;
  sku: string;
  onHand: number;
  safetyStock: number;
  /** Units held for open DOs. */
  reserved: number;
  /** Units held by checkout reservations (`POST /api/v1/atp` with `reserve`), not yet ordered. */
  reservedForCheckout: number;
  available: number;
  asOf: string;
}

interface Pos {
  onHand: number;
  safetyStock: number;
  nodeReserved: number;
  asOf: string;
}

export class AvailabilityIndex {
  private readonly pos = new Map<string, Map<string, Pos>>();
  /** The same positions by SKU: an availability check reads one SKU across every facility. */
  private readonly bySku = new Map<string, Map<string, Pos>>();
  /** facility → sku → units on open DOs, as the hub sees them */
  private readonly hubOpen = new Map<string, Map<string, number>>();
  /** doId → its current contribution to hubOpen */
  private readonly doOpen = new Map<string, { facility: string; units: Map<string, number>; createdAt: string; total: number }>();
  /**
   * doId → the last event applied, so an older copy of a DO state never undoes a newer one. A DO
   * leaves it with its `released` entry, once it is finished and its day is over
   * (`unitsReleasedOn`): an older copy of it no longer comes (the feeds give the latest revision,
   * a restart reads the stored one), and kept for good it grew by one entry a DO for as long as
   * the hub ran.
   */
  private readonly doSeen = new Map<string, number>();
  /**
   * facility → doId → units a DO took off the shelf (shipped, picked up) that the facility's
   * position does not show yet: the node writes the event before the position it recomputes, and
   * the two can reach the hub in different uploads. Until a position as recent as the event comes,
   * those units still count as reserved, or the hub would see them on the shelf and free at once.
   */
  private readonly issued = new Map<string, Map<string, { units: Map<string, number>; at: string }>>();
  /** doId → the day it was released, its facility and the units it will take (capacity used that day) */
  private readonly released = new Map<string, { facility: string; day: string; units: number }>();
  private readonly listeners = new Set<(facility: string, skus: string[]) => void>();
  /** facility → sku → units held by checkout reservations */
  private readonly checkout = new Map<string, Map<string, number>>();
  /**
   * sku → facility → units available there (only where some are), and sku → their sum: kept as
   * positions, DOs and reservations change, so an availability check reads one SKU's facilities
   * with stock and its total without any work over every facility.
   */
  private readonly free = new Map<string, Map<string, number>>();
  private readonly totals = new Map<string, number>();

  /**
   * Calls `fn` with the SKUs of a facility that may fill more now: their available units rose (a
   * receipt, a count upwards, a DO or reservation giving units back), or the facility's capacity
   * for the day did (a DO rejected, cancelled or short-picked: then every SKU available there, since
   * a backorder of any of them may have waited for the capacity). A fall in availability (a sale, a
   * DO taking units, a shipment) never fills a backorder, and is not told.
   */
  onMoreAvailable(fn: (facility: string, skus: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Keep the per-SKU index of `skus` current; tell the listeners those that rose (every SKU available there when `capacityFreed`). */
  private emit(facility: string, skus: string[], capacityFreed = false) {
    if (!skus.length) return;
    const more = new Set<string>();
    for (const sku of skus) if (this.refreshFree(facility, sku) > 0) more.add(sku);
    if (capacityFreed) for (const sku of this.pos.get(facility)?.keys() ?? []) if (this.availableAt(sku).has(facility)) more.add(sku);
    if (more.size) for (const l of this.listeners) l(facility, [...more]);
  }

  /** Bring `free` and `totals` up to the SKU's availability at the facility; answers the change. */
  private refreshFree(facility: string, sku: string): number {
    const a = this.available(facility, sku);
    let m = this.free.get(sku);
    const before = m?.get(facility) ?? 0;
    if (a === before) return 0;
    if (!m) this.free.set(sku, (m = new Map()));
    if (a > 0) m.set(facility, a);
    else m.delete(facility);
    this.totals.set(sku, (this.totals.get(sku) ?? 0) + a - before);
    return a - before;
  }

  /** Units of `sku` available across the network now. */
  totalAvailable(sku: string): number {
    return this.totals.get(sku) ?? 0;
  }

  /** The facilities with units of `sku` available, and how many (read-only; kept current). */
  availableAt(sku: string): ReadonlyMap<string, number> {
    return this.free.get(sku) ?? EMPTY;
  }

  /** Hold (or, negative, give back) units for a checkout reservation. */
  holdForCheckout(facility: string, sku: string, delta: number): void {
    let m = this.checkout.get(facility);
    if (!m) this.checkout.set(facility, (m = new Map()));
    const q = (m.get(sku) ?? 0) + delta;
    if (q > 0) m.set(sku, q);
    else m.delete(sku);
    this.emit(facility, [sku]);
  }

  reservedForCheckout(facility: string, sku: string): number {
    return this.checkout.get(facility)?.get(sku) ?? 0;
  }

  private slot(facility: string, sku: string): Pos {
    let m = this.pos.get(facility);
    if (!m) this.pos.set(facility, (m = new Map()));
    let p = m.get(sku);
    if (!p) {
      m.set(sku, (p = { onHand: 0, safetyStock: 0, nodeReserved: 0, asOf: '' }));
      let f = this.bySku.get(sku);
      if (!f) this.bySku.set(sku, (f = new Map()));
      f.set(facility, p);
    }
    return p;
  }

  /** A node's reported positions; older reports than what we hold are ignored. */
  applyNodePositions(facility: string, docs: InvDoc[]): void {
    const changed: string[] = [];
    const issued = this.issued.get(facility);
    for (const d of docs) {
      const p = this.slot(facility, d.sku);
      if (d.updatedAt < p.asOf) continue;
      Object.assign(p, { onHand: d.onHand, safetyStock: d.safetyStock, nodeReserved: d.reserved, asOf: d.updatedAt });
      changed.push(d.sku);
      // the position now shows what DOs shipped before it was computed
      if (issued)
        for (const [doId, x] of issued) {
          if (x.at <= d.updatedAt && x.units.delete(d.sku) && x.units.size === 0) issued.delete(doId);
        }
    }
    this.emit(facility, changed);
  }

  /** A count loaded through the planner API: the hub's view uses it at once. */
  applyCount(c: Pick<CountDoc, 'facility' | 'positions' | 'createdAt'>): void {
    for (const x of c.positions) {
      const p = this.slot(c.facility, x.sku);
      if (c.createdAt < p.asOf) continue;
      Object.assign(p, { onHand: x.onHand, safetyStock: x.safetyStock, asOf: c.createdAt });
    }
    this.emit(
      c.facility,
      c.positions.map((x) => x.sku),
    );
  }

  /** A DO's open quantity follows its state: ordered until picked, picked until done, then none. */
  applyDoState(
    s: Pick<DoStateDoc, 'doId' | 'facility' | 'lines' | 'state' | 'picked' | 'createdAt'> &
      Partial<Pick<DoStateDoc, 'history' | 'updatedAt'>> & { lastEvent?: number },
  ): void {
    const seen = this.doSeen.get(s.doId);
    if (seen !== undefined && (s.lastEvent ?? 0) < seen) return;
    this.doSeen.set(s.doId, s.lastEvent ?? 0);
    const before = this.doOpen.get(s.doId);
    const units = new Map<string, number>();
    const issuedSkus: string[] = [];
    // what the DO takes (or took) off the shelf: the ordered units, or what was picked once picked
    const takes = new Map<string, number>();
    if (s.state !== 'rejected' && s.state !== 'cancelled') {
      for (const l of s.lines) {
        const q = s.picked ? (s.picked[String(l.line)] ?? 0) : l.qty;
        if (q > 0) takes.set(l.sku, (takes.get(l.sku) ?? 0) + q);
      }
    }
    if (!TERMINAL_DO_STATES.has(s.state)) for (const [sku, q] of takes) units.set(sku, q);
    // capacity: units released on the DO's day count for that day whether shipped already or not
    const wasReleased = this.released.get(s.doId)?.units ?? 0;
    const releasing = [...takes.values()].reduce((a, b) => a + b, 0);
    this.released.set(s.doId, { facility: s.facility, day: s.createdAt.slice(0, 10), units: releasing });
    if (DONE_DO_STATES.has(s.state) && !this.issued.get(s.facility)?.has(s.doId)) {
      const at = [...(s.history ?? [])].reverse().find((h) => h.applied && (h.status === 'shipped' || h.status === 'picked_up'))?.at ?? s.updatedAt ?? '';
      const pending = new Map([...takes].filter(([sku]) => (this.pos.get(s.facility)?.get(sku)?.asOf ?? '') < at));
      for (const sku of pending.keys()) issuedSkus.push(sku);
      if (pending.size) {
        let m = this.issued.get(s.facility);
        if (!m) this.issued.set(s.facility, (m = new Map()));
        m.set(s.doId, { units: pending, at });
      }
    }
    let m = this.hubOpen.get(s.facility);
    if (!m) this.hubOpen.set(s.facility, (m = new Map()));
    const skus = new Set<string>(issuedSkus);
    for (const [sku, q] of before?.units ?? []) {
      m.set(sku, (m.get(sku) ?? 0) - q);
      skus.add(sku);
    }
    for (const [sku, q] of units) {
      m.set(sku, (m.get(sku) ?? 0) + q);
      skus.add(sku);
    }
    let total = 0;
    for (const q of units.values()) total += q;
    if (units.size) this.doOpen.set(s.doId, { facility: s.facility, units, createdAt: s.createdAt, total });
    else this.doOpen.delete(s.doId);
    this.emit(s.facility, [...skus], releasing < wasReleased);
  }

  /**
   * Take back the hold of a DO the hub reserved and then did not issue (an allocation that was not
   * written, or was dropped for one decided elsewhere). A DO that has reported an event stays.
   */
  forget(doId: string): void {
    if ((this.doSeen.get(doId) ?? 0) > 0) return;
    this.doSeen.delete(doId);
    const wasReleased = this.released.get(doId)?.units ?? 0;
    this.released.delete(doId);
    const before = this.doOpen.get(doId);
    if (!before) return;
    this.doOpen.delete(doId);
    const m = this.hubOpen.get(before.facility)!;
    for (const [sku, q] of before.units) m.set(sku, (m.get(sku) ?? 0) - q);
    this.emit(before.facility, [...before.units.keys()], wasReleased > 0);
  }

  reserved(facility: string, sku: string): number {
    return this.reservedAt(facility, sku, this.pos.get(facility)?.get(sku));
  }

  private reservedAt(facility: string, sku: string, p: Pos | undefined): number {
    let hub = this.hubOpen.get(facility)?.get(sku) ?? 0;
    const issued = this.issued.get(facility);
    if (issued) for (const x of issued.values()) hub += x.units.get(sku) ?? 0;
    return Math.max(hub, p?.nodeReserved ?? 0);
  }

  available(facility: string, sku: string): number {
    const p = this.pos.get(facility)?.get(sku);
    if (!p) return 0;
    return Math.max(0, p.onHand - this.reservedAt(facility, sku, p) - p.safetyStock - this.reservedForCheckout(facility, sku));
  }

  /** Calls `fn` for every facility with units of `sku` available. */
  forEachAvailable(sku: string, fn: (facility: string, available: number) => void): void {
    for (const [f, a] of this.availableAt(sku)) fn(f, a);
  }

  view(facility: string, sku: string): PositionView | null {
    const p = this.pos.get(facility)?.get(sku);
    if (!p) return null;
    return {
      facility,
      sku,
      onHand: p.onHand,
      safetyStock: p.safetyStock,
      reserved: this.reserved(facility, sku),
      reservedForCheckout: this.reservedForCheckout(facility, sku),
      available: this.available(facility, sku),
      asOf: p.asOf,
    };
  }

  facilitiesWith(sku: string): string[] {
    return [...(this.bySku.get(sku)?.keys() ?? [])];
  }

  /** Units of DOs created on `day` (YYYY-MM-DD) at each facility: today's use of capacity. */
  unitsReleasedOn(day: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [doId, d] of this.released) {
      if (d.day === day) out.set(d.facility, (out.get(d.facility) ?? 0) + d.units);
      else if (d.day < day && !this.doOpen.has(doId)) {
        // an earlier day's, finished: nothing about it is needed any more
        this.released.delete(doId);
        this.doSeen.delete(doId);
      }
    }
    return out;
  }

  /** DOs the index keeps anything of (their last event, their day's units): those open, and those of today. */
  get trackedDos(): number {
    return new Set([...this.doSeen.keys(), ...this.released.keys(), ...this.doOpen.keys()]).size;
  }

  /** Answers the alloc documents it read (the checkout reservations they consumed are not held again). */
  async rebuild(couch: Couch, nodes: { id: string; db: string }[]): Promise<{ allocs: { reservation?: string }[] }> {
    const counts = await pagedPrefix(couch.db<CountDoc & { _id: string }>('dom'), 'count:');
    for (const c of counts.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) this.applyCount(c);
    for (const n of nodes) {
      const inv = await pagedPrefix(couch.db<InvDoc & { _id: string }>(n.db), 'inv:').catch(() => []);
      this.applyNodePositions(n.id, inv);
    }
    const states = await pagedPrefix(couch.db<DoStateDoc>('dom'), 'dostate:');
    for (const s of states) this.applyDoState(s);
    // DOs an allocator decided (its outbox written) and had not issued when it stopped: they have no
    // state yet, and the allocator replays them only once it holds the lease. Held from the start,
    // or a replenishment run in between would hand their units out again.
    const allocs = await pagedPrefix(couch.db<{ _id: string; done?: boolean; dos: DistributionOrderDoc[]; reservation?: string }>('dom'), 'alloc:');
    for (const a of allocs) if (!a.done) for (const d of a.dos) if (!this.doSeen.has(d.doId)) this.applyDoState(newDoState(d));
    return { allocs };
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();

/** Every document whose id starts with `prefix`, read in pages. */
export async function pagedPrefix<T extends { _id: string }>(db: DocumentScope<T>, prefix: string, pageSize = 2000): Promise<T[]> {
  const out: T[] = [];
  let startkey = prefix;
  let skip = 0;
  for (;;) {
    const res = await db.list({ startkey, endkey: `${prefix}\ufff0`, include_docs: true, limit: pageSize, skip });
    for (const r of res.rows) if (r.doc) out.push(r.doc);
    if (res.rows.length < pageSize) return out;
    startkey = res.rows[res.rows.length - 1]!.id;
    skip = 1;
  }
}
