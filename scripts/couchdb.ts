/**
 * Apache CouchDB 3.4 as a process of its own, from the prebuilt release in ../shared/couchdb (or
 * DOM_COUCHDB_DIST): started in a folder of ours on a free loopback port with a random admin
 * password, stopped cleanly, or killed with SIGKILL and restarted on the same data (a fault of the
 * chaos harness). Used by the benches and `dom chaos`; the test suite uses scripts/with-couchdb.sh.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the release and its start/stop scripts are, or null when this machine has none. */
export function couchDist(): string | null {
  const dir = process.env.DOM_COUCHDB_DIST ?? fileURLToPath(new URL('../../shared/couchdb', import.meta.url));
  return existsSync(join(dir, 'start-couchdb.sh')) ? dir : null;
}

export interface CouchProcess {
  /** Base URL with the admin credentials, for COUCH_URL. */
  url: string;
  /** Base URL without credentials. */
  base: string;
  port: number;
  dir: string;
  /** The Erlang VM's pid (changes at each restart). */
  pid(): number | null;
  /** SIGKILL: no clean shutdown, nothing flushed that was not already fsynced. */
  kill9(): Promise<void>;
  /** Start again on the same port and data (after kill9 or stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}

export interface StartCouchOptions {
  /** A folder of ours: the release is unpacked into DIR/couchdb, the data kept in DIR/data. */
  dir: string;
  port?: number;
  /** Shards per new database (default 1: a single node's databases are small). */
  q?: number;
  /** Extra ini text appended to the configuration. */
  ini?: string;
}

export async function startCouchDb(opts: StartCouchOptions): Promise<CouchProcess> {
  const dist = couchDist();
  if (!dist) throw new Error('no Apache CouchDB release here (../shared/couchdb or DOM_COUCHDB_DIST)');
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const password = randomBytes(12).toString('hex');
  const install = join(opts.dir, 'couchdb');
  const extra = join(opts.dir, 'extra.ini');
  writeFileSync(extra, `[couchdb]\nmax_dbs_open = 5000\n\n${opts.ini ?? ''}\n`);
  const env = {
    ...process.env,
    COUCH_PORT: String(port),
    COUCH_USER: 'admin',
    COUCH_PASSWORD: password,
    COUCH_Q: String(opts.q ?? 1),
    COUCH_DATA_DIR: join(opts.dir, 'data'),
    COUCH_LOG_LEVEL: process.env.COUCH_LOG_LEVEL ?? 'warning',
    COUCH_EXTRA_INI: extra,
  };
  const start = () => run('bash', [join(dist, 'start-couchdb.sh'), install], { env, timeout: 120_000 });
  await start();
  const pidFile = join(install, 'var', 'run', 'couchdb.pid');
  const pid = () => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `http://admin:${password}@127.0.0.1:${port}`,
    base,
    port,
    dir: opts.dir,
    pid,
    async kill9() {
      const p = pid();
      if (!p) return;
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        return; // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(p, 0);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restart() {
      await start();
    },
    async stop() {
      await run('bash', [join(dist, 'stop-couchdb.sh'), install], { env, timeout: 60_000 }).catch(() => undefined);
    },
  };
}
