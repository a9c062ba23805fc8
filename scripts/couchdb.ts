/**
 * Apache CouchDB 3.4 as a process of its own, from the prebuilt release in ../shared/couchdb (or
 * DOM_COUCHDB_DIST): started in a folder of ours on a free loopback port with a random admin
 * password, stopped cleanly, or killed with SIGKILL and restarted on the same data (a fault of the
 * chaos harness). Used by the benches and `dom chaos`; the test suite uses scripts/with-couchdb.sh.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
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

// ------------------------------------------------------------------------------ a cluster

/**
 * A TCP load balancer over the cluster's nodes, as a retailer's would be: each new connection goes
 * to the next node, round-robin; a node that refuses is skipped (and tried again a second later).
 * Connections open to a node that dies break, as they would behind a real balancer.
 */
class Balancer {
  private server = createServer((client) => this.route(client));
  private sockets = new Set<Socket>();
  private next = 0;
  private downUntil = new Map<number, number>();
  port = 0;

  constructor(private readonly targets: number[]) {}

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', () => ok()));
    this.port = (this.server.address() as { port: number }).port;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private route(client: Socket, tried = 0): void {
    if (tried === 0) this.track(client);
    client.pause();
    const now = Date.now();
    const live = this.targets.filter((t) => (this.downUntil.get(t) ?? 0) <= now);
    const pool = live.length ? live : this.targets;
    const target = pool[this.next++ % pool.length]!;
    const upstream = connect(target, '127.0.0.1');
    this.track(upstream);
    // an error before 'connect' is a refused connection: that node is down, try the next one
    const onError = () => {
      upstream.destroy();
      this.downUntil.set(target, Date.now() + 1000);
      if (tried + 1 < this.targets.length) this.route(client, tried + 1);
      else client.destroy();
    };
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.off('error', onError);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  /** Stop accepting, and end the connections still open (their clients' keep-alive would hold them). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((ok) => this.server.close(() => ok()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

export interface CouchCluster {
  /** The balancer's URL with the admin credentials, for COUCH_URL. */
  url: string;
  /** The balancer's URL without credentials. */
  base: string;
  size: number;
  /** The nodes up now (1-based). */
  upNodes(): number[];
  /** SIGKILL one node (1-based). */
  kill9(node: number): Promise<void>;
  /** Start every node that is down again, on its data, and wait until the cluster is whole. */
  restartDown(): Promise<void>;
  stop(): Promise<void>;
}

/** Three free ports in a row, below the kernel's ephemeral range. */
async function freePortRun(n: number): Promise<number> {
  const free = (p: number) =>
    new Promise<boolean>((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(p, '127.0.0.1', () => s.close(() => done(true)));
    });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
}

/** An N-node Apache CouchDB cluster (n = min(3, N)) from ../shared/couchdb, behind a balancer. */
export async function startCouchCluster(opts: { dir: string; size?: number; q?: number }): Promise<CouchCluster> {
  const dist = couchDist();
  if (!dist) throw new Error('no Apache CouchDB release here (../shared/couchdb or DOM_COUCHDB_DIST)');
  const size = opts.size ?? 3;
  mkdirSync(opts.dir, { recursive: true });
  const basePort = await freePortRun(size);
  const extra = join(opts.dir, 'extra.ini');
  writeFileSync(extra, '[couchdb]\nmax_dbs_open = 5000\n');
  const env = {
    ...process.env,
    COUCH_BASE_PORT: String(basePort),
    COUCH_Q: String(opts.q ?? 2),
    COUCH_LOG_LEVEL: process.env.COUCH_LOG_LEVEL ?? 'warning',
    COUCH_EXTRA_INI: extra,
  };
  const base = join(opts.dir, 'cluster');
  const start = () => run('bash', [join(dist, 'start-cluster.sh'), String(size), base], { env, timeout: 180_000 });
  await start();
  const conf = Object.fromEntries(
    readFileSync(join(base, 'cluster.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]),
  );
  const ports = Array.from({ length: size }, (_, i) => basePort + i);
  const lb = new Balancer(ports);
  await lb.start();
  const pidOf = (node: number) => {
    try {
      return Number(readFileSync(join(base, `node${node}`, 'var', 'run', 'couchdb.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const alive = (pid: number | null) => {
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      // a zombie (killed, not yet reaped) answers kill 0 too
      return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  return {
    url: `http://${encodeURIComponent(conf.CL_USER!)}:${encodeURIComponent(conf.CL_PASSWORD!)}@127.0.0.1:${lb.port}`,
    base: `http://127.0.0.1:${lb.port}`,
    size,
    upNodes: () => ports.map((_, i) => i + 1).filter((i) => alive(pidOf(i))),
    async kill9(node) {
      const pid = pidOf(node);
      if (!pid || !alive(pid)) return;
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async restartDown() {
      await start();
    },
    async stop() {
      await lb.stop().catch(() => undefined);
      await run('bash', [join(dist, 'stop-cluster.sh'), base], { env, timeout: 120_000 }).catch(() => undefined);
    },
  };
}
