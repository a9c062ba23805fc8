/**
 * What the end-to-end and scale-out benchmarks share: percentiles from an HDR histogram, a seeded
 * random source, the box (continental US) where their facilities and customers are, a bounded
 * pool of async jobs, scratch folders, progress bars, the machine and commit a run is on, a
 * client for the hub's HTTP API, and child processes that answer over IPC.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import hdr from 'hdr-histogram-js';
import type { DomNode } from '../../node/index.js';
import { couchAccessOf } from '../../hub/couch/index.js';

export type Pct = { p50: number; p99: number; max: number; count: number };

/** p50, p99, max and count of millisecond values. */
export function pct(values: number[]): Pct {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) h.recordValue(Math.max(0, Math.round(v)));
  const out = { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue, count: h.totalCount };
  h.destroy();
  return out;
}

/** The middle value (of an even count, the upper of the two middle ones). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** mulberry32: the same data on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Continental US, where the facilities and customers are: [minLat, maxLat, minLon, maxLon]. */
export const BOX: [number, number, number, number] = [30, 47, -122, -75];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run fn over items, at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** Scratch folders of a run, removed at its end unless the environment variable `keepEnv` is set (for a post-mortem). */
export class Dirs {
  private list: string[] = [];
  constructor(
    private readonly prefix: string,
    private readonly keepEnv: string,
  ) {}
  make(name: string): string {
    const d = mkdtempSync(join(os.tmpdir(), `${this.prefix}-${name}-`));
    this.list.push(d);
    return d;
  }
  clean() {
    if (process.env[this.keepEnv]) return void process.stderr.write(`kept: ${this.list.join(' ')}\n`);
    for (const d of this.list.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export interface Progress {
  update(n: number): void;
  setTotal(n: number): void;
  stop(): void;
}

/** A progress bar on stderr (none when `on` is false, or stderr is not a terminal). */
export function progress(label: string, total: number, unit: string, on = true): Progress {
  if (!on || !process.stderr.isTTY) return { update: () => undefined, setTotal: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `  ${label.padEnd(28)} [{bar}] {value}/{total} ${unit} | {duration_formatted}`, hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (n) => bar.update(Math.min(n, total)),
    setTotal: (n) => {
      total = n;
      bar.setTotal(n);
    },
    stop: () => bar.stop(),
  };
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGb: number;
  node: string;
  loadAvgStart: number;
  loadAvgEnd: number;
}

/** The machine a run is on (loadAvgEnd to be filled at the end). */
export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    ramGb: Math.round(os.totalmem() / 1e9),
    node: process.version,
    loadAvgStart: Math.round(os.loadavg()[0]! * 100) / 100,
    loadAvgEnd: 0,
  };
}

/** The commit of the repository at `repo`, marked when the work tree has uncommitted changes. */
export function commit(repo: string): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { cwd: repo, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: repo, encoding: 'utf8' }).trim();
    return dirty ? `${sha}+uncommitted` : sha;
  } catch {
    return 'unknown';
  }
}

export interface Api {
  call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  ok<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

/** A hub's HTTP API with a bearer token: `call` answers status and body (JSON when it parses), `ok` throws on a status ≥ 300. */
export function api(base: string, token: string): Api {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any };
  };
  return {
    call,
    async ok(method, path, body) {
      const r = await call(method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body;
    },
  };
}

/** A child process of a bench (the bench's own file again, in a role) that answers over IPC. */
export interface ChildHandle {
  proc: ChildProcess;
  send(msg: object): void;
  /** The next message of `type` (one that came early is kept for this). */
  next<T = any>(type: string, timeoutMs: number): Promise<T>;
  onProgress(fn: (m: any) => void): void;
  /** Ask it to stop ({ cmd: 'stop' }); killed after `exitGraceMs`. */
  exit(): Promise<void>;
}

/**
 * Fork `file` under tsx as `role`, with `env` added (the child reads its role from there). Messages
 * `{ type: 'progress' }` go to onProgress, `{ type: 'error', message }` fail every wait.
 */
export function forkChild(
  file: string,
  cwd: string,
  role: string,
  env: Record<string, string>,
  opts: { execArgv?: string[]; exitGraceMs?: number } = {},
): ChildHandle {
  const proc = fork(file, [], {
    cwd,
    execArgv: ['--import', 'tsx', ...(opts.execArgv ?? [])],
    env: { ...process.env, ...env, DOM_LOG_LEVEL: process.env.DOM_LOG_LEVEL ?? 'error' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, { ok: (m: any) => void; fail: (e: Error) => void }>();
  const early = new Map<string, any>();
  let progressFn: (m: any) => void = () => undefined;
  proc.on('message', (m: any) => {
    if (m?.type === 'progress') return progressFn(m);
    if (m?.type === 'error') {
      for (const w of waiting.values()) w.fail(new Error(`${role} child: ${m.message}`));
      waiting.clear();
      return;
    }
    const w = waiting.get(m?.type);
    if (w) {
      waiting.delete(m.type);
      w.ok(m);
    } else early.set(m?.type, m);
  });
  proc.on('exit', (code) => {
    for (const w of waiting.values()) w.fail(new Error(`${role} child exited (${code}) before answering`));
    waiting.clear();
  });
  return {
    proc,
    send: (msg) => void (proc.connected && proc.send(msg)),
    next: (type, timeoutMs) => {
      if (early.has(type)) {
        const m = early.get(type);
        early.delete(type);
        return Promise.resolve(m);
      }
      return new Promise((ok, fail) => {
        const t = setTimeout(() => {
          waiting.delete(type);
          fail(new Error(`${role} child: no "${type}" within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiting.set(type, { ok: (m) => (clearTimeout(t), ok(m)), fail: (e) => (clearTimeout(t), fail(e)) });
      });
    },
    onProgress: (fn) => (progressFn = fn),
    exit: () =>
      new Promise<void>((ok) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return ok();
        const t = setTimeout(() => proc.kill('SIGKILL'), opts.exitGraceMs ?? 15_000);
        proc.once('exit', () => (clearTimeout(t), ok()));
        if (proc.connected) proc.send({ cmd: 'stop' });
        else proc.kill('SIGTERM');
      }),
  };
}

/**
 * An associate's step on a DO at a node, retried while the node's store has not taken the DO in
 * from its feed yet (404); false when it did not go through.
 */
export async function stepWhenSeen(node: DomNode, doId: string, name: 'ack' | 'pick', body: object): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await node.store.step(doId, name, body);
      return true;
    } catch (err) {
      if ((err as { status?: number }).status !== 404) return false;
      await sleep(20);
    }
  }
  return false;
}

/** A status event a node wrote for a DO (an associate's step). */
export interface FleetEvent {
  doId: string;
  orderId: string;
  status: string;
  at: string;
}

/** The status events the nodes hold for these DOs (DO id → the node it went to). */
export async function statusEvents(dos: Map<string, DomNode>): Promise<FleetEvent[]> {
  const out: FleetEvent[] = [];
  for (const node of new Set(dos.values())) {
    const res = await node.db.allDocs<{ doId: string; status: string; at: string }>({ startkey: 'evt:', endkey: 'evt:\ufff0', include_docs: true });
    for (const r of res.rows)
      if (r.doc && dos.has(r.doc.doId))
        out.push({ doId: r.doc.doId, orderId: node.store.dos.get(r.doc.doId)?.orderId ?? '', status: r.doc.status, at: r.doc.at });
  }
  return out;
}

// ------------------------------------------------------------------------------ backends

export type BackendName = 'embedded' | 'couchdb' | 'cluster';

/**
 * The CouchDB a bench's hubs store their data in: each hub's own embedded server, or one Apache
 * CouchDB 3.4 (at a given URL, or started here from ../shared/couchdb), each hub's databases under
 * a prefix of their own so that the phases of a run never see each other's data.
 */
export interface Backend {
  name: BackendName;
  /** e.g. "Apache CouchDB 3.4.3 (started by the bench, q=1)" */
  label: string;
  /** Options for one hub (`startHub`), or for `dom hub` as environment variables. */
  hub(tag: string): { couchUrl?: string; dbPrefix?: string };
  hubEnv(tag: string): Record<string, string>;
  /** The CouchDB process's pid when this run started it (for its CPU and memory), else null. */
  pid(): number | null;
  /** The phases measured on this backend (default all). */
  phases?: string[];
  /** Drop every database this backend's hubs created (nothing to do for the embedded server). */
  dropDatabases(): Promise<void>;
  stop(): Promise<void>;
}

export const embeddedBackend = (): Backend => ({
  name: 'embedded',
  label: 'embedded server (express-pouchdb over LevelDB)',
  hub: () => ({}),
  hubEnv: () => ({}),
  pid: () => null,
  dropDatabases: async () => undefined,
  stop: async () => undefined,
});

/** A 3-node Apache CouchDB cluster (n=3, q=2) started for this run, behind a TCP balancer. */
export async function clusterBackend(dirs: Dirs, phases?: string[]): Promise<Backend> {
  const { startCouchCluster } = await import('../couchdb.js');
  const cluster = await startCouchCluster({ dir: dirs.make('cluster'), size: 3 });
  const b = await couchBackend(cluster.url, dirs, {
    name: 'cluster',
    label: '3-node cluster (n=3, q=2) behind a TCP balancer, started by the bench',
    stop: () => cluster.stop(),
  });
  return { ...b, ...(phases ? { phases } : {}) };
}

/** Apache CouchDB at `url` (with credentials), or one started for this run when `url` is absent. */
export async function couchBackend(url: string | undefined, dirs: Dirs, as?: { name: BackendName; label: string; stop(): Promise<void> }): Promise<Backend> {
  const { startCouchDb } = await import('../couchdb.js');
  const started = url ? null : await startCouchDb({ dir: dirs.make('couchdb') });
  const full = url ?? started!.url;
  const { url: base, auth } = couchAccessOf(full);
  const version = ((await (await fetch(`${base}/`)).json()) as { version: string }).version;
  const run = `b${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const prefixes = new Set<string>();
  const prefix = (tag: string) => {
    const p = `${run}_${tag.toLowerCase().replace(/[^a-z0-9]/g, '')}_`;
    prefixes.add(p);
    return p;
  };
  const backend: Backend = {
    name: as?.name ?? 'couchdb',
    label: `Apache CouchDB ${version}${as ? `, ${as.label}` : started ? ' (started by the bench, q=1)' : ` at ${base}`}`,
    hub: (tag) => ({ couchUrl: full, dbPrefix: prefix(tag) }),
    hubEnv: (tag) => ({ COUCH_URL: full, DOM_DB_PREFIX: prefix(tag) }),
    pid: () => started?.pid() ?? null,
    async dropDatabases() {
      const all = (await (await fetch(`${base}/_all_dbs`, { headers: { authorization: auth } })).json()) as string[];
      const mine = all.filter((db) => [...prefixes].some((p) => db.startsWith(p)));
      await pool(mine, 8, async (db) => void (await fetch(`${base}/${encodeURIComponent(db)}`, { method: 'DELETE', headers: { authorization: auth } })));
    },
    async stop() {
      await backend.dropDatabases().catch(() => undefined);
      await started?.stop();
      await as?.stop();
    },
  };
  return backend;
}

/**
 * Which backends a bench runs on: `--backend embedded|couchdb|cluster|both|all`, or `--couch-url
 * URL` (that CouchDB only). By default a full run measures `all` (when ../shared/couchdb is here):
 * the embedded server and a single CouchDB node in full, and a 3-node cluster in the phases the
 * bench names; a quick one measures the suite's backend (DOM_BENCH_COUCH_URL, set by
 * scripts/with-couchdb.sh) or the embedded one.
 */
export async function chooseBackends(
  opts: {
    backend?: string;
    couchUrl?: string;
    quick?: boolean;
    /** on `all`: the phases the cluster runs, null for no cluster */ clusterPhases?: string[] | null;
  },
  dirs: Dirs,
  say: (s: string) => void = () => undefined,
): Promise<Backend[]> {
  const { couchDist } = await import('../couchdb.js');
  const env = process.env.DOM_BENCH_COUCH_URL || undefined;
  const url = opts.couchUrl ?? env;
  let want = opts.backend ?? (opts.couchUrl ? 'couchdb' : opts.quick || process.env.VITEST ? (env ? 'couchdb' : 'embedded') : 'all');
  if (!['embedded', 'couchdb', 'cluster', 'both', 'all'].includes(want))
    throw new Error(`--backend must be embedded, couchdb, cluster, both or all, not "${want}"`);
  if (want !== 'embedded' && !couchDist() && (want === 'cluster' || !url)) {
    if (opts.backend) throw new Error(`--backend ${want} needs the CouchDB release in ../shared/couchdb${want === 'cluster' ? '' : ' or --couch-url'}`);
    say('note: no Apache CouchDB here (../shared/couchdb absent, no --couch-url): the embedded server only');
    want = 'embedded';
  }
  const out: Backend[] = [];
  if (want === 'embedded' || want === 'both' || want === 'all') out.push(embeddedBackend());
  if (want === 'couchdb' || want === 'both' || want === 'all') out.push(await couchBackend(url, dirs));
  // a full run adds the cluster's write figures (the throughput phase) beside the single node's
  if (want === 'cluster') out.push(await clusterBackend(dirs));
  if (want === 'all' && opts.clusterPhases !== null) out.push(await clusterBackend(dirs, opts.clusterPhases));
  return out;
}

/**
 * Where a full run's raw figures go: `bench-results/<bench>-<time>.json` in the repository (git
 * ignores the folder). Tracked files change only when asked (`dom bench … --record`).
 */
export function saveResult(repo: string, bench: string, result: unknown): string {
  const dir = join(repo, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${bench}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
