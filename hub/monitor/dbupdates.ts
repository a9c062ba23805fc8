/**
 * The server's `/_db_updates` feed (Apache CouchDB's, and a shared `dom couch`'s: hub/couch/embedded.ts):
 * one longpoll for the whole server naming the databases
 * that changed, instead of reading every node database's `_changes` in turn to find out. The
 * monitor marks the node databases it names for a catch-up read; an idle server costs one request
 * a minute (the longpoll's timeout), whatever the number of nodes.
 */
import type { Couch } from '../couch/index.js';
import { LongPoll, couchJson } from '../couch/longpoll.js';
import type { Logger } from '../../shared/log.js';

interface DbUpdatesAnswer {
  results: { db_name: string; type: string }[];
  last_seq: string | number;
}

export class DbUpdates {
  private poll: LongPoll<DbUpdatesAnswer> | null = null;

  constructor(
    private readonly couch: Couch,
    private readonly log: Logger,
    private readonly onUpdated: (dbName: string) => void,
    /** At most one request in this long: the catch-up it feeds is not urgent. */
    private readonly minIntervalMs = 1_000,
    private readonly timeoutMs = 60_000,
  ) {}

  /** False when the server has no such feed (an older `dom couch` answers 400): the caller sweeps instead. */
  async start(): Promise<boolean> {
    // `since=now` with a zero timeout: answers at once with where the feed stands
    const probe = await couchJson<{ last_seq?: string | number }>(this.couch, `${this.couch.url}/_db_updates?feed=normal&since=now`, '_db_updates').catch(
      () => null,
    );
    if (!probe) return false;
    const prefix = this.couch.prefix;
    this.poll = new LongPoll<DbUpdatesAnswer>({
      couch: this.couch,
      log: this.log,
      name: '_db_updates feed',
      url: (since) => `${this.couch.url}/_db_updates?feed=longpoll&timeout=${this.timeoutMs}&since=${encodeURIComponent(since)}`,
      since: String(probe.last_seq ?? 'now'),
      onAnswer: (body) => {
        for (const r of body.results) {
          if (r.type === 'deleted' || !r.db_name.startsWith(prefix)) continue;
          this.onUpdated(r.db_name.slice(prefix.length));
        }
        return String(body.last_seq);
      },
      minIntervalMs: this.minIntervalMs,
      waitWhenEmpty: true,
      backoffMs: { first: 250, max: 30_000 },
    });
    this.poll.start();
    return true;
  }

  async stop(): Promise<void> {
    await this.poll?.stop();
  }
}
