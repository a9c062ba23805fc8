/**
 * The monitor follows every node database and applies what the nodes report: DO status events move
 * `dostate:` documents through the DO state machine; inventory positions feed the availability
 * index. Runs are poked by the gateway on each upload and by a slow sweep, with a bound on how many
 * followers run at once.
 */
import type { Couch } from '../couch/index.js';
import type { Logger } from '../../shared/log.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import type { DoEventDoc, InvDoc, ReceiptDoc } from '../../shared/schemas.js';
import { ChangesFollower, type Change } from './follower.js';
import { applyEvents, type DoStateDoc } from './dostate.js';
import { groupBy } from '../../shared/collections.js';

export interface MonitorHooks {
  /** DO states that changed, after they are stored. */
  onDoStates?: (states: DoStateDoc[]) => Promise<void>;
  onInventory?: (facility: string, positions: InvDoc[]) => void | Promise<void>;
  onReceipts?: (facility: string, receipts: ReceiptDoc[]) => void | Promise<void>;
}

export interface MonitorOptions {
  couch: Couch;
  log: Logger;
  sweepMs?: number;
  /**
   * At most this many databases swept per second: each sweep of an idle database is a `_changes`
   * read (~2-5 ms of the embedded CouchDB's CPU), so a sweep of 1,000 databases every 5 s took most
   * of a core (docs/BENCHMARKS.md). Past `maxSweepPerSec × sweepMs / 1000` databases the sweep
   * stretches out; uploads through this instance's gateway are still read at once (poke).
   */
  maxSweepPerSec?: number;
  concurrency?: number;
  /** This hub instance's name: each instance keeps its own checkpoints. */
  instance?: string;
}

export class Monitor {
  private followers = new Map<string, ChangesFollower>();
  private hooks: MonitorHooks = {};
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor = 0;
  private active = 0;
  private waiting: (() => void)[] = [];
  private readonly concurrency: number;
  private stopped = false;

  constructor(private readonly opts: MonitorOptions) {
    this.concurrency = opts.concurrency ?? 8;
    const sweepMs = opts.sweepMs ?? 5_000;
    if (sweepMs > 0) {
      // the sweep in slices, every tick a share of the followers in turn
      const tickMs = Math.min(sweepMs, 1_000);
      const maxPerTick = Math.max(1, Math.ceil(((opts.maxSweepPerSec ?? 40) * tickMs) / 1000));
      this.sweepTimer = setInterval(() => {
        const all = [...this.followers.values()];
        if (all.length === 0) return;
        const n = Math.min(all.length, maxPerTick, Math.ceil((all.length * tickMs) / sweepMs));
        for (let i = 0; i < n; i++) void all[(this.sweepCursor + i) % all.length]!.poke();
        this.sweepCursor = (this.sweepCursor + n) % all.length;
      }, tickMs);
      this.sweepTimer.unref();
    }
  }

  setHooks(h: MonitorHooks) {
    Object.assign(this.hooks, h);
  }

  follow(facilityId: string): void {
    if (this.followers.has(facilityId) || this.stopped) return;
    const dbName = nodeDbName(facilityId);
    this.followers.set(
      facilityId,
      new ChangesFollower<Record<string, unknown>>({
        couch: this.opts.couch,
        dbName,
        checkpointId: ids.monitorCheckpoint(`${this.opts.instance ?? 'hub'}:${dbName}`),
        log: this.opts.log,
        handle: (changes) => this.withSlot(() => this.handle(facilityId, changes)),
      }),
    );
  }

  poke(facilityId: string): Promise<void> {
    return this.followers.get(facilityId)?.poke() ?? Promise.resolve();
  }

  pokeAll(): Promise<void> {
    return Promise.all([...this.followers.values()].map((f) => f.poke())).then(() => undefined);
  }

  get followerCount() {
    return this.followers.size;
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.concurrency) await new Promise<void>((ok) => this.waiting.push(ok));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async handle(facilityId: string, changes: Change<Record<string, unknown>>[]): Promise<void> {
    const events: DoEventDoc[] = [];
    const positions: InvDoc[] = [];
    const receipts: ReceiptDoc[] = [];
    for (const ch of changes) {
      if (!ch.doc || ch.deleted) continue;
      if (ch.id.startsWith('evt:')) events.push(ch.doc as unknown as DoEventDoc);
      else if (ch.id.startsWith('inv:')) positions.push(ch.doc as unknown as InvDoc);
      else if (ch.id.startsWith('rcpt:')) receipts.push(ch.doc as unknown as ReceiptDoc);
    }
    // receipts close supply before the positions they raise trigger backorder retries
    if (receipts.length) await this.hooks.onReceipts?.(facilityId, receipts);
    if (positions.length) await this.hooks.onInventory?.(facilityId, positions);
    if (events.length) await this.applyDoEvents(events);
  }

  private async applyDoEvents(events: DoEventDoc[]): Promise<void> {
    const byDo = groupBy(events, (e) => e.doId);
    const dom = this.opts.couch.db<DoStateDoc>('dom');
    const res = await dom.fetch({ keys: [...byDo.keys()].map(ids.doState) });
    const changed: DoStateDoc[] = [];
    // states that already hold these events: a batch replayed after a crash or an error between
    // storing the states and rolling them up, or applied first by another hub instance
    const current: DoStateDoc[] = [];
    for (const row of res.rows) {
      if (!('doc' in row) || !row.doc) {
        this.opts.log.warn({ key: row.key }, 'status event for an unknown DO; ignored');
        continue;
      }
      const s = row.doc as DoStateDoc;
      if (applyEvents(s, byDo.get(s.doId) ?? [])) changed.push(s);
      else current.push(s);
    }
    let stored: DoStateDoc[] = [];
    if (changed.length) {
      // The monitor is the only writer of a dostate after its creation, so a conflict means a replay
      // raced an earlier run of the same batch: refetch and apply again.
      const saved = await dom.bulk({ docs: changed });
      const retry = saved.filter((r) => r.error === 'conflict').map((r) => r.id!);
      saved.forEach((r, i) => r.rev && (changed[i]!._rev = r.rev));
      if (retry.length) await this.applyDoEvents(events.filter((e) => retry.includes(ids.doState(e.doId))));
      stored = changed.filter((c) => !retry.includes(c._id));
    }
    // The roll-up (order status, re-sourcing) is idempotent: it runs for the current states too, or
    // a crash after a state was stored and before its order was rolled up would leave the order behind.
    if (stored.length || current.length) await this.hooks.onDoStates?.([...stored, ...current]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    await Promise.all([...this.followers.values()].map((f) => f.stop()));
  }
}
