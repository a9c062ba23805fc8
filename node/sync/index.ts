/**
 * The node's link to the hub: live pull and push replication with its own database through the
 * hub's gateway, retried with capped exponential backoff and jitter, resumed from PouchDB's
 * checkpoints after a restart. The state is exposed the RxJS way: `online$`, `pending$`, `errors$`
 * and `state$`; `stop()` cancels both replications, completes every subject, and is safe twice.
 */
import PouchDB from 'pouchdb';
import { BehaviorSubject, Subject, combineLatest, type Observable, map } from 'rxjs';
import { nodeDbOwnership } from '../../shared/ownership.js';
import type { Logger } from '../../shared/log.js';

export interface SyncErrorEvent {
  at: string;
  direction: 'push' | 'pull';
  code: string;
  message: string;
  status?: number;
}

/** A document of this node's that the hub refused (it is kept here, and never uploaded). */
export interface RefusedDoc {
  id: string;
  reason: string;
  at: string;
}

export interface SyncState {
  online: boolean;
  /** Documents the hub refused, newest first (at most 50): each needs a person to look at it. */
  refused: RefusedDoc[];
  /** Node-written documents not yet uploaded to the hub. */
  pending: number;
  lastSyncAt: string | null;
  lastError: SyncErrorEvent | null;
  pulled: number;
  pushed: number;
  hub: string;
}

export interface HubSyncOptions {
  db: PouchDB.Database;
  /** One hub URL or several, comma-separated (instances of one hub behind no load balancer). */
  hubUrl: string;
  nodeId: string;
  /** Consecutive failed rounds before moving to the next hub URL. */
  failoverAfter?: number;
  token: string;
  log: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

const STATE_DOC = '_local/dom-sync-state';

export function backoff(initialMs: number, maxMs: number): (prev: number) => number {
  return (prev) => {
    const base = prev <= 0 ? initialMs : Math.min(maxMs, prev * 2);
    // full jitter in [base/2, base]: nodes that lost the hub together do not return together
    return Math.round(Math.min(maxMs, base * (0.5 + Math.random() / 2)) || initialMs);
  };
}

export class HubSync {
  private readonly online = new BehaviorSubject(false);
  private readonly pending = new BehaviorSubject(0);
  private readonly errors = new Subject<SyncErrorEvent>();
  private readonly lastSync = new BehaviorSubject<string | null>(null);
  readonly online$: Observable<boolean> = this.online.asObservable();
  readonly pending$: Observable<number> = this.pending.asObservable();
  readonly errors$: Observable<SyncErrorEvent> = this.errors.asObservable();
  readonly state$: Observable<SyncState>;

  private push?: PouchDB.Replication;
  private pull?: PouchDB.Replication;
  private localFeed?: PouchDB.Changes<object>;
  private pushedSeq: number | string = 0;
  private paused = { push: false, pull: false };
  private down = { push: false, pull: false };
  private lastError: SyncErrorEvent | null = null;
  private counts = { pulled: 0, pushed: 0 };
  private refused = new Map<string, RefusedDoc>();
  private recount?: NodeJS.Timeout;
  private stopped = false;
  private readonly hubs: string[];
  private current = 0;
  private failures = 0;
  private rounds = 0;
  private switching: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HubSyncOptions) {
    this.hubs = opts.hubUrl
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    this.state$ = combineLatest([this.online, this.pending, this.lastSync]).pipe(map(() => this.snapshot()));
  }

  snapshot(): SyncState {
    return {
      online: this.online.value,
      refused: [...this.refused.values()].reverse(),
      pending: this.pending.value,
      lastSyncAt: this.lastSync.value,
      lastError: this.lastError,
      pulled: this.counts.pulled,
      pushed: this.counts.pushed,
      hub: this.hubs[this.current]!,
    };
  }

  async start(): Promise<void> {
    const saved = await this.opts.db.get<{ pushedSeq: number | string; refused?: RefusedDoc[] }>(STATE_DOC).catch(() => null);
    if (saved) this.pushedSeq = saved.pushedSeq;
    for (const r of saved?.refused ?? []) this.refused.set(r.id, r);
    this.connect();
    this.localFeed = this.opts.db.changes({ since: 'now', live: true, return_docs: false });
    this.localFeed.on('change', (ch: PouchDB.Change<object>) => {
      if (nodeDbOwnership(ch.id)?.writer === 'node') this.scheduleRecount();
    });
    await this.recountPending();
  }

  private connect(): void {
    const { db, nodeId, token } = this.opts;
    const hubUrl = this.hubs[this.current]!;
    const remote = new PouchDB(`${hubUrl.replace(/\/$/, '')}/sync/${encodeURIComponent(nodeId)}`, {
      skip_setup: true,
      fetch: (url, init) => {
        init.headers.set('Authorization', `Bearer ${token}`);
        return PouchDB.fetch(url, init);
      },
    });
    // PouchDB 9's replicator calls `src.info()` for its active-task figures only: at every pulled
    // batch, a request to the hub for a figure nothing here reads (and without a catch, so a hub
    // that died just after a batch surfaced as an unhandled rejection). Answered here instead.
    remote.info = () => Promise.resolve({ db_name: nodeId, doc_count: 0, update_seq: 0 } as never);
    const options: PouchDB.ReplicateOptions = {
      live: true,
      retry: true,
      heartbeat: 10_000,
      batch_size: 200,
      back_off_function: backoff(this.opts.initialBackoffMs ?? 500, this.opts.maxBackoffMs ?? 30_000),
    };
    // Checkpoints kept here only (`checkpoint`: the node's own database), not also read and written
    // at the hub after every batch: two requests a batch each way. A hub restored from a backup is
    // behind them; it answers a new epoch at `GET /sync/` (the uuid PouchDB builds its replication
    // ids from), so both replications then start afresh from 0 and `_revs_diff` sends only what
    // the hub lost (docs/OPERATIONS.md, "Restoring the hub from a backup").
    this.pull = db.replicate.from(remote, { ...options, checkpoint: 'target' } as PouchDB.ReplicateOptions);
    // Push only what the node writes: without the filter every document pulled from the hub is
    // echoed back as a `_revs_diff` through the gateway, which doubled the CPU of a pull (a local
    // filter: nothing is asked of the server's `_changes`).
    this.push = db.replicate.to(remote, {
      ...options,
      checkpoint: 'source',
      filter: (doc) => nodeDbOwnership(doc._id)?.writer === 'node',
    } as PouchDB.ReplicateOptions);
    this.wire('pull', this.pull);
    this.wire('push', this.push);
  }

  /** Take the link down by hand (maintenance, or a drill): the node keeps working locally. */
  pause(): void {
    if (this.stopped || !this.pull) return;
    this.pull.cancel();
    this.push?.cancel();
    this.pull = this.push = undefined;
    this.down = { push: true, pull: true };
    this.online.next(false);
  }

  resume(): void {
    if (this.stopped || this.pull) return;
    this.connect();
  }

  /** When either replication last did anything (a change, active, paused, an error). */
  private lastActivity = Date.now();
  private watchdog?: NodeJS.Timeout;

  /**
   * PouchDB's live replication can stop for good without a word after a failed retry (pouchdb
   * #2979, #8076, #9063; seen here after CouchDB was killed under the hub): when nothing has
   * happened for 30 s while the link is down or uploads wait, start both replications again.
   */
  private startWatchdog() {
    this.watchdog ??= setInterval(() => {
      if (this.stopped || !this.pull || this.switching) return;
      const quiet = Date.now() - this.lastActivity > 30_000;
      if (quiet && (!this.online.value || this.pending.value > 0)) {
        this.opts.log.warn({ pending: this.pending.value, online: this.online.value }, 'replication silent for 30 s: starting it again');
        this.pause();
        this.lastActivity = Date.now();
        this.resume();
      }
    }, 5_000);
    this.watchdog.unref();
  }

  private wire(direction: 'push' | 'pull', r: PouchDB.Replication) {
    const live = () => r === this.pull || r === this.push;
    for (const ev of ['change', 'active', 'paused', 'error', 'denied']) r.on(ev, () => (this.lastActivity = Date.now()));
    this.startWatchdog();
    r.on('change', (info: PouchDB.ReplicationInfo) => {
      this.markUp(direction);
      const n = info.docs_written ?? 0;
      if (direction === 'pull') this.counts.pulled = n;
      else {
        this.counts.pushed = n;
        if (info.last_seq !== undefined) void this.savePushed(info.last_seq);
      }
      this.lastSync.next(new Date().toISOString());
    });
    r.on('active', () => {
      this.paused[direction] = false;
      this.markUp(direction);
    });
    r.on('paused', (err?: unknown) => {
      if (!live()) return;
      this.paused[direction] = true;
      if (err) {
        this.down[direction] = true;
        this.online.next(false);
        this.report(direction, err);
        return;
      }
      this.failures = 0;
      this.markUp(direction);
      this.lastSync.next(new Date().toISOString());
      if (direction === 'push') void this.pushCaughtUp();
    });
    // emitted at every failed retry round (`paused` only at the first)
    r.on('requestError', () => live() && this.maybeFailover());
    // a document the hub refused (`forbidden`): the replication goes on with the others
    r.on('denied', (e: { id?: string; reason?: string; message?: string; doc?: { id?: string; reason?: string } }) => {
      const id = e.id ?? e.doc?.id ?? '(unknown)';
      const reason = e.reason ?? e.doc?.reason ?? e.message ?? 'refused';
      this.refused.delete(id);
      this.refused.set(id, { id, reason, at: new Date().toISOString() });
      while (this.refused.size > 50) this.refused.delete(this.refused.keys().next().value!);
      this.report(direction, { name: 'forbidden', message: `${id}: ${reason}`, status: 403 });
      void this.savePushed(this.pushedSeq);
    });
    r.on('error', (err: unknown) => this.report(direction, err));
  }

  /**
   * After repeated failures (the hub instance died, or turned us away as busy), move to the next
   * one; a full round of the list without success backs off before the next round.
   */
  private maybeFailover() {
    this.failures++;
    if (this.hubs.length < 2 || this.failures < (this.opts.failoverAfter ?? 3) || this.switching) return;
    this.failures = 0;
    this.pause();
    this.current = (this.current + 1) % this.hubs.length;
    if (this.current === 0) this.rounds++;
    const delay =
      this.rounds === 0
        ? 0
        : backoff(
            this.opts.initialBackoffMs ?? 500,
            this.opts.maxBackoffMs ?? 30_000,
          )((this.opts.initialBackoffMs ?? 500) * 2 ** Math.min(this.rounds - 1, 10));
    this.opts.log.warn({ hub: this.hubs[this.current], inMs: delay }, 'moving to the next hub instance');
    this.switching = setTimeout(() => {
      this.switching = undefined;
      this.resume();
    }, delay);
  }

  private markUp(direction: 'push' | 'pull') {
    this.down[direction] = false;
    this.rounds = 0;
    if (!this.down.push && !this.down.pull && !this.online.value && !this.stopped) {
      // linked again: the error that took the link down is history (refusals stay in `refused`)
      if (this.lastError?.code !== 'forbidden') this.lastError = null;
      this.online.next(true);
    }
  }

  private report(direction: 'push' | 'pull', err: unknown) {
    if (this.stopped) return;
    const e = err as { status?: number; name?: string; message?: string; reason?: string };
    const ev: SyncErrorEvent = {
      at: new Date().toISOString(),
      direction,
      code: e.name ?? 'error',
      message: e.reason ?? e.message ?? String(err),
      ...(e.status ? { status: e.status } : {}),
    };
    this.lastError = ev;
    this.errors.next(ev);
    this.opts.log.debug({ ...ev }, 'sync error');
  }

  /** The push side is idle with no error: everything written locally so far is at the hub. */
  private async pushCaughtUp() {
    const info = await this.opts.db.info().catch(() => null);
    if (info) await this.savePushed(info.update_seq);
  }

  private async savePushed(seq: number | string) {
    this.pushedSeq = seq;
    const cur = await this.opts.db.get(STATE_DOC).catch(() => null);
    await this.opts.db
      .put({ _id: STATE_DOC, ...(cur?._rev ? { _rev: cur._rev } : {}), pushedSeq: seq, refused: [...this.refused.values()] })
      .catch(() => undefined);
    this.scheduleRecount();
  }

  private scheduleRecount() {
    if (this.recount || this.stopped) return;
    this.recount = setTimeout(() => {
      this.recount = undefined;
      void this.recountPending();
    }, 50);
  }

  private counting = false;
  private countAgain = false;

  /**
   * Count the node's own changes not yet pushed. One count at a time (asked again meanwhile: once
   * more after it), and counted as the changes stream by rather than collected: while the push
   * lags far behind (a first upload of 50,000 positions to a CouchDB that fsyncs each request),
   * overlapping counts that each held every change since the last push took the node to 4 GB.
   */
  private async recountPending() {
    if (this.counting) {
      this.countAgain = true;
      return;
    }
    this.counting = true;
    try {
      do {
        this.countAgain = false;
        let n = 0;
        const ok = await new Promise<boolean>((done) => {
          this.opts.db
            .changes({ since: this.pushedSeq, return_docs: false })
            .on('change', (c: PouchDB.Change<object>) => {
              if (nodeDbOwnership(c.id)?.writer === 'node') n++;
            })
            .on('complete', () => done(true))
            .on('error', () => done(false));
        });
        if (!ok || this.stopped) return;
        this.pending.next(n);
      } while (this.countAgain && !this.stopped);
    } finally {
      this.counting = false;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.recount);
    clearTimeout(this.switching);
    clearInterval(this.watchdog);
    this.localFeed?.cancel();
    this.pull?.cancel();
    this.push?.cancel();
    this.online.next(false);
    this.online.complete();
    this.pending.complete();
    this.errors.complete();
    this.lastSync.complete();
  }
}
