/**
 * Order documents in `dom`. Updates run one at a time per order within this instance and retry
 * on a revision conflict (another instance, or the monitor, wrote in between), so a change is never
 * lost and never applied to a stale copy.
 */
import type { DocumentScope } from 'nano';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';
import type { DoStateDoc } from '../monitor/dostate.js';
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

  async insert(doc: OrderDoc): Promise<OrderDoc> {
    const r = await this.dom.insert(doc);
    return { ...doc, _rev: r.rev };
  }

  async statesOf(orders: OrderDoc[]): Promise<Map<string, DoStateDoc>> {
    const keys = orders.flatMap((o) => o.allocations.map((a) => ids.doState(a.doId)));
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
