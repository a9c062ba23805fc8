/**
 * Per-node sync health as the gateway sees it: last seen, where the node's pull stands in its
 * database's feed, its last checkpoint, uploads and errors. Kept in memory for speed and written
 * to `nodestat:<id>` in `dom` every few seconds, so any hub instance can report it.
 */
import type { DocumentScope } from 'nano';
import { ids } from '../../shared/ids.js';
import { isStatus } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';

export interface SyncError {
  at: string;
  status: number;
  code: string;
  message: string;
}

export interface NodeStat {
  id: string;
  lastSeen: string | null;
  /** The `since` of the node's latest `_changes` request: how far it has pulled. */
  lastPullSeq: string | null;
  lastCheckpoint: string | null;
  lastUploadAt: string | null;
  docsUploaded: number;
  openConnections: number;
  /**
   * Open live pulls (`_changes` longpoll or continuous) of this node at this instance. While one
   * waits the node has every document the hub wrote: the gateway answers it as soon as one is
   * written, and the node's own uploads, which move the database's sequence on, never come down.
   */
  pullsWaiting: number;
  errorCount: number;
  errors: SyncError[];
}

const blank = (id: string): NodeStat => ({
  id,
  lastSeen: null,
  lastPullSeq: null,
  lastCheckpoint: null,
  lastUploadAt: null,
  docsUploaded: 0,
  openConnections: 0,
  pullsWaiting: 0,
  errorCount: 0,
  errors: [],
});

type StatDoc = Omit<NodeStat, 'openConnections' | 'pullsWaiting'> & { _id: string; _rev?: string };

export class NodeStats {
  private stats = new Map<string, NodeStat>();
  private dirty = new Set<string>();
  private revs = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly dom: DocumentScope<StatDoc>,
    private readonly log: Logger,
    flushMs = 3_000,
  ) {
    if (flushMs > 0) {
      this.timer = setInterval(() => void this.flush(), flushMs);
      this.timer.unref();
    }
  }

  get(id: string): NodeStat {
    let s = this.stats.get(id);
    if (!s) this.stats.set(id, (s = blank(id)));
    return s;
  }

  touch(id: string, patch: Partial<NodeStat> = {}): NodeStat {
    const s = Object.assign(this.get(id), patch, { lastSeen: new Date().toISOString() });
    this.dirty.add(id);
    return s;
  }

  error(id: string, status: number, code: string, message: string): void {
    const s = this.get(id);
    s.errorCount++;
    s.errors.unshift({ at: new Date().toISOString(), status, code, message: message.slice(0, 300) });
    s.errors.length = Math.min(s.errors.length, 20);
    this.dirty.add(id);
  }

  /** The stored view, for nodes this instance has not seen since it started. */
  async load(id: string): Promise<NodeStat> {
    const mem = this.stats.get(id);
    if (mem) return mem;
    try {
      const doc = await this.dom.get(ids.nodeStat(id));
      const { _id, _rev, ...rest } = doc;
      return { ...blank(id), ...rest, openConnections: 0, pullsWaiting: 0 };
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      return blank(id);
    }
  }

  /**
   * One flush at a time: when a flush outlasted the timer (a busy hub), the next one wrote the same
   * documents with the revisions the first was replacing, and every conflict cost a read — a storm
   * of ~140 reads/s with 100 nodes linked (docs/BENCHMARKS.md).
   */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty];
    this.dirty.clear();
    const docs: StatDoc[] = batch.map((id) => {
      const { openConnections, pullsWaiting, ...rest } = this.get(id);
      const rev = this.revs.get(id);
      return { _id: ids.nodeStat(id), ...(rev ? { _rev: rev } : {}), ...rest };
    });
    try {
      const res = await this.dom.bulk({ docs });
      for (const [i, r] of res.entries()) {
        const id = batch[i]!;
        if (r.rev) this.revs.set(id, r.rev);
        else if (r.error === 'conflict') {
          // another instance (or an earlier run) wrote it: pick up its revision, retry next flush
          const cur = await this.dom.get(ids.nodeStat(id)).catch(() => undefined);
          if (cur?._rev) this.revs.set(id, cur._rev);
          this.dirty.add(id);
        }
      }
    } catch (err) {
      for (const id of batch) this.dirty.add(id);
      this.log.warn({ err }, 'node stats flush failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }
}
