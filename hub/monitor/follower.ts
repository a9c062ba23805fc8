/**
 * A changes-feed follower in the manner of CHT's sentinel: it reads a bounded batch of changes at a
 * time (the queue can never grow past one batch), hands it to its handler, then checkpoints the
 * sequence it has processed in `dom`. After a restart or an error it resumes from the checkpoint,
 * so a change is handled at least once and handlers are idempotent.
 *
 * It does not hold a feed open: it runs when poked (the gateway pokes on every upload) and on a
 * slow sweep, so a thousand node databases cost a thousand documents, not a thousand sockets.
 */
import type { Couch } from '../couch/index.js';
import type { Logger } from '../../shared/log.js';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';

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
}

interface CheckpointDoc {
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
    try {
      const r = await this.opts.couch.db<CheckpointDoc>('dom').insert(doc);
      this.checkpointRev = r.rev;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      // someone else moved it: reload and keep the later of the two next time
      await this.loadCheckpoint();
    }
    this.seq = seq;
  }

  private async drain(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 200;
    try {
      if (this.seq === undefined) await this.loadCheckpoint();
      for (;;) {
        if (this.stopped) return;
        const res = await this.opts.couch.db(this.opts.dbName).changes({
          since: String(this.seq),
          limit: batchSize,
          include_docs: true,
        });
        const results = res.results as unknown as Change<D>[];
        if (results.length > 0) {
          await this.opts.handle(results);
          this.processed += results.length;
        }
        if (res.last_seq !== undefined && String(res.last_seq) !== String(this.seq)) await this.saveCheckpoint(res.last_seq);
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
  }
}
