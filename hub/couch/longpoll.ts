/**
 * A CouchDB longpoll feed (`_changes`, `/_db_updates`) as a loop: ask from `since`, hand the answer
 * to `onAnswer`, move `since` on, ask again. A failed request is retried with a growing backoff; an
 * answer is followed by at least `minIntervalMs` before the next request, so that the writes made
 * meanwhile are gathered into one answer instead of one request each. `stop()` aborts the request in
 * flight. Also `couchJson`: one request with the hub's credentials, its JSON answer.
 */
import type { Couch } from './index.js';
import type { Logger } from '../../shared/log.js';
import { couchRequest } from './http.js';

/**
 * One request to CouchDB with the hub's credentials; its JSON answer, or an error naming `what` and the status.
 * `signal` (a feed's, long-lived) aborts it. It is not handed to the request itself: Node 20's
 * fetch left its abort listener on the signal until the request was garbage-collected, so a feed's
 * signal gathered thousands of them (MaxListenersExceededWarning); a signal of the request's own,
 * linked for as long as the request and its body take, leaves nothing behind.
 */
export async function couchJson<T>(couch: Couch, url: string, what: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const own = new AbortController();
  const abort = () => own.abort(init.signal?.reason);
  if (init.signal?.aborted) abort();
  else init.signal?.addEventListener('abort', abort, { once: true });
  try {
    const a = await couchRequest(url, {
      method: init.method ?? 'GET',
      headers: {
        authorization: couch.authHeader,
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: own.signal,
    });
    if (a.status < 200 || a.status >= 300) throw new Error(`${what}: ${a.status}`);
    return JSON.parse(a.text) as T;
  } finally {
    init.signal?.removeEventListener('abort', abort);
  }
}

export interface LongPollOptions<T> {
  couch: Couch;
  log: Logger;
  /** Named in the warnings: `dom feed`, `_db_updates feed`. */
  name: string;
  /** The request's URL from `since`. */
  url: (since: string) => string;
  since: string;
  /** Handles an answer; answers the next `since`. An error counts as a failed request (asked again from the same `since`). */
  onAnswer: (body: T) => string | Promise<string>;
  /** Whether the answer carried anything (an empty answer is followed by the next request at once unless `waitWhenEmpty`). */
  nonEmpty?: (body: T) => boolean;
  /** The wait after an answer; a function is asked again after each answer. */
  minIntervalMs: number | (() => number);
  /** Wait `minIntervalMs` after an empty answer too. */
  waitWhenEmpty?: boolean;
  backoffMs?: { first: number; max: number };
}

export class LongPoll<T> {
  private stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  /** When the last answer was handled (ms since the epoch), or null: none yet. */
  lastAnswerAt: number | null = null;

  constructor(private readonly opts: LongPollOptions<T>) {}

  start(): void {
    const o = this.opts;
    const backoff = o.backoffMs ?? { first: 200, max: 10_000 };
    let since = o.since;
    this.loop = (async () => {
      let failures = 0;
      while (!this.stopped) {
        const t0 = Date.now();
        let waitAfter = false;
        try {
          const body = await couchJson<T>(o.couch, o.url(since), o.name, { signal: this.abort.signal });
          since = await o.onAnswer(body);
          this.lastAnswerAt = Date.now();
          failures = 0;
          waitAfter = o.waitWhenEmpty === true || (o.nonEmpty?.(body) ?? true);
        } catch (err) {
          if (this.stopped) return;
          failures++;
          o.log.warn({ err: (err as Error).message }, `${o.name} failed; retrying`);
          await this.sleep(Math.min(backoff.max, backoff.first * 2 ** failures));
          continue;
        }
        const wait = (typeof o.minIntervalMs === 'function' ? o.minIntervalMs() : o.minIntervalMs) - (Date.now() - t0);
        if (waitAfter && wait > 0) await this.sleep(wait);
      }
    })();
  }

  /** The signal of this feed's requests: aborted by `stop()` (for the reads a handler makes). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((r) => setTimeout(r, ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    // Node 20's fetch can leave a body read pending after an abort that lands just as the headers
    // arrive; the loop ends by itself once the CouchDB connection closes, so don't wait on it for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop?.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}
