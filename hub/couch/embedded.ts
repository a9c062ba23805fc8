/**
 * The embedded CouchDB-compatible server: express-pouchdb over PouchDB/LevelDB, in a data folder,
 * on loopback only, behind an admin password; every write is on disk before it is answered. Used by the hub when no COUCH_URL is given, and by
 * `dom couch` as a process of its own for several hubs to share.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import express from 'express';
import expressPouchDB from 'express-pouchdb';
import PouchDB from 'pouchdb';
import { hubLeveldown } from '../../shared/leveldb.js';

export interface EmbeddedCouchOptions {
  dataDir: string;
  port?: number;
  host?: string;
  user: string;
  password: string;
}

export interface EmbeddedCouch {
  /** Base URL without credentials, e.g. http://127.0.0.1:5984 */
  url: string;
  port: number;
  /**
   * `write` (db, upload): a request that may have changed a database's `_changes` was answered
   * (`upload`: it carried the `x-dom-upload` header, a node's upload the hub's gateway forwarded).
   * What lets the gateway hold a node's longpoll until the hub writes for it (hub/gateway/pull.ts).
   */
  writes: EventEmitter;
  stop(): Promise<void>;
}

/** Header the gateway sets on a node's upload, so that the write signal tells it from the hub's own writes. */
export const UPLOAD_HEADER = 'x-dom-upload';

/** Whether a request may change what a database's `_changes` shows: its database (decoded), or null. */
function writtenDb(method: string, path: string): string | null {
  if (method !== 'PUT' && method !== 'POST' && method !== 'DELETE') return null;
  const parts = path.split('/').filter(Boolean);
  const db = parts[0];
  if (!db || db.startsWith('_')) return null;
  const op = parts[1];
  // reads by POST, and `_local` documents (not in `_changes`)
  if (op !== undefined && op.startsWith('_') && op !== '_bulk_docs' && op !== '_design') return null;
  return decodeURIComponent(db);
}

function basicAuthOk(header: string | undefined, expected: Buffer): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6).trim(), 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /_db_updates` (feed `normal` or `longpoll`, `since`, `timeout`) from the write signal, kept
 * in memory: the databases written since a sequence, each once. A sequence this process did not
 * give (`0`, one from before a restart, one older than the last 10,000 writes) is answered with every
 * database, so that a follower misses none.
 */
function dbUpdatesHandler(writes: EventEmitter, allDbs: () => Promise<string[]>) {
  const epoch = randomBytes(4).toString('hex');
  let n = 0;
  const log: { n: number; db: string; type: string }[] = [];
  const waiters = new Set<() => void>();
  writes.on('write', (db: string, _upload: boolean, type: string) => {
    log.push({ n: ++n, db, type });
    if (log.length > 20_000) log.splice(0, 10_000);
    for (const w of [...waiters]) w();
  });
  const seq = () => `${n}-${epoch}`;
  const parse = (raw: string): number | null => {
    if (raw === 'now') return n;
    const m = /^(\d+)-([0-9a-f]+)$/.exec(raw);
    const at = m && m[2] === epoch ? Number(m[1]) : null;
    return at !== null && at <= n && (log.length === 0 || at >= log[0]!.n - 1) ? at : null;
  };
  return async (req: express.Request, res: express.Response) => {
    const feed = String(req.query.feed ?? 'normal');
    if (feed !== 'normal' && feed !== 'longpoll') {
      res.status(400).json({ error: 'bad_request', reason: 'feed must be normal or longpoll' });
      return;
    }
    const since = parse(String(req.query.since ?? '0'));
    if (since === null) {
      const dbs = await allDbs().catch(() => [] as string[]);
      res.json({ results: dbs.map((db_name) => ({ db_name, type: 'updated' })), last_seq: seq() });
      return;
    }
    if (feed === 'longpoll' && n === since) {
      const timeoutMs = Math.min(Number(req.query.timeout ?? 60_000) || 60_000, 300_000);
      await new Promise<void>((done) => {
        const end = () => {
          clearTimeout(t);
          waiters.delete(end);
          res.off('close', end);
          done();
        };
        const t = setTimeout(end, timeoutMs);
        waiters.add(end);
        res.once('close', end);
      });
    }
    const last = new Map<string, string>();
    for (const e of log) if (e.n > since) last.set(e.db, e.type);
    res.json({ results: [...last].map(([db_name, type]) => ({ db_name, type })), last_seq: seq() });
  };
}

export async function startEmbeddedCouch(opts: EmbeddedCouchOptions): Promise<EmbeddedCouch> {
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  // every write synced before it is acknowledged, as Apache CouchDB does; each database sized by its role, for hundreds of facility databases (shared/leveldb.ts).
  // Compacted as it is written: a revision that stops being a leaf loses its body in the same write,
  // as Apache CouchDB's compaction daemon does later. Without it every revision of every document
  // stayed for good (an order and its DO states are rewritten at each step), on disk and, as LevelDB
  // maps what it reads of its files, in the hub's memory (docs/RELIABILITY.md, "The soak").
  const LocalPouch = PouchDB.defaults({ prefix, db: hubLeveldown, auto_compaction: true });
  const expected = Buffer.from(`${opts.user}:${opts.password}`);

  const app = express();
  const writes = new EventEmitter();
  writes.setMaxListeners(0);
  app.use((req, res, next) => {
    const db = writtenDb(req.method, req.path);
    if (db !== null) {
      const upload = req.headers[UPLOAD_HEADER] !== undefined;
      const whole = req.path.split('/').filter(Boolean).length === 1;
      const type = whole && req.method === 'DELETE' ? 'deleted' : whole && req.method === 'PUT' ? 'created' : 'updated';
      res.once('finish', () => res.statusCode < 400 && writes.emit('write', db, upload, type));
    }
    next();
  });
  // Every request needs the admin credentials: the server is the hub's private store.
  app.use((req, res, next) => {
    if (basicAuthOk(req.headers.authorization, expected)) return next();
    res.status(401).json({ error: 'unauthorized', reason: 'Name or password is incorrect.' });
  });
  // express-pouchdb dies on filter=_selector in _changes (docs/CONTRACT.md, "One code path for both backends"); refuse any filter here too.
  app.use((req, res, next) => {
    if (/\/_changes/.test(req.path) && (req.query.filter !== undefined || req.query.selector !== undefined)) {
      res.status(400).json({ error: 'bad_request', reason: 'filtered _changes is not served' });
      return;
    }
    next();
  });
  // the databases written, as Apache CouchDB's /_db_updates: hubs sharing this server (`dom couch`) read only those
  app.get(
    '/_db_updates',
    dbUpdatesHandler(writes, () => (LocalPouch as unknown as { allDbs(): Promise<string[]> }).allDbs()),
  );
  // Apache CouchDB's `_revs_diff`: a revision in a document's history is known, its body compacted
  // or not, and a missing one is told its possible ancestors (the leaves below it). PouchDB's counts
  // a compacted revision as missing, so a replicator offering an older one (a DC's CouchDB replicator
  // offers the hub's own documents back) would be asked to send it.
  const opened = new Map<string, RevisionTrees>();
  const forget = (name: string) => opened.delete(name);
  LocalPouch.on('destroyed', forget);
  const json = express.json({ limit: '64mb' });
  app.post(
    '/:db/_revs_diff',
    // a database this server does not have: express-pouchdb's answer (404)
    (req, _res, next) => (opened.has(req.params.db!) || existsSync(join(dir, req.params.db!)) ? next() : next('route')),
    (req, res, next) => json(req, res, (err?: unknown) => (err ? res.status(400).json({ error: 'bad_request', reason: 'invalid UTF-8 JSON' }) : next())),
    (req, res, next) => {
      const asked = req.body as Record<string, unknown>;
      if (
        !asked ||
        typeof asked !== 'object' ||
        Array.isArray(asked) ||
        !Object.values(asked).every((v) => Array.isArray(v) && v.every((rev) => typeof rev === 'string'))
      )
        return res.status(400).json({ error: 'bad_request', reason: 'expected {"<doc id>": ["<rev>", ...], ...}' });
      const name = req.params.db!;
      let db = opened.get(name);
      if (!db) opened.set(name, (db = new LocalPouch(name) as unknown as RevisionTrees));
      revsDiff(db, asked as Record<string, string[]>).then((answer) => res.json(answer), next);
    },
  );
  app.use(
    expressPouchDB(LocalPouch, {
      mode: 'minimumForPouchDB',
      inMemoryConfig: true,
      logPath: join(dir, 'express-pouchdb.log'),
    }),
  );

  const host = opts.host ?? '127.0.0.1';
  const server: Server = await new Promise((ok, fail) => {
    const s = app.listen(opts.port ?? 0, host, () => ok(s));
    s.once('error', fail);
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    writes,
    stop() {
      stopped ??= (async () => {
        LocalPouch.removeListener('destroyed', forget);
        opened.clear();
        server.closeAllConnections?.();
        await new Promise<void>((ok) => server.close(() => ok()));
        // Close every LevelDB this process opened so the folder can be reopened.
        const names: string[] = await (LocalPouch as unknown as { allDbs(): Promise<string[]> }).allDbs().catch(() => []);
        for (const name of [...names, 'pouch__all_dbs__']) {
          await new LocalPouch(name).close().catch(() => undefined);
        }
      })();
      return stopped;
    },
  };
}

/** PouchDB's own view of a document's revision tree (the LevelDB adapter's `_getRevisionTree`). */
interface RevisionTrees {
  _getRevisionTree(id: string, cb: (err: { status?: number } | null, tree?: RevTreePath[]) => void): void;
}
interface RevTreePath {
  pos: number;
  ids: RevTreeNode;
}
type RevTreeNode = [string, unknown, RevTreeNode[]];

interface History {
  known: Set<string>;
  leaves: { pos: number; rev: string }[];
}

/** Every revision in a document's history, and its leaves (none for a document the database never had). */
function history(db: RevisionTrees, id: string): Promise<History> {
  return new Promise((ok, fail) =>
    db._getRevisionTree(id, (err, tree) => {
      if (err) return err.status === 404 ? ok({ known: new Set(), leaves: [] }) : fail(err);
      const h: History = { known: new Set(), leaves: [] };
      const walk = (pos: number, [hash, , children]: RevTreeNode) => {
        const rev = `${pos}-${hash}`;
        h.known.add(rev);
        if (!children.length) h.leaves.push({ pos, rev });
        for (const c of children) walk(pos + 1, c);
      };
      for (const path of tree ?? []) walk(path.pos, path.ids);
      ok(h);
    }),
  );
}

/** The answer of `_revs_diff` as couch_db:get_missing_revs gives it (possible ancestors: the leaves below a missing revision). */
async function revsDiff(db: RevisionTrees, asked: Record<string, string[]>) {
  const ids = Object.keys(asked);
  const histories = await Promise.all(ids.map((id) => history(db, id)));
  const answer: Record<string, { missing: string[]; possible_ancestors?: string[] }> = {};
  ids.forEach((id, i) => {
    const { known, leaves } = histories[i]!;
    const missing = asked[id]!.filter((rev) => !known.has(rev));
    if (!missing.length) return;
    const top = Math.max(...missing.map((rev) => parseInt(rev, 10) || 0));
    const ancestors = leaves.filter((l) => l.pos < top).map((l) => l.rev);
    answer[id] = { missing, ...(ancestors.length ? { possible_ancestors: ancestors } : {}) };
  });
  return answer;
}
