/**
 * The embedded CouchDB-compatible server: express-pouchdb over PouchDB/LevelDB, in a data folder,
 * on loopback only, behind an admin password; every write is on disk before it is answered. Used by the hub when no COUCH_URL is given, and by
 * `dom couch` as a process of its own for several hubs to share.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import expressPouchDB from 'express-pouchdb';
import PouchDB from 'pouchdb';
import { durableLeveldown, levelDbOptions } from '../../shared/leveldb.js';

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
  stop(): Promise<void>;
}

function basicAuthOk(header: string | undefined, expected: Buffer): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6).trim(), 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startEmbeddedCouch(opts: EmbeddedCouchOptions): Promise<EmbeddedCouch> {
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  // every write synced before it is acknowledged, as Apache CouchDB does; LevelDB sized for hundreds of facility databases (shared/leveldb.ts)
  const LocalPouch = PouchDB.defaults({ prefix, db: durableLeveldown, ...levelDbOptions('hub') });
  const expected = Buffer.from(`${opts.user}:${opts.password}`);

  const app = express();
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
    stop() {
      stopped ??= (async () => {
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
