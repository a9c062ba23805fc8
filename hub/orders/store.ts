/**
 * Order documents in `dom`. Updates run one at a time per order within this instance and retry
 * on a revision conflict (another instance, or the monitor, wrote in between), so a change is never
 * lost and never applied to a stale copy.
 */
import type { DocumentScope } from 'nano';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import { lineViews, orderStatus, type LineView, type OrderDoc } from './model.js';

export class OrderStore {
  private locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dom: DocumentScope<OrderDoc>,
    private readonly states: DocumentScope<DoStateDoc>,
    /** Told of every status change an order goes through (the event feed). */
    private readonly onStatus: (order: OrderDoc) => void = () => undefined,
  ) {}

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
  private pendingInserts: { doc: OrderDoc; resolve: (d: OrderDoc) => void; reject: (e: unknown) => void }[] = [];
  private insertsScheduled = false;
  private insertsInFlight = 0;

  private scheduleInserts() {
    if (this.insertsScheduled || this.pendingInserts.length === 0) return;
    // two batches in flight at most: the next one gathers behind them
    if (this.insertsInFlight >= 2) return;
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
      const res = await this.dom.bulk({ docs: batch.map((b) => b.doc) });
      batch.forEach((b, i) => {
        const r = res[i];
        if (r?.rev) {
          this.remember({ ...b.doc, _rev: r.rev });
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
  async statesOf(orders: OrderDoc[], moreDoIds: readonly string[] = []): Promise<Map<string, DoStateDoc>> {
    const keys = [...new Set([...orders.flatMap((o) => o.allocations.map((a) => a.doId)), ...moreDoIds])].map(ids.doState);
    const out = new Map<string, DoStateDoc>();
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await this.states.fetch({ keys: keys.slice(i, i + 1000) });
      for (const r of res.rows) if ('doc' in r && r.doc) out.set((r.doc as DoStateDoc).doId, r.doc as DoStateDoc);
    }
    return out;
  }

  /** Apply `fn` to the latest copy and save; `fn` returns false to leave the order unchanged. */
  update(id: string, fn: (doc: OrderDoc) => boolean | void | Promise<boolean | void>): Promise<OrderDoc | null> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const doc = await this.get(id);
        if (!doc) return null;
        if ((await fn(doc)) === false) return doc;
        this.inserted.delete(id);
        doc.updatedAt = new Date().toISOString();
        try {
          const r = await this.dom.insert(doc);
          doc._rev = r.rev;
          return doc;
        } catch (err) {
          if (!isStatus(err, 409) || attempt >= 8) throw err;
        }
      }
    });
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }

  /**
   * `update` for many orders at once: one read, one `_bulk_docs`; an order that another writer
   * changed in between goes through `update` on its own. Holds each order's lock meanwhile.
   * `fn` sees the DO states of every order in the batch (read once). Status changes reach the
   * event feed, as with `refresh`.
   */
  updateMany(
    orderIds: string[],
    fn: (doc: OrderDoc, states: Map<string, DoStateDoc>) => boolean | void,
    /** DOs that `fn` adds to the orders: their states are read too (a node may be ahead of us). */
    moreDoIds: readonly string[] = [],
    /**
     * Copies of these orders just read (the allocator's batch): used instead of reading them again.
     * One that changed since fails its write with a conflict and goes through `update` as usual.
     */
    loaded: readonly OrderDoc[] = [],
  ): Promise<OrderDoc[]> {
    const unique = [...new Set(orderIds)];
    if (unique.length === 0) return Promise.resolve([]);
    const prev = Promise.all(unique.map((id) => this.locks.get(id) ?? Promise.resolve()));
    const run = prev.then(async () => {
      const have = new Map(loaded.map((d) => [d.id, structuredClone(d)]));
      const docs = [...unique.flatMap((id) => (have.has(id) ? [have.get(id)!] : [])), ...(await this.getMany(unique.filter((id) => !have.has(id))))];
      const states = await this.statesOf(docs, moreDoIds);
      const before = new Map(docs.map((d) => [d.id, d.status]));
      const changed = docs.filter((d) => fn(d, states) !== false);
      const now = new Date().toISOString();
      for (const d of changed) {
        d.updatedAt = now;
        this.inserted.delete(d.id);
      }
      const saved: OrderDoc[] = [];
      const retry: string[] = [];
      if (changed.length) {
        const res = await this.dom.bulk({ docs: changed });
        changed.forEach((d, i) => {
          if (res[i]?.rev) saved.push({ ...d, _rev: res[i]!.rev });
          else retry.push(d.id);
        });
      }
      for (const d of saved) if (d.status !== before.get(d.id)) this.onStatus(d);
      return { saved, retry };
    });
    const settled = run.catch(() => undefined);
    for (const id of unique) this.locks.set(id, settled);
    void settled.then(() => {
      for (const id of unique) if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run.then(async ({ saved, retry }) => {
      // the few that lost a race: one at a time, each against its latest copy
      for (const id of retry) {
        let was: string | undefined;
        const d = await this.update(id, async (doc) => {
          was = doc.status;
          return fn(doc, await this.statesOf([doc], moreDoIds));
        });
        if (!d) continue;
        saved.push(d);
        if (d.status !== was) this.onStatus(d);
      }
      return saved;
    });
  }

  /**
   * `refresh` for many orders: one read of the orders, one of their DO states and one write of those
   * whose status moved, per 500 orders. Answers every order found, with its line views.
   */
  async refreshMany(orderIds: Iterable<string>): Promise<Map<string, { order: OrderDoc; lines: LineView[] }>> {
    const all = [...new Set(orderIds)];
    const out = new Map<string, { order: OrderDoc; lines: LineView[] }>();
    for (let i = 0; i < all.length; i += 500) {
      await this.updateMany(all.slice(i, i + 500), (doc, states) => {
        const lines = lineViews(doc, states);
        out.set(doc.id, { order: doc, lines });
        const status = orderStatus(doc, lines);
        if (status === doc.status) return false;
        doc.status = status;
      });
    }
    return out;
  }

  /** Recompute line and order status from the DO states; saves when the status moved. */
  async refresh(id: string): Promise<{ order: OrderDoc; lines: LineView[] } | null> {
    let lines: LineView[] = [];
    let changed = false;
    const order = await this.update(id, async (doc) => {
      const states = await this.statesOf([doc]);
      lines = lineViews(doc, states);
      const status = orderStatus(doc, lines);
      if (status === doc.status) return false;
      doc.status = status;
      changed = true;
    });
    if (order && changed) this.onStatus(order);
    return order ? { order, lines } : null;
  }

  async view(id: string): Promise<{ order: OrderDoc; lines: LineView[] } | null> {
    const order = await this.get(id);
    if (!order) return null;
    const states = await this.statesOf([order]);
    return { order, lines: lineViews(order, states) };
  }
}
