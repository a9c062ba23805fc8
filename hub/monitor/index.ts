/**
 * The monitor applies what the nodes report: DO status events move `dostate:` documents through
 * the DO state machine; inventory positions feed the availability index; receipts close supply.
 *
 * What a node uploads through this instance's gateway is applied from the documents the gateway
 * has just validated and written (`applyUploaded`), never read back from CouchDB. Each node
 * database also has a changes follower, the at-least-once path: it reads from its checkpoint at
 * start, and later only a database marked as changed (`catchUpMs` after it was marked), which
 * skips what was applied directly and moves the checkpoint on. What marks a database: this
 * instance's uploads, and on Apache CouchDB the server's `/_db_updates` feed (uploads through
 * another instance); where there is no such feed and other processes may write (a shared embedded
 * server), every database is swept in turn. An idle node costs no request.
 */
import type { Couch } from '../couch/index.js';
import type { Logger } from '../../shared/log.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import type { DoEventDoc, InvDoc, ReceiptDoc } from '../../shared/schemas.js';
import { ChangesFollower, type Change, type CheckpointDoc } from './follower.js';
import { applyEvents, type DoStateDoc } from '../../shared/dostate.js';
import { groupBy } from '../../shared/collections.js';
import { TERMINAL_DO_STATES } from '../../shared/states.js';
import { BulkWriter } from '../couch/bulk.js';
import type { OrderViews } from '../orders/store.js';

export interface MonitorHooks {
  /**
   * Roll up the orders of DO states that moved (or that held their events already: a replay after a
   * crash between storing a state and rolling up its order). Called as the states are written, from
   * the states in memory, so that the orders' writes share the states' request; answers the views.
   */
  rollUp?: (states: DoStateDoc[]) => Promise<OrderViews>;
  /** DO states that changed, after they are stored, with their orders rolled up. */
  onDoStates?: (states: DoStateDoc[], views: OrderViews) => void | Promise<void>;
  /** DO states just created (`created`). */
  onCreated?: (states: DoStateDoc[]) => void;
  onInventory?: (facility: string, positions: InvDoc[]) => void | Promise<void>;
  onReceipts?: (facility: string, receipts: ReceiptDoc[]) => void | Promise<void>;
}

/**
 * How the monitor learns that a node database changed other than through this instance's gateway:
 * `sweep` reads every database in turn (a server without `/_db_updates` that other hub instances
 * write to); `marked` reads only the databases marked (`markChanged`: this process's embedded
 * server, which no one else writes to, or Apache CouchDB's `/_db_updates`).
 */
export type CatchUp = 'sweep' | 'marked';

export interface MonitorOptions {
  couch: Couch;
  log: Logger;
  sweepMs?: number;
  /**
   * At most this many databases swept per second: each sweep of an idle database is a `_changes`
   * read (~2-5 ms of the embedded CouchDB's CPU), so a sweep of 1,000 databases every 5 s took most
   * of a core (docs/BENCHMARKS.md). Past `maxSweepPerSec × sweepMs / 1000` databases the sweep
   * stretches out; uploads through this instance's gateway are still applied at once.
   */
  maxSweepPerSec?: number;
  /** A marked database is read this long after it was marked (default 30 s): a safety net, not the way events arrive. */
  catchUpMs?: number;
  catchUp?: CatchUp;
  /** Whether the server filters `_changes` by a selector (Apache CouchDB; neither embedded server does). */
  filterChanges?: boolean;
  concurrency?: number;
  /** This hub instance's name: each instance keeps its own checkpoints. */
  instance?: string;
  /** The group commit of `dom` writes, shared with the order roll-up. */
  writer?: BulkWriter;
}

/** DO states kept in memory so that an event's DO is not read back from `dom` (newest first out). */
const MAX_CACHED_STATES = 20_000;
/** What the monitor handles (`handle`): a read on Apache CouchDB asks for these documents only. */
const HANDLED_ID = /^(evt|inv|rcpt):/;
const HANDLED = { _id: { $regex: HANDLED_ID.source } };
/** How long an event for a DO not known yet is read again (its state may still be being stored) before it is ignored. */
const UNKNOWN_DO_WAIT_MS = 60_000;
/** Directly applied documents per database awaiting their follower's catch-up (beyond it, the catch-up applies them again: idempotent). */
const MAX_APPLIED = 5_000;

const revGen = (rev: string | undefined) => (rev ? Number.parseInt(rev, 10) || 0 : 0);

export class Monitor {
  private followers = new Map<string, ChangesFollower>();
  private byDb = new Map<string, string>();
  private hooks: MonitorHooks = {};
  private sweepTimer: NodeJS.Timeout | undefined;
  private catchUpTimer: NodeJS.Timeout | undefined;
  private sweepCursor = 0;
  private active = 0;
  private waiting: (() => void)[] = [];
  private readonly concurrency: number;
  private stopped = false;
  /** facility → when its database was first marked since its last catch-up */
  private marked = new Map<string, number>();
  /**
   * facility → document id → the revision applied from an upload, not yet seen by its follower. One
   * entry a document: a newer upload of it replaces the older (the catch-up's `_changes` shows a
   * document's latest revision only, so an older one would never be matched and never leave).
   */
  private applied = new Map<string, Map<string, string>>();
  private states = new Map<string, DoStateDoc>();
  /** DO states being written (not yet stored), by doId: what the roll-up started with them reads. */
  private writing = new Map<string, DoStateDoc>();
  /**
   * New DO states the allocator is about to store (`creating`), by doId: their DOs are already in
   * the node databases, so an event may come before the state is stored. Seen by every lookup; an
   * event applied to one is stored as its creation (a conflict: the allocator's came first, read and
   * apply again).
   */
  private creatingStates = new Map<string, DoStateDoc>();
  /** doId → the revision of the DO state this monitor last stored (its hook has handled it) */
  private written = new Map<string, string>();
  private catchingUp = 0;
  /** doId → when an event for it was first found with no state (`applyDoEvents`) */
  private unknownSince = new Map<string, number>();
  /** This instance's follower checkpoints, read in one request (`seedCheckpoints`) */
  private checkpoints: Map<string, CheckpointDoc> | null = null;
  private seeding: Promise<void> | null = null;
  private readonly writer: BulkWriter;
  /** Requests saved and made, for the benchmarks and the logs. */
  readonly counts = { appliedDirectly: 0, caughtUp: 0, skippedOnCatchUp: 0, stateReads: 0, stateHits: 0, unknownDoWaits: 0 };

  constructor(private readonly opts: MonitorOptions) {
    this.concurrency = opts.concurrency ?? 8;
    this.writer = opts.writer ?? new BulkWriter(opts.couch.db('dom'));
    const sweepMs = opts.sweepMs ?? 5_000;
    const maxPerSec = opts.maxSweepPerSec ?? 40;
    if (sweepMs > 0 && (opts.catchUp ?? 'sweep') === 'sweep') {
      // the sweep in slices, every tick a share of the followers in turn
      const tickMs = Math.min(sweepMs, 1_000);
      const maxPerTick = Math.max(1, Math.ceil((maxPerSec * tickMs) / 1000));
      this.sweepTimer = setInterval(() => {
        const all = [...this.followers.values()];
        if (all.length === 0) return;
        const n = Math.min(all.length, maxPerTick, Math.ceil((all.length * tickMs) / sweepMs));
        for (let i = 0; i < n; i++) void all[(this.sweepCursor + i) % all.length]!.poke();
        this.sweepCursor = (this.sweepCursor + n) % all.length;
      }, tickMs);
      this.sweepTimer.unref();
    }
    // the catch-up of marked databases, oldest mark first, at most maxSweepPerSec a second
    const catchUpMs = opts.catchUpMs ?? 30_000;
    const tickMs = Math.min(1_000, Math.max(50, catchUpMs));
    this.catchUpTimer = setInterval(() => {
      if (!this.checkpoints) return void this.seedCheckpoints();
      const due = Date.now() - catchUpMs;
      let n = Math.max(1, Math.ceil((maxPerSec * tickMs) / 1000));
      for (const [facility, since] of this.marked) {
        if (since > due || n-- <= 0) break;
        this.marked.delete(facility);
        const f = this.followers.get(facility);
        if (!f) continue;
        this.catchingUp++;
        void f.poke().finally(() => this.catchingUp--);
      }
    }, tickMs);
    this.catchUpTimer.unref();
  }

  setHooks(h: MonitorHooks) {
    Object.assign(this.hooks, h);
  }

  follow(facilityId: string): void {
    if (this.followers.has(facilityId) || this.stopped) return;
    const dbName = nodeDbName(facilityId);
    this.byDb.set(dbName, facilityId);
    const f = new ChangesFollower<Record<string, unknown>>({
      couch: this.opts.couch,
      dbName,
      checkpointId: ids.monitorCheckpoint(`${this.opts.instance ?? 'hub'}:${dbName}`),
      log: this.opts.log,
      handle: (changes) => this.withSlot(() => this.handle(facilityId, this.notYetApplied(facilityId, changes))),
      selector: this.opts.filterChanges ? HANDLED : undefined,
      writer: this.writer,
    });
    this.followers.set(facilityId, f);
    if (this.checkpoints) f.seed(this.checkpoints.get(f.checkpointDocId) ?? null);
  }

  /**
   * Every follower's checkpoint in one read of `dom` instead of one each (1,000 node databases: 1,000
   * requests at start, and again at the first catch-up of each). A follower not seeded reads its own.
   */
  private seedCheckpoints(): Promise<void> {
    this.seeding ??= (async () => {
      const prefix = ids.monitorCheckpoint(`${this.opts.instance ?? 'hub'}:`);
      const res = await this.opts.couch.db<CheckpointDoc>('dom').list({ startkey: prefix, endkey: `${prefix}\ufff0`, include_docs: true });
      const map = new Map<string, CheckpointDoc>();
      for (const r of res.rows) if (r.doc) map.set(r.id, r.doc as CheckpointDoc);
      this.checkpoints = map;
      for (const f of this.followers.values()) f.seed(map.get(f.checkpointDocId) ?? null);
    })().catch((err: unknown) => {
      this.seeding = null;
      this.opts.log.warn({ err: (err as Error).message }, 'reading the monitor checkpoints failed; each follower reads its own');
    });
    return this.seeding;
  }

  /** A node database changed (by its logical name, `node_<id>`): read it at the next catch-up. */
  markChanged(dbName: string): void {
    const facility = this.byDb.get(dbName);
    if (facility !== undefined) this.mark(facility);
  }

  private mark(facility: string, at = Date.now()): void {
    const was = this.marked.get(facility);
    if (was === undefined || at < was) {
      this.marked.delete(facility);
      // kept in order of marking (a Map iterates in insertion order): the catch-up reads the oldest first
      if (was === undefined) this.marked.set(facility, at);
      else this.catchUpSoon(facility, at);
    }
  }

  private catchUpSoon(facility: string, at: number): void {
    // an earlier time than the oldest mark: rebuild the order (rare: after a failed direct apply)
    const all = [...this.marked, [facility, at] as [string, number]].sort((a, b) => a[1] - b[1]);
    this.marked = new Map(all);
  }

  /**
   * Apply what a node just uploaded through this instance's gateway: the documents it validated and
   * CouchDB stored. Its follower reads the database later (catch-up) and skips these.
   */
  async applyUploaded(facilityId: string, docs: Record<string, unknown>[]): Promise<void> {
    if (this.stopped || !this.followers.has(facilityId)) return;
    const changes: Change<Record<string, unknown>>[] = docs.map((doc) => ({ id: String(doc._id), seq: 0, doc }));
    try {
      await this.withSlot(() => this.handle(facilityId, changes));
      this.counts.appliedDirectly += docs.length;
      let revs = this.applied.get(facilityId);
      if (!revs) this.applied.set(facilityId, (revs = new Map()));
      if (revs.size > MAX_APPLIED) revs.clear();
      // only what the catch-up reads back and so lets go of: on Apache CouchDB its read asks for
      // the handled documents only, and a sale's or a count's entry waited here for good (until
      // MAX_APPLIED emptied the facility's map: up to 250,000 entries with 50 stores)
      for (const d of docs) if (typeof d._rev === 'string' && HANDLED_ID.test(String(d._id))) revs.set(String(d._id), d._rev);
      this.mark(facilityId);
    } catch (err) {
      // the follower reads them within a couple of seconds instead
      this.opts.log.warn({ err: (err as Error).message, facilityId }, 'applying an upload failed; its database will be read');
      this.mark(facilityId, Date.now() - (this.opts.catchUpMs ?? 30_000) + 2_000);
    }
  }

  private notYetApplied(facilityId: string, changes: Change<Record<string, unknown>>[]): Change<Record<string, unknown>>[] {
    this.counts.caughtUp += changes.length;
    const revs = this.applied.get(facilityId);
    if (!revs?.size) return changes;
    return changes.filter((ch) => {
      if (revs.get(ch.id) !== (ch.doc as { _rev?: string } | undefined)?._rev) return true;
      revs.delete(ch.id);
      this.counts.skippedOnCatchUp++;
      return false;
    });
  }

  /**
   * Whether this monitor stored this revision of a DO's state (and so has handled it): the `dom`
   * feed shows it again, and leaves it unread. One route per event.
   */
  wrote(doId: string, rev: string): boolean {
    return this.written.get(doId) === rev;
  }

  /** DO states just created (hub/dos.ts `writeDos`), as stored: kept, so that neither the roll-up nor the feed reads them back. */
  created(states: DoStateDoc[]): void {
    for (const s of states) if (s._rev) this.noteWritten(s.doId, s._rev);
    const kept = this.rememberStates(states);
    if (kept.length) this.hooks.onCreated?.(kept);
  }

  /** New DO states about to be stored, their DOs written down already: `created` (or `notCreated`) follows. */
  creating(states: DoStateDoc[]): void {
    for (const s of states) if (!this.states.has(s.doId)) this.creatingStates.set(s.doId, s);
  }

  /** The write of these new states is over (stored or not): what was stored came through `created`. */
  notCreated(states: DoStateDoc[]): void {
    for (const s of states) if (this.creatingStates.get(s.doId) === s) this.creatingStates.delete(s.doId);
  }

  /** DO states seen elsewhere (the `dom` feed, a read): kept when newer than the one in memory. Answers those kept. */
  rememberStates(states: DoStateDoc[]): DoStateDoc[] {
    const kept: DoStateDoc[] = [];
    for (const s of states) {
      const cur = this.states.get(s.doId);
      if (cur && revGen(cur._rev) >= revGen(s._rev)) continue;
      this.keepState(structuredClone(s));
      kept.push(s);
    }
    return kept;
  }

  /**
   * The states of these DOs (not to be changed): from memory, the others read from `dom` (and kept).
   * What the order roll-up and the allocator read; a DO unknown to `dom` is not in the answer.
   */
  of(doIds: readonly string[]): Promise<Map<string, DoStateDoc>> {
    return this.lookup(doIds, true);
  }

  /** Their order reached its end: the DOs' states, at their end too, leave the memory (a late event reads its state back). */
  settled(doIds: readonly string[]): void {
    for (const id of doIds) {
      const s = this.states.get(id);
      if (s && TERMINAL_DO_STATES.has(s.state)) this.states.delete(id);
    }
  }

  /** How many DO states are held in memory (tests). */
  get cachedStates(): number {
    return this.states.size;
  }

  /** How many uploaded documents applied directly await their follower's catch-up (tests). */
  get awaitingCatchUp(): number {
    let n = 0;
    for (const revs of this.applied.values()) n += revs.size;
    return n;
  }

  /**
   * `of`, and for the monitor's own application of events (`withWriting` false) the states as
   * stored only: one being written may yet fail to store, and an application that saw it would
   * take its events for applied (and its follower move its checkpoint past them).
   */
  private async lookup(doIds: readonly string[], withWriting: boolean): Promise<Map<string, DoStateDoc>> {
    const out = new Map<string, DoStateDoc>();
    const missing: string[] = [];
    for (const id of doIds) {
      const s = (withWriting ? this.writing.get(id) : undefined) ?? this.states.get(id) ?? this.creatingStates.get(id);
      if (s) out.set(id, s);
      else missing.push(id);
    }
    this.counts.stateHits += out.size;
    for (let i = 0; i < missing.length; i += 1000) {
      const keys = missing.slice(i, i + 1000);
      this.counts.stateReads += keys.length;
      const res = await this.opts.couch.db<DoStateDoc>('dom').fetch({ keys: keys.map(ids.doState) });
      const docs = res.rows.flatMap((r) => ('doc' in r && r.doc ? [r.doc as DoStateDoc] : []));
      this.rememberStates(docs);
      for (const d of docs) out.set(d.doId, this.states.get(d.doId) ?? d);
    }
    return out;
  }

  private noteWritten(doId: string, rev: string): void {
    this.written.delete(doId);
    this.written.set(doId, rev);
    if (this.written.size > MAX_CACHED_STATES) this.written.delete(this.written.keys().next().value!);
  }

  private keepState(s: DoStateDoc): void {
    this.states.delete(s.doId);
    this.states.set(s.doId, s);
    if (this.states.size > MAX_CACHED_STATES) this.states.delete(this.states.keys().next().value!);
  }

  poke(facilityId: string): Promise<void> {
    return this.followers.get(facilityId)?.poke() ?? Promise.resolve();
  }

  async pokeAll(): Promise<void> {
    await this.seedCheckpoints();
    await Promise.all([...this.followers.values()].map((f) => f.poke()));
  }

  /** Databases marked and not yet read, or being read: 0 once nothing is left to do. */
  get pendingCatchUps() {
    return this.marked.size + this.catchingUp;
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
    // the states in memory (as this monitor last wrote them, or as the `dom` feed brought them), the others read
    const known = await this.lookup([...byDo.keys()], false);
    // A DO not known yet may be one whose state is still being stored (by another instance, or
    // written again after a failed try: its DO went down first): the events of the others are
    // applied, then this read fails, so that the upload is read again (its checkpoint not moved
    // past it) until the state is there, for UNKNOWN_DO_WAIT_MS; after that the event is ignored.
    const waiting: string[] = [];
    for (const doId of byDo.keys()) {
      if (known.has(doId)) {
        this.unknownSince.delete(doId);
        continue;
      }
      const since = this.unknownSince.get(doId) ?? Date.now();
      if (!this.unknownSince.has(doId)) {
        if (this.unknownSince.size > 10_000) this.unknownSince.clear();
        this.unknownSince.set(doId, since);
      }
      if (Date.now() - since < UNKNOWN_DO_WAIT_MS) {
        waiting.push(doId);
        this.counts.unknownDoWaits++;
      } else this.opts.log.warn({ doId }, 'status event for an unknown DO; ignored');
    }
    await this.applyKnown(events, byDo, known);
    if (waiting.length) throw new Error(`status events for DOs not known yet: ${waiting.slice(0, 3).join(', ')}; read again`);
  }

  private async applyKnown(events: DoEventDoc[], byDo: Map<string, DoEventDoc[]>, known: Map<string, DoStateDoc>): Promise<void> {
    const changed: DoStateDoc[] = [];
    // states that already hold these events: a batch replayed after a crash or an error between
    // storing the states and rolling them up, or applied first by another hub instance
    const current: DoStateDoc[] = [];
    for (const found of known.values()) {
      const s = structuredClone(found);
      if (applyEvents(s, byDo.get(s.doId) ?? [])) changed.push(s);
      else current.push(s);
    }
    if (changed.length === 0 && current.length === 0) return;
    // The roll-up starts from the new states as they are written, in the same turn: the orders whose
    // status moves are written in the states' request. Until stored they are seen by the roll-up
    // only (`writing`); a state that fails to store has its events applied again (below, or on a replay).
    const mine = changed.map((s) => structuredClone(s));
    for (const s of mine) this.writing.set(s.doId, s);
    const saving = this.writer.write(changed);
    const rolling = this.hooks.rollUp?.([...changed, ...current]) ?? Promise.resolve(new Map() as OrderViews);
    rolling.catch(() => undefined); // awaited below
    let saved: Awaited<typeof saving>;
    try {
      saved = await saving;
    } finally {
      for (const s of mine) if (this.writing.get(s.doId) === s) this.writing.delete(s.doId);
    }
    // The monitor is the only writer of a dostate after its creation, so a conflict means a replay
    // raced an earlier run of the same batch, or another instance applied them: read and apply again.
    const retry = new Set<string>();
    const failed: string[] = [];
    saved.forEach((r, i) => {
      const s = changed[i]!;
      if (r.rev) {
        s._rev = r.rev;
        this.keepState(structuredClone(s));
        this.noteWritten(s.doId, r.rev);
        return;
      }
      this.states.delete(s.doId);
      if (r.error === 'conflict') retry.add(s.doId);
      else failed.push(`${s._id}: ${r.error ?? 'not saved'}`);
    });
    // anything else: the events are applied again when the database is read (a replay)
    if (failed.length) throw new Error(`storing DO states failed: ${failed.slice(0, 3).join(', ')}`);
    if (retry.size) await this.applyDoEvents(events.filter((e) => retry.has(e.doId)));
    const stored = changed.filter((s) => !retry.has(s.doId));
    // The roll-up (order status, re-sourcing) is idempotent: it runs for the current states too, or
    // a crash after a state was stored and before its order was rolled up would leave the order behind.
    const views = await rolling;
    if (stored.length || current.length) await this.hooks.onDoStates?.([...stored, ...current], views);
    // a DO with no order behind it (a replenishment transfer) has no roll-up to settle it: at its
    // end its state leaves the memory (a late event reads it back)
    if (this.hooks.rollUp) this.settled([...stored, ...current].filter((s) => !views.has(s.orderId)).map((s) => s.doId));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.catchUpTimer);
    await Promise.all([...this.followers.values()].map((f) => f.stop()));
  }
}
