/**
 * A follower of the `dom` database's changes, so that every hub instance sees what the others
 * wrote: new orders and DO states (for the allocator, on the lease holder), and the catalogue,
 * facilities, node registrations and planning documents (caches on every instance). A longpoll
 * loop from "now": what happened before the start is read by the start-up rebuild. The feed carries
 * ids only; a handler says which ids it wants, and only those documents are read.
 */
import type { Couch } from './couch/index.js';
import { LongPoll, couchJson } from './couch/longpoll.js';
import type { Logger } from '../shared/log.js';
import { prefixOf } from '../shared/ids.js';
import { groupBy } from '../shared/collections.js';

export type DomHandler = (docs: Record<string, unknown>[]) => void | Promise<void>;

interface Subscription {
  fn: DomHandler;
  /**
   * Which changes of the prefix the handler wants, by id and new revision (default all): the others
   * are not read (a revision this instance wrote itself, say).
   */
  wanted?: (id: string, rev: string) => boolean;
}

interface ChangesAnswer {
  results: { id: string; deleted?: boolean; changes?: { rev: string }[] }[];
  last_seq: string | number;
}

export class DomFeed {
  private handlers = new Map<string, Subscription[]>();
  private poll: LongPoll<ChangesAnswer> | null = null;

  /**
   * The wait after an answer. A longpoll answers at the first change, so each write to `dom` cost a
   * request of its own (about 9 per order of sync traffic, docs/BENCHMARKS.md); waiting after an
   * answer gathers the writes meanwhile into the next one. `minIntervalMs` (200 ms, the allocator's
   * default batch window) after an answer that held something a handler wanted: another instance's
   * orders and DO states, caches. After one that held only what this instance wrote itself (the
   * steady case of a single instance: at 200 ms, 2.5 requests per order at 2 orders/s), the wait
   * doubles, up to `maxIntervalMs`. The open longpoll itself answers a change at once: only a change
   * made while the feed waits, under this instance's own steady writes, is seen that much later.
   */
  private intervalMs: number;

  constructor(
    private readonly couch: Couch,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
    private readonly minIntervalMs = 200,
    private readonly maxIntervalMs = 1_000,
  ) {
    this.intervalMs = minIntervalMs;
  }

  /**
   * Whether the feed is current: it answered within its timeout and a little more, so whatever
   * changed in `dom` before the last few seconds has been handed to the handlers (a cache kept by
   * the feed can be trusted).
   */
  get live(): boolean {
    const at = this.poll?.lastAnswerAt;
    return at != null && Date.now() - at < this.timeoutMs + this.maxIntervalMs + 5_000;
  }

  on(prefix: string, fn: DomHandler, wanted?: (id: string, rev: string) => boolean): void {
    this.handlers.set(prefix, [...(this.handlers.get(prefix) ?? []), { fn, ...(wanted ? { wanted } : {}) }]);
  }

  async start(): Promise<void> {
    const info = await this.couch.dbInfo('dom');
    this.poll = new LongPoll<ChangesAnswer>({
      couch: this.couch,
      log: this.log,
      name: 'dom feed',
      // ids and revisions only: the documents a handler wants are read after, in one request; the
      // rest (the allocator's outbox, what this instance wrote itself) are never read back
      url: (since) => `${this.couch.dbUrl('dom')}/_changes?feed=longpoll&limit=500&timeout=${this.timeoutMs}&since=${encodeURIComponent(since)}`,
      since: String(info.update_seq),
      onAnswer: async (body) => {
        const want = new Map<string, Set<Subscription>>();
        for (const r of body.results) {
          if (r.deleted) continue;
          const rev = r.changes?.[0]?.rev ?? '';
          for (const h of this.handlers.get(prefixOf(r.id)) ?? []) {
            if (h.wanted && !h.wanted(r.id, rev)) continue;
            if (!want.has(r.id)) want.set(r.id, new Set());
            want.get(r.id)!.add(h);
          }
        }
        this.intervalMs = want.size ? this.minIntervalMs : Math.min(this.maxIntervalMs, this.intervalMs * 2);
        if (want.size) {
          const docs = await this.read([...want.keys()]);
          const groups = groupBy(docs, (d) => prefixOf(d._id as string));
          for (const [p, list] of groups) {
            for (const h of this.handlers.get(p)!) {
              const mine = list.filter((d) => want.get(d._id as string)?.has(h));
              if (mine.length) await h.fn(mine);
            }
          }
        }
        return String(body.last_seq);
      },
      nonEmpty: (body) => body.results.length > 0,
      minIntervalMs: () => this.intervalMs,
    });
    this.poll.start();
  }

  private async read(idsToRead: string[]): Promise<Record<string, unknown>[]> {
    const body = await couchJson<{ rows: { doc?: Record<string, unknown> | null }[] }>(
      this.couch,
      `${this.couch.dbUrl('dom')}/_all_docs?include_docs=true`,
      'dom _all_docs',
      { method: 'POST', body: { keys: idsToRead }, ...(this.poll ? { signal: this.poll.signal } : {}) },
    );
    return body.rows.flatMap((r) => (r.doc ? [r.doc] : []));
  }

  async stop(): Promise<void> {
    await this.poll?.stop();
  }
}
