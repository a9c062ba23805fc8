/**
 * Order documents in `dom`, and the one writer of an order's status: every write of an order here
 * (`update`, `updateMany`, the roll-up) derives the status from the order's DO states
 * (`lineViews`/`orderStatus`), so no caller sets it. Updates run one at a time per order within
 * this instance and retry on a revision conflict (another instance wrote in between), so a change
 * is never lost and never applied to a stale copy.
 *
 * The roll-up (`rollUp`, run for the orders of DO states that moved) takes the DO states from the
 * monitor's memory and the orders from the copies this instance last wrote or read, and writes the
 * orders whose status moved through the shared group commit: the events of several uploads cost
 * one request, the one that stores their DO states. A copy another instance changed since is
 * dropped when the `dom` feed shows the change (`seen`); one that changed and was not yet dropped
 * fails its write with a conflict and is read again. A roll-up that finds nothing to change writes
 * nothing: when its copy was stale, the instance that changed the order rolls it up again on the DO
 * states it learns (every instance rolls up the orders of every DO state that moves).
 */
import type { DocumentBulkResponse, DocumentScope } from 'nano';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import { BulkWriter, bulkDocs } from '../couch/bulk.js';
import { lineViews, orderStatus, type LineView, type OrderDoc } from './model.js';

/** Where an order's DO states come from: the monitor's memory, read from `dom` when not there. The states are not to be changed. */
export interface DoStates {
  of(doIds: readonly string[]): Promise<Map<string, DoStateDoc>>;
  /** The order of these DOs reached its end (shipped, completed, cancelled): their states need not be kept in memory. */
  settled?(doIds: readonly string[]): void;
}

/** An order in one of these statuses is not rolled up again (but for a late duplicate event, which reads it). */
const FINAL: ReadonlySet<string> = new Set(['shipped', 'completed', 'cancelled']);

export type OrderViews = Map<string, { order: OrderDoc; lines: LineView[] }>;

/**
 * Order copies kept for the roll-up (the oldest dropped first): a few KB each; an order not held is
 * read. An order that reached its end is not kept (nor its DOs' states, `settled`): the copies held
 * are the orders still in work, so the hub's memory follows the work in progress, not every order
 * since the start (the 30-minute soak, docs/RELIABILITY.md).
 */
const MAX_KNOWN = 10_000;

export class OrderStore {
  private locks = new Map<string, Promise<unknown>>();
  /** The latest copy of an order this instance wrote or read, by id (for the roll-up). */
  private known = new Map<string, OrderDoc>();
  /** The revision this instance wrote last of an order at its end (not kept in `known`), by id. */
  private finalRevs = new Map<string, string>();
  private readonly writer: BulkWriter;

  constructor(
    private readonly dom: DocumentScope<OrderDoc>,
    private readonly states: DoStates,
    /** Told of every status change an order goes through (the event feed). */
    private readonly onStatus: (order: OrderDoc) => void = () => undefined,
    /** The group commit the orders' writes share (with the monitor's DO states). */
    writer?: BulkWriter,
  ) {
    this.writer = writer ?? new BulkWriter(dom as DocumentScope<object>);
  }

  /** How many order copies are held in memory (tests). */
  get held(): number {
    return this.known.size;
  }

  private keep(doc: OrderDoc): void {
    this.known.delete(doc.id);
    if (FINAL.has(doc.status)) {
      this.states.settled?.(doc.allocations.map((a) => a.doId));
      // its revision only, so that the feed's echo of this write is known as this instance's own
      if (doc._rev) {
        this.finalRevs.delete(doc.id);
        this.finalRevs.set(doc.id, doc._rev);
        if (this.finalRevs.size > MAX_KNOWN) this.finalRevs.delete(this.finalRevs.keys().next().value!);
      }
      return;
    }
    this.finalRevs.delete(doc.id);
    this.known.set(doc.id, structuredClone(doc));
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * The `dom` feed saw this revision of an order: whether it is the one this instance holds (it
   * wrote it); a copy of another revision is dropped, and the next roll-up reads the order.
   */
  seen(orderId: string, rev: string): boolean {
    const k = this.known.get(orderId);
    if (k?._rev === rev) return true;
    this.known.delete(orderId);
    if (this.finalRevs.get(orderId) === rev) return true;
    this.finalRevs.delete(orderId);
    return false;
  }

  /** The status the DO states give an order (its lines' views too); sets it on the document. True when it moved. */
  private derive(doc: OrderDoc, states: ReadonlyMap<string, DoStateDoc>): { moved: boolean; lines: LineView[] } {
    const lines = lineViews(doc, states);
    const status = orderStatus(doc, lines);
    if (status === doc.status) return { moved: false, lines };
    doc.status = status;
    return { moved: true, lines };
  }

  async get(id: string): Promise<OrderDoc | null> {
    try {
      return await this.dom.get(ids.order(id));
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  async getMany(orderIds: string[]): Promise<OrderDoc[]> {
    if (orderIds.length === 0) return [];
    const res = await this.dom.fetch({ keys: orderIds.map(ids.order) });
    return res.rows.flatMap((r) => ('doc' in r && r.doc ? [r.doc as OrderDoc] : []));
  }

  /**
   * `getMany` for the allocator's batch: an order this instance has just inserted and not written
   * since comes from memory (its first batch usually follows within the batch window; `fresh`
   * names those), the rest from CouchDB. A copy that another instance changed meanwhile fails the batch's write with a
   * conflict, and that order is then updated from its latest copy.
   */
  async getForBatch(orderIds: string[]): Promise<{ docs: OrderDoc[]; fresh: Set<string> }> {
    const out: OrderDoc[] = [];
    const rest: string[] = [];
    const fresh = new Set<string>();
    for (const id of orderIds) {
      const d = this.inserted.get(id);
      if (d) {
        this.inserted.delete(id);
        fresh.add(id);
        out.push(structuredClone(d));
      } else rest.push(id);
    }
    return { docs: [...out, ...(await this.getMany(rest))], fresh };
  }

  /** Orders inserted by this instance, as stored, until their first batch reads them or they are written again. */
  private readonly inserted = new Map<string, OrderDoc>();
  private static readonly insertedMax = 20_000;

  private remember(doc: OrderDoc) {
    this.inserted.set(doc.id, doc);
    if (this.inserted.size > OrderStore.insertedMax) this.inserted.delete(this.inserted.keys().next().value!);
  }

  /**
   * A new order. Inserts share `_bulk_docs` requests, a group commit: while one batch is being
   * written the next gathers, so that under load accepting orders costs one CouchDB request per
   * batch rather than one per order, and with no load an insert waits for nothing. A used id
   * fails with a 409, as a single insert would.
   */
  insert(doc: OrderDoc): Promise<OrderDoc> {
    return new Promise((resolve, reject) => {
      this.pendingInserts.push({ doc, resolve, reject });
      this.scheduleInserts();
    });
  }

  private static readonly maxInsertBatch = 500;
  private static readonly insertsAtOnce = 2;
  private pendingInserts: { doc: OrderDoc; resolve: (d: OrderDoc) => void; reject: (e: unknown) => void }[] = [];
  private insertsScheduled = false;
  private insertsInFlight = 0;

  private scheduleInserts() {
    if (this.insertsScheduled || this.pendingInserts.length === 0) return;
    // two batches in flight at most: the next one gathers behind them (four made the embedded
    // server, which syncs each write on its own, slower: docs/BENCHMARKS.md)
    if (this.insertsInFlight >= OrderStore.insertsAtOnce) return;
    this.insertsScheduled = true;
    setImmediate(() => {
      this.insertsScheduled = false;
      void this.flushInserts();
    });
  }

  private async flushInserts(): Promise<void> {
    const batch = this.pendingInserts.splice(0, OrderStore.maxInsertBatch);
    if (batch.length === 0) return;
    this.insertsInFlight++;
    try {
      const res = await bulkDocs(
        this.dom as DocumentScope<object>,
        batch.map((b) => b.doc),
      );
      batch.forEach((b, i) => {
        const r = res[i];
        if (r?.rev) {
          this.remember({ ...b.doc, _rev: r.rev });
          this.keep({ ...b.doc, _rev: r.rev });
          b.resolve({ ...b.doc, _rev: r.rev });
        } else b.reject(Object.assign(new Error(`order ${b.doc._id}: ${r?.error ?? 'not saved'}`), { statusCode: r?.error === 'conflict' ? 409 : 500 }));
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.insertsInFlight--;
      this.scheduleInserts();
    }
  }

  /** The DO states of these orders' allocations, and of `moreDoIds` (allocations about to be added). */
  statesOf(orders: OrderDoc[], moreDoIds: readonly string[] = []): Promise<Map<string, DoStateDoc>> {
    return this.states.of([...new Set([...orders.flatMap((o) => o.allocations.map((a) => a.doId)), ...moreDoIds])]);
  }

  /** Runs `fn` once the orders' earlier updates on this instance are done, holding their locks meanwhile. */
  private locked<T>(orderIds: string[], fn: () => Promise<T>): Promise<T> {
    const prev = Promise.all(orderIds.map((id) => this.locks.get(id) ?? Promise.resolve()));
    const run = prev.then(fn);
    const settled = run.catch(() => undefined);
    for (const id of orderIds) this.locks.set(id, settled);
    void settled.then(() => {
      for (const id of orderIds) if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }

  /**
   * Apply `fn` to the latest copy and save; `fn` returns false to leave the order unchanged. The
   * status is derived from the DO states either way, and the order saved when it moved.
   */
  update(id: string, fn: (doc: OrderDoc) => boolean | void | Promise<boolean | void>): Promise<OrderDoc | null> {
    return this.locked([id], async () => {
      for (let attempt = 0; ; attempt++) {
        const doc = await this.get(id);
        if (!doc) return null;
        const was = doc.status;
        const changed = (await fn(doc)) !== false;
        const { moved } = this.derive(doc, await this.statesOf([doc]));
        if (!changed && !moved) {
          this.keep(doc);
          return doc;
        }
        this.inserted.delete(id);
        doc.updatedAt = new Date().toISOString();
        try {
          const r = await this.dom.insert(doc);
          doc._rev = r.rev;
          this.keep(doc);
          if (doc.status !== was) this.onStatus(doc);
          return doc;
        } catch (err) {
          if (!isStatus(err, 409) || attempt >= 8) throw err;
        }
      }
    });
  }

  /**
   * `update` for many orders at once: one read, one `_bulk_docs` (shared with other writers); an
   * order that another writer changed in between goes through `update` on its own. Holds each
   * order's lock meanwhile. `fn` sees the DO states of every order in the batch; the status is
   * derived after it, and status changes reach the event feed. Answers the orders saved or found
   * unchanged, with their line views.
   */
  async updateMany(
    orderIds: string[],
    fn: (doc: OrderDoc, states: Map<string, DoStateDoc>) => boolean | void,
    /** DOs that `fn` adds to the orders: their states are read too (a node may be ahead of us). */
    moreDoIds: readonly string[] = [],
    /**
     * Copies of these orders just read (the allocator's batch): used instead of reading them again.
     * One that changed since fails its write with a conflict and goes through `update` as usual.
     */
    loaded: readonly OrderDoc[] | 'known' = [],
    /**
     * Documents written in the orders' own request, before them in it (the allocator's new DO
     * states): an order update that stores never goes without them. Their results go to `stored`.
     */
    alongside?: { docs: object[]; stored: (res: DocumentBulkResponse[]) => void },
  ): Promise<OrderViews> {
    const unique = [...new Set(orderIds)];
    const out: OrderViews = new Map();
    if (unique.length === 0) {
      if (alongside?.docs.length) alongside.stored(await this.writer.write(alongside.docs));
      return out;
    }
    const { retry } = await this.locked(unique, async () => {
      // 'known': the copies this instance holds (taken once the locks are held: an update before has stored its own)
      const have = new Map(
        loaded === 'known'
          ? unique.flatMap((id) => (this.known.has(id) ? [[id, structuredClone(this.known.get(id)!)] as const] : []))
          : loaded.map((d) => [d.id, structuredClone(d)] as const),
      );
      const docs = [...unique.flatMap((id) => (have.has(id) ? [have.get(id)!] : [])), ...(await this.getMany(unique.filter((id) => !have.has(id))))];
      const states = await this.statesOf(docs, moreDoIds);
      const before = new Map(docs.map((d) => [d.id, d.status]));
      const changed: OrderDoc[] = [];
      const now = new Date().toISOString();
      for (const d of docs) {
        const touched = fn(d, states) !== false;
        const { moved, lines } = this.derive(d, states);
        out.set(d.id, { order: d, lines });
        if (!touched && !moved) {
          if (!have.has(d.id)) this.keep(d);
          continue;
        }
        d.updatedAt = now;
        this.inserted.delete(d.id);
        changed.push(d);
      }
      const retry: string[] = [];
      const extra = alongside?.docs ?? [];
      const all = await this.writer.write([...extra, ...changed]);
      if (alongside) alongside.stored(all.slice(0, extra.length));
      const res = all.slice(extra.length);
      changed.forEach((d, i) => {
        const rev = res[i]?.rev;
        if (!rev) {
          retry.push(d.id);
          out.delete(d.id);
          this.known.delete(d.id);
          return;
        }
        d._rev = rev;
        this.keep(d);
        if (d.status !== before.get(d.id)) this.onStatus(d);
      });
      return { retry };
    });
    // the few that lost a race: one at a time, each against its latest copy
    for (const id of retry) {
      const d = await this.update(id, async (doc) => fn(doc, await this.statesOf([doc], moreDoIds)));
      if (d) out.set(id, { order: d, lines: lineViews(d, await this.statesOf([d])) });
    }
    return out;
  }

  /**
   * The roll-up: the orders' status from their DO states, for the orders of DO states that moved
   * (on this instance or, through the `dom` feed, on another). The orders come from the copies this
   * instance holds, the states from the monitor's memory; those whose status moved are written in
   * the next shared request. Answers every order found, with its line views (re-sourcing reads them).
   */
  async rollUp(orderIds: Iterable<string>): Promise<OrderViews> {
    const all = [...new Set(orderIds)];
    const out: OrderViews = new Map();
    for (let i = 0; i < all.length; i += 500) for (const [id, v] of await this.updateMany(all.slice(i, i + 500), () => false, [], 'known')) out.set(id, v);
    return out;
  }

  /** Recompute line and order status from the DO states; saves when the status moved. */
  async refresh(id: string): Promise<{ order: OrderDoc; lines: LineView[] } | null> {
    return (await this.updateMany([id], () => false)).get(id) ?? null;
  }

  async view(id: string): Promise<{ order: OrderDoc; lines: LineView[] } | null> {
    const order = await this.get(id);
    if (!order) return null;
    const states = await this.statesOf([order]);
    // a finished order's DO states, read back for this view, leave the memory again
    if (FINAL.has(order.status)) this.states.settled?.(order.allocations.map((a) => a.doId));
    return { order, lines: lineViews(order, states) };
  }
}
