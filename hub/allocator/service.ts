/**
 * The live allocator. Orders are gathered for a short window (or until the batch is full) and
 * allocated together, one batch at a time. Each batch goes through the outbox of docs/CONTRACT.md ("Crash safety"):
 *   1. one `alloc:<orderId>:<attempt>` document per order, listing the DOs with deterministic ids;
 *   2. the DOs written into the node databases (409 = already written);
 *   3. the order updated: its `attempts` reaching the alloc's attempt marks the alloc finished.
 * At start every alloc not finished is replayed, so whatever moment the process dies at, nothing is
 * lost and nothing is created twice. Batches are pipelined (see `drain`). Backordered orders are retried when more of what they wait for becomes available; units a
 * facility did not deliver (short pick, rejection) are re-sourced elsewhere, a bounded number of
 * times per line.
 */
import type { HubContext } from '../context.js';
import { ids } from '../../shared/ids.js';
import type { DistributionOrderDoc, DoLine } from '../../shared/schemas.js';
import { bulkCreate, storedStates, writeNodeDos } from '../dos.js';
import { newDoState } from '../../shared/dostate.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import { Network, allocateBatch, type BatchOptions, type OrderPlan, type Pick as PlanPick } from './core.js';
import { costStrategy, type SourcingOrder, type SourcingStrategy } from './strategy.js';
import { lineViews, type Allocation, type OrderDoc } from '../orders/model.js';
import type { OrderViews } from '../orders/store.js';
import { pagedPrefix } from '../inventory/index.js';
import { DEFAULT_COSTS } from '../../shared/instance.js';
import { groupBy, mapLimit } from '../../shared/collections.js';
import { rankKey } from '../../shared/rank.js';
import { bulkDocs } from '../couch/bulk.js';

export interface AllocDoc {
  _id: string;
  _rev?: string;
  type: 'alloc';
  orderId: string;
  attempt: number;
  dos: DistributionOrderDoc[];
  allocations: Allocation[];
  explanation: Record<string, unknown>;
  unfilled: { line: number; qty: number }[];
  /** Written `false`; `true` only on allocs stored by earlier versions (see `applied`). */
  done: boolean;
  /** The checkout reservation whose units this allocation took. */
  reservation?: string;
  createdAt: string;
}

/**
 * Is this outbox entry finished (step 3)? Its order records it: the order's attempts count reaches
 * the alloc's attempt only in the write that adds its allocations, after its DOs were written. Allocs
 * stored before that rule carry `done: true` instead; `done` is no longer written (one write less per
 * order). A copy of the order older than the alloc only makes the alloc be finished again, which is
 * idempotent.
 */
export function applied(a: Pick<AllocDoc, 'attempt' | 'done'>, orderAttempts: number | undefined): boolean {
  return a.done === true || (orderAttempts ?? 0) >= a.attempt;
}

export interface AllocatorOptions {
  windowMs?: number;
  maxBatch?: number;
  /** Times a line may come up short (or be rejected) before it waits for a planner as a backorder. */
  maxShortsPerLine?: number;
  /** Per channel or delivery method; `default` for the rest. */
  strategies?: Record<string, SourcingStrategy>;
}

/** Orders whose backorder bookkeeping runs at once (each a few requests to CouchDB). */
const BOOKKEEPING_CONCURRENCY = 8;

/**
 * How hard a batch is optimised, by how many orders wait behind it: the full batch path when none
 * do; with a batch or more waiting, one improvement round (4–5× faster); with two or more, the
 * single-order path (17–40× faster, docs/BENCHMARKS.md), so that optimising never builds a backlog.
 */
export function effortFor(waiting: number, maxBatch: number): BatchOptions {
  if (waiting >= 2 * maxBatch) return { improveRounds: 0 };
  if (waiting >= maxBatch) return { improveRounds: 1 };
  return {};
}

export class Allocator {
  private queue = new Set<string>();
  private backorders = new Map<string, Set<string>>(); // orderId → SKUs it waits for
  private timer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly maxShorts: number;
  private strategies: Record<string, SourcingStrategy>;
  private held = new Map<string, string | undefined>(); // orderId → until
  /** Allocation runs only while this instance holds the allocator lease. */
  private active = true;
  readonly stats = { batches: 0, ordersAllocated: 0, dosCreated: 0, backordered: 0, resourced: 0, lastBatchMs: 0, lightBatches: 0 };

  constructor(
    private readonly ctx: HubContext,
    opts: AllocatorOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 200;
    this.maxBatch = opts.maxBatch ?? 500;
    this.maxShorts = opts.maxShortsPerLine ?? 3;
    this.strategies = { default: costStrategy(DEFAULT_COSTS), ...opts.strategies };
    this.holdTimer = setInterval(() => this.releaseDueHolds(), 5_000);
    this.holdTimer.unref();
  }

  /** Replace the sourcing strategies (a configuration applied live): used from the next batch on. */
  setStrategies(strategies: Record<string, SourcingStrategy>): void {
    this.strategies = { default: costStrategy(DEFAULT_COSTS), ...strategies };
  }

  private strategyFor = (o: SourcingOrder): SourcingStrategy =>
    (o.channel && this.strategies[o.channel]) || this.strategies[o.delivery] || this.strategies.default!;

  submit(orderId: string): void {
    // not the lease holder: the holder sees the order on its dom feed
    if (this.stopped || !this.active) return;
    this.queue.add(orderId);
    this.recent.add(orderId);
    if (this.recent.size > Allocator.recentMax) this.recent.delete(this.recent.values().next().value!);
    if (this.queue.size >= this.maxBatch) this.kick(0);
    else this.kick(this.windowMs);
  }

  /**
   * A new order seen on the dom feed: queued unless this instance queued it itself (it accepted it),
   * so the feed's echo of our own inserts does not send every order through a second batch.
   */
  submitFromFeed(orderId: string): void {
    if (!this.recent.has(orderId)) this.submit(orderId);
  }

  /** Was this order queued on this instance lately? */
  queuedHere(orderId: string): boolean {
    return this.recent.has(orderId);
  }

  /** Orders queued lately on this instance (the newest `recentMax`). */
  private readonly recent = new Set<string>();
  private static readonly recentMax = 50_000;

  hold(orderId: string, until?: string) {
    this.held.set(orderId, until);
  }

  unhold(orderId: string) {
    this.held.delete(orderId);
  }

  private kick(delay: number) {
    if (this.timer && delay > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delay);
    this.timer.unref?.();
  }

  /** Start or stop allocating (the lease was won or lost). Winning replays what the last holder left. */
  async setActive(active: boolean): Promise<void> {
    if (this.active === active) return;
    this.active = active;
    if (!active) {
      this.queue.clear(); // the new holder recovers them from CouchDB
      return;
    }
    // recovery must finish, or orders left by the last holder would wait for ever: retry it
    for (let attempt = 1; this.active && !this.stopped; attempt++) {
      try {
        const r = await this.recover();
        this.ctx.log.info(r, 'allocator active');
        break;
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message, attempt }, 'allocator recovery failed; retrying');
        await new Promise((res) => setTimeout(res, Math.min(5000, 250 * attempt)));
      }
    }
    this.kick(0);
  }

  get isActive() {
    return this.active;
  }

  /** Nothing queued, nothing being allocated or finished. */
  get idle(): boolean {
    return this.queue.size === 0 && this.inFlight.size === 0 && !this.running;
  }

  /**
   * Run batches until the queue is empty, pipelined: batch N+1 is planned (and its outbox written)
   * while batch N's DOs and orders are still being written. Decisions stay one at a time, in order,
   * each seeing the units the ones before it hold (they are held in the index before the outbox is
   * written), so pipelining changes no decision; an order stays out of a new batch while a batch
   * that holds it is still finishing.
   */
  drain(): Promise<void> {
    if (!this.active) return Promise.resolve();
    if (this.running) return this.running;
    this.running = (async () => {
      const finishing = new Set<Promise<void>>();
      while (!this.stopped && this.active) {
        const batch: string[] = [];
        for (const id of this.queue) {
          if (batch.length >= this.maxBatch) break;
          if (!this.inFlight.has(id)) batch.push(id);
        }
        if (batch.length === 0) {
          if (finishing.size === 0) break;
          await Promise.race(finishing);
          continue;
        }
        for (const id of batch) {
          this.queue.delete(id);
          this.inFlight.add(id);
        }
        const retry = async (err: unknown) => {
          this.ctx.log.error({ err, orders: batch.length }, 'allocation batch failed; will retry');
          await new Promise((r) => setTimeout(r, 1000));
          for (const id of batch) this.queue.add(id);
        };
        const t0 = performance.now();
        let finish: (() => Promise<void>) | undefined;
        try {
          finish = await this.decide(batch, effortFor(this.queue.size, this.maxBatch));
        } catch (err) {
          await retry(err);
          for (const id of batch) this.inFlight.delete(id);
          continue;
        }
        const done: Promise<void> = finish()
          .then(() => void (this.stats.lastBatchMs = performance.now() - t0), retry)
          .finally(() => {
            for (const id of batch) this.inFlight.delete(id);
            finishing.delete(done);
          });
        finishing.add(done);
        if (finishing.size >= Allocator.pipelineDepth) await Promise.race(finishing);
      }
      await Promise.all(finishing);
    })().finally(() => (this.running = null));
    return this.running;
  }

  /** Batches whose writes may be under way while the next one is planned. */
  private static readonly pipelineDepth = 2;
  /** Orders of batches decided and not yet finished. */
  private readonly inFlight = new Set<string>();

  /** Facilities changed (enabled again, more capacity, a new one): retry every backorder. */
  facilitiesChanged(): void {
    for (const orderId of this.backorders.keys()) this.submit(orderId);
  }

  /** More units of these SKUs available somewhere (`AvailabilityIndex.onMoreAvailable`): retry the backorders that wait for them. */
  moreAvailable(skus: Iterable<string>): void {
    const changed = new Set(skus);
    for (const [orderId, wants] of this.backorders) {
      for (const s of wants)
        if (changed.has(s)) {
          this.submit(orderId);
          break;
        }
    }
  }

  /** DO states moved, their orders rolled up (`views`, by the order store): re-source what a facility did not deliver. */
  doStatesChanged(states: DoStateDoc[], views: OrderViews): void {
    for (const [id, r] of views) {
      if (r.order.cancelRequested) continue;
      const needsWork = r.lines.some((l) => l.unallocated > 0 && l.excluded.length > 0);
      const handover =
        r.order.delivery === 'pickup' &&
        r.order.allocations.some((a) => a.kind === 'transfer' && states.some((s) => s.doId === a.doId && s.state === 'shipped'));
      if (needsWork || handover) {
        if (needsWork) this.stats.resourced++;
        this.submit(id);
      }
    }
  }

  private releaseDueHolds() {
    const now = new Date().toISOString();
    for (const [id, until] of this.held) {
      if (until && until <= now) {
        this.held.delete(id);
        void this.ctx.orders
          .update(id, (o) => {
            if (!o.hold) return false;
            delete o.hold;
          })
          .then(() => this.submit(id));
      }
    }
  }

  /** One batch from start to end (decide, then finish): what drain pipelines. */
  async runBatch(orderIds: string[], effort: BatchOptions = {}): Promise<void> {
    const t0 = performance.now();
    await (
      await this.decide(orderIds, effort)
    )();
    this.stats.lastBatchMs = performance.now() - t0;
  }

  /**
   * Plan a batch and write its outbox (step 1): the units it takes are held in the index before the
   * write, so the next batch can be planned at once. Answers the rest of the work (steps 2 and 3 and
   * the backorder bookkeeping), which may overlap the next batch's planning.
   */
  private async decide(orderIds: string[], effort: BatchOptions = {}): Promise<() => Promise<void>> {
    const t0 = performance.now();
    if (effort.improveRounds !== undefined) this.stats.lightBatches++;
    const { orders: store, couch, index, items, facilities } = this.ctx;
    const read = await store.getForBatch(orderIds);
    // An order whose next attempt is decided already (its outbox written) but not finished: a try
    // that failed after step 1 (CouchDB died, its answer lost), or another instance's last batch
    // before a lease handover. That decision stands: finish it, and this batch leaves the order to
    // the next one. (Deciding again would not always meet its id: with the units the stored DOs
    // hold, the new plan can find nothing, and the stored decision would never be finished.) An
    // order this instance has just inserted has no such decision.
    const check = read.docs.filter((o) => !read.fresh.has(o.id));
    const pending = check.length ? await this.decidedBefore(check) : [];
    if (pending.length) {
      for (const a of pending) for (const d of a.dos) index.applyDoState(newDoState(d));
      await this.complete(pending);
    }
    const docs = pending.length ? read.docs.filter((o) => !pending.some((a) => a.orderId === o.id)) : read.docs;
    const states = await store.statesOf(docs);
    const sourcing: SourcingOrder[] = [];
    const handovers: { order: OrderDoc; transfers: Allocation[] }[] = [];
    const giveUp: { id: string; lines: { line: number; qty: number; tried: string[] }[] }[] = [];
    /** orders that take a checkout reservation: its id and the picks it gives them */
    const reserved = new Map<string, { id: string; picks: PlanPick[] }>();
    const reservedOnly: OrderDoc[] = [];
    const now = new Date().toISOString();
    for (const o of docs) {
      if (o.cancelRequested) continue;
      if (o.hold && (!o.hold.until || o.hold.until > now)) {
        this.hold(o.id, o.hold.until);
        continue;
      }
      const views = lineViews(o, states);
      if (o.delivery === 'pickup') {
        const done = new Set(o.allocations.filter((a) => a.handoverOf).map((a) => a.handoverOf));
        const shipped = o.allocations.filter((a) => a.kind === 'transfer' && !done.has(a.doId) && states.get(a.doId)?.state === 'shipped');
        if (shipped.length) handovers.push({ order: o, transfers: shipped });
      }
      let lines = views
        .filter((v) => v.unallocated > 0 && v.excluded.length < this.maxShorts)
        .map((v) => {
          const ol = o.lines.find((l) => l.line === v.line)!;
          return { line: v.line, sku: ol.sku, qty: v.unallocated, allowSubstitutes: ol.allowSubstitutes, exclude: v.excluded };
        });
      // a checkout reservation the order names: its units are the order's, picked where they are held
      const claimed = o.reservation && lines.length ? this.ctx.reservations.claim(o.reservation, o.id) : null;
      if (claimed) {
        const picks: PlanPick[] = [];
        for (const l of lines) {
          for (const h of claimed.lines.find((x) => x.sku === l.sku)?.holds ?? []) {
            const q = Math.min(h.qty, l.qty);
            if (q <= 0 || l.exclude.includes(h.facility)) continue;
            picks.push({ line: l.line, facility: h.facility, sku: l.sku, qty: q, substitute: false });
            l.qty -= q;
          }
        }
        reserved.set(o.id, { id: claimed.id, picks });
        lines = lines.filter((l) => l.qty > 0);
        if (lines.length === 0) {
          reservedOnly.push(o);
          continue;
        }
      }
      if (lines.length === 0) {
        this.backorders.delete(o.id);
        this.ctx.planning.clearBackorder(o.id);
        // units no facility is left to try for (each that was tried came up short): the order is
        // backordered, with why, not left "received" as if nobody had looked at it
        const exhausted = views.filter((v) => v.unallocated > 0);
        if (exhausted.length && !o.backorderedAt)
          giveUp.push({ id: o.id, lines: exhausted.map((v) => ({ line: v.line, qty: v.unallocated, tried: v.excluded })) });
        continue;
      }
      sourcing.push({
        id: o.id,
        priority: o.priority,
        createdAt: o.createdAt,
        dueDate: o.dueDate,
        channel: o.channel,
        shipTo: o.shipTo,
        delivery: o.delivery,
        pickupFacility: o.pickupFacility,
        lines,
      });
    }

    // The network as it stands: capacity left today, and available units of the SKUs in play.
    const facs = [...(await facilities.list())].filter((f) => f.enabled !== false);
    // a pickup order whose store is disabled: nothing can be handed over there; backordered, with why
    const enabled = new Set(facs.map((f) => f.id));
    const closedPickup = sourcing.filter((o) => o.delivery === 'pickup' && !enabled.has(o.pickupFacility!));
    if (closedPickup.length) sourcing.splice(0, sourcing.length, ...sourcing.filter((o) => !closedPickup.includes(o)));
    const usedToday = index.unitsReleasedOn(now.slice(0, 10));
    // reserved units take capacity too
    for (const r of reserved.values()) for (const p of r.picks) usedToday.set(p.facility, (usedToday.get(p.facility) ?? 0) + p.qty);
    const net = new Network(facs.map((f) => ({ ...f, capacity: Math.max(0, f.capacity - (usedToday.get(f.id) ?? 0)) })));
    const skus = new Set<string>();
    for (const o of sourcing)
      for (const l of o.lines) {
        skus.add(l.sku);
        if (l.allowSubstitutes) for (const s of items.substitutesOf(l.sku)) skus.add(s);
      }
    for (const sku of skus) for (const f of index.facilitiesWith(sku)) net.setAvailable(f, sku, index.available(f, sku));
    const tRead = performance.now();
    const plans = allocateBatch(net, sourcing, this.strategyFor, items.substitutesOf, { ...effort, explain: true });
    for (const o of closedPickup) {
      const note = `pickup store ${o.pickupFacility} is disabled`;
      plans.push({
        order: o.id,
        picks: [],
        unfilled: o.lines.map((l) => ({ line: l.line, qty: l.qty })),
        cost: 0,
        shipments: 0,
        explanation: { strategy: 'none', candidates: [], chosen: [], substitutions: [], reason: 'pickup_store_disabled', note } as OrderPlan['explanation'],
      });
    }
    // the reserved picks join the plans (an order whose reservation covers it all gets a plan of its own)
    for (const o of reservedOnly)
      plans.push({
        order: o.id,
        picks: [],
        unfilled: [],
        cost: 0,
        shipments: 0,
        explanation: { strategy: 'reservation', candidates: [], chosen: [], substitutions: [] },
      });
    for (const p of plans) {
      const r = reserved.get(p.order);
      if (!r) continue;
      p.picks = [...r.picks, ...p.picks];
      p.shipments = new Set(p.picks.map((x) => x.facility)).size;
      Object.assign(p.explanation, {
        reservation: { id: r.id, units: r.picks.reduce((sum, x) => sum + x.qty, 0), facilities: [...new Set(r.picks.map((x) => x.facility))] },
      });
    }
    const tPlan = performance.now();

    // 1. the outbox: one alloc document per order that gets DOs (or a handover)
    const byId = new Map(docs.map((o) => [o.id, o]));
    const allocs: AllocDoc[] = [];
    const unfilledOnly: OrderPlan[] = [];
    const attemptOf = new Map<string, number>();
    const nextAttempt = (o: OrderDoc) => {
      const a = (attemptOf.get(o.id) ?? o.attempts) + 1;
      attemptOf.set(o.id, a);
      return a;
    };
    for (const p of plans) {
      const o = byId.get(p.order)!;
      if (p.picks.length === 0) {
        unfilledOnly.push(p);
        continue;
      }
      const a = this.allocDoc(o, nextAttempt(o), p);
      const r = reserved.get(o.id);
      if (r) a.reservation = r.id;
      allocs.push(a);
    }
    for (const h of handovers) allocs.push(this.handoverDoc(h.order, nextAttempt(h.order), h.transfers, states));
    if (allocs.length) {
      // Hold the units decided before the first write, as the availability above was read: a
      // replenishment run (or anything else reading the index) while the outbox is being written
      // must not hand the same units out again.
      for (const a of allocs) for (const d of a.dos) index.applyDoState(newDoState(d));
      const res = await bulkDocs(couch.db('dom'), allocs).catch((err: unknown) => {
        // the batch is retried, and a decision stored after all is found then under the same ids
        for (const a of allocs) for (const d of a.dos) index.forget(d.doId);
        throw err;
      });
      // an alloc id that exists already was decided by another allocator (a lease handover):
      // that decision stands, and this one is dropped whole
      const dropped = allocs.filter((_, i) => !res[i]?.rev);
      const kept = allocs.filter((a, i) => {
        if (res[i]?.rev) a._rev = res[i]!.rev;
        return !!res[i]?.rev;
      });
      if (dropped.length) {
        this.ctx.log.warn({ dropped: dropped.length }, 'allocations already decided; this decision dropped, the stored one stands');
        // stored but never finished (CouchDB died after step 1, its answer lost, and this batch is
        // the retry): finish it now, as replay would at a restart; complete() is idempotent
        const unfinished = await this.holdStored(dropped, byId);
        if (unfinished.length) await this.complete(unfinished);
      }
      allocs.splice(0, allocs.length, ...kept);
    }
    // the reservations taken are in the outbox now (or in the decision that stands): their holds end,
    // as the DOs' holds replace them
    for (const r of reserved.values()) this.ctx.reservations.settle(r.id);
    const tOutbox = performance.now();
    return async () => {
      // the orders whose stored decision was finished above: the next batch sees what is left
      for (const a of pending) this.submit(a.orderId);
      // 2. the DOs, 3. the orders and the alloc documents marked done
      const tFinish = performance.now();
      await this.complete(allocs, docs);
      this.ctx.log.debug(
        {
          orders: orderIds.length,
          readMs: Math.round(tRead - t0),
          planMs: Math.round(tPlan - tRead),
          outboxMs: Math.round(tOutbox - tPlan),
          waitMs: Math.round(tFinish - tOutbox),
          completeMs: Math.round(performance.now() - tFinish),
        },
        'allocation batch',
      );
      for (const p of plans) {
        const o = byId.get(p.order)!;
        if (p.unfilled.length) {
          this.backorders.set(o.id, new Set(o.lines.flatMap((l) => [l.sku, ...(l.allowSubstitutes ? items.substitutesOf(l.sku) : [])])));
          this.ctx.planning.setBackorder(
            o.id,
            rankKey(o),
            p.unfilled.map((u) => ({ line: u.line, sku: o.lines.find((l) => l.line === u.line)!.sku, qty: u.qty })),
          );
        } else {
          this.backorders.delete(o.id);
          this.ctx.planning.clearBackorder(o.id);
        }
      }
      // orders that got nothing this time: record the backorder and why, once (a few at a time:
      // every backorder is planned again at each supply change, three requests an order)
      await mapLimit(unfilledOnly, BOOKKEEPING_CONCURRENCY, async (p) => {
        await store.update(p.order, (o) => {
          if (o.backorderedAt && o.explanations.at(-1)?.attempt === o.attempts) return false;
          o.backorderedAt = now;
          o.explanations = [...o.explanations, { attempt: o.attempts, at: now, ...p.explanation, unfilled: p.unfilled }].slice(-10);
        });
        // the status derives from the DOs and backorderedAt: an order whose only DO found nothing
        // reads "backordered" now, not the "received" it was left at. Also when the backorder was
        // recorded by an earlier try whose roll-up was lost (the hub killed between the two
        // writes, or the second failing): refresh writes only if the status moves (finding 23)
        await store.refresh(p.order);
      });
      for (const g of giveUp) {
        await store.update(g.id, (o) => {
          if (o.backorderedAt) return false;
          o.backorderedAt = now;
          o.explanations = [
            ...o.explanations,
            {
              attempt: o.attempts,
              at: now,
              reason: 'resourcing_limit',
              note: `every facility tried for these lines came up short (at most ${this.maxShorts} a line)`,
              unfilled: g.lines,
            },
          ].slice(-10);
        });
        await store.refresh(g.id);
      }
      this.stats.batches++;
      this.stats.ordersAllocated += plans.filter((p) => p.picks.length).length;
      this.stats.backordered += plans.filter((p) => p.unfilled.length).length;
      this.ctx.events.emit('allocation', { orders: plans.length, allocated: allocs.length, ms: Math.round(performance.now() - t0) });
    };
  }

  private doLine(n: number, line: number, sku: string, qty: number, orderedSku: string): DoLine {
    const it = this.ctx.items.get(sku);
    return {
      line: n,
      orderLine: line,
      sku,
      qty,
      ...(sku !== orderedSku ? { orderedSku } : {}),
      ...(it?.name ? { name: it.name } : {}),
      ...(it?.barcode ? { barcode: it.barcode } : {}),
    };
  }

  private allocDoc(o: OrderDoc, attempt: number, p: OrderPlan): AllocDoc {
    const createdAt = new Date().toISOString();
    const byFacility = groupBy(p.picks, (x) => x.facility);
    const dos: DistributionOrderDoc[] = [];
    const allocations: Allocation[] = [];
    for (const [facility, picks] of byFacility) {
      const doId = ids.doId(o.id, attempt, facility);
      const kind = o.delivery === 'ship' ? 'ship' : facility === o.pickupFacility ? 'pickup' : 'transfer';
      const lines = picks.map((x, i) => this.doLine(i + 1, x.line, x.sku, x.qty, o.lines.find((l) => l.line === x.line)!.sku));
      dos.push({
        _id: ids.do(doId),
        type: 'do',
        doId,
        orderId: o.id,
        attempt,
        facility,
        kind,
        lines,
        ...(o.shipTo && kind === 'ship' ? { shipTo: o.shipTo } : {}),
        ...(kind === 'transfer' ? { toFacility: o.pickupFacility } : {}),
        ...(o.customerName ? { customerName: o.customerName } : {}),
        ...(o.dueDate ? { promiseDate: o.dueDate } : {}),
        priority: o.priority,
        createdAt,
      });
      allocations.push({ attempt, doId, facility, kind, lines });
    }
    return {
      _id: ids.alloc(o.id, attempt),
      type: 'alloc',
      orderId: o.id,
      attempt,
      dos,
      allocations,
      explanation: { ...p.explanation, cost: Math.round(p.cost * 100) / 100 },
      unfilled: p.unfilled,
      done: false,
      createdAt,
    };
  }

  /** A transfer for a pickup order has shipped: the pickup store hands the goods over. */
  private handoverDoc(o: OrderDoc, attempt: number, transfers: Allocation[], states: Map<string, DoStateDoc>): AllocDoc {
    const createdAt = new Date().toISOString();
    const dos: DistributionOrderDoc[] = [];
    const allocations: Allocation[] = [];
    for (const t of transfers) {
      const s = states.get(t.doId);
      const lines = t.lines.map((l) => ({ ...l, qty: s?.picked ? (s.picked[String(l.line)] ?? 0) : l.qty })).filter((l) => l.qty > 0);
      if (!lines.length) continue;
      const doId = ids.doId(o.id, attempt, o.pickupFacility!);
      dos.push({
        _id: ids.do(doId),
        type: 'do',
        doId,
        orderId: o.id,
        attempt,
        facility: o.pickupFacility!,
        kind: 'pickup',
        lines,
        ...(o.customerName ? { customerName: o.customerName } : {}),
        priority: o.priority,
        createdAt,
      });
      allocations.push({ attempt, doId, facility: o.pickupFacility!, kind: 'pickup', lines, handoverOf: t.doId });
      break; // one handover per attempt; a second transfer gets the next attempt
    }
    return {
      _id: ids.alloc(o.id, attempt),
      type: 'alloc',
      orderId: o.id,
      attempt,
      dos,
      allocations,
      explanation: { handover: transfers.map((t) => t.doId) },
      unfilled: [],
      done: false,
      createdAt,
    };
  }

  /** The stored, unfinished decisions of these orders' next attempts. */
  private async decidedBefore(orders: OrderDoc[]): Promise<AllocDoc[]> {
    const res = await this.ctx.couch.db<AllocDoc>('dom').fetch({ keys: orders.map((o) => ids.alloc(o.id, o.attempts + 1)) });
    const attempts = new Map(orders.map((o) => [o.id, o.attempts]));
    return res.rows.flatMap((r) => {
      const a = 'doc' in r ? (r.doc as AllocDoc | null | undefined) : undefined;
      return a && !applied(a, attempts.get(a.orderId)) ? [a] : [];
    });
  }

  /**
   * Allocations of this batch dropped for ones already stored under their ids: take back what was
   * held for them, and hold what the stored decisions list instead (DO ids are per order, attempt
   * and facility, so the two can share a DO id; the stored one's state stands).
   */
  /** Hold the units of the stored decisions in place of the dropped ones; answers those not done yet. */
  private async holdStored(dropped: AllocDoc[], byId: Map<string, OrderDoc>): Promise<AllocDoc[]> {
    const { couch, index } = this.ctx;
    for (const a of dropped) for (const d of a.dos) index.forget(d.doId);
    const res = await couch
      .db<AllocDoc>('dom')
      .fetch({ keys: dropped.map((a) => a._id) })
      .catch((err) => {
        this.ctx.log.warn({ err: (err as Error).message }, 'reading the allocations that stand failed; their DO states will follow');
        return { rows: [] };
      });
    const unfinished: AllocDoc[] = [];
    for (const row of res.rows) {
      const stored = 'doc' in row ? (row.doc as AllocDoc | null | undefined) : undefined;
      if (!stored) continue;
      for (const d of stored.dos) index.applyDoState(newDoState(d));
      if (!applied(stored, byId.get(stored.orderId)?.attempts)) unfinished.push(stored);
    }
    return unfinished;
  }

  /**
   * Steps 2 and 3 of the outbox: the DOs, then the orders (which mark the allocs finished, see
   * `applied`); also what replay runs for an alloc found unfinished.
   */
  private async complete(allocs: AllocDoc[], loaded: OrderDoc[] = []): Promise<void> {
    if (allocs.length === 0) return;
    const { couch, orders, monitor } = this.ctx;
    const dos = allocs.flatMap((a) => a.dos);
    // the DOs down first; their new states go out in the orders' own request (one `dom` request for
    // both), so an order never takes its allocations without its DOs' states. Until stored, the
    // monitor holds them (an event may come back before), and the orders' roll-up reads them there.
    const states = dos.map((d) => newDoState(d));
    const unstored: DoStateDoc[] = [];
    // a decision just made (its orders `loaded`): its states are new. A replay's may exist already
    // and have moved on (a DO shipped before its order was updated): those are read, not assumed.
    const fresh = loaded.length > 0;
    if (fresh) monitor.creating(states);
    try {
      await writeNodeDos(couch, dos);
      this.stats.dosCreated += dos.length;
      const now = new Date().toISOString();
      // the orders take their allocations and the status the new DOs give them: one read and one
      // write for the batch (an order can have two allocs in it: an allocation and a handover). The
      // new DOs' states are read too: replayed after a crash, a DO may have shipped meanwhile, and the
      // monitor's roll-up then found no allocation on the order to roll up (chaos, 5,000 orders).
      const byOrder = groupBy(allocs, (a) => a.orderId);
      await orders.updateMany(
        [...byOrder.keys()],
        (o) => {
          let changed = false;
          for (const a of byOrder.get(o.id) ?? []) {
            if (o.attempts >= a.attempt) continue; // applied before a crash
            o.attempts = a.attempt;
            o.allocations = [...o.allocations, ...a.allocations];
            o.explanations = [...o.explanations, { attempt: a.attempt, at: now, ...a.explanation, unfilled: a.unfilled }].slice(-10);
            if (a.unfilled.length) o.backorderedAt = now;
            changed = true;
          }
          return changed;
        },
        dos.map((d) => d.doId),
        loaded,
        {
          docs: states,
          stored: (res) => {
            monitor.created(storedStates(states, res));
            // a state that exists already (a replay, or an event applied first) is not an error
            res.forEach((r, i) => {
              if (r.error && r.error !== 'conflict') unstored.push(states[i]!);
            });
          },
        },
      );
      // refused in a request that stored its order (never seen, but the order must not go without
      // its DO's state): once more on its own, and if that fails too the batch fails loudly
      if (unstored.length) {
        this.ctx.log.warn({ states: unstored.length }, 'new DO states not stored beside their orders; writing them again');
        const again = storedStates(unstored, await bulkCreate(couch, 'dom', unstored));
        monitor.created(again);
      }
    } finally {
      monitor.notCreated(states);
    }
  }

  /** At start: finish every alloc that is not done, then pick up open backorders and holds. */
  async recover(): Promise<{ replayed: number; backorders: number }> {
    const allocs = await pagedPrefix(this.ctx.couch.db<AllocDoc>('dom'), 'alloc:');
    const orders = await pagedPrefix(this.ctx.couch.db<OrderDoc>('dom'), 'order:');
    const attempts = new Map(orders.map((o) => [o.id, o.attempts]));
    const pending = allocs.filter((a) => !applied(a, attempts.get(a.orderId)));
    for (const a of pending) for (const d of a.dos) this.ctx.index.applyDoState(newDoState(d));
    for (let i = 0; i < pending.length; i += 200) await this.complete(pending.slice(i, i + 200));
    let open = 0;
    for (const o of orders) {
      if (o.cancelRequested) continue;
      if (o.hold) this.hold(o.id, o.hold.until);
      // every order not finished, not only those waiting for stock: a short pick, a rejection or a
      // shipped transfer (a handover due) reported while no instance held the lease (a hub that
      // just restarted) was seen by no allocator, and only a batch finds that work again
      else if (o.status !== 'shipped' && o.status !== 'completed' && o.status !== 'cancelled') {
        open++;
        this.submit(o.id);
      }
    }
    return { replayed: pending.length, backorders: open };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.holdTimer);
    await this.running?.catch(() => undefined);
  }
}
