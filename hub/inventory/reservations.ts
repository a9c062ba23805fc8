/**
 * Checkout reservations (soft allocations): a cart check may hold its units for a few minutes so that
 * the order placed at the end of checkout finds them. Held units are taken out of the availability
 * index: no other check offers them and the allocator does not give them to other orders. They go to
 * the order that names the reservation, or back to the network when it is released or expires.
 *
 * Each reservation is a `reservation:<id>` document in `dom` (written before the answer, so a hub
 * restarted meanwhile holds it again) and lives in memory beside the index. The allocator consumes a
 * reservation by naming it in the order's alloc document (the outbox): at start, a reservation named
 * by an alloc is not held again, even if its own document was not updated before a crash.
 */
import { randomUUID } from 'node:crypto';
import type { DocumentScope } from 'nano';
import type { AvailabilityIndex } from './index.js';
import type { Logger } from '../../shared/log.js';
import { isStatus } from '../../shared/errors.js';
import { pagedPrefix } from './index.js';

export interface ReservationLine {
  sku: string;
  /** units asked for */
  qty: number;
  /** where the units are held */
  holds: { facility: string; qty: number }[];
}

export interface ReservationDoc {
  _id: string;
  _rev?: string;
  type: 'reservation';
  id: string;
  lines: ReservationLine[];
  createdAt: string;
  expiresAt: string;
  status: 'held' | 'consumed' | 'released' | 'expired';
  /** the order it went to */
  orderId?: string;
  endedAt?: string;
}

export { RESERVATION_LIMITS } from '../../shared/bodies/planning.js';

export class Reservations {
  /** held reservations, by id */
  private readonly held = new Map<string, ReservationDoc>();
  /**
   * Reservations ended (consumed, released, expired): a reservation never comes back, so an older
   * copy of one (the dom feed's echo of its creation, read before it ended) must not hold it again.
   */
  private readonly finished = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dom: DocumentScope<ReservationDoc>,
    private readonly index: AvailabilityIndex,
    private readonly log: Logger,
  ) {}

  static docId = (id: string) => `reservation:${id}`;

  /** Hold these units (already checked available) until `ttlSeconds` from now. */
  async create(lines: ReservationLine[], ttlSeconds: number): Promise<ReservationDoc> {
    const now = new Date();
    const id = `rsv-${randomUUID()}`;
    const doc: ReservationDoc = {
      _id: Reservations.docId(id),
      type: 'reservation',
      id,
      lines,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      status: 'held',
    };
    // held in memory first, so a check running while the document is written cannot take them
    this.hold(doc);
    try {
      const r = await this.dom.insert(doc);
      doc._rev = r.rev;
    } catch (err) {
      this.unhold(doc.id);
      throw err;
    }
    this.schedule();
    return doc;
  }

  get(id: string): ReservationDoc | undefined {
    return this.held.get(id);
  }

  /** The stored document (any status), for a reservation not held here. */
  async read(id: string): Promise<ReservationDoc | null> {
    const h = this.held.get(id);
    if (h) return h;
    try {
      return await this.dom.get(Reservations.docId(id));
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  /** Give the units back (released by the client, or expired); the document records why. */
  async end(id: string, status: 'released' | 'expired'): Promise<ReservationDoc | null> {
    const doc = this.held.get(id);
    if (!doc) return null;
    this.unhold(id);
    this.finish(id);
    await this.record(doc, { status, endedAt: new Date().toISOString() });
    return { ...doc, status };
  }

  /**
   * The allocator takes the reservation for `orderId`: answers its holds (the units go to the order),
   * or null if it is not held (expired, released, or taken by another order). The units stay held
   * until `settle`, after the outbox write; if that fails, the retried batch claims them again.
   */
  claim(id: string, orderId: string): ReservationDoc | null {
    const doc = this.held.get(id);
    if (!doc || (doc.orderId && doc.orderId !== orderId) || doc.expiresAt <= new Date().toISOString()) return null;
    doc.orderId = orderId;
    return doc;
  }

  /** The claim is in the outbox: the reservation's units are now the order's DOs. */
  settle(id: string): void {
    const doc = this.held.get(id);
    if (!doc) return;
    this.unhold(id);
    this.finish(id);
    void this.record(doc, { status: 'consumed', orderId: doc.orderId, endedAt: new Date().toISOString() }).catch((err) =>
      this.log.warn({ err: (err as Error).message, id }, 'recording a consumed reservation failed; its alloc names it'),
    );
  }

  /** At start (and from the dom feed): hold what is held and unexpired, unless an alloc consumed it. */
  apply(doc: ReservationDoc, consumed: ReadonlySet<string> = new Set()): void {
    if (this.finished.has(doc.id)) return;
    const live = doc.status === 'held' && doc.expiresAt > new Date().toISOString() && !consumed.has(doc.id);
    if (doc.status !== 'held' || consumed.has(doc.id)) this.finish(doc.id);
    if (live && !this.held.has(doc.id)) this.hold(doc);
    else if (!live && this.held.has(doc.id)) this.unhold(doc.id);
    this.schedule();
  }

  async rebuild(allocs: { reservation?: string }[]): Promise<void> {
    const consumed = new Set(allocs.flatMap((a) => (a.reservation ? [a.reservation] : [])));
    for (const doc of await pagedPrefix(this.dom, 'reservation:')) this.apply(doc, consumed);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private hold(doc: ReservationDoc) {
    this.held.set(doc.id, doc);
    for (const l of doc.lines) for (const h of l.holds) this.index.holdForCheckout(h.facility, l.sku, h.qty);
  }

  private finish(id: string) {
    this.finished.add(id);
    if (this.finished.size > 100_000) this.finished.delete(this.finished.values().next().value!);
  }

  private unhold(id: string) {
    const doc = this.held.get(id);
    if (!doc) return;
    this.held.delete(id);
    for (const l of doc.lines) for (const h of l.holds) this.index.holdForCheckout(h.facility, l.sku, -h.qty);
  }

  private async record(doc: ReservationDoc, patch: Partial<ReservationDoc>) {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const cur = await this.dom.get(doc._id);
        if (cur.status !== 'held') return;
        await this.dom.insert({ ...cur, ...patch });
        return;
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
      }
    }
  }

  /** Expire reservations on time: one timer, set for the next expiry. */
  private schedule() {
    clearTimeout(this.timer);
    let next = Infinity;
    for (const d of this.held.values()) next = Math.min(next, Date.parse(d.expiresAt));
    if (next === Infinity) return;
    this.timer = setTimeout(
      () => {
        const now = new Date().toISOString();
        for (const d of [...this.held.values()])
          if (d.expiresAt <= now)
            void this.end(d.id, 'expired').catch((err) => this.log.warn({ err: (err as Error).message, id: d.id }, 'expiring a reservation failed'));
        this.schedule();
      },
      Math.max(0, next - Date.now()) + 5,
    );
    this.timer.unref();
  }
}
