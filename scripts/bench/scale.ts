/**
 * `dom bench scale`: several hub instances over one CouchDB (issue #9), with real processes: a
 * spawned CouchDB (`dom couch` on the embedded backend, Apache CouchDB 3.4 on the couchdb one; a full
 * run measures both), spawned `dom hub`s sharing it through COUCH_URL (the allocator under the
 * lease), and real nodes (startNode, many to a child process of this file). In one run:
 *
 * - **order throughput** (orders POSTed over HTTP, allocated by the lease holder, DOs written into
 *   the node databases) with ONE hub instance over that CouchDB, then with TWO over another (or other databases)
 *   (orders posted round-robin to both): orders/s and the ratio two-vs-one, with the CPU each
 *   process spent per order;
 * - **sync latency**, both ways, with N nodes live (split across the instances in the second
 *   configuration): DO created at the hub → in the node's PouchDB, and status event written at the
 *   node → the DO state and the order status changed at the hub; p50/p99;
 * - **per-instance capacity**: the single instance with more and more live-syncing nodes, each
 *   step's sync p99 under the same traffic, and the instance's CPU (from /proc/<pid>/stat) and RSS
 *   (/proc/<pid>/status) idle and under traffic, as figures per node.
 *
 * This machine has two cores for CouchDB, the hub instances, the nodes and the load generator:
 * two instances compete for the cores the first one had, so the ratio shows what coordination
 * costs, not what scale-out gains. Every run says so. A full run appends its table to
 * docs/BENCHMARKS.md ("Scale-out"); a quick one, or one under vitest, does not.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { couchAccessOf } from '../../hub/couch/index.js';
import {
  BOX,
  Dirs,
  api,
  chooseBackends,
  saveResult,
  commit as commitOf,
  type Backend,
  type BackendName,
  forkChild,
  machine,
  pct,
  pool,
  progress,
  rng,
  sleep,
  statusEvents,
  stepWhenSeen,
  type ChildHandle,
  type FleetEvent,
  type Machine,
  type Pct,
} from './common.js';
import { startNode, type DomNode } from '../../node/index.js';
import type { FacilitySpec } from '../chaos/cluster.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { DistributionOrderDoc } from '../../shared/schemas.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const DOM_JS = join(REPO, 'scripts', 'dom.js');
const BENCHMARKS_MD = join(REPO, 'docs', 'BENCHMARKS.md');
const PLANNER = 'bench-scale-planner-token';
const ASSOCIATE = 'bench-associate';
const CHILD_ENV = 'DOM_SCALE_CHILD';

export interface ScaleOptions {
  quick?: boolean;
  /** embedded, couchdb or both (default: both for a full run, the suite's backend for a quick one). */
  backend?: string;
  /** An Apache CouchDB to measure (with credentials); implies --backend couchdb. */
  couchUrl?: string;
  /** Append the run to docs/BENCHMARKS.md (`--record`; default no: a full run writes bench-results/ only). */
  record?: boolean;
  /** Print progress and the table (default yes). */
  print?: boolean;
}

interface Sizes {
  /** throughput: facilities without nodes, their SKUs, orders (posted for at most postSeconds), POSTs in flight */
  tpFacilities: number;
  tpSkus: number;
  tpOrders: number;
  tpPostSeconds: number;
  tpConcurrency: number;
  /** latency: live nodes (their own facilities and SKUs), orders/s, seconds of traffic */
  nodes: number;
  ltSkus: number;
  rate: number;
  latencySeconds: number;
  idleSeconds: number;
  /** capacity: the single instance with this many nodes in turn (after `nodes`), the same traffic */
  capacitySteps: number[];
  /** nodes per child process */
  perFleet: number;
}

const FULL: Sizes = {
  tpFacilities: 20,
  tpSkus: 20,
  tpOrders: 20_000,
  tpPostSeconds: 20,
  tpConcurrency: 32,
  // the issue's target: one instance holding 1,000 live nodes with every sync p99 under 1 s at 10 orders/s
  nodes: 50,
  ltSkus: 10,
  rate: 10,
  latencySeconds: 25,
  idleSeconds: 8,
  capacitySteps: [100, 300, 1_000],
  perFleet: 100,
};
const QUICK: Sizes = {
  tpFacilities: 6,
  tpSkus: 8,
  tpOrders: 400,
  tpPostSeconds: 2,
  tpConcurrency: 16,
  nodes: 5,
  ltSkus: 4,
  rate: 5,
  latencySeconds: 2,
  idleSeconds: 1,
  capacitySteps: [10],
  perFleet: 100,
};

// ------------------------------------------------------------------------------------ helpers

export type { Pct } from './common.js';

function facilities(from: number, to: number, prefix: string, seed: number): FacilitySpec[] {
  const r = rng(seed);
  const all: FacilitySpec[] = [];
  for (let i = 0; i < to; i++) {
    const lat = Math.round((BOX[0] + r() * (BOX[1] - BOX[0])) * 1e4) / 1e4;
    const lon = Math.round((BOX[2] + r() * (BOX[3] - BOX[2])) * 1e4) / 1e4;
    if (i >= from)
      all.push({
        id: `${prefix}${String(i).padStart(4, '0')}`,
        type: i % 25 === 0 ? 'dc' : 'store',
        name: `${prefix} ${i}`,
        lat,
        lon,
        capacity: 10_000_000,
        shipFromStore: true,
        pickup: false,
      });
  }
  return all;
}

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(everyMs);
  }
  return false;
}

const call = <T = any>(base: string, method: string, path: string, body?: unknown) => api(base, PLANNER).call<T>(method, path, body);
const ok = <T = any>(base: string, method: string, path: string, body?: unknown) => api(base, PLANNER).ok<T>(method, path, body);

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
}

// ------------------------------------------------------------- processes: CPU time and RSS

let clkTck = 0;
function ticksPerSec(): number {
  if (!clkTck) {
    try {
      clkTck = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat; NaN when unreadable. */
function cpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of the line (utime, stime) are 11 and 12 after "pid (comm) "
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSec();
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in MB, from /proc/<pid>/status. */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time the whole machine has been busy (every core; user, system, interrupts, steal), in ms, from /proc/stat. */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) * 1000) / ticksPerSec();
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU of each named process over a window, in % of one core, and `others`: what the rest of the
 * machine used meanwhile (other jobs, and the kernel's share of loopback networking).
 */
function cpuWindow(pids: Record<string, number>): () => { wallMs: number; pct: Record<string, number>; ms: Record<string, number> } {
  const t0 = performance.now();
  const m0 = machineBusyMs();
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMs(p)]));
  return () => {
    const wallMs = performance.now() - t0;
    const ms: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMs(p) - c0[k]!]));
    ms.others = Math.max(0, machineBusyMs() - m0 - Object.values(ms).reduce((a, v) => a + v, 0));
    return { wallMs, ms, pct: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, round((v / wallMs) * 100, 1)])) };
  };
}

interface Proc {
  url: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A `dom` command as a process of its own; resolves once it prints its ready event. */
async function spawnDom(args: string[], readyEvent: string, env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, [DOM_JS, ...args], {
    cwd: REPO,
    env: { ...process.env, DOM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  const keep = (d: Buffer) => {
    all += d.toString();
    if (all.length > 100_000) all = all.slice(-50_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = await new Promise<string>((done, fail) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`dom ${args[0]} did not start within 60 s: ${all.slice(-2000)}`));
    }, 60_000);
    const onData = () => {
      const m = new RegExp(`"event":"${readyEvent}","url":"([^"]+)"`).exec(all);
      if (m) {
        clearTimeout(t);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        done(m[1]!);
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(t);
      fail(new Error(`dom ${args[0]} exited (${code}) before it was ready: ${all.slice(-2000)}`));
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return {
    url,
    pid: child.pid!,
    child,
    output: () => all,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => (clearTimeout(t), done()));
        child.kill('SIGTERM');
      }),
  };
}

// ------------------------------------------------------------- the hubs' event streams (SSE)

/**
 * What the hub instances report on `GET /api/v1/events` (order and DO changes), merged: each event
 * is stamped with the time the emitting hub gave it, so a slow reader here adds nothing.
 */
class HubEvents {
  /** order id → when it first reached an allocation outcome (released, partially allocated, backordered) */
  readonly allocated = new Map<string, number>();
  readonly released = new Set<string>();
  /** order id → when it first went in_fulfilment (its DO was acknowledged at the node) */
  readonly inFulfilment = new Map<string, number>();
  /** DO id → every change of its state seen, with the time of the newest event it includes */
  readonly doChanges = new Map<string, { eventAt: string; t: number }[]>();
  readonly picked = new Set<string>();
  private readonly aborts: AbortController[] = [];
  disconnects = 0;

  follow(hubUrl: string): void {
    const abort = new AbortController();
    this.aborts.push(abort);
    let last = '';
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          const res = await fetch(`${hubUrl}/api/v1/events?types=order,do`, {
            headers: { authorization: `Bearer ${PLANNER}`, ...(last ? { 'last-event-id': last } : {}) },
            signal: abort.signal,
          });
          if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
          const decoder = new TextDecoder();
          let buf = '';
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buf += decoder.decode(chunk, { stream: true });
            let at: number;
            while ((at = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, at);
              buf = buf.slice(at + 2);
              let data = '';
              for (const line of block.split('\n')) {
                if (line.startsWith('data:')) data += line.slice(5).trim();
                else if (line.startsWith('id:')) last = line.slice(3).trim();
              }
              if (data) this.take(data);
            }
          }
        } catch {
          /* reconnect below */
        }
        if (abort.signal.aborted) return;
        this.disconnects++;
        await sleep(200);
      }
    })();
  }

  private take(data: string): void {
    let e: { type?: string; at?: string; data?: Record<string, unknown> };
    try {
      e = JSON.parse(data);
    } catch {
      return;
    }
    if (!e.data || !e.at) return;
    const t = Date.parse(e.at);
    if (e.type === 'order') {
      const id = String(e.data.id);
      const st = e.data.status;
      if ((st === 'released' || st === 'partially_allocated' || st === 'backordered') && !this.allocated.has(id)) this.allocated.set(id, t);
      if (st === 'released') this.released.add(id);
      if (st === 'in_fulfilment' && !this.inFulfilment.has(id)) this.inFulfilment.set(id, t);
    } else if (e.type === 'do' && typeof e.data.eventAt === 'string') {
      const doId = String(e.data.doId);
      const list = this.doChanges.get(doId) ?? [];
      list.push({ eventAt: e.data.eventAt, t });
      this.doChanges.set(doId, list);
      if (e.data.state === 'picked') this.picked.add(doId);
    }
  }

  close(): void {
    for (const a of this.aborts) a.abort();
  }
}

// ------------------------------------------------------------------- the nodes (children)

interface FleetNodeSpec {
  id: string;
  token: string;
  hubUrl: string;
}

interface FleetReport {
  down: number[];
  events: FleetEvent[];
  dosSeen: number;
  stepErrors: number;
}

interface FleetHandle extends ChildHandle {
  nodes: number;
}

/** This file again, as a child process holding many nodes, talking over IPC. */
function fleetChild(): FleetHandle {
  return Object.assign(forkChild(SELF, REPO, 'fleet', { [CHILD_ENV]: 'fleet' }, { exitGraceMs: 20_000 }), { nodes: 0 });
}

/** The child: nodes started on demand; while measuring, each DO of the window is acknowledged at once and picked a moment later. */
async function fleetMain(log: Logger): Promise<void> {
  const nodes: DomNode[] = [];
  const feeds: { cancel(): void }[] = [];
  const down: number[] = [];
  const measured = new Map<string, DomNode>(); // doId → its node
  let prefix: string | null = null;
  let stepErrors = 0;

  const step = async (node: DomNode, doId: string, name: 'ack' | 'pick', body: object) => {
    if (!(await stepWhenSeen(node, doId, name, body))) stepErrors++;
  };

  const add = async (specs: FleetNodeSpec[], dir: string, skus: number) => {
    const mine: DomNode[] = [];
    await pool(specs, 8, async (n) => {
      const node = await startNode(
        { id: n.id, hubUrl: n.hubUrl, token: n.token, port: 0, dataDir: join(dir, n.id), associateToken: ASSOCIATE, initialBackoffMs: 250, maxBackoffMs: 2000 },
        log,
      );
      nodes.push(node);
      mine.push(node);
      const feed = node.db.changes({ since: 'now', live: true, include_docs: true, return_docs: false });
      feed.on('change', (ch: { id: string; doc?: unknown }) => {
        if (!ch.id.startsWith('do:') || !ch.doc || prefix === null) return;
        const d = ch.doc as DistributionOrderDoc;
        if (!d.orderId.startsWith(prefix)) return;
        down.push(Date.now() - Date.parse(d.createdAt));
        measured.set(d.doId, node);
        void (async () => {
          await step(node, d.doId, 'ack', {});
          await sleep(100);
          await step(node, d.doId, 'pick', { lines: d.lines.map((l) => ({ line: l.line, qty: l.qty })) });
        })();
      });
      feeds.push(feed);
      process.send?.({ type: 'progress', started: mine.length });
    });
    // ready: linked, its count applied and its uploads done
    const ready = () => mine.filter((n) => n.sync.snapshot().online && n.sync.snapshot().pending === 0 && n.store.positions().length >= skus).length;
    for (let i = 0; ; i++) {
      const r = ready();
      process.send?.({ type: 'progress', ready: r });
      if (r === mine.length) break;
      if (i > 1500) throw new Error(`only ${r} of ${mine.length} nodes became ready`);
      await sleep(200);
    }
    process.send?.({ type: 'added', nodes: nodes.length });
  };

  await new Promise<void>((done) => {
    process.on('message', (m: any) => {
      if (m?.cmd === 'add') add(m.nodes, m.dir, m.skus).catch((err) => process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) }));
      else if (m?.cmd === 'measure') prefix = m.prefix ?? null;
      else if (m?.cmd === 'status') process.send?.({ type: 'status', dosSeen: down.length });
      else if (m?.cmd === 'report') {
        prefix = null;
        const dos = new Map(measured);
        measured.clear();
        const d = down.splice(0);
        const errors = stepErrors;
        stepErrors = 0;
        void statusEvents(dos).then((evts) =>
          process.send?.({ type: 'report', down: d, dosSeen: d.length, events: evts, stepErrors: errors } satisfies FleetReport & { type: string }),
        );
      } else if (m?.cmd === 'stop') done();
    });
  });
  for (const f of feeds) f.cancel();
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
}

async function childMain(): Promise<void> {
  const log = createLogger('bench-scale-fleet', process.env.DOM_LOG_LEVEL ?? 'error');
  try {
    await fleetMain(log);
  } catch (err) {
    process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
  // leave no handle (a replication's timer, a socket) keeping the process up
  setTimeout(() => process.exit(), 200);
}

// --------------------------------------------------------------------------- a cluster

/** One CouchDB (`dom couch`, or the run's Apache CouchDB) and k hub instances over it, the nodes in child processes, the hubs' events merged. */
class Cluster {
  /** the configuration's own `dom couch` (embedded backend only) */
  couch?: Proc;
  couchAuth = '';
  couchBase = '';
  dbPrefix = '';
  hubs: Proc[] = [];
  fleets: FleetHandle[] = [];
  events = new HubEvents();
  readonly tpFacilities: FacilitySpec[];
  readonly tpSkus: string[];
  readonly ltSkus: string[];
  nodeFacilities: FacilitySpec[] = [];
  private rr = 0;

  constructor(
    readonly name: string,
    readonly instances: number,
    readonly s: Sizes,
    readonly dirs: Dirs,
    readonly say: (x: string) => void,
    readonly print: boolean,
    readonly backend: Backend,
  ) {
    this.tpFacilities = facilities(0, s.tpFacilities, 'TP', 1);
    this.tpSkus = Array.from({ length: s.tpSkus }, (_, i) => `TP-${i}`);
    this.ltSkus = Array.from({ length: s.ltSkus }, (_, i) => `LT-${i}`);
  }

  async start(): Promise<void> {
    // the instances' CouchDB: a `dom couch` of this configuration's own, or the run's Apache
    // CouchDB with a database prefix for this configuration
    let shared: Record<string, string>;
    if (this.backend.name === 'embedded') {
      const password = randomBytes(12).toString('hex');
      const port = await freePort();
      this.couch = await spawnDom(['couch', '--port', String(port), '--data', this.dirs.make(`${this.name}-couch`)], 'couch_ready', {
        COUCH_USER: 'admin',
        COUCH_PASSWORD: password,
      });
      shared = { COUCH_URL: `http://admin:${password}@127.0.0.1:${port}` };
    } else shared = this.backend.hubEnv(this.name);
    ({ url: this.couchBase, auth: this.couchAuth } = couchAccessOf(shared.COUCH_URL!));
    this.dbPrefix = shared.DOM_DB_PREFIX ?? '';
    for (let i = 0; i < this.instances; i++) {
      // one at a time: the first creates `dom` and takes the lease
      this.hubs.push(
        await spawnDom(['hub', '--port', String(await freePort()), '--data', this.dirs.make(`${this.name}-hub${i + 1}`)], 'hub_ready', {
          ...shared,
          DOM_PLANNER_TOKEN: PLANNER,
          DOM_INSTANCE: `${this.name}-hub${i + 1}`,
        }),
      );
    }
    for (const h of this.hubs) this.events.follow(h.url);
    await until(
      async () =>
        (
          await Promise.all(
            this.hubs.map((h) =>
              call(h.url, 'GET', '/readyz').then(
                (r) => r.status === 200,
                () => false,
              ),
            ),
          )
        ).every(Boolean),
      60_000,
      200,
    );
    // the catalogue, and the facilities the throughput orders go to (no nodes)
    await ok(
      this.hub(),
      'POST',
      '/api/v1/items',
      [...this.tpSkus, ...this.ltSkus].map((sku) => ({ sku, name: `Item ${sku}` })),
    );
    await this.register(this.tpFacilities, this.tpSkus);
  }

  /** the next instance, round-robin */
  hub(): string {
    return this.hubs[this.rr++ % this.hubs.length]!.url;
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    const couchPid = this.couch?.pid ?? this.backend.pid();
    if (couchPid) out.couch = couchPid;
    this.hubs.forEach((h, i) => (out[`hub${i + 1}`] = h.pid));
    this.fleets.forEach((f, i) => (out[`nodes${i + 1}`] = f.proc.pid!));
    out.bench = process.pid;
    return out;
  }

  async holder(): Promise<string> {
    const res = await fetch(`${this.couchBase}/${this.dbPrefix}dom/lease%3Aallocator`, { headers: { authorization: this.couchAuth } });
    const doc = (await res.json()) as { holder?: string };
    const i = this.hubs.findIndex((_, k) => doc.holder?.startsWith(`${this.name}-hub${k + 1}/`));
    return i < 0 ? 'none' : `hub${i + 1}`;
  }

  /** Register facilities (each gets its node database) with a count of these SKUs, through the instances in turn. */
  async register(specs: FacilitySpec[], skus: string[]): Promise<{ id: string; token: string }[]> {
    const out: { id: string; token: string }[] = [];
    const bar = progress('facilities registered', specs.length, 'facilities', this.print);
    await pool(specs, 4, async (f) => {
      // both through one instance: another learns of the facility through the `dom` feed, a moment later
      const hub = this.hub();
      const { token } = await ok<{ token: string }>(hub, 'POST', '/api/v1/facilities', f);
      await ok(hub, 'POST', '/api/v1/inventory', { facility: f.id, positions: skus.map((sku) => ({ sku, onHand: 1_000_000 })) });
      out.push({ id: f.id, token });
      bar.update(out.length);
    });
    bar.stop();
    return out;
  }

  /** Add live nodes until there are `total`, node i linked first to instance i mod k (the others as fallbacks). */
  async growTo(total: number): Promise<void> {
    const have = this.nodeFacilities.length;
    if (total <= have) return;
    const specs = facilities(have, total, 'LT', 2);
    const tokens = await this.register(specs, this.ltSkus);
    this.nodeFacilities.push(...specs);
    const byId = new Map(tokens.map((t) => [t.id, t.token]));
    const nodes: FleetNodeSpec[] = specs.map((f, j) => {
      const i = have + j;
      const order = this.hubs.map((_, k) => this.hubs[(i + k) % this.hubs.length]!.url);
      return { id: f.id, token: byId.get(f.id)!, hubUrl: order.join(',') };
    });
    // fill the last child up to perFleet, then start new ones
    const bar = progress('nodes ready', nodes.length, 'nodes', this.print);
    let done = 0;
    const waits: Promise<void>[] = [];
    while (nodes.length) {
      let f = this.fleets.at(-1);
      if (!f || f.nodes >= this.s.perFleet) {
        f = fleetChild();
        this.fleets.push(f);
      }
      const batch = nodes.splice(0, this.s.perFleet - f.nodes);
      f.nodes += batch.length;
      const fl = f;
      let last = 0;
      fl.onProgress((m) => {
        if (typeof m.ready === 'number') {
          done += m.ready - last;
          last = m.ready;
          bar.update(done);
        }
      });
      fl.send({ cmd: 'add', nodes: batch, dir: this.dirs.make(`${this.name}-nodes`), skus: this.ltSkus.length });
      waits.push(fl.next('added', 600_000).then(() => undefined));
    }
    await Promise.all(waits);
    bar.stop();
  }

  async stop(): Promise<void> {
    this.events.close();
    await Promise.all(this.fleets.map((f) => f.exit()));
    await Promise.all(this.hubs.map((h) => h.stop()));
    await this.couch?.stop();
  }

  // ------------------------------------------------------------ (a) order throughput

  private tpWindows: TpWindow[] = [];

  /** One window of orders: `concurrency` POSTs in flight for `seconds` (round-robin over the instances), then until each is allocated. */
  async throughputWindow(tag: string, seconds: number, count: number): Promise<void> {
    const s = this.s;
    const r = rng(7 + this.tpWindows.length);
    const bodies: OrderBody[] = Array.from({ length: count }, (_, i) => {
      const n = 1 + Math.floor(r() * 3);
      const picked = new Set<string>();
      while (picked.size < n) picked.add(this.tpSkus[Math.floor(r() ** 2 * this.tpSkus.length)]!);
      return {
        id: `TP-${this.name}-${tag}-${String(i).padStart(6, '0')}`,
        channel: 'web',
        priority: r() < 0.1 ? 1 : 5,
        delivery: 'ship',
        shipTo: { lat: BOX[0] + r() * (BOX[1] - BOX[0]), lon: BOX[2] + r() * (BOX[3] - BOX[2]) },
        lines: [...picked].map((sku, j) => ({ line: j + 1, sku, qty: 1 + Math.floor(r() * 2) })),
      };
    });
    const bar = progress(`orders allocated (${this.instances} inst.)`, count, 'orders', this.print);
    const ids = new Set(bodies.map((b) => b.id));
    const done = () => {
      let n = 0;
      for (const id of this.events.allocated.keys()) if (ids.has(id)) n++;
      return n;
    };
    const ticker = setInterval(() => bar.update(done()), 250);
    let posted = 0;
    const cpu = cpuWindow(this.pids());
    const t0 = performance.now();
    const postUntil = t0 + seconds * 1000;
    const accepted: OrderBody[] = [];
    await pool(bodies, s.tpConcurrency, async (b) => {
      if (performance.now() > postUntil) return;
      posted++;
      const res = await call(this.hub(), 'POST', '/api/v1/orders', b).catch(() => ({ status: 0 }));
      if (res.status === 201 || res.status === 200) accepted.push(b);
    });
    const postMs = performance.now() - t0;
    bar.setTotal(accepted.length);
    const finished = await until(() => done() >= accepted.length, 300_000, 20);
    const wallMs = performance.now() - t0;
    const c = cpu();
    clearInterval(ticker);
    bar.update(done());
    bar.stop();
    this.tpWindows.push({ accepted, posted, allocated: done(), postMs, wallMs, finished, cpuMs: c.ms, ordersPerSec: Math.round(done() / (wallMs / 1000)) });
  }

  /** The windows together, and the exactly-once check of every order they posted. */
  async throughput(): Promise<Throughput> {
    const w = this.tpWindows;
    const accepted = w.flatMap((x) => x.accepted);
    const allocated = w.reduce((a, x) => a + x.allocated, 0);
    const wallMs = w.reduce((a, x) => a + x.wallMs, 0);
    const postMs = w.reduce((a, x) => a + x.postMs, 0);
    const cpuMsSum: Record<string, number> = {};
    for (const x of w) for (const [k, v] of Object.entries(x.cpuMs)) cpuMsSum[k] = (cpuMsSum[k] ?? 0) + v;
    // exactly once: the DOs in the facilities' databases add up to each order's units, no order twice
    const want = new Map(accepted.map((b) => [b.id, b.lines.reduce((n, l) => n + l.qty, 0)]));
    const got = new Map<string, number>();
    let dos = 0;
    for (const f of this.tpFacilities) {
      const res = await fetch(
        `${this.couchBase}/${this.dbPrefix}node_${f.id.toLowerCase()}/_all_docs?startkey=%22do%3A%22&endkey=%22do%3A%EF%BF%B0%22&include_docs=true`,
        { headers: { authorization: this.couchAuth } },
      );
      const body = (await res.json()) as { rows: { doc: DistributionOrderDoc }[] };
      for (const row of body.rows) {
        dos++;
        got.set(row.doc.orderId, (got.get(row.doc.orderId) ?? 0) + row.doc.lines.reduce((n, l) => n + l.qty, 0));
      }
    }
    let wrong = 0;
    for (const [id, units] of want) if (got.get(id) !== units) wrong++;
    const holder = await this.holder();
    const per = (ms: number) => round(ms / Math.max(1, allocated), 2);
    return {
      instances: this.instances,
      holder,
      windows: w.map((x) => x.ordersPerSec),
      orders: accepted.length,
      postErrors: w.reduce((a, x) => a + x.posted - x.accepted.length, 0),
      concurrency: this.s.tpConcurrency,
      facilities: this.tpFacilities.length,
      acceptedPerSec: Math.round(accepted.length / (postMs / 1000)),
      ordersPerSec: Math.round(allocated / (wallMs / 1000)),
      seconds: round(wallMs / 1000, 1),
      allocated,
      allFinished: w.every((x) => x.finished),
      released: accepted.filter((b) => this.events.released.has(b.id)).length,
      dosInNodeDbs: dos,
      ordersNotExactlyOnce: wrong,
      cpuPct: Object.fromEntries(Object.entries(cpuMsSum).map(([k, v]) => [k, round((v / wallMs) * 100, 1)])),
      cpuMsPerOrder: Object.fromEntries(Object.entries(cpuMsSum).map(([k, v]) => [k, per(v)])),
      holderCpuMsPerOrder: per(cpuMsSum[holder] ?? Number.NaN),
      holderOrdersPerCoreSec: Math.round(1000 / Math.max(0.001, per(cpuMsSum[holder] ?? Number.NaN))),
      couchOrdersPerCoreSec: Math.round(1000 / Math.max(0.001, per(cpuMsSum.couch ?? Number.NaN))),
    };
  }

  // -------------------------------------------------------------- (b) sync latency

  /** Requests Apache CouchDB has served (its `httpd.requests` counter), NaN on `dom couch`, which keeps none. */
  async couchRequests(): Promise<number> {
    if (this.couch) return Number.NaN;
    const res = await fetch(`${this.couchBase}/_node/_local/_stats/couchdb/httpd/requests`, { headers: { authorization: this.couchAuth } }).catch(() => null);
    const body = (await res?.json().catch(() => null)) as { value?: number } | null;
    return typeof body?.value === 'number' ? body.value : Number.NaN;
  }

  /** The instances with every node linked and no traffic: CPU and RSS of each process. */
  async idle(seconds: number): Promise<Idle> {
    const r0 = await this.couchRequests();
    const t0 = Date.now();
    const w = cpuWindow(this.pids());
    await sleep(seconds * 1000);
    const c = w();
    const couchRequestsPerSec = round(((await this.couchRequests()) - r0) / ((Date.now() - t0) / 1000), 1);
    const conns = await Promise.all(
      this.hubs.map((h) =>
        call<{ syncConnections?: number }>(h.url, 'GET', '/readyz').then(
          (r) => r.body.syncConnections ?? Number.NaN,
          () => Number.NaN,
        ),
      ),
    );
    return {
      nodes: this.nodeFacilities.length,
      cpuPct: c.pct,
      rssMb: Object.fromEntries(Object.entries(this.pids()).map(([k, p]) => [k, rssMb(p)])),
      syncConnections: conns,
      couchRequestsPerSec,
    };
  }

  /** Orders at `rate`/s for `seconds`, round-robin to the instances, each to a node's location: both directions' latency. */
  async latency(tag: string, seconds: number): Promise<Latency> {
    const s = this.s;
    const prefix = `LT-${this.name}-${tag}-`;
    for (const f of this.fleets) f.send({ cmd: 'measure', prefix });
    const total = Math.max(1, Math.round(seconds * s.rate));
    const r = rng(3 + total);
    const bar = progress(`orders at ${s.rate}/s (${this.nodeFacilities.length} nodes)`, total, 'orders', this.print);
    const posts: Promise<unknown>[] = [];
    const requests0 = await this.couchRequests();
    const cpu = cpuWindow(this.pids());
    const t0 = Date.now();
    let postErrors = 0;
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / s.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const f = this.nodeFacilities[Math.floor(r() * this.nodeFacilities.length)]!;
      posts.push(
        call(this.hub(), 'POST', '/api/v1/orders', {
          id: `${prefix}${String(i).padStart(6, '0')}`,
          channel: 'web',
          delivery: 'ship',
          shipTo: { lat: f.lat, lon: f.lon },
          lines: [{ line: 1, sku: this.ltSkus[Math.floor(r() * this.ltSkus.length)]!, qty: 1 }],
        }).then(
          (res) => res.status >= 300 && postErrors++,
          () => postErrors++,
        ),
      );
      bar.update(i + 1);
    }
    await Promise.all(posts);
    bar.stop();
    // settle: every DO at its node, and picked as far as the hubs know
    const status = async () => {
      let seen = 0;
      for (const f of this.fleets) {
        f.send({ cmd: 'status' });
        seen += (await f.next<{ dosSeen: number }>('status', 30_000)).dosSeen;
      }
      return seen;
    };
    let seen = 0;
    const settled = await until(
      async () => {
        seen = await status();
        let picked = 0;
        for (const id of this.events.picked) if (id.startsWith(prefix)) picked++;
        return seen >= total - postErrors && picked >= seen;
      },
      this.s.latencySeconds * 1000 + 60_000,
      250,
    );
    const wallMs = Date.now() - t0;
    const c = cpu();
    const couchRequests = (await this.couchRequests()) - requests0;
    const rep: FleetReport = { down: [], events: [], dosSeen: 0, stepErrors: 0 };
    for (const f of this.fleets) {
      f.send({ cmd: 'report' });
      const x = await f.next<FleetReport>('report', 120_000);
      rep.down.push(...x.down);
      rep.events.push(...x.events);
      rep.dosSeen += x.dosSeen;
      rep.stepErrors += x.stepErrors;
    }
    // each event written at a node → the first change of its DO state at a hub that includes it,
    // and each acknowledgement → the order's status (in_fulfilment) at a hub
    const up: number[] = [];
    const upOrder: number[] = [];
    let matched = 0;
    for (const e of rep.events) {
      const at = Date.parse(e.at);
      let first = Infinity;
      for (const x of this.events.doChanges.get(e.doId) ?? []) if (x.eventAt >= e.at && x.t < first) first = x.t;
      if (first === Infinity) continue;
      matched++;
      up.push(first - at);
      const o = this.events.inFulfilment.get(e.orderId);
      if (e.status === 'ack' && o !== undefined) upOrder.push(o - at);
    }
    return {
      nodes: this.nodeFacilities.length,
      instances: this.instances,
      ratePerSec: s.rate,
      orders: total,
      postErrors,
      settled,
      dosReceived: rep.dosSeen,
      eventsWritten: rep.events.length,
      eventsMatched: matched,
      stepErrors: rep.stepErrors,
      down: pct(rep.down),
      up: pct(up),
      upOrder: pct(upOrder),
      cpuPct: c.pct,
      rssMb: Object.fromEntries(Object.entries(this.pids()).map(([k, p]) => [k, rssMb(p)])),
      wallSeconds: round(wallMs / 1000, 1),
      syncCpuMsPerOrder: {},
      couchRequests,
      couchRequestsPerOrder: Number.NaN,
    };
  }
}

interface OrderBody {
  id: string;
  channel: string;
  priority: number;
  delivery: string;
  shipTo: { lat: number; lon: number };
  lines: { line: number; sku: string; qty: number }[];
}

interface TpWindow {
  accepted: OrderBody[];
  posted: number;
  allocated: number;
  postMs: number;
  wallMs: number;
  finished: boolean;
  cpuMs: Record<string, number>;
  ordersPerSec: number;
}

interface Throughput {
  instances: number;
  holder: string;
  /** orders/s of each window, in the order they ran */
  windows: number[];
  orders: number;
  postErrors: number;
  concurrency: number;
  facilities: number;
  acceptedPerSec: number;
  ordersPerSec: number;
  seconds: number;
  allocated: number;
  allFinished: boolean;
  released: number;
  dosInNodeDbs: number;
  ordersNotExactlyOnce: number;
  /** CPU of each process over the window (% of one core), and per order allocated (ms) */
  cpuPct: Record<string, number>;
  cpuMsPerOrder: Record<string, number>;
  /** the lease holder's CPU per order (it takes its share of the POSTs too), and the orders/s one core of it would carry; the same for `dom couch` */
  holderCpuMsPerOrder: number;
  holderOrdersPerCoreSec: number;
  couchOrdersPerCoreSec: number;
}

interface Idle {
  nodes: number;
  cpuPct: Record<string, number>;
  rssMb: Record<string, number>;
  syncConnections: number[];
  /** Apache CouchDB's requests/s meanwhile (NaN on `dom couch`) */
  couchRequestsPerSec: number;
}

interface Latency {
  nodes: number;
  instances: number;
  ratePerSec: number;
  orders: number;
  postErrors: number;
  settled: boolean;
  dosReceived: number;
  eventsWritten: number;
  eventsMatched: number;
  stepErrors: number;
  /** DO created at the hub → in the node's PouchDB */
  down: Pct;
  /** status event written at the node → the DO state changed at a hub */
  up: Pct;
  /** acknowledgement at the node → the order in_fulfilment at a hub */
  upOrder: Pct;
  cpuPct: Record<string, number>;
  rssMb: Record<string, number>;
  wallSeconds: number;
  /** CPU above the idle window's, per order of this traffic (its DO down, two events and positions up), ms: each process, and `hubs` summed */
  syncCpuMsPerOrder: Record<string, number>;
  /** Apache CouchDB's requests during the window (the bench's own reads of the DOs included), and per order above the idle rate */
  couchRequests: number;
  couchRequestsPerOrder: number;
}

interface ConfigResult {
  instances: number;
  throughput: Throughput;
  idle: Idle;
  latency: Latency;
}

interface CapacityStep {
  nodes: number;
  idleHubCpuPct: number;
  idleCouchCpuPct: number;
  hubRssMb: number;
  couchRssMb: number;
  syncConnections: number;
  trafficHubCpuPct: number;
  trafficCouchCpuPct: number;
  nodesCpuPct: number;
  /** what the rest of the machine used during the traffic window, % of a core */
  othersCpuPct: number;
  hubSyncCpuMsPerOrder: number;
  couchSyncCpuMsPerOrder: number;
  /** Apache CouchDB's requests: per second idle, per order of the traffic above idle (NaN on `dom couch`) */
  idleCouchRequestsPerSec: number;
  couchRequestsPerOrder: number;
  down: Pct;
  up: Pct;
  upOrder: Pct;
  p99UnderOneSecond: boolean;
}

interface Capacity {
  steps: CapacityStep[];
  /** the most nodes measured on one instance with every sync p99 under 1 s (the largest step that met it) */
  nodesAtP99Under1s: number;
  /** whether a larger step missed (else the capacity is at least the largest step) */
  limitReached: boolean;
  /** the same for the hub → node direction alone */
  nodesAtDownP99Under1s: number;
  /** the traffic's CPU per order (DO down, events and positions up), mean over the steps: the hub instance, `dom couch` */
  hubSyncCpuMsPerOrder: number;
  couchSyncCpuMsPerOrder: number;
  /** slopes over the steps (least squares): per live-syncing node */
  hubCpuMsPerSecPerNode: number;
  hubRssMbPerNode: number;
  couchCpuMsPerSecPerNode: number;
  couchRssMbPerNode: number;
  /** intercepts: the instance with no node */
  hubBaseCpuPct: number;
  hubBaseRssMb: number;
  /** the idle cost projected to 70% of one core (an instance is one Node.js event loop) */
  projectedNodesPerInstance: number;
}

function fit(points: [number, number][]): { slope: number; intercept: number } {
  const ok = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ok.length === 0) return { slope: Number.NaN, intercept: Number.NaN };
  if (ok.length === 1) return { slope: ok[0]![1] / Math.max(1, ok[0]![0]), intercept: 0 };
  const n = ok.length;
  const mx = ok.reduce((a, [x]) => a + x, 0) / n;
  const my = ok.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = ok.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = ok.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

const sumOf = (r: Record<string, number>, prefix: string) =>
  round(
    Object.entries(r)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((a, [, v]) => a + v, 0),
    1,
  );

/** The traffic's CPU above the idle figure, per order, in ms (filled into the latency result). */
function syncCost(idle: Idle, l: Latency): void {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(l.cpuPct)) {
    if (k === 'bench' || k === 'others') continue;
    out[k] = round(((v - (idle.cpuPct[k] ?? 0)) * 10 * l.wallSeconds) / Math.max(1, l.orders), 1);
  }
  out.hubs = sumOf(out, 'hub');
  l.syncCpuMsPerOrder = out;
  l.couchRequestsPerOrder = round((l.couchRequests - idle.couchRequestsPerSec * l.wallSeconds) / Math.max(1, l.orders), 1);
}

function capacityStep(idle: Idle, lat: Latency): CapacityStep {
  return {
    nodes: idle.nodes,
    idleHubCpuPct: idle.cpuPct.hub1 ?? Number.NaN,
    idleCouchCpuPct: idle.cpuPct.couch ?? Number.NaN,
    hubRssMb: idle.rssMb.hub1 ?? Number.NaN,
    couchRssMb: idle.rssMb.couch ?? Number.NaN,
    syncConnections: idle.syncConnections[0] ?? Number.NaN,
    trafficHubCpuPct: lat.cpuPct.hub1 ?? Number.NaN,
    trafficCouchCpuPct: lat.cpuPct.couch ?? Number.NaN,
    nodesCpuPct: sumOf(lat.cpuPct, 'nodes'),
    othersCpuPct: lat.cpuPct.others ?? Number.NaN,
    hubSyncCpuMsPerOrder: lat.syncCpuMsPerOrder.hubs ?? Number.NaN,
    couchSyncCpuMsPerOrder: lat.syncCpuMsPerOrder.couch ?? Number.NaN,
    idleCouchRequestsPerSec: idle.couchRequestsPerSec,
    couchRequestsPerOrder: lat.couchRequestsPerOrder,
    down: lat.down,
    up: lat.up,
    upOrder: lat.upOrder,
    p99UnderOneSecond: lat.down.count > 0 && lat.down.p99 < 1000 && lat.up.p99 < 1000 && lat.upOrder.p99 < 1000,
  };
}

function capacity(steps: CapacityStep[]): Capacity {
  const hubCpu = fit(steps.map((s) => [s.nodes, s.idleHubCpuPct]));
  const hubRss = fit(steps.map((s) => [s.nodes, s.hubRssMb]));
  const couchCpu = fit(steps.map((s) => [s.nodes, s.idleCouchCpuPct]));
  const couchRss = fit(steps.map((s) => [s.nodes, s.couchRssMb]));
  // the largest step that met it (a smaller step that missed is listed with what else ran then)
  let best = 0;
  let bestDown = 0;
  for (const s of steps) {
    if (s.p99UnderOneSecond) best = Math.max(best, s.nodes);
    if (s.down.count > 0 && s.down.p99 < 1000) bestDown = Math.max(bestDown, s.nodes);
  }
  const missed = steps.some((s) => s.nodes > best);
  const mean = (xs: number[]) => round(xs.filter(Number.isFinite).reduce((a, x) => a + x, 0) / Math.max(1, xs.filter(Number.isFinite).length), 1);
  // % of a core per node × 10 = ms of CPU per second per node
  const perNodeMs = Math.max(0.001, hubCpu.slope * 10);
  const base = Math.max(0, hubCpu.intercept);
  return {
    steps,
    nodesAtP99Under1s: best,
    limitReached: missed,
    nodesAtDownP99Under1s: bestDown,
    hubSyncCpuMsPerOrder: mean(steps.map((s) => s.hubSyncCpuMsPerOrder)),
    couchSyncCpuMsPerOrder: mean(steps.map((s) => s.couchSyncCpuMsPerOrder)),
    hubCpuMsPerSecPerNode: round(hubCpu.slope * 10, 3),
    hubRssMbPerNode: round(hubRss.slope, 3),
    couchCpuMsPerSecPerNode: round(couchCpu.slope * 10, 3),
    couchRssMbPerNode: round(couchRss.slope, 3),
    hubBaseCpuPct: round(hubCpu.intercept, 1),
    hubBaseRssMb: round(hubRss.intercept, 1),
    // a slope at or below zero (noise over too few or too close steps) projects nothing
    projectedNodesPerInstance: hubCpu.slope > 0 ? Math.max(0, Math.floor((700 - base * 10) / perNodeMs)) : 0,
  };
}

// --------------------------------------------------------------------------- the report

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
const lat = (p: Pct) => `${fmt(p.p50)} / ${fmt(p.p99)} ms`;
/** what the load generator (this process) and the rest of the machine used, % of a core */
const besides = (r: Record<string, number>) => `load generator ${fmt(r.bench ?? Number.NaN, 1)}%, rest of the machine ${fmt(r.others ?? Number.NaN, 1)}%`;
const cpuList = (r: Record<string, number>) =>
  Object.entries(r)
    .filter(([k]) => k !== 'bench' && k !== 'others')
    .map(([k, v]) => `${k} ${fmt(v, 1)}`)
    .join(', ');

export const HONEST_NOTE =
  'This machine has 2 cores, shared by CouchDB, the hub instance(s), the nodes and the load generator (and other jobs): ' +
  'two instances compete for the cores one instance already had, and every order still goes through the single lease holder ' +
  '(the allocator) and the single CouchDB process. The 2-vs-1 ratio therefore shows what coordinating two instances costs ' +
  '(the `dom` changes feed each instance follows, the orders reaching the holder through it, each instance following every node ' +
  'database), not what scale-out gains on separate machines.';

/** One table, each backend's rows in turn, the backend named in the first column. */
function tables(byBackend: ScaleResult['backends'], sizes: Sizes): string {
  const rows: string[][] = [];
  for (const [name, r] of Object.entries(byBackend)) for (const row of figureRows(r!, sizes)) rows.push([name, ...row]);
  const head = ['Backend', ...HEAD];
  return [head, head.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

function figureRows(r: BackendScale, sizes: Sizes): string[][] {
  const rows: string[][] = [];
  const one = r.one;
  const two = r.two;
  const tp = (c: ConfigResult | undefined) =>
    c
      ? `${fmt(c.throughput.ordersPerSec)} orders/s (windows: ${c.throughput.windows.map((w) => fmt(w)).join(', ')}; ${fmt(c.throughput.orders)} orders, ${c.throughput.concurrency} in flight; accepted ${fmt(c.throughput.acceptedPerSec)}/s; ${fmt(c.throughput.dosInNodeDbs)} DOs; not exactly once: ${c.throughput.ordersNotExactlyOnce}; lease holder ${c.throughput.holder})`
      : 'failed';
  const cpuPer = (c: ConfigResult | undefined) =>
    c
      ? `CPU % of a core: ${cpuList(c.throughput.cpuPct)} (${besides(c.throughput.cpuPct)}); CPU ms/order: ${cpuList(c.throughput.cpuMsPerOrder)}; one core of the lease holder would carry ${fmt(c.throughput.holderOrdersPerCoreSec)} orders/s, of CouchDB ${fmt(c.throughput.couchOrdersPerCoreSec)}`
      : '';
  rows.push(['Order throughput, 1 instance: POST → allocated → DOs in node DBs', tp(one), cpuPer(one)]);
  rows.push(['Order throughput, 2 instances (POSTs round-robin; the lease holder allocates)', tp(two), cpuPer(two)]);
  rows.push([
    'Throughput ratio 2 vs 1',
    `${fmt(r.ratio.throughput, 2)}×`,
    'windows alternated: one, two, two, one, both configurations up throughout; 2 cores for everything: see the note',
  ]);
  for (const c of [one, two]) {
    if (!c) continue;
    const l = c.latency;
    const where = `${l.nodes} nodes${c.instances > 1 ? ` split over ${c.instances} instances` : ''}, ${l.ratePerSec} orders/s`;
    rows.push([
      `Sync hub → node, ${c.instances} instance${c.instances > 1 ? 's' : ''}: DO created → in the node's PouchDB, p50 / p99 (${where}; ${fmt(l.down.count)} DOs)`,
      lat(l.down),
      `max ${fmt(l.down.max)} ms; CPU % of a core: ${cpuList(l.cpuPct)} (${besides(l.cpuPct)}); CPU above idle per order, ms: ${cpuList(l.syncCpuMsPerOrder)}`,
    ]);
    rows.push([
      `Sync node → hub, ${c.instances} instance${c.instances > 1 ? 's' : ''}: event → DO state at the hub, p50 / p99 (${fmt(l.up.count)} events)`,
      lat(l.up),
      `max ${fmt(l.up.max)} ms`,
    ]);
    rows.push([
      `Sync node → hub, ${c.instances} instance${c.instances > 1 ? 's' : ''}: ack → order status at the hub, p50 / p99 (${fmt(l.upOrder.count)} orders)`,
      lat(l.upOrder),
      `max ${fmt(l.upOrder.max)} ms`,
    ]);
    rows.push([
      `Idle, ${c.instances} instance${c.instances > 1 ? 's' : ''}, ${c.idle.nodes} nodes linked: CPU % of a core / RSS MB`,
      cpuList(c.idle.cpuPct),
      `RSS: ${cpuList(c.idle.rssMb)}`,
    ]);
  }
  const cap = r.capacity;
  if (cap) {
    for (const s of cap.steps) {
      rows.push([
        `One instance, ${fmt(s.nodes)} live nodes (${sizes.rate} orders/s)`,
        `hub→node ${lat(s.down)}; node→hub ${lat(s.up)}; ack→order ${lat(s.upOrder)}${s.p99UnderOneSecond ? '' : ' **(p99 ≥ 1 s)**'}`,
        `hub CPU idle ${fmt(s.idleHubCpuPct, 1)}%, traffic ${fmt(s.trafficHubCpuPct, 1)}% (${fmt(s.hubSyncCpuMsPerOrder, 1)} ms/order above idle); hub RSS ${fmt(s.hubRssMb)} MB; couch CPU idle ${fmt(s.idleCouchCpuPct, 1)}%, RSS ${fmt(s.couchRssMb)} MB; ${fmt(s.syncConnections)} sync connections open; nodes' processes ${fmt(s.nodesCpuPct, 1)}%; rest of the machine ${fmt(s.othersCpuPct, 1)}%${Number.isFinite(s.idleCouchRequestsPerSec) ? `; CouchDB requests idle ${fmt(s.idleCouchRequestsPerSec, 1)}/s, ${fmt(s.couchRequestsPerOrder, 1)} per order above idle` : ''}`,
      ]);
    }
    rows.push([
      'Per-instance capacity: live nodes with every sync p99 < 1 s',
      `${fmt(cap.nodesAtP99Under1s)}${cap.limitReached ? '' : ' (every step met it: at least this many)'} (hub → node alone: ${fmt(cap.nodesAtDownP99Under1s)}); projected from idle CPU to 70% of a core: ${fmt(cap.projectedNodesPerInstance)}`,
      `per live node: hub CPU ${fmt(cap.hubCpuMsPerSecPerNode, 3)} ms/s, hub RSS ${fmt(cap.hubRssMbPerNode * 1024)} KB; couch CPU ${fmt(cap.couchCpuMsPerSecPerNode, 3)} ms/s, couch RSS ${fmt(cap.couchRssMbPerNode * 1024)} KB (least squares over the steps; hub with no node: ${fmt(cap.hubBaseCpuPct, 1)}% CPU, ${fmt(cap.hubBaseRssMb)} MB); per order of sync traffic: hub ${fmt(cap.hubSyncCpuMsPerOrder, 1)} ms, couch ${fmt(cap.couchSyncCpuMsPerOrder, 1)} ms`,
    ]);
  }
  return rows;
}

const HEAD = ['Figure', 'Measured', 'Detail (same run)'];

const SECTION = '## Scale-out';
const SECTION_INTRO = `\`dom bench scale\` (\`scripts/bench/scale.ts\`): real processes — a spawned \`dom couch\`, one then two
spawned \`dom hub\` instances sharing it through \`COUCH_URL\` (the allocator under the lease), and
real nodes (\`startNode\`, up to 100 to a child process) live-syncing through the gateways. Order
throughput is orders POSTed over HTTP (32 in flight, round-robin over the instances), in two
windows per configuration run alternately (one, two, two, one) with both up, allocated
by the lease holder, DOs written into the node databases (each order's DO units checked against
its lines: "not exactly once" counts the orders that do not add up). Sync latency: DO created at
the hub → in the node's PouchDB; status event written at the node → the DO state, and the order
status, changed at a hub (times from the hubs' event streams). Capacity: one instance with more
and more live nodes under the same traffic; CPU from /proc/<pid>/stat, RSS from /proc/<pid>/status;
per-node figures are least-squares slopes over the steps; "rest of the machine" is what other
jobs (and the kernel) used meanwhile, from /proc/stat. Each run appends its table below.
`;

export function appendToBenchmarks(entry: string, file = BENCHMARKS_MD): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  let at = text.indexOf(`\n${SECTION}\n`);
  if (at < 0) {
    // before the replenishment section if there is one: that bench appends at the end of the file
    const before = text.indexOf('\n## Replenishment\n');
    const block = `\n${SECTION}\n\n${SECTION_INTRO}\n`;
    text = before < 0 ? `${text.replace(/\s*$/, '\n')}${block}` : `${text.slice(0, before + 1)}${block.slice(1)}\n${text.slice(before + 1)}`;
    at = text.indexOf(`\n${SECTION}\n`);
  }
  const next = text.indexOf('\n## ', at + SECTION.length + 2);
  const head = next < 0 ? text : text.slice(0, next + 1);
  const tail = next < 0 ? '' : text.slice(next + 1);
  writeFileSync(file, `${head.replace(/\s*$/, '\n')}\n${entry.trim()}\n${tail ? `\n${tail}` : ''}`);
}

// ------------------------------------------------------------------------------------- run

/** The figures on one backend. */
export interface BackendScale {
  label: string;
  one?: ConfigResult;
  two?: ConfigResult;
  ratio: { throughput: number; downP99: number; upOrderP99: number };
  capacity?: Capacity;
}

export interface ScaleResult {
  quick: boolean;
  date: string;
  commit: string;
  machine: Machine;
  sizes: Sizes;
  backends: Partial<Record<BackendName, BackendScale>>;
  seconds: number;
  notes: string[];
}

export async function run(opts: ScaleOptions = {}): Promise<ScaleResult> {
  const quick = !!opts.quick;
  // DOM_SCALE_SIZES='{"capacitySteps":[100]}' overrides sizes (for exploring; the recorded runs use the defaults)
  const s: Sizes = { ...(quick ? QUICK : FULL), ...(process.env.DOM_SCALE_SIZES ? (JSON.parse(process.env.DOM_SCALE_SIZES) as Partial<Sizes>) : {}) };
  const print = opts.print !== false;
  const say = (x: string) => print && process.stdout.write(`${x}\n`);
  const dirs = new Dirs('dom-scale', 'DOM_SCALE_KEEP');
  const notes: string[] = [];
  const m = machine();
  const started = Date.now();
  const out: ScaleResult = { quick, date: new Date().toISOString(), commit: commitOf(REPO), machine: m, sizes: s, backends: {}, seconds: 0, notes };
  say(`dom bench scale${quick ? ' --quick' : ''}: ${m.cpu}, ${m.cores} cores, ${m.ramGb} GB; load average ${m.loadAvgStart}`);

  const timed = async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
    say(title);
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      say(`  (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  };

  const failed = (what: string, err: unknown, c?: Cluster) => {
    notes.push(`${what} failed: ${(err as Error).message.split('\n')[0]}`);
    say(`  failed: ${(err as Error).stack ?? err}`);
    for (const h of c?.hubs ?? []) say(`  ${h.url} log tail: ${h.output().slice(-1500)}`);
  };

  /** Nodes live on the cluster, an idle window, then a window of traffic. */
  const liveAndLatency = async (c: Cluster) => {
    await timed(`  ${c.instances} instance${c.instances > 1 ? 's' : ''}: ${s.nodes} nodes live`, () => c.growTo(s.nodes));
    await sleep(Math.min(5_000, s.idleSeconds * 500));
    const idle = await timed('  idle window', () => c.idle(s.idleSeconds));
    const latency = await timed('  sync latency', () => c.latency('w0', s.latencySeconds));
    syncCost(idle, latency);
    say(
      `  hub→node ${lat(latency.down)}, node→hub ${lat(latency.up)}, ack→order ${lat(latency.upOrder)}; CPU % of a core: ${JSON.stringify(latency.cpuPct)}, idle before: ${JSON.stringify(idle.cpuPct)}`,
    );
    if (!latency.settled)
      notes.push(
        `${c.instances} instance(s), ${latency.nodes} nodes: not every DO arrived and was picked within the wait (${latency.dosReceived} of ${latency.orders} DOs)`,
      );
    if (latency.stepErrors) notes.push(`${c.instances} instance(s): ${latency.stepErrors} associate steps failed at the nodes`);
    return { idle, latency };
  };

  const capacityRamp = async (c: Cluster, idle: Idle, latency: Latency) => {
    const steps: CapacityStep[] = [capacityStep(idle, latency)];
    for (const n of s.capacitySteps) {
      if (n <= c.nodeFacilities.length) continue;
      const goOn = await timed(`  capacity: ${n} nodes on one instance`, async () => {
        await c.growTo(n);
        await sleep(Math.min(5_000, s.idleSeconds * 500));
        const i2 = await c.idle(s.idleSeconds);
        const l2 = await c.latency(`n${n}`, s.latencySeconds);
        syncCost(i2, l2);
        const st = capacityStep(i2, l2);
        steps.push(st);
        say(
          `  hub→node ${lat(l2.down)}, node→hub ${lat(l2.up)}, ack→order ${lat(l2.upOrder)}; hub CPU idle ${st.idleHubCpuPct}%, RSS ${st.hubRssMb} MB; CouchDB requests idle ${st.idleCouchRequestsPerSec}/s, ${st.couchRequestsPerOrder}/order; CPU % of a core: ${JSON.stringify(l2.cpuPct)}`,
        );
        if (!l2.settled) notes.push(`capacity, ${n} nodes: not every DO arrived and was picked within the wait (${l2.dosReceived} of ${l2.orders})`);
        // past 1 s the steps go on (more points for the per-node figures), unless the instance is swamped
        return Math.max(st.down.p99, st.up.p99, st.upOrder.p99) < 10_000;
      }).catch((err) => {
        failed(`capacity step ${n}`, err, c);
        return false;
      });
      if (!goOn) break;
    }
    return capacity(steps);
  };

  /** One then two instances over one CouchDB of this backend, nodes live, the capacity ramp. */
  const measure = async (backend: Backend): Promise<BackendScale> => {
    const one = new Cluster('one', 1, s, dirs, say, print, backend);
    const two = new Cluster('two', 2, s, dirs, say, print, backend);
    const out: BackendScale = { label: backend.label, ratio: { throughput: Number.NaN, downP99: Number.NaN, upOrderP99: Number.NaN } };
    try {
      // both configurations up at once, so that their throughput windows can alternate (one, two,
      // two, one): what else runs on the machine then weighs on both alike
      let up1 = await timed('\n1 hub instance over one CouchDB: starting', () => one.start()).then(
        () => true,
        (err) => (failed(`${backend.name}, 1 instance: start`, err, one), false),
      );
      let up2 = await timed('2 hub instances over one CouchDB: starting', () => two.start()).then(
        () => true,
        (err) => (failed(`${backend.name}, 2 instances: start`, err, two), false),
      );
      const half = Math.max(1, Math.round(s.tpPostSeconds / 2));
      const count = Math.ceil(s.tpOrders / 2);
      for (const [c, tag] of [
        [one, 'a'],
        [two, 'a'],
        [two, 'b'],
        [one, 'b'],
      ] as const) {
        if (!(c === one ? up1 : up2)) continue;
        await timed(`order throughput, ${c.instances} instance${c.instances > 1 ? 's' : ''} (window ${tag})`, () => c.throughputWindow(tag, half, count)).catch(
          (err) => {
            failed(`${c.instances} instance(s): throughput`, err, c);
            if (c === one) up1 = false;
            else up2 = false;
          },
        );
      }
      const results: Partial<Record<1 | 2, Throughput>> = {};
      for (const c of [one, two]) {
        if (!(c === one ? up1 : up2)) continue;
        const t = await c.throughput();
        results[c.instances as 1 | 2] = t;
        say(
          `  ${c.instances} instance(s): ${fmt(t.ordersPerSec)} orders/s (windows ${t.windows.join(', ')}; ${t.orders} orders, lease holder ${t.holder}); CPU % of a core: ${JSON.stringify(t.cpuPct)}`,
        );
        if (!t.allFinished) notes.push(`${c.instances} instance(s): ${t.orders - t.allocated} orders were not allocated within 5 minutes`);
        if (t.ordersNotExactlyOnce) notes.push(`${c.instances} instance(s): ${t.ordersNotExactlyOnce} orders' DOs do not add up to their lines`);
      }
      // then the nodes: the two instances first (and stopped), then the one with its capacity ramp
      if (up2 && results[2]) {
        say('\n2 hub instances, nodes split over them');
        try {
          const { idle, latency } = await liveAndLatency(two);
          out.two = { instances: 2, throughput: results[2], idle, latency };
        } catch (err) {
          failed('2 instances: sync', err, two);
        }
      }
      await two.stop().catch(() => undefined);
      if (up1 && results[1]) {
        say('\n1 hub instance');
        try {
          const { idle, latency } = await liveAndLatency(one);
          out.one = { instances: 1, throughput: results[1], idle, latency };
          out.capacity = await capacityRamp(one, idle, latency);
        } catch (err) {
          failed('1 instance: sync', err, one);
        }
      }
    } finally {
      await two.stop().catch(() => undefined);
      await one.stop().catch(() => undefined);
    }
    if (out.one && out.two) {
      out.ratio = {
        throughput: round(out.two.throughput.ordersPerSec / Math.max(1, out.one.throughput.ordersPerSec), 2),
        downP99: round(out.two.latency.down.p99 / Math.max(1, out.one.latency.down.p99), 2),
        upOrderP99: round(out.two.latency.upOrder.p99 / Math.max(1, out.one.latency.upOrder.p99), 2),
      };
    }
    return out;
  };

  // the cluster is measured by the e2e bench (its write path), not here
  const backends = await chooseBackends({ ...opts, clusterPhases: null }, dirs, say);
  try {
    for (const backend of backends) {
      say(`\n=== on the ${backend.label} ===`);
      out.backends[backend.name] = await measure(backend);
    }
  } finally {
    for (const b of backends) await b.stop().catch(() => undefined);
    dirs.clean();
  }
  m.loadAvgEnd = round(os.loadavg()[0]!, 2);
  out.seconds = Math.round((Date.now() - started) / 1000);

  const md = [...Object.entries(out.backends).map(([name, r]) => `Backend **${name}**: ${r!.label}.`), '', tables(out.backends, s)].join('\n');
  say(`\n${md}\n`);
  say(`note: ${HONEST_NOTE}`);
  for (const n of notes) say(`note: ${n}`);
  // a full run keeps its raw figures in bench-results/ (ignored by git); docs/BENCHMARKS.md only with --record
  if (!quick && !process.env.VITEST) say(`raw results: ${saveResult(REPO, 'scale', out)}`);
  if (opts.record) {
    const entry = [
      `### ${out.date.slice(0, 16).replace('T', ' ')} UTC · ${out.commit} · ${quick ? 'quick' : 'full'} run (${out.seconds} s)`,
      '',
      `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB RAM, Node ${m.node}; load average ${m.loadAvgStart} at the start, ${m.loadAvgEnd} at the end.`,
      '',
      md,
      '',
      `- ${HONEST_NOTE}`,
      ...notes.map((n) => `- ${n}`),
      '',
    ].join('\n');
    appendToBenchmarks(entry);
    say(`appended to ${BENCHMARKS_MD}`);
  }
  return out;
}

if (process.env[CHILD_ENV] === 'fleet' && process.send) void childMain();
