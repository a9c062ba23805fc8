/**
 * A node's pull, `GET /sync/:id/_changes`, carrying only what the hub writes (shared/ownership.ts):
 * the documents a node uploads never come back down its own feed, whichever replicator asks.
 *
 * On Apache CouchDB a longpoll waits inside CouchDB's filter (`filter=_selector` on `_id`) for a
 * change that passes it, so a node's upload wakes nothing and costs no request; a node catching up
 * reads the feed unfiltered, the gateway dropping its own rows (`couchPull`). The embedded
 * server (express-pouchdb) reads no selector from a request, so there the gateway filters the rows
 * itself and, when a longpoll woke for the node's own documents only, asks again from the new
 * sequence; a `limit` counts the rows kept, as CouchDB counts them, so a batch is short only at the
 * end of the feed (PouchDB ends a one-shot pull at the first short batch). When the embedded
 * server is this process's own, its write signal tells the node's uploads from the hub's writes
 * (`HubWrites`): a longpoll woken by the node's own documents waits, asking nothing, until the hub
 * writes into the database (or its timeout), instead of asking again at once; and a longpoll from
 * where the last answer ended, with no hub write since, waits so before its first request.
 */
import type { Couch } from '../couch/index.js';
import { PULLED_ID_REGEX, pulledByNode } from '../../shared/ownership.js';

export type ServerKind = 'couchdb' | 'pouchdb';

/** Which server holds the databases: Apache CouchDB answers `{"couchdb":"Welcome", "vendor":…}` at its root. */
export async function serverKind(couch: Couch): Promise<ServerKind> {
  const res = await fetch(`${couch.url}/`, { headers: { authorization: couch.authHeader, accept: 'application/json' } });
  const root = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return 'couchdb' in root && !('express-pouchdb' in root) && !('pouchdb-server' in root) ? 'couchdb' : 'pouchdb';
}

const SELECTOR = JSON.stringify({ selector: { _id: { $regex: PULLED_ID_REGEX } } });

interface ChangeRow {
  id: string;
  seq: string | number;
  [k: string]: unknown;
}

export interface PullRequest {
  dbUrl: string;
  authHeader: string;
  query: URLSearchParams;
  signal: AbortSignal;
  /** Writes into this database other than the node's uploads (the in-process embedded server only). */
  hubWrites?: HubWrites;
}

/** One pull's watch on the hub's writes into its database, from before its first request to its end. */
export interface HubWrites {
  /** Whether the hub wrote since the last `reset` (called as each request to the database goes out). */
  reset(): void;
  /** Resolves true once the hub has written since the last `reset` (at once if it has), false after `ms` or on abort. */
  wait(ms: number, signal: AbortSignal): Promise<boolean>;
  /**
   * Whether this pull's answer ended at `seq` with every hub write before it in the answer (none
   * since its last request went out). The next pull from `seq` then has nothing to read until the
   * hub writes again: it waits first (`quietAt`), instead of asking the database at once.
   */
  answered(seq: string): void;
  /** Whether everything the hub wrote into this database is known to come before `seq`. */
  quietAt(seq: string): boolean;
  close(): void;
}

/** The watches of every pull, by database, fed by the embedded server's `write` events. */
export class HubWriteWatch {
  private byDb = new Map<string, Set<() => void>>();
  /** database → the sequence after which the hub has not written (an answer ended there, no hub write since its request) */
  private quiet = new Map<string, string>();

  constructor(writes: import('node:events').EventEmitter, prefix: string) {
    writes.on('write', (db: string, upload: boolean) => {
      if (upload || !db.startsWith(prefix)) return;
      const name = db.slice(prefix.length);
      this.quiet.delete(name);
      for (const f of this.byDb.get(name) ?? []) f();
    });
  }

  /** A watch on this database (its logical name, `node_<id>`). */
  watch(db: string): HubWrites {
    let wrote = false;
    let wake: (() => void) | undefined;
    const on = () => {
      wrote = true;
      wake?.();
    };
    let set = this.byDb.get(db);
    if (!set) this.byDb.set(db, (set = new Set()));
    set.add(on);
    return {
      reset: () => void (wrote = false),
      wait: (ms, signal) =>
        wrote
          ? Promise.resolve(true)
          : new Promise<boolean>((ok) => {
              const done = (v: boolean) => {
                clearTimeout(t);
                wake = undefined;
                signal.removeEventListener('abort', onAbort);
                ok(v);
              };
              const onAbort = () => done(false);
              const t = Number.isFinite(ms) ? setTimeout(() => done(false), Math.max(0, ms)) : undefined;
              wake = () => done(true);
              signal.addEventListener('abort', onAbort, { once: true });
            }),
      answered: (seq) => {
        if (wrote) this.quiet.delete(db);
        else this.quiet.set(db, seq);
      },
      quietAt: (seq) => this.quiet.get(db) === seq,
      close: () => {
        set.delete(on);
        if (set.size === 0) this.byDb.delete(db);
      },
    };
  }
}

/**
 * Where each node database's feed last stood with nothing more for its node (Apache CouchDB): a
 * longpoll from there waits in CouchDB's selector at once. Per hub instance, by database URL.
 */
export class CaughtUp {
  private at = new Map<string, string>();

  get(db: string): string | undefined {
    return this.at.get(db);
  }

  set(db: string, seq: string): void {
    if (this.at.size >= 10_000 && !this.at.has(db)) this.at.clear();
    this.at.set(db, seq);
  }
}

/**
 * Apache CouchDB. Its `_selector` filter opens every document the feed passes to match it, which
 * doubled the cost of reading a feed (50,000 documents: 1.7–2.1 s unfiltered, 3.7–4.5 s through
 * the selector), so a node catching up (a first sync, a reconnect) reads the feed unfiltered and
 * the gateway drops the node's own rows, as on the embedded server; a `limit` counts the rows kept,
 * and a stretch of the node's own rows is read in pages that double (up to `MAX_PAGE`).
 * A longpoll with nothing left for its node (or from where the last answer left it caught up)
 * waits in the selector, so that the node's own uploads wake nothing and cost no request. Feeds
 * this cannot read row by row (continuous, `seq_interval`, descending) and feeds without a `limit`
 * (whose rows the gateway would hold all at once) go through the selector, streamed.
 */
export async function couchPull(p: PullRequest, caughtUp?: CaughtUp): Promise<Response> {
  const feed = p.query.get('feed') ?? 'normal';
  const since = p.query.get('since') ?? '0';
  const limit = p.query.has('limit') ? Number(p.query.get('limit')) : Infinity;
  const rowByRow =
    feed !== 'continuous' && !p.query.has('seq_interval') && p.query.get('descending') !== 'true' && since !== 'now' && Number.isFinite(limit) && limit > 0;
  if (!rowByRow || (feed === 'longpoll' && caughtUp?.get(p.dbUrl) === since)) return selectorPull(p, p.query, caughtUp);
  const q = new URLSearchParams(p.query);
  q.set('feed', 'normal');
  q.delete('heartbeat');
  q.delete('timeout');
  const headers = { authorization: p.authHeader, accept: 'application/json', 'accept-encoding': 'identity' };
  const kept: ChangeRow[] = [];
  let from = since;
  let page = limit;
  let body: { results: ChangeRow[]; last_seq: string | number; pending?: number };
  for (;;) {
    q.set('since', from);
    q.set('limit', String(page));
    const res = await fetch(`${p.dbUrl}/_changes?${q}`, { headers, signal: p.signal });
    // nothing is sent yet: an error from the database is passed on as it is
    if (!res.ok) return res;
    body = (await res.json()) as typeof body;
    const before = kept.length;
    for (const r of body.results) if (kept.length < limit && pulledByNode(r.id)) kept.push(r);
    if (kept.length >= limit || body.results.length < page) break;
    // a stretch of the node's own rows (a DC's events): read on in larger pages
    if (kept.length - before < page / 2 && page < MAX_PAGE) page = Math.min(page * 2, MAX_PAGE);
    from = String(body.last_seq);
  }
  if (kept.length >= limit) return json({ results: kept, last_seq: kept.at(-1)!.seq });
  // the end of the feed: nothing for the node yet, and a longpoll waits for what comes next
  if (kept.length === 0 && feed === 'longpoll') {
    const rest = new URLSearchParams(p.query);
    rest.set('since', String(body.last_seq));
    return selectorPull(p, rest, caughtUp);
  }
  caughtUp?.set(p.dbUrl, String(body.last_seq));
  return json({ results: kept, last_seq: body.last_seq, ...(body.pending !== undefined ? { pending: body.pending } : {}) });
}

/** The largest page a catch-up reads through a stretch of the node's own rows. */
const MAX_PAGE = 5_000;

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

/**
 * The request through CouchDB's selector; the answer streams through untouched. A longpoll's
 * answer that is not cut by its limit leaves the node caught up where it ends.
 */
async function selectorPull(p: PullRequest, query: URLSearchParams, caughtUp?: CaughtUp): Promise<Response> {
  const q = new URLSearchParams(query);
  q.set('filter', '_selector');
  const res = await fetch(`${p.dbUrl}/_changes?${q}`, {
    method: 'POST',
    headers: { authorization: p.authHeader, accept: 'application/json', 'accept-encoding': 'identity', 'content-type': 'application/json' },
    body: SELECTOR,
    signal: p.signal,
  });
  if (!caughtUp || !res.ok || !res.body || q.get('feed') !== 'longpoll') return res;
  const limit = q.has('limit') ? Number(q.get('limit')) : Infinity;
  // a longpoll's answer is one small object after the heartbeats' newlines
  const dec = new TextDecoder();
  let text = '';
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      text += dec.decode(chunk, { stream: true });
      ctl.enqueue(chunk);
    },
    flush() {
      try {
        const b = JSON.parse(text) as { results?: unknown[]; last_seq?: string | number };
        if (Array.isArray(b.results) && b.last_seq !== undefined && b.results.length < limit) caughtUp.set(p.dbUrl, String(b.last_seq));
      } catch {
        // an answer cut short: the next pull reads the feed from where it asks
      }
    },
  });
  return new Response(res.body.pipeThrough(tap), { status: res.status, headers: res.headers });
}

const lineFilter = () => {
  let carry = '';
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const keep = (line: string) => {
    const m = /"id"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(line);
    return !m || pulledByNode(JSON.parse(`"${m[1]}"`) as string);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      const lines = (carry + dec.decode(chunk, { stream: true })).split('\n');
      carry = lines.pop()!;
      const out = lines.filter(keep);
      if (out.length) ctl.enqueue(enc.encode(out.map((l) => `${l}\n`).join('')));
    },
    flush(ctl) {
      if (carry && keep(carry)) ctl.enqueue(enc.encode(carry));
    },
  });
};

/**
 * The embedded server: filtered here. The answer is a stream so that a longpoll that asks for
 * heartbeats gets them while the gateway waits on its behalf.
 */
export async function pouchPull(p: PullRequest): Promise<Response> {
  const headers = { authorization: p.authHeader, accept: 'application/json', 'accept-encoding': 'identity' };
  const feed = p.query.get('feed') ?? 'normal';
  if (feed === 'continuous') {
    const upstream = await fetch(`${p.dbUrl}/_changes?${p.query}`, { headers, signal: p.signal });
    if (!upstream.ok || !upstream.body) return upstream;
    return new Response(upstream.body.pipeThrough(lineFilter()), { status: 200, headers: { 'content-type': 'application/json' } });
  }
  const limit = p.query.has('limit') ? Number(p.query.get('limit')) : Infinity;
  const timeoutMs = p.query.has('timeout') ? Number(p.query.get('timeout')) : p.query.has('heartbeat') ? Infinity : 60_000;
  const heartbeat = p.query.get('heartbeat');
  const heartbeatMs = heartbeat === null ? 0 : heartbeat === 'true' ? 60_000 : Math.max(1_000, Number(heartbeat));
  const started = Date.now();
  // a longpoll from where the last answer ended, with no hub write since: nothing to read until
  // the hub writes (the node's own uploads never come down), so it waits before its first request.
  // Each DO cost two requests before: one woken by the node's own upload, one after the hub's write.
  const from = p.query.get('since');
  const quiet = feed === 'longpoll' && from !== null && p.hubWrites?.quietAt(from) === true;
  const ask = async (since: string | null) => {
    p.hubWrites?.reset();
    const q = new URLSearchParams(p.query);
    if (since !== null) q.set('since', since);
    if (Number.isFinite(timeoutMs) && feed === 'longpoll') q.set('timeout', String(Math.max(1, timeoutMs - (Date.now() - started))));
    const res = await fetch(`${p.dbUrl}/_changes?${q}`, { headers, signal: p.signal });
    return res.ok
      ? { ok: true as const, body: (await res.json()) as { results: ChangeRow[]; last_seq: string | number; pending?: number } }
      : { ok: false as const, res };
  };
  // the first answer decides the status: an error from the database is passed on as it is
  const first = quiet
    ? { ok: true as const, body: { results: [] as ChangeRow[], last_seq: from! as string | number, pending: undefined as number | undefined } }
    : await ask(null).catch((err: unknown) => {
        p.hubWrites?.close();
        throw err;
      });
  if (!first.ok) {
    p.hubWrites?.close();
    return first.res;
  }
  const enc = new TextEncoder();
  let beat: NodeJS.Timeout | undefined;
  let gone = false;
  const stream = new ReadableStream<Uint8Array>({
    async start(ctl) {
      // a write to a stream the client has left throws: never from a timer (it would end the process)
      const send = (text: string) => {
        if (gone) return;
        try {
          ctl.enqueue(enc.encode(text));
        } catch {
          gone = true;
        }
      };
      if (heartbeatMs) beat = setInterval(() => send('\n'), heartbeatMs);
      try {
        const kept: ChangeRow[] = [];
        let body = first.body;
        if (quiet && (await p.hubWrites!.wait(timeoutMs, p.signal))) {
          const next = await ask(from);
          if (!next.ok) throw new Error(`_changes: ${next.res.status}`);
          body = next.body;
        }
        for (;;) {
          for (const r of body.results) if (kept.length < limit && pulledByNode(r.id)) kept.push(r);
          const exhausted = !Number.isFinite(limit) || body.results.length < limit;
          const done =
            kept.length >= limit || (exhausted && (kept.length > 0 || feed !== 'longpoll' || body.results.length === 0 || Date.now() - started >= timeoutMs));
          if (done) break;
          // woken by the node's own documents only: nothing to ask for until the hub writes here
          if (p.hubWrites && feed === 'longpoll' && kept.length === 0 && exhausted) {
            if (!(await p.hubWrites.wait(timeoutMs - (Date.now() - started), p.signal))) break;
          }
          const next = await ask(String(body.last_seq));
          if (!next.ok) throw new Error(`_changes: ${next.res.status}`);
          body = next.body;
        }
        // last_seq: where the rows kept end when the limit cut them, else where the feed stands
        const lastSeq = kept.length >= limit && kept.length > 0 ? kept.at(-1)!.seq : body.last_seq;
        // an answer the limit cut may have more of the hub's after it: only a whole one ends quiet
        if (kept.length < limit) p.hubWrites?.answered(String(lastSeq));
        send(JSON.stringify({ results: kept, last_seq: lastSeq, ...(body.pending !== undefined ? { pending: body.pending } : {}) }));
      } catch (err) {
        // the status (200) is gone already: CouchDB's error shape, which the replicator retries on
        if (!p.signal.aborted) send(JSON.stringify({ error: 'unavailable', reason: (err as Error).message }));
      } finally {
        clearInterval(beat);
        p.hubWrites?.close();
        if (!gone) {
          try {
            ctl.close();
          } catch {
            // cancelled meanwhile
          }
        }
      }
    },
    cancel() {
      gone = true;
      clearInterval(beat);
      p.hubWrites?.close();
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/json' } });
}
