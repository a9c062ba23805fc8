/**
 * The network availability index, in memory: available = on hand − open DO quantity − safety stock
 * (DESIGN.md). On hand comes from the nodes' `inv:` positions (their truth) or, for a facility
 * without a node, from counts loaded through the planner API; open DO quantity is the larger of
 * what the hub has released and not seen finish, and what the node reports as reserved (a DO the
 * node has not pulled yet, or a shipment the hub has not heard of yet, then counts once).
 * Rebuilt at start from CouchDB and kept current by the monitor.
 */
import type { DocumentScope } from 'nano';
import type { Couch } from '../couch/index.js';
import type { InvDoc, CountDoc } from '../../shared/schemas.js';
import type { DoStateDoc } from '../monitor/dostate.js';
import { TERMINAL_DO_STATES } from '../../shared/states.js';

export interface PositionView {
  facility: string;
  sku: string;
  onHand: number;
  safetyStock: number;
  /** Units held for open DOs. */
  reserved: number;
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
  /** facility → sku → units on open DOs, as the hub sees them */
  private readonly hubOpen = new Map<string, Map<string, number>>();
  /** doId → its current contribution to hubOpen */
  private readonly doOpen = new Map<string, { facility: string; units: Map<string, number>; createdAt: string; total: number }>();
  /** doId → the last event applied, so an older copy of a DO state never undoes a newer one */
  private readonly doSeen = new Map<string, number>();
  private readonly listeners = new Set<(facility: string, skus: string[]) => void>();

  onChange(fn: (facility: string, skus: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(facility: string, skus: string[]) {
    if (skus.length) for (const l of this.listeners) l(facility, skus);
  }

  private slot(facility: string, sku: string): Pos {
    let m = this.pos.get(facility);
    if (!m) this.pos.set(facility, (m = new Map()));
    let p = m.get(sku);
    if (!p) m.set(sku, (p = { onHand: 0, safetyStock: 0, nodeReserved: 0, asOf: '' }));
    return p;
  }

  /** A node's reported positions; older reports than what we hold are ignored. */
  applyNodePositions(facility: string, docs: InvDoc[]): void {
    const changed: string[] = [];
    for (const d of docs) {
      const p = this.slot(facility, d.sku);
      if (d.updatedAt < p.asOf) continue;
      Object.assign(p, { onHand: d.onHand, safetyStock: d.safetyStock, nodeReserved: d.reserved, asOf: d.updatedAt });
      changed.push(d.sku);
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
    this.emit(c.facility, c.positions.map((x) => x.sku));
  }

  /** A DO's open quantity follows its state: ordered until picked, picked until done, then none. */
  applyDoState(s: Pick<DoStateDoc, 'doId' | 'facility' | 'lines' | 'state' | 'picked' | 'createdAt'> & { lastEvent?: number }): void {
    const seen = this.doSeen.get(s.doId);
    if (seen !== undefined && (s.lastEvent ?? 0) < seen) return;
    this.doSeen.set(s.doId, s.lastEvent ?? 0);
    const before = this.doOpen.get(s.doId);
    const units = new Map<string, number>();
    if (!TERMINAL_DO_STATES.has(s.state)) {
      for (const l of s.lines) {
        const q = s.picked ? (s.picked[String(l.line)] ?? 0) : l.qty;
        if (q > 0) units.set(l.sku, (units.get(l.sku) ?? 0) + q);
      }
    }
    let m = this.hubOpen.get(s.facility);
    if (!m) this.hubOpen.set(s.facility, (m = new Map()));
    const skus = new Set<string>();
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
    this.emit(s.facility, [...skus]);
  }

  reserved(facility: string, sku: string): number {
    const hub = this.hubOpen.get(facility)?.get(sku) ?? 0;
    const node = this.pos.get(facility)?.get(sku)?.nodeReserved ?? 0;
    return Math.max(hub, node);
  }

  available(facility: string, sku: string): number {
    const p = this.pos.get(facility)?.get(sku);
    if (!p) return 0;
    return Math.max(0, p.onHand - this.reserved(facility, sku) - p.safetyStock);
  }

  view(facility: string, sku: string): PositionView | null {
    const p = this.pos.get(facility)?.get(sku);
    if (!p) return null;
    return { facility, sku, onHand: p.onHand, safetyStock: p.safetyStock, reserved: this.reserved(facility, sku), available: this.available(facility, sku), asOf: p.asOf };
  }

  facilitiesWith(sku: string): string[] {
    const out: string[] = [];
    for (const [f, m] of this.pos) if (m.has(sku)) out.push(f);
    return out;
  }

  /** Units of DOs created on `day` (YYYY-MM-DD) at each facility: today's use of capacity. */
  unitsReleasedOn(day: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const d of this.doOpen.values()) if (d.createdAt.startsWith(day)) out.set(d.facility, (out.get(d.facility) ?? 0) + d.total);
    return out;
  }

  async rebuild(couch: Couch, nodes: { id: string; db: string }[]): Promise<void> {
    const counts = await pagedPrefix(couch.db<CountDoc & { _id: string }>('dom'), 'count:');
    for (const c of counts.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) this.applyCount(c);
    for (const n of nodes) {
      const inv = await pagedPrefix(couch.db<InvDoc & { _id: string }>(n.db), 'inv:').catch(() => []);
      this.applyNodePositions(n.id, inv);
    }
    const states = await pagedPrefix(couch.db<DoStateDoc>('dom'), 'dostate:');
    for (const s of states) this.applyDoState(s);
  }
}

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
