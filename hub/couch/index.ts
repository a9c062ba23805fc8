/**
 * The hub's CouchDB, always through the CouchDB HTTP API (nano): either the server at COUCH_URL,
 * or an embedded one started here in the data folder and stopped with the hub.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import nano from 'nano';
import type { DocumentScope, ServerScope } from 'nano';
import { isStatus } from '../../shared/errors.js';
import { startEmbeddedCouch, type EmbeddedCouch } from './embedded.js';
import { couchAgent, couchError, couchRequest } from './http.js';

export interface Couch {
  /** Base URL without credentials. */
  url: string;
  /** `Basic …` header for direct fetches (the gateway proxy). */
  authHeader: string;
  server: ServerScope;
  /** Prefix of every database name this hub uses (several deployments or test runs on one server). */
  prefix: string;
  /** A database by its logical name (`dom`, `node_<id>`); the prefix is added here. */
  db<T extends object = Record<string, unknown>>(name: string): DocumentScope<T>;
  /** The database's URL (no credentials) for direct fetches. */
  dbUrl(name: string): string;
  /**
   * `GET /db`: the database's info (update_seq, doc_count, …), on the hub's one keep-alive agent
   * (hub/couch/http.ts). Through nano's `fetch` every caller that read many at once (the node health
   * list, 50 nodes every 10 s in the soak) opened a connection each, closed 4 s later: CouchDB's
   * descriptors swung by the number of nodes (docs/RELIABILITY.md).
   */
  dbInfo(name: string): Promise<{ update_seq: string | number; doc_count: number; [k: string]: unknown }>;
  /** Create the database if it does not exist (cached: one PUT per name per process). */
  ensureDb(name: string): Promise<void>;
  embedded: boolean;
  /** The in-process embedded server's write signal (hub/couch/embedded.ts `writes`); absent on any other server. */
  writes?: EventEmitter;
  stop(): Promise<void>;
}

export interface CouchOptions {
  couchUrl?: string;
  dataDir: string;
  /** Prepended to every database name (default none). */
  dbPrefix?: string;
}

/** Split credentials out of a URL: fetch refuses URLs that carry them. */
export function parseCouchUrl(raw: string): { url: string; user: string; password: string } {
  const u = new URL(raw);
  const user = decodeURIComponent(u.username || process.env.COUCH_USER || '');
  const password = decodeURIComponent(u.password || process.env.COUCH_PASSWORD || '');
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, ''), user, password };
}

/** The base URL (no credentials) and the `Basic …` header of a CouchDB URL with credentials. */
export function couchAccessOf(raw: string): { url: string; auth: string } {
  const { url, user, password } = parseCouchUrl(raw);
  return { url, auth: basicAuth(user, password) };
}

const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The embedded server's admin password is kept in the data folder so restarts keep it. */
function embeddedPassword(dataDir: string): string {
  const file = join(dataDir, 'couch-admin-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const pw = randomBytes(24).toString('base64url');
  writeFileSync(file, pw, { mode: 0o600 });
  return pw;
}

export async function openCouch(opts: CouchOptions): Promise<Couch> {
  let embedded: EmbeddedCouch | undefined;
  let base: { url: string; user: string; password: string };
  if (opts.couchUrl) {
    base = parseCouchUrl(opts.couchUrl);
  } else {
    mkdirSync(opts.dataDir, { recursive: true });
    const password = embeddedPassword(opts.dataDir);
    embedded = await startEmbeddedCouch({ dataDir: join(opts.dataDir, 'couch'), user: 'admin', password });
    base = { url: embedded.url, user: 'admin', password };
  }
  const authHeader = basicAuth(base.user, base.password);
  // no compressed answers: on loopback or a data-centre link gzip costs both ends CPU for
  // nothing (the embedded server gzips whatever is asked for; Apache CouchDB does not)
  // nano's requests on the same keep-alive connections as the hub's own (hub/couch/http.ts)
  const server = nano({ url: base.url, headers: { authorization: authHeader, 'Accept-Encoding': 'identity' }, agentOptions: couchAgent as never });
  // Fail fast with a clear message when the server is not there or refuses us.
  try {
    await server.info();
  } catch (err) {
    await embedded?.stop();
    throw new Error(`cannot reach CouchDB at ${base.url}: ${(err as Error).message}`);
  }

  const known = new Set<string>();
  const prefix = opts.dbPrefix ?? '';
  return {
    url: base.url,
    authHeader,
    server,
    prefix,
    embedded: embedded !== undefined,
    writes: embedded?.writes,
    db: <T extends object>(name: string) => server.use<T>(prefix + name),
    dbUrl: (name) => `${base.url}/${encodeURIComponent(prefix + name)}`,
    async dbInfo(name) {
      const a = await couchRequest(`${base.url}/${encodeURIComponent(prefix + name)}`, { headers: { authorization: authHeader, accept: 'application/json' } });
      if (a.status !== 200) throw couchError(`info of ${prefix + name}`, a);
      return JSON.parse(a.text) as never;
    },
    async ensureDb(name) {
      if (known.has(name)) return;
      try {
        await server.db.create(prefix + name);
      } catch (err) {
        if (!isStatus(err, 412)) throw err;
      }
      known.add(name);
    },
    async stop() {
      await embedded?.stop();
    },
  };
}
