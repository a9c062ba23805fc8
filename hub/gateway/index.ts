/**
 * The sync gateway, `/sync/:nodeId/*`: the only door a node has to CouchDB. It authenticates the
 * node's token, maps it to `node_<id>` and nothing else, passes through exactly the endpoints that
 * PouchDB replication uses, and validates every uploaded document against the ownership table: a
 * refused document gets CouchDB's own per-document `forbidden` answer and the others are written,
 * so one bad document never stops a node's uploads.
 * Responses are rebuilt with fresh headers: copying upstream hop-by-hop or stale length/encoding
 * headers breaks replication (docs/ARCHITECTURE.md, "The gateway").
 */
import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Couch } from '../couch/index.js';
import type { NodeRegistry } from '../registry.js';
import { FailureLimiter } from '../../shared/ratelimit.js';
import { bearerToken, errorHandler, limitBody } from '../../shared/http.js';
import type { Logger } from '../../shared/log.js';
import { checkParams, route } from './params.js';
import { checkNodeDoc, type UploadRefusal } from './validate.js';
import { nodeDbOwnership } from '../../shared/ownership.js';
import type { NodeStats } from './stats.js';
import { CaughtUp, HubWriteWatch, couchPull, pouchPull, serverKind, type ServerKind } from './pull.js';
import { UPLOAD_HEADER } from '../couch/embedded.js';
import { couchRequest } from '../couch/http.js';

export interface GatewayOptions {
  couch: Couch;
  registry: NodeRegistry;
  stats: NodeStats;
  log: Logger;
  /**
   * Called after a node's upload is stored, with the documents just validated and written (a
   * single-document PUT, or the accepted ones of a `_bulk_docs`), so the hub applies them without
   * reading them back from CouchDB.
   */
  onUpload?: (nodeId: string, docs: Record<string, unknown>[]) => void;
  /**
   * The sync epoch, answered as the `uuid` of `GET /sync/`: PouchDB builds its replication ids from
   * it, so a new epoch (after the hub's databases were restored from a backup) starts every node's
   * replications afresh from sequence 0 (docs/OPERATIONS.md, "Restoring the hub from a backup").
   */
  epoch?: () => string;
  maxBodyBytes?: number;
  /** Open sync requests allowed per hub instance; beyond it a node is told to come back (503). */
  maxConnections?: number;
  limiter?: FailureLimiter;
}

export interface Gateway {
  app: Hono;
  openConnections(): number;
}

const fail = (c: Context, status: 400 | 401 | 403 | 404 | 405 | 413 | 429 | 503, code: string, message: string, extra?: object) =>
  c.json({ error: code, reason: message, ...extra }, status);

function clientKey(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createGateway(opts: GatewayOptions): Gateway {
  const { couch, registry, stats, log } = opts;
  const limiter = opts.limiter ?? new FailureLimiter();
  const maxConnections = opts.maxConnections ?? 5_000;
  let open = 0;
  const dbInfos = new Map<string, { info: Record<string, unknown>; at: number }>();
  const app = new Hono();
  // errors in CouchDB's own shape, `{"error": string, "reason": string}`: PouchDB's replicator reads
  // `error` as the error's name, and an object there (the API's `{"error":{code,message}}`) made
  // it throw inside its retry logic and end the node's process (seen when CouchDB was killed)
  const apiErrors = errorHandler(log);
  app.onError(async (err, c) => {
    const res = await apiErrors(err, c);
    const body = (await res
      .clone()
      .json()
      .catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    const retry = res.headers.get('retry-after');
    if (retry) headers.set('retry-after', retry);
    return new Response(JSON.stringify({ error: body?.error?.code ?? 'error', reason: body?.error?.message ?? 'error' }), { status: res.status, headers });
  });
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  // bodies through Hono here: read off Node's request (as the APIs read them), a gateway fuzz case
  // (test/integration/fuzz.test.ts) hung a longpoll in 2 of 7 runs, for a reason not yet found
  app.use(limitBody(maxBody, { onError: (c) => c.json({ error: 'too_large', reason: `the request body is over ${maxBody} bytes` }, 413), viaHono: true }));

  // the server's root, as CouchDB answers it: PouchDB asks it for the `uuid` of its replication ids
  // (`/sync/`, where PouchDB asks it, and `/sync`)
  const root = (c: Context) => c.json({ couchdb: 'Welcome', vendor: { name: 'DOM sync gateway' }, uuid: opts.epoch?.() ?? 'dom-sync' });
  app.get('/', root);
  app.get('/:root{^$}', root);
  let kind: Promise<ServerKind> | undefined;
  // the in-process embedded server's writes: a pull woken by the node's own upload waits for the hub's
  const hubWrites = couch.writes ? new HubWriteWatch(couch.writes, couch.prefix) : undefined;
  // Apache CouchDB: where each node's feed last left it with nothing more to pull
  const caughtUp = new CaughtUp();
  const kindOf = () => (kind ??= serverKind(couch).catch(() => ((kind = undefined), 'pouchdb' as const)));

  app.all('/:nodeId/*', handle);
  app.all('/:nodeId', handle);

  async function handle(c: Context): Promise<Response> {
    const nodeId = c.req.param('nodeId') ?? '';
    // keyed by client and node: guessing one node's token does not lock out the others
    const who = `${clientKey(c)}|${nodeId}`;
    if (limiter.blocked(who)) return fail(c, 429, 'too_many_requests', 'too many failed authentications; try later');
    const token = bearerToken(c);
    const node = token ? await registry.authenticate(nodeId, token) : null;
    if (!node) {
      limiter.fail(who);
      return fail(c, 401, 'unauthorized', 'invalid node token');
    }
    const prefix = `/sync/${encodeURIComponent(nodeId)}`;
    const rawPath = new URL(c.req.url).pathname;
    const rest = rawPath.startsWith(prefix) ? rawPath.slice(prefix.length) : rawPath.replace(/^\/[^/]*\/[^/]*/, '');
    const r = route(c.req.method, rest);
    if ('error' in r) {
      stats.error(nodeId, r.status, 'refused', r.error);
      return fail(c, r.status, r.status === 405 ? 'method_not_allowed' : 'forbidden', r.error);
    }
    const query = new URL(c.req.url).searchParams;
    const bad = checkParams(r.endpoint, query);
    if (bad) {
      stats.error(nodeId, 400, 'bad_request', bad);
      return fail(c, 400, 'bad_request', bad);
    }
    if (open >= maxConnections) return fail(c, 503, 'busy', 'hub instance at its connection limit; retry', { retry: true });

    let body: string | undefined;
    /** Documents of a `_bulk_docs` refused one by one: answered as CouchDB's validate_doc_update would. */
    let refusedDocs: BulkRefusal | null = null;
    if (c.req.method === 'POST' || c.req.method === 'PUT') {
      body = await c.req.text();
      let parsed: unknown;
      // CouchDB's replicator posts `_ensure_full_commit` with no body at all
      if (r.endpoint === 'ensure_full_commit' && body.trim() === '') body = '{}';
      try {
        parsed = JSON.parse(body);
      } catch {
        stats.error(nodeId, 400, 'bad_request', 'malformed JSON');
        return fail(c, 400, 'bad_request', 'the body is not valid JSON');
      }
      // CouchDB's replicator asks an empty `_bulk_get` to learn whether it is served: CouchDB's
      // own answer, given here (express-pouchdb never answers one, and the gateway refuses to ask it)
      const asked = typeof parsed === 'object' && parsed !== null ? (parsed as { docs?: unknown }).docs : undefined;
      if (r.endpoint === 'bulk_get' && Array.isArray(asked) && asked.length === 0) {
        stats.touch(nodeId);
        return c.json({ results: [] }, 200);
      }
      const refusal = checkWrite(r.endpoint, r.docId, parsed, query);
      // A live push's `_revs_diff` (a few documents just written at the node) is answered here:
      // every revision missing. The documents then come in the `_bulk_docs` that follows anyway,
      // and one CouchDB already has is a no-op there (`new_edits: false` merges revision trees),
      // so a request per upload is saved for, at worst, a few documents sent again after a restart.
      // A large one (a first or resumed upload) is asked of CouchDB, which sends only what it lacks,
      // and so is one naming documents a node does not write (a replicator without PouchDB's push
      // filter offers the hub's own documents back: CouchDB has them, and they are not sent).
      const small = r.endpoint === 'revs_diff' && !refusal && Object.keys(parsed as object).length <= SMALL_REVS_DIFF;
      if (small && Object.keys(parsed as object).every((id) => nodeDbOwnership(id)?.writer === 'node')) {
        stats.touch(nodeId);
        const answer = Object.fromEntries(Object.entries(parsed as Record<string, string[]>).map(([id, revs]) => [id, { missing: revs }]));
        return c.json(answer, 200);
      }
      if (refusal) {
        stats.error(nodeId, refusal.status, 'forbidden', refusal.reason);
        log.warn({ nodeId, reason: refusal.reason }, 'upload refused');
        return fail(c, refusal.status, refusal.status === 403 ? 'forbidden' : 'bad_request', refusal.reason, { refused: refusal.refused });
      }
      if (r.endpoint === 'bulk_docs') {
        refusedDocs = splitUpload(parsed as { docs: unknown[]; new_edits?: boolean });
        if (refusedDocs.refused.length) {
          const first = refusedDocs.refused[0]!;
          stats.error(nodeId, 403, 'forbidden', `${refusedDocs.refused.length} document(s) refused: ${first.id ?? '(no id)'}: ${first.reason}`);
          log.warn({ nodeId, refused: refusedDocs.refused.slice(0, 5) }, 'documents refused');
          // nothing left to write: CouchDB's answer for every document refused
          if (refusedDocs.accepted.length === 0) return c.json(refusedDocs.answer([]), 201);
          body = JSON.stringify({ ...(parsed as object), docs: refusedDocs.accepted });
        } else refusedDocs = null;
      }
      if (r.endpoint === 'local' && typeof (parsed as { last_seq?: unknown }).last_seq !== 'undefined') {
        stats.touch(nodeId, { lastCheckpoint: String((parsed as { last_seq: unknown }).last_seq) });
      }
    }
    if (r.endpoint === 'changes') stats.touch(nodeId, { lastPullSeq: query.get('since') ?? '0' });
    else stats.touch(nodeId);
    // database info, asked by replicators at every start and by some at every checkpoint: from
    // memory when this instance read it within the last second (its figures are for progress only)
    const cachedInfo = r.endpoint === 'db' && c.req.method === 'GET' ? dbInfos.get(node.db) : undefined;
    if (cachedInfo && Date.now() - cachedInfo.at < DB_INFO_MS) return c.json(cachedInfo.info, 200, { 'cache-control': 'no-store' });

    const target = `${couch.dbUrl(node.db)}${rest.startsWith('/') ? rest : `/${rest}`}${query.size ? `?${query}` : ''}`;
    open++;
    stats.get(nodeId).openConnections++;
    const live = r.endpoint === 'changes' && (query.get('feed') === 'longpoll' || query.get('feed') === 'continuous');
    if (live) stats.get(nodeId).pullsWaiting++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      open--;
      stats.get(nodeId).openConnections--;
      if (live) stats.get(nodeId).pullsWaiting--;
    };
    try {
      const headers: Record<string, string> = { authorization: couch.authHeader, accept: 'application/json', 'accept-encoding': 'identity' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      // what the node writes, told apart from the hub's writes by the embedded server's write signal
      if (c.req.method !== 'GET') headers[UPLOAD_HEADER] = '1';
      const pull = { dbUrl: couch.dbUrl(node.db), authHeader: couch.authHeader, query, signal: c.req.raw.signal };
      if (r.endpoint === 'changes') {
        // a feed streams (heartbeats while a longpoll waits, a continuous feed until the node leaves)
        const upstream = await ((await kindOf()) === 'couchdb' ? couchPull(pull, caughtUp) : pouchPull({ ...pull, hubWrites: hubWrites?.watch(node.db) }));
        if (upstream.status >= 400 && upstream.status !== 404) {
          stats.error(nodeId, upstream.status, 'upstream', `${c.req.method} ${r.endpoint}: ${upstream.status}`);
        }
        const out = new Headers({ 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-store' });
        if (!upstream.body) {
          release();
          return new Response(null, { status: upstream.status, headers: out });
        }
        const stream = upstream.body.pipeThrough(new TransformStream({ flush: release }));
        c.req.raw.signal.addEventListener('abort', release, { once: true });
        return new Response(stream, { status: upstream.status, headers: out });
      }
      // every other request has a bounded answer: read whole (hub/couch/http.ts)
      const a = await couchRequest(target, { method: c.req.method, headers, ...(body === undefined ? {} : { body }), signal: c.req.raw.signal });
      release();
      if (a.status >= 400 && a.status !== 404) stats.error(nodeId, a.status, 'upstream', `${c.req.method} ${r.endpoint}: ${a.status}`);
      const ok = a.status >= 200 && a.status < 300;
      const out = { 'content-type': a.contentType, 'cache-control': 'no-store' };
      const uploaded = (docs: Record<string, unknown>[]) => {
        const s = stats.get(nodeId);
        stats.touch(nodeId, { lastUploadAt: new Date().toISOString(), docsUploaded: s.docsUploaded + docs.length });
        if (docs.length) opts.onUpload?.(nodeId, docs);
      };
      if (ok && r.endpoint === 'doc' && c.req.method === 'PUT') uploaded([{ ...(JSON.parse(body!) as Record<string, unknown>), _id: r.docId }]);
      if (ok && r.endpoint === 'bulk_docs') {
        // what CouchDB stored: every document sent but those it answered with an error
        const written = JSON.parse(a.text) as BulkResult[];
        const failed = new Set(written.filter((w) => w.error !== undefined).map((w) => w.id));
        uploaded((JSON.parse(body!) as { docs: Record<string, unknown>[] }).docs.filter((d) => !failed.has(d._id as string)));
        // with refusals: the written documents' results and the refused ones', in the order they were sent
        return new Response(refusedDocs ? JSON.stringify(refusedDocs.answer(written)) : a.text, { status: a.status, headers: out });
      }
      if (r.endpoint === 'db' && c.req.method === 'GET' && ok) {
        // the database's own name, without the deployment's prefix (CouchDB names it in full)
        const info = { ...(JSON.parse(a.text) as Record<string, unknown>), db_name: node.db };
        if (dbInfos.size > 10_000) dbInfos.clear();
        dbInfos.set(node.db, { info, at: Date.now() });
        return new Response(JSON.stringify(info), { status: a.status, headers: out });
      }
      return new Response(c.req.method === 'HEAD' ? null : a.text, { status: a.status, headers: out });
    } catch (err) {
      release();
      if (c.req.raw.signal.aborted) return fail(c, 400, 'aborted', 'client went away');
      stats.error(nodeId, 503, 'upstream_unreachable', (err as Error).message);
      log.warn({ err, nodeId }, 'couch unreachable from gateway');
      return fail(c, 503, 'unavailable', 'database unavailable; retry');
    }
  }

  return { app, openConnections: () => open };
}

const MAX_KEYS = 10_000;
const DB_INFO_MS = 1_000;
/** A `_revs_diff` of at most this many documents is answered by the gateway (below PouchDB's batch of 200). */
const SMALL_REVS_DIFF = 50;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_KEYS && v.every((x) => typeof x === 'string');
function isBulkGetItem(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.id === 'string' &&
    d.id.length > 0 &&
    (d.rev === undefined || typeof d.rev === 'string') &&
    (d.atts_since === undefined || isStringArray(d.atts_since))
  );
}

type BulkResult = { id?: string; rev?: string; ok?: boolean; error?: string; reason?: string };

interface BulkRefusal {
  accepted: unknown[];
  refused: UploadRefusal[];
  /** The whole `_bulk_docs` answer, given what CouchDB answered for the accepted documents. */
  answer(written: BulkResult[]): BulkResult[];
}

/**
 * Split a `_bulk_docs` upload into the documents a node may write and the ones it may not, and
 * build the answer CouchDB gives when `validate_doc_update` refuses some: 201, a result per
 * document in order, `{"id","error":"forbidden","reason"}` for the refused ones. With
 * `new_edits: false` (replication) CouchDB lists only the failures; so does this answer.
 */
function splitUpload(b: { docs: unknown[]; new_edits?: boolean }): BulkRefusal {
  const newEdits = b.new_edits !== false;
  const accepted: unknown[] = [];
  const refused: UploadRefusal[] = [];
  const slots: (UploadRefusal | null)[] = [];
  for (const doc of b.docs) {
    const r = checkNodeDoc(doc, newEdits);
    slots.push(r);
    if (r) refused.push(r);
    else accepted.push(doc);
  }
  const forbidden = (r: UploadRefusal): BulkResult => ({ ...(r.id !== null ? { id: r.id } : {}), error: 'forbidden', reason: r.reason });
  return {
    accepted,
    refused,
    answer(written) {
      if (!newEdits) return [...written, ...refused.map(forbidden)];
      let k = 0;
      return slots.map((r) => (r ? forbidden(r) : (written[k++] ?? { error: 'unknown', reason: 'no result from the database' })));
    },
  };
}

interface WriteRefusal {
  status: 400 | 403;
  reason: string;
  refused?: { id: string | null; reason: string }[];
}

function checkWrite(endpoint: string, docId: string | undefined, body: unknown, query: URLSearchParams): WriteRefusal | null {
  if (typeof body !== 'object' || body === null) return { status: 400, reason: 'body must be a JSON object' };
  const b = body as Record<string, unknown>;
  switch (endpoint) {
    case 'bulk_docs': {
      if (!Array.isArray(b.docs)) return { status: 400, reason: '"docs" must be an array' };
      if (b.new_edits !== undefined && typeof b.new_edits !== 'boolean') return { status: 400, reason: '"new_edits" must be a boolean' };
      // each document is checked on its own (splitUpload): a refused one never stops the others
      return null;
    }
    case 'doc': {
      const r = checkNodeDoc({ ...b, _id: b._id ?? docId }, query.get('new_edits') !== 'false');
      if (r) return { status: 403, reason: r.reason, refused: [r] };
      if (b._id !== undefined && b._id !== docId) return { status: 400, reason: '_id does not match the path' };
      return null;
    }
    // The shapes PouchDB sends, checked before CouchDB sees them: express-pouchdb never answers a
    // _bulk_get of no documents (the connection hangs for good) and answers 500 to a null one.
    case 'revs_diff':
      return !Array.isArray(b) && Object.keys(b).length <= MAX_KEYS && Object.values(b).every(isStringArray)
        ? null
        : { status: 400, reason: 'body must be an object of document id → array of revisions' };
    case 'bulk_get':
      return Array.isArray(b.docs) && b.docs.length > 0 && b.docs.length <= MAX_KEYS && b.docs.every(isBulkGetItem)
        ? null
        : { status: 400, reason: '"docs" must be a non-empty array of {"id","rev"?,"atts_since"?}' };
    case 'all_docs':
      return b.keys === undefined || (isStringArray(b.keys) && b.keys.length <= MAX_KEYS)
        ? null
        : { status: 400, reason: '"keys" must be an array of document ids' };
    case 'local':
      // CouchDB keeps `_local` revisions as "0-N" and answers 500 to any other shape
      return b._rev === undefined || (typeof b._rev === 'string' && /^0-\d{1,9}$/.test(b._rev))
        ? null
        : { status: 400, reason: '"_rev" of a _local document must be "0-N"' };
    default:
      return null;
  }
}
