/**
 * A follower of the `dom` database's changes, so that every hub instance sees what the others
 * wrote: new orders and DO states (for the allocator, on the lease holder), and the catalogue,
 * facilities, node registrations and planning documents (caches on every instance). A longpoll
 * loop from "now": what happened before the start is read by the start-up rebuild. The feed carries
 * ids only; a handler says which ids it wants, and only those documents are read.
 */
import type { Couch } from './couch/index.js';
import type { Logger } from '../shared/log.js';
import { prefixOf } from '../shared/ids.js';
import { groupBy } from '../shared/collections.js';

export type DomHandler = (docs: Record<string, unknown>[]) => void | Promise<void>;

interface Subscription {
  fn: DomHandler;
  /** Which changed ids of the prefix the handler wants (default all): the others are not read. */
  wanted?: (id: string) => boolean;
}

export class DomFeed {
  private handlers = new Map<string, Subscription[]>();
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | null = null;

  /**
   * `minIntervalMs`: a longpoll answers at the first change, so each write to `dom` cost a request
   * of its own (about 9 per order of sync traffic, docs/BENCHMARKS.md); waiting this long after an
   * answer gathers the writes meanwhile into the next one. What the feed carries (other instances'
   * orders and DO states, caches) takes at most that much longer.
   */
  constructor(
    private readonly couch: Couch,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
    private readonly minIntervalMs = 100,
  ) {}

  on(prefix: string, fn: DomHandler, wanted?: (id: string) => boolean): void {
    this.handlers.set(prefix, [...(this.handlers.get(prefix) ?? []), { fn, ...(wanted ? { wanted } : {}) }]);
  }

  async start(): Promise<void> {
    const info = await this.couch.dbInfo('dom');
    let since: string = String(info.update_seq);
    this.loop = (async () => {
      let failures = 0;
      while (!this.stopped) {
        const t0 = Date.now();
        try {
          // ids only: the documents a handler wants are read after, in one request; the rest (the
          // allocator's outbox, our own orders as they are written) are never read back
          const url = `${this.couch.dbUrl('dom')}/_changes?feed=longpoll&limit=500&timeout=${this.timeoutMs}&since=${encodeURIComponent(since)}`;
          const res = await fetch(url, { headers: { authorization: this.couch.authHeader, 'accept-encoding': 'identity' }, signal: this.abort.signal });
          if (!res.ok) throw new Error(`dom _changes: ${res.status}`);
          const body = (await res.json()) as { results: { id: string; deleted?: boolean }[]; last_seq: string | number };
          const wanted = body.results.filter((r) => !r.deleted && this.handlers.get(prefixOf(r.id))?.some((h) => !h.wanted || h.wanted(r.id))).map((r) => r.id);
          if (wanted.length) {
            const docs = await this.read(wanted);
            const groups = groupBy(docs, (d) => prefixOf(d._id as string));
            for (const [p, list] of groups) for (const h of this.handlers.get(p)!) await h.fn(h.wanted ? list.filter((d) => h.wanted!(d._id as string)) : list);
          }
          since = String(body.last_seq);
          failures = 0;
          const wait = this.minIntervalMs - (Date.now() - t0);
          if (wait > 0 && body.results.length > 0 && !this.stopped) await new Promise((r) => setTimeout(r, wait));
        } catch (err) {
          if (this.stopped) return;
          failures++;
          this.log.warn({ err: (err as Error).message }, 'dom feed failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** failures)));
        }
      }
    })();
  }

  private async read(idsToRead: string[]): Promise<Record<string, unknown>[]> {
    const res = await fetch(`${this.couch.dbUrl('dom')}/_all_docs?include_docs=true`, {
      method: 'POST',
      headers: { authorization: this.couch.authHeader, 'content-type': 'application/json', 'accept-encoding': 'identity' },
      body: JSON.stringify({ keys: [...new Set(idsToRead)] }),
      signal: this.abort.signal,
    });
    if (!res.ok) throw new Error(`dom _all_docs: ${res.status}`);
    const body = (await res.json()) as { rows: { doc?: Record<string, unknown> | null }[] };
    return body.rows.flatMap((r) => (r.doc ? [r.doc] : []));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    // Node 20's fetch can leave a body read pending after an abort that lands just as the
    // headers arrive; the loop ends by itself once the CouchDB connection closes, so don't wait
    // on it for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop?.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}
