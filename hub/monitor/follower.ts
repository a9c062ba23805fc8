/**
 * A changes-feed follower in the manner of CHT's sentinel: it reads a bounded batch of changes at a
 * time (the queue can never grow past one batch), hands it to its handler, then checkpoints the
 * sequence it has processed in `dom`. After a restart or an error it resumes from the checkpoint,
 * so a change is handled at least once and handlers are idempotent.
 *
 * It does not hold a feed open: it runs when poked (the gateway pokes on every upload) and on a
 * slow sweep, so a thousand node databases cost a thousand documents, not a thousand sockets.
 *
 * What a read costs, at its least (Apache CouchDB, a database the hub itself wrote to): one
 * request. The `selector` filters `_changes` on the server, so documents nobody handles (the DOs,
 * items and counts the hub wrote there) are not sent; a read that finds nothing keeps its new
 * sequence in memory and writes it with the next checkpoint that matters (or at `stop`), since
 * reading from the older one again finds the same nothing; checkpoints go out through the shared
 * group commit (`writer`); and the monitor seeds every follower's checkpoint from one read of them
 * all (`seed`).
 */
import type { Couch } from '../couch/index.js';
import type { Logger } from '../../shared/log.js';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';
import { couchJson } from '../couch/longpoll.js';
import type { BulkWriter } from '../couch/bulk.js';

export interface Change<D> {
  id: string;
  seq: string | number;
  deleted?: boolean;
  doc?: D;
}

export interface FollowerOptions<D> {
  couch: Couch;
  dbName: string;
  /** Where progress is kept in `dom`: one checkpoint per hub instance and database. */
  checkpointId?: string;
  batchSize?: number;
  log: Logger;
  handle: (changes: Change<D>[]) => Promise<void>;
  /**
   * A Mango selector for `_changes?filter=_selector` (Apache CouchDB): only the changes it matches
   * are read. Not for the embedded server, which cannot filter `_changes`.
   */
  selector?: Record<string, unknown>;
  /** The group commit of `dom` that the checkpoints go out through (default: a write of their own). */
  writer?: BulkWriter;
}

export interface CheckpointDoc {
  _id: string;
  _rev?: string;
  seq: string | number;
  at: string;
}

export class ChangesFollower<D = Record<string, unknown>> {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private seq: string | number | undefined;
  private checkpointRev: string | undefined;
  /** A sequence read past but not yet written (the read found nothing to handle). */
  private unsaved: string | number | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  processed = 0;

  constructor(private readonly opts: FollowerOptions<D>) {}

  private get checkpointId() {
    return this.opts.checkpointId ?? ids.monitorCheckpoint(this.opts.dbName);
  }

  get dbName() {
    return this.opts.dbName;
  }

  get checkpointDocId() {
    return this.checkpointId;
  }

  /** The checkpoint as read elsewhere (null: there is none), so that the first run does not read it. */
  seed(cp: CheckpointDoc | null): void {
    if (this.seq !== undefined || this.running) return;
    this.seq = cp?.seq ?? 0;
    this.checkpointRev = cp?._rev;
  }

  /** Ask for a run; runs coalesce, and a poke during a run causes one more. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.poke();
      }
    });
    return this.running;
  }

  private async loadCheckpoint(): Promise<void> {
    try {
      const cp = await this.opts.couch.db<CheckpointDoc>('dom').get(this.checkpointId);
      this.seq = cp.seq;
      this.checkpointRev = cp._rev;
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      this.seq = 0;
    }
  }

  private async saveCheckpoint(seq: string | number): Promise<void> {
    const doc: CheckpointDoc = { _id: this.checkpointId, seq, at: new Date().toISOString() };
    if (this.checkpointRev) doc._rev = this.checkpointRev;
    const conflict = () => this.loadCheckpoint(); // someone else moved it: reload and keep the later of the two next time
    if (this.opts.writer) {
      const [r] = await this.opts.writer.write([doc]);
      if (r?.rev) this.checkpointRev = r.rev;
      else if (r?.error === 'conflict') await conflict();
      else throw new Error(`saving the checkpoint of ${this.opts.dbName} failed: ${r?.error ?? 'no answer'}`);
    } else {
      try {
        const r = await this.opts.couch.db<CheckpointDoc>('dom').insert(doc);
        this.checkpointRev = r.rev;
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
        await conflict();
      }
    }
    this.seq = seq;
    this.unsaved = undefined;
  }

  private readChanges(batchSize: number): Promise<{ results: Change<D>[]; last_seq?: string | number }> {
    const { couch, dbName, selector } = this.opts;
    if (!selector)
      return couch
        .db(dbName)
        .changes({ since: String(this.seq), limit: batchSize, include_docs: true })
        .then((r) => r as unknown as { results: Change<D>[]; last_seq?: string | number });
    const qs = `filter=_selector&include_docs=true&limit=${batchSize}&since=${encodeURIComponent(String(this.seq))}`;
    return couchJson(couch, `${couch.dbUrl(dbName)}/_changes?${qs}`, `_changes of ${dbName}`, { method: 'POST', body: { selector } });
  }

  private async drain(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 200;
    try {
      if (this.seq === undefined) await this.loadCheckpoint();
      for (;;) {
        if (this.stopped) return;
        const res = await this.readChanges(batchSize);
        const results = res.results;
        if (results.length > 0) {
          await this.opts.handle(results);
          this.processed += results.length;
        }
        if (res.last_seq !== undefined && String(res.last_seq) !== String(this.seq)) {
          if (results.length > 0 || !this.opts.selector) await this.saveCheckpoint(res.last_seq);
          else this.seq = this.unsaved = res.last_seq;
        }
        if (results.length < batchSize) break;
      }
      this.failures = 0;
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7)) * (0.5 + Math.random() / 2);
      this.opts.log.warn({ err: (err as Error).message, db: this.opts.dbName, retryInMs: Math.round(delay) }, 'changes follower failed; will retry');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.poke(), delay);
      this.retryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.running?.catch(() => undefined);
    // what a read found nothing in: not read again after a restart (a failure here only costs that read)
    if (this.unsaved !== undefined) await this.saveCheckpoint(this.unsaved).catch(() => undefined);
  }
}
