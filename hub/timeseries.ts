/**
 * The last hours of one hub instance, one point a minute, kept in memory for 24 h (1,440 points,
 * a few hundred kB): orders received and allocated, order fill rate, open backorders, open DOs by
 * state, nodes online, and sync latency p99 each way. The planner dashboard draws it
 * (GET /api/v1/series). It is a picture of the day, not a record: a restart starts it afresh, and
 * each hub instance keeps its own (orders are counted where they were posted and allocated).
 *
 * Sync latency, as the hub can see it: down is a DO's creation at the hub → the node fetching it
 * through the gateway (`_bulk_get`); up is a status event written at the node → the hub applying
 * it. Both compare the two machines' clocks, which production keeps in step (NTP).
 */
import type { DoStateDoc } from '../shared/dostate.js';
import { TERMINAL_DO_STATES } from '../shared/states.js';

export const SERIES_STEP_MS = 60_000;
export const SERIES_KEEP = 24 * 60;
/** Latency samples kept per minute and direction; more are sampled down (reservoir). */
const SAMPLES_PER_MINUTE = 4_096;
/** DO creation times remembered for the down-latency match, and fetches waiting for one. */
const MAX_DO_TIMES = 50_000;
const MAX_PENDING_FETCHES = 10_000;
const PENDING_FETCH_MS = 5 * 60_000;

export interface SeriesPoint {
  /** Start of the minute (ISO). */
  at: string;
  /** Orders accepted by the planner API in the minute. */
  received: number;
  /** Orders planned by allocation batches in the minute, and those that got units. */
  planned: number;
  allocated: number;
  /** Share of the planned orders filled in full (0–1); null when none was planned. */
  fillRate: number | null;
  /** Orders waiting for stock at the end of the minute. */
  backordersOpen: number;
  /** Open (not finished) DOs by state at the end of the minute. */
  dos: Record<string, number>;
  nodesOnline: number | null;
  nodes: number | null;
  syncDownP99Ms: number | null;
  syncUpP99Ms: number | null;
  syncDownSamples: number;
  syncUpSamples: number;
}

export interface SeriesSources {
  /** Running totals of the allocator (this instance; zero when it does not hold the lease). */
  allocator(): { ordersAllocated: number; backordered: number };
  backordersOpen(): number;
  /** Nodes registered and online now; may fail (CouchDB down): the point then has nulls. */
  nodes(): Promise<{ online: number; total: number }>;
  now?(): number;
}

class Samples {
  values: number[] = [];
  seen = 0;
  add(v: number) {
    this.seen++;
    if (this.values.length < SAMPLES_PER_MINUTE) this.values.push(v);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < SAMPLES_PER_MINUTE) this.values[i] = v;
    }
  }
  p99(): number | null {
    if (!this.values.length) return null;
    const s = [...this.values].sort((a, b) => a - b);
    return Math.round(s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!);
  }
}

/** p99 of a list (nearest rank), for tests and callers outside. */
export function p99(values: number[]): number | null {
  const s = new Samples();
  for (const v of values) s.add(v);
  return s.p99();
}

export class HubSeries {
  private readonly points: SeriesPoint[] = [];
  private readonly now: () => number;
  private minuteStart: number;
  private received = 0;
  private planned = 0;
  private base = { ordersAllocated: 0, backordered: 0 };
  private down = new Samples();
  private up = new Samples();
  private lastNodes: { online: number; total: number } | null = null;
  /** Open DOs: doId → state and the last event applied (an older copy never undoes a newer one). */
  private readonly open = new Map<string, { state: string; lastEvent: number }>();
  /** DOs seen finished (bounded), so that an older copy (the start-up scan's) does not bring one back. */
  private readonly finished = new Map<string, number>();
  private readonly doCreated = new Map<string, number>();
  private readonly pendingFetch = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The node figures of the point closed last, read after it was closed. */
  private filling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly src: SeriesSources,
    private readonly opts: { stepMs?: number; keep?: number } = {},
  ) {
    this.now = src.now ?? Date.now;
    this.minuteStart = this.floor(this.now());
    this.base = { ...src.allocator() };
  }

  get stepMs(): number {
    return this.opts.stepMs ?? SERIES_STEP_MS;
  }
  get keep(): number {
    return this.opts.keep ?? SERIES_KEEP;
  }
  private floor(t: number) {
    return t - (t % this.stepMs);
  }

  /** Close a point at every minute boundary (timers unref'd: they never hold the process). */
  start(): void {
    const arm = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.tick().finally(arm), Math.max(50, this.minuteStart + this.stepMs - this.now() + 5));
      this.timer.unref();
    };
    arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  // ------------------------------------------------------------------ what is observed

  orderReceived(): void {
    this.roll();
    this.received++;
  }

  /** An allocation batch ran over `orders` orders. */
  batch(orders: number): void {
    this.roll();
    this.planned += orders;
  }

  /** A DO status event applied at the hub, written at the node at `eventAt`. */
  statusApplied(eventAt: string): void {
    this.roll();
    const t = Date.parse(eventAt);
    if (Number.isFinite(t)) this.up.add(Math.max(0, this.now() - t));
  }

  /** DO states as the `dom` feed (or the start-up scan) shows them: open counts and creation times. */
  doStates(docs: Pick<DoStateDoc, 'doId' | 'state' | 'lastEvent' | 'createdAt'>[], fromScan = false): void {
    this.roll();
    for (const d of docs) {
      if (!fromScan) this.created(d.doId, d.createdAt);
      const cur = this.open.get(d.doId);
      if (cur && cur.lastEvent > d.lastEvent) continue;
      const done = this.finished.get(d.doId);
      if (done !== undefined && done >= d.lastEvent) continue;
      if (TERMINAL_DO_STATES.has(d.state as never)) {
        this.open.delete(d.doId);
        this.finished.set(d.doId, d.lastEvent);
        if (this.finished.size > MAX_DO_TIMES) this.finished.delete(this.finished.keys().next().value!);
      } else this.open.set(d.doId, { state: d.state, lastEvent: d.lastEvent });
    }
  }

  /** Run the start-up scan of the DO states through this, so the feed's newer copies win. */
  async scan(read: () => Promise<Pick<DoStateDoc, 'doId' | 'state' | 'lastEvent' | 'createdAt'>[]>): Promise<void> {
    this.doStates(await read(), true);
  }

  private created(doId: string, createdAt: string) {
    if (this.doCreated.has(doId)) return;
    const t = Date.parse(createdAt);
    if (!Number.isFinite(t)) return;
    // only a DO written recently can be waiting for its first fetch
    if (this.now() - t > 24 * 3600_000) return;
    this.doCreated.set(doId, t);
    if (this.doCreated.size > MAX_DO_TIMES) this.doCreated.delete(this.doCreated.keys().next().value!);
    const fetched = this.pendingFetch.get(doId);
    if (fetched !== undefined) {
      this.pendingFetch.delete(doId);
      this.down.add(Math.max(0, fetched - t));
      this.doCreated.set(doId, -1);
    }
  }

  /** A node fetched these documents through the gateway (a `_bulk_get`); the DOs among them count once. */
  fetched(docIds: string[]): void {
    this.roll();
    const now = this.now();
    for (const id of docIds) {
      if (!id.startsWith('do:')) continue;
      const doId = id.slice(3);
      const t = this.doCreated.get(doId);
      if (t === -1) continue; // measured already (a repeated fetch)
      if (t !== undefined) {
        this.down.add(Math.max(0, now - t));
        this.doCreated.set(doId, -1);
      } else if (!this.pendingFetch.has(doId)) {
        // fetched before the hub's own feed told of it: matched when it does
        this.pendingFetch.set(doId, now);
        if (this.pendingFetch.size > MAX_PENDING_FETCHES) this.pendingFetch.delete(this.pendingFetch.keys().next().value!);
      }
    }
    for (const [id, at] of this.pendingFetch) {
      if (now - at < PENDING_FETCH_MS) break;
      this.pendingFetch.delete(id);
    }
  }

  // ------------------------------------------------------------------ points

  private dosByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { state } of this.open.values()) out[state] = (out[state] ?? 0) + 1;
    return out;
  }

  private point(at: number, nodes: { online: number; total: number } | null): SeriesPoint {
    const a = this.src.allocator();
    const allocated = Math.max(0, a.ordersAllocated - this.base.ordersAllocated);
    const backordered = Math.max(0, a.backordered - this.base.backordered);
    return {
      at: new Date(at).toISOString(),
      received: this.received,
      planned: this.planned,
      allocated,
      fillRate: this.planned > 0 ? Math.max(0, Math.min(1, (this.planned - backordered) / this.planned)) : null,
      backordersOpen: this.src.backordersOpen(),
      dos: this.dosByState(),
      nodesOnline: nodes?.online ?? null,
      nodes: nodes?.total ?? null,
      syncDownP99Ms: this.down.p99(),
      syncUpP99Ms: this.up.p99(),
      syncDownSamples: this.down.seen,
      syncUpSamples: this.up.seen,
    };
  }

  /**
   * Close the minute that has ended, at once (whatever is observed after the boundary counts in the
   * next minute); its node figures are read just after. Minutes the hub slept through are gaps.
   */
  private roll(): void {
    if (this.now() < this.minuteStart + this.stepMs) return;
    const p = this.point(this.minuteStart, null);
    this.points.push(p);
    if (this.points.length > this.keep) this.points.splice(0, this.points.length - this.keep);
    this.received = 0;
    this.planned = 0;
    this.base = { ...this.src.allocator() };
    this.down = new Samples();
    this.up = new Samples();
    this.minuteStart = this.floor(this.now());
    this.filling = this.src.nodes().then(
      (n) => {
        this.lastNodes = n;
        p.nodesOnline = n.online;
        p.nodes = n.total;
      },
      () => undefined,
    );
  }

  tick(): Promise<void> {
    this.roll();
    return this.filling;
  }

  /** Closed points after `since` (all of the last 24 h without it), and the minute under way. */
  async read(since?: number): Promise<{ stepMs: number; keep: number; points: SeriesPoint[]; current: SeriesPoint }> {
    await this.tick();
    const nodes = await this.src.nodes().catch(() => this.lastNodes);
    const points = since === undefined ? [...this.points] : this.points.filter((p) => Date.parse(p.at) > since);
    return { stepMs: this.stepMs, keep: this.keep, points, current: this.point(this.minuteStart, nodes) };
  }
}
