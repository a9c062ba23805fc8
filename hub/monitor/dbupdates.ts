/**
 * Apache CouchDB's `/_db_updates` feed: one longpoll for the whole server naming the databases
 * that changed, instead of reading every node database's `_changes` in turn to find out. The
 * monitor marks the node databases it names for a catch-up read; an idle server costs one request
 * a minute (the longpoll's timeout), whatever the number of nodes.
 */
import type { Couch } from '../couch/index.js';
import type { Logger } from '../../shared/log.js';

export class DbUpdates {
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly couch: Couch,
    private readonly log: Logger,
    private readonly onUpdated: (dbName: string) => void,
    /** At most one request in this long: the catch-up it feeds is not urgent. */
    private readonly minIntervalMs = 1_000,
    private readonly timeoutMs = 60_000,
  ) {}

  private url(since: string) {
    return `${this.couch.url}/_db_updates?feed=longpoll&timeout=${this.timeoutMs}&since=${encodeURIComponent(since)}`;
  }

  /** False when the server has no such feed (the embedded server answers 400): the caller sweeps instead. */
  async start(): Promise<boolean> {
    const headers = { authorization: this.couch.authHeader, accept: 'application/json', 'accept-encoding': 'identity' };
    let since = 'now';
    // `since=now` with a zero timeout: answers at once with where the feed stands
    const probe = await fetch(`${this.couch.url}/_db_updates?feed=normal&since=now`, { headers }).catch(() => null);
    if (!probe?.ok) {
      await probe?.body?.cancel();
      return false;
    }
    since = String(((await probe.json()) as { last_seq?: string | number }).last_seq ?? 'now');
    const prefix = this.couch.prefix;
    this.loop = (async () => {
      let failures = 0;
      while (!this.stopped) {
        const t0 = Date.now();
        try {
          const res = await fetch(this.url(since), { headers, signal: this.abort.signal });
          if (!res.ok) throw new Error(`_db_updates: ${res.status}`);
          const body = (await res.json()) as { results: { db_name: string; type: string }[]; last_seq: string | number };
          for (const r of body.results) {
            if (r.type === 'deleted' || !r.db_name.startsWith(prefix)) continue;
            this.onUpdated(r.db_name.slice(prefix.length));
          }
          since = String(body.last_seq);
          failures = 0;
        } catch (err) {
          if (this.stopped) return;
          failures++;
          this.log.warn({ err: (err as Error).message }, '_db_updates feed failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** failures)));
        }
        const wait = this.minIntervalMs - (Date.now() - t0);
        if (wait > 0 && !this.stopped) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop?.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}
