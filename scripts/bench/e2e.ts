/**
 * `dom bench e2e`: the whole system, end to end, on this machine. Each figure is printed next to
 * the limit of the part beneath it, measured in the same run, so that a slow figure says where
 * the time goes:
 *
 * - order throughput: orders POSTed over HTTP (many in flight), allocated, their DOs written into
 *   the node databases — against the raw `_bulk_docs` rate of the same CouchDB;
 * - sync latency, both ways, with many nodes live-syncing at once (nodes in a second process):
 *   DO created at the hub → in the node's local database, and status event at the node → the DO
 *   state (and the order status) at the hub — against plain PouchDB live replication straight from
 *   CouchDB under the same load;
 * - initial sync of a new node through the gateway — against plain PouchDB replication straight
 *   from CouchDB and plain PouchDB replication through the gateway, in rounds (three, each from a
 *   store of its own; the figures are the medians);
 * - availability checks (`GET /api/v1/atp`) at 1,000 facilities under load from a second process
 *   (autocannon) — against a trivial authenticated route of the same API under the same load;
 * - memory: peak RSS of a hub holding 1,000 facilities × 10,000 SKUs, and of a node with 50,000
 *   SKUs — against the RSS of the same process before loading.
 *
 * The heavy parts run in child processes of this same file (`DOM_E2E_CHILD=<role>`), talking over
 * IPC. Every run prints a table and appends it, with the machine, date and commit, to
 * docs/BENCHMARKS.md ("End to end").
 */
import { execSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import diagnostics from 'node:diagnostics_channel';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BOX,
  Dirs,
  api,
  chooseBackends,
  saveResult,
  type Backend,
  commit as commitOf,
  forkChild,
  machine,
  median,
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
import PouchDB from 'pouchdb';
import { startHub, type Hub } from '../../hub/index.js';
import { startNode, type DomNode } from '../../node/index.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { DistributionOrderDoc, FacilityDoc } from '../../shared/schemas.js';
import type { LoadConfig, LoadResult } from './load-atp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const LOAD_ATP = fileURLToPath(new URL('./load-atp.ts', import.meta.url));
const BENCHMARKS_MD = join(REPO, 'docs', 'BENCHMARKS.md');
const PLANNER = 'bench-e2e-planner-token';
const ASSOCIATE = 'bench-associate';

export interface E2eOptions {
  quick?: boolean;
  /** Append the run to docs/BENCHMARKS.md (`--record`; default no: a full run writes bench-results/ only). */
  record?: boolean;
  /** Run only these phases (throughput, bulk, latency, initial, atp, memory); default all. */
  only?: string[];
  /** Print the table (default yes). */
  print?: boolean;
  /** embedded, couchdb, cluster, both or all (default: all for a full run, the suite's backend for a quick one). */
  backend?: string;
  /** An Apache CouchDB to measure (with credentials); implies --backend couchdb. */
  couchUrl?: string;
}

interface Sizes {
  orders: number;
  /** orders are posted for at most this long */
  postSeconds: number;
  orderConcurrency: number;
  /** the intake latency phase: orders/s at a fixed rate, for this long */
  intakeRate: number;
  intakeSeconds: number;
  throughputFacilities: number;
  throughputSkus: number;
  rawDocs: number;
  nodes: number;
  latencySeconds: number;
  /** orders/s of each traffic window, one after the other with the same nodes */
  latencyRates: number[];
  initialDocs: number;
  /** rounds of the initial-sync pulls (the figures are their medians) */
  initialRounds: number;
  atpFacilities: number;
  atpSkus: number;
  atpSeconds: number;
  atpConnections: number;
  memFacilities: number;
  memSkus: number;
}

const FULL: Sizes = {
  orders: 10_000,
  postSeconds: 30,
  orderConcurrency: 64,
  intakeRate: 500,
  intakeSeconds: 20,
  throughputFacilities: 20,
  throughputSkus: 200,
  rawDocs: 20_000,
  nodes: 100,
  latencySeconds: 25,
  latencyRates: [2, 5, 20],
  initialDocs: 50_000,
  initialRounds: 3,
  atpFacilities: 1_000,
  atpSkus: 20,
  atpSeconds: 8,
  atpConnections: 16,
  memFacilities: 1_000,
  memSkus: 10_000,
};
const QUICK: Sizes = {
  orders: 600,
  postSeconds: 4,
  orderConcurrency: 32,
  intakeRate: 50,
  intakeSeconds: 3,
  throughputFacilities: 8,
  throughputSkus: 40,
  rawDocs: 3_000,
  nodes: 5,
  latencySeconds: 4,
  latencyRates: [5],
  initialDocs: 2_000,
  initialRounds: 2,
  atpFacilities: 50,
  atpSkus: 10,
  atpSeconds: 1,
  atpConnections: 16,
  memFacilities: 100,
  memSkus: 1_000,
};

// ------------------------------------------------------------------------------------ helpers

function facilities(n: number, prefix: string, seed: number) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${String(i).padStart(4, '0')}`,
    type: i % 25 === 0 ? ('dc' as const) : ('store' as const),
    name: `${prefix} ${i}`,
    lat: Math.round((BOX[0] + r() * (BOX[1] - BOX[0])) * 1e4) / 1e4,
    lon: Math.round((BOX[2] + r() * (BOX[3] - BOX[2])) * 1e4) / 1e4,
    capacity: 10_000_000,
    shipFromStore: true,
    pickup: false,
  }));
}

const quickIdleMs = (s: Sizes) => Math.min(5_000, s.latencySeconds * 500);

/**
 * DOM_E2E_CPU_PROFILE=<prefix>: a CPU profile of this process over each measured window, written to
 * `<prefix>-<phase>.cpuprofile` (open in Chrome DevTools, or summarise it by function).
 */
async function profiled<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  const stop = await startProfile(phase);
  try {
    return await fn();
  } finally {
    await stop();
  }
}

/** `profiled` for a window that is not one function: starts the profile, answers what stops and writes it. */
async function startProfile(phase: string): Promise<() => Promise<void>> {
  const prefix = process.env.DOM_E2E_CPU_PROFILE;
  if (!prefix) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${prefix}-${phase}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(everyMs);
  }
  process.stderr.write(`  (gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s)\n`);
  return false;
}

/**
 * Count this process's HTTP requests to CouchDB by kind: method and the path with database names
 * and document ids folded. Read off undici's diagnostics channels, which both clients the hub uses
 * publish to (Node's own `fetch`, which nano calls, and the `undici` package's `request`:
 * hub/couch/http.ts). The bench's own requests to the database URLs in `notHub` (the
 * plain-replication probe's) are not the hub's, and not counted.
 */
function countCouchRequests(
  couch: { url: string; prefix: string },
  notHub: string[] = [],
): {
  total(): number;
  top(n: number): Record<string, number>;
  /** the mean time a request of each of the `top` kinds took, in ms (to its answer's headers) */
  meanMs(n: number): Record<string, number>;
  stop(): void;
} {
  const couchUrl = new URL(couch.url);
  const skip = notHub.map((u) => new URL(u).pathname);
  const kinds = new Map<string, number>();
  const ms = new Map<string, number>();
  const started = new WeakMap<object, { k: string; t0: number }>();
  let total = 0;
  const onCreate = (m: unknown) => {
    const req = (m as { request: { origin?: string | URL; method?: string; path: string } }).request;
    if (String(req.origin).replace(/\/$/, '') !== couchUrl.origin) return;
    const pathname = req.path.split('?')[0]!;
    if (skip.some((p) => pathname.startsWith(p))) return;
    total++;
    const path = pathname
      .split('/')
      .map((p, i) =>
        i === 1
          ? decodeURIComponent(p)
              .replace(couch.prefix, '')
              .replace(/^node_.*/, 'node_*')
          : i === 2 && !p.startsWith('_')
            ? p.replace(/(%3A|:).*/, ':*')
            : i === 3
              ? '*'
              : p,
      )
      .join('/');
    const k = `${(req.method ?? 'GET').toUpperCase()} ${path}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
    started.set(req, { k, t0: performance.now() });
  };
  const onHeaders = (m: unknown) => {
    const s = started.get((m as { request: object }).request);
    if (s) ms.set(s.k, (ms.get(s.k) ?? 0) + performance.now() - s.t0);
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:request:headers', onHeaders);
  const top = (n: number) => [...kinds].sort((a, b) => b[1] - a[1]).slice(0, n);
  return {
    total: () => total,
    top: (n) => Object.fromEntries(top(n)),
    meanMs: (n) => Object.fromEntries(top(n).map(([k, c]) => [k, Math.round(((ms.get(k) ?? 0) / c) * 10) / 10])),
    stop: () => {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      diagnostics.unsubscribe('undici:request:headers', onHeaders);
    },
  };
}

/** Wait (at most `maxMs`) until the hub makes at most `perSec` CouchDB requests in a second. */
async function settle(hub: Hub, perSec: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const c = countCouchRequests(hub.ctx.couch);
    await sleep(1000);
    c.stop();
    if (c.total() <= perSec) return;
  }
}

/** The hub left alone for `ms`: its CPU (% of one core) and its requests to CouchDB. */
async function idleWindow(
  hub: Hub,
  ms: number,
): Promise<{ cpuPct: number; couchRequestsPerSec: number; nodeDbRequestsPerSec: number; kinds: Record<string, number> }> {
  const count = countCouchRequests(hub.ctx.couch);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  const wall = Date.now() - t0;
  count.stop();
  const perSec = (n: number) => Math.round((n / wall) * 10_000) / 10;
  return {
    cpuPct: Math.round(((c.user + c.system) / 1000 / wall) * 100),
    couchRequestsPerSec: perSec(count.total()),
    // what idle nodes cost: requests to their databases (the rest is the hub's own: lease, dom feed)
    nodeDbRequestsPerSec: perSec(Object.entries(count.top(1_000)).reduce((n, [k, v]) => n + (k.includes(' /node_') ? v : 0), 0)),
    kinds: Object.fromEntries(Object.entries(count.top(6)).map(([k, v]) => [k, perSec(v)])),
  };
}

/** Peak resident set size of this process (VmHWM), in MB; falls back to the current RSS. */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    /* not Linux */
  }
  return rssMb();
}
const rssMb = () => Math.round(process.memoryUsage().rss / 1048576);

function ulimitN(): number {
  try {
    const v = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return v === 'unlimited' ? Infinity : Number(v);
  } catch {
    return 1024;
  }
}

// ------------------------------------------------------------------------ child processes

/** This file again, as a child process in `role`, with its own event loop (and core). */
function child(role: string, extraArgs: string[] = []): ChildHandle {
  return forkChild(SELF, REPO, role, { DOM_E2E_CHILD: role }, { execArgv: extraArgs, exitGraceMs: 15_000 });
}

function childReply(msg: object) {
  process.send?.(msg);
}

async function childMain(role: string): Promise<void> {
  const log = createLogger(`e2e-${role}`, process.env.DOM_LOG_LEVEL ?? 'error');
  const first: any = await new Promise((ok) => process.once('message', ok));
  try {
    if (role === 'fleet') await fleetChild(first, log);
    else if (role === 'pull') await pullChild(first, log);
    else if (role === 'hubmem') await hubMemoryChild(first, log);
    else throw new Error(`unknown role ${role}`);
  } catch (err) {
    childReply({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
  // leave no handle (a replication's timer, a socket) keeping the process up
  setTimeout(() => process.exit(), 200);
}

// ---------------------------------------------------------------- phase 1: order throughput

interface ThroughputResult {
  /** orders per request: 1 through POST /api/v1/orders, more through /api/v1/orders/bulk */
  perRequest: number;
  orders: number;
  /** CouchDB requests the hub made per order (HTTP, counted at the client), and its CPU per order */
  couchRequestsPerOrder: number;
  /** the most frequent kinds, per order */
  couchRequestKinds: Record<string, number>;
  /** the mean time a request of each of those kinds took (ms) */
  couchRequestMs: Record<string, number>;
  /** the POSTs' latency as the clients saw it (ms) */
  postMs: { p50: number; p99: number };
  /** the hub process's event loop delay over the phase (ms): what every request waited for the loop */
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  hubCpuMsPerOrder: number;
  /** what one core would sustain at that CPU cost */
  ordersPerSecPerCore: number;
  concurrency: number;
  facilities: number;
  acceptedPerSec: number;
  ordersPerSec: number;
  seconds: number;
  released: number;
  notReleased: number;
  postErrors: number;
  dosCreated: number;
  dosInNodeDbs: number;
  batches: number;
  rawBulkDocs: number;
  rawBulkDocsPerSec: number;
  ratioToRaw: number;
}

/** A hub for the order phases: `throughputFacilities` facilities with plenty of every SKU. */
async function orderHub(s: Sizes, log: Logger, dirs: Dirs, backend: Backend, tag: string) {
  const hub = await startHub({ port: 0, dataDir: dirs.make(tag), plannerToken: PLANNER, batchWindowMs: 100, batchSize: 1000, ...backend.hub(tag) }, log);
  try {
    const http = api(hub.url, PLANNER);
    const facs = facilities(s.throughputFacilities, 'TP', 1);
    for (const f of facs) await http.ok('POST', '/api/v1/facilities', f);
    const skus = Array.from({ length: s.throughputSkus }, (_, i) => `TP-${i}`);
    await http.ok(
      'POST',
      '/api/v1/items',
      skus.map((sku) => ({ sku, name: `Item ${sku}` })),
    );
    for (const f of facs) await http.ok('POST', '/api/v1/inventory', { facility: f.id, positions: skus.map((sku) => ({ sku, onHand: 1_000_000 })) });
    return { hub, http, facs, skus };
  } catch (err) {
    await hub.stop();
    throw err;
  }
}

interface IntakeLatencyResult {
  /** the rate asked for, and the rate the orders were accepted at (first 201 to last) */
  ratePerSec: number;
  achievedPerSec: number;
  orders: number;
  released: number;
  postErrors: number;
  /** order accepted (the 201) → released (its DOs written to the node databases, then the order) */
  acceptedToDos: Pct;
  /** client connections, each one request at a time */
  connections: number;
}

/** Orders at a fixed rate: how long from the 201 until the order's DOs are in the node databases. */
async function intakeLatencyPhase(s: Sizes, log: Logger, dirs: Dirs, backend: Backend): Promise<IntakeLatencyResult> {
  const { hub, skus } = await orderHub(s, log, dirs, backend, 'intake');
  const accepted = new Map<string, number>();
  const lat: number[] = [];
  let first = 0;
  let last = 0;
  // the hub's own events, in its process: 'created' when the 201 goes out, 'released' once the
  // batch has written the DOs to the node databases and then the order
  const sub = hub.ctx.events.events$.subscribe((e) => {
    if (e.type !== 'order' || typeof e.data.id !== 'string') return;
    if (e.data.created === true) {
      last = performance.now();
      first ||= last;
      accepted.set(e.data.id, last);
    } else if (e.data.status === 'released' && accepted.has(e.data.id)) {
      lat.push(performance.now() - accepted.get(e.data.id)!);
      accepted.delete(e.data.id);
    }
  });
  try {
    const amount = s.intakeRate * s.intakeSeconds;
    // Open loop: orders arrive at the rate whatever the answers' latency, as from a storefront's many
    // shoppers. A connection carries one request at a time, so there are enough of them that the
    // rate is kept with up to half a second of latency (32 connections held 500/s only below 64 ms).
    const connections = Math.max(32, Math.ceil(s.intakeRate / 2));
    const res = await profiled('intake', () =>
      load({ url: hub.url, token: PLANNER, connections, duration: 0, rate: s.intakeRate, box: BOX, orders: { skus, prefix: 'IN-', amount } }),
    );
    const ok = res.requests - res.non2xx - res.errors;
    await until('every order released', () => lat.length >= ok, 120_000, 20);
    const achievedPerSec = Math.round(ok / Math.max(0.001, (last - first) / 1000));
    return {
      ratePerSec: s.intakeRate,
      achievedPerSec,
      orders: ok,
      released: lat.length,
      postErrors: res.non2xx + res.errors + res.timeouts,
      acceptedToDos: pct(lat),
      connections,
    };
  } finally {
    sub.unsubscribe();
    await hub.stop();
  }
}

async function throughputPhase(s: Sizes, log: Logger, dirs: Dirs, backend: Backend, bulk = 0): Promise<ThroughputResult> {
  const tag = bulk ? 'tbulk' : 'tput';
  const { hub, http, facs, skus } = await orderHub(s, log, dirs, backend, tag);
  const sub: { unsubscribe(): void }[] = [];
  try {
    // the limit beneath: raw _bulk_docs of small documents into the same CouchDB, 500 a batch
    await hub.ctx.couch.ensureDb('bench_raw');
    const raw = hub.ctx.couch.db('bench_raw');
    const rawBar = progress('raw _bulk_docs', s.rawDocs, 'docs');
    const r0 = performance.now();
    for (let i = 0; i < s.rawDocs; i += 500) {
      const docs = Array.from({ length: Math.min(500, s.rawDocs - i) }, (_, j) => ({
        _id: `raw:${String(i + j).padStart(8, '0')}`,
        type: 'bench',
        n: i + j,
        at: new Date().toISOString(),
        note: 'a small document of about the size of a DO line',
      }));
      await raw.bulk({ docs });
      rawBar.update(i + docs.length);
    }
    const rawMs = performance.now() - r0;
    rawBar.stop();

    // the orders: `concurrency` POSTs in flight; done when every order is released
    const status = new Map<string, string>();
    sub.push(
      hub.ctx.events.events$.subscribe((e) => {
        if (e.type === 'order' && typeof e.data.id === 'string' && typeof e.data.status === 'string') status.set(e.data.id, e.data.status);
      }),
    );
    const bar = progress('orders released', s.orders, 'orders');
    const done = () => {
      let n = 0;
      for (const st of status.values()) if (st === 'released' || st === 'partially_allocated' || st === 'backordered') n++;
      return n;
    };
    const ticker = setInterval(() => bar.update(done()), 250);
    const requests = countCouchRequests(hub.ctx.couch);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // the clients: autocannon in a process of its own, `orderConcurrency` POSTs in flight
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let posted: LoadResult;
    let acceptedMs = 0;
    try {
      posted = await profiled(bulk ? 'bulk' : 'throughput', async () => {
        // bulk: a few requests in flight, each of `bulk` orders (a storefront's or an OMS's feed)
        const connections = bulk ? Math.max(2, Math.ceil(s.orderConcurrency / 16)) : s.orderConcurrency;
        const res = await load({
          url: hub.url,
          token: PLANNER,
          connections,
          duration: 0,
          box: BOX,
          orders: { skus, prefix: 'E2E-', amount: s.orders, ...(bulk ? { bulk } : {}) },
        });
        acceptedMs = performance.now() - t0;
        const ok = (res.requests - res.non2xx - res.errors) * Math.max(1, bulk);
        bar.setTotal(ok);
        await until('every order released', () => done() >= ok, 300_000, 20);
        return res;
      });
    } finally {
      requests.stop();
      loopDelay.disable();
    }
    const postErrors = posted.non2xx + posted.errors + posted.timeouts;
    const accepted = (posted.requests - posted.non2xx - posted.errors) * Math.max(1, bulk);
    const acceptedPerSec = accepted / (acceptedMs / 1000);
    const couchRequests = requests.total();
    const doneMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(ticker);
    bar.update(done());
    bar.stop();

    let released = 0;
    for (const st of status.values()) if (st === 'released') released++;
    // the DOs as they stand in the node databases
    let dosInNodeDbs = 0;
    for (const f of facs) {
      const res = await hub.ctx.couch.db(`node_${f.id.toLowerCase()}`).list({ startkey: 'do:', endkey: 'do:\ufff0' });
      dosInNodeDbs += res.rows.length;
    }
    // and a sample read back through the API
    for (const id of [...status.keys()].filter((_, i) => i % Math.max(1, Math.floor(accepted / 20)) === 0)) {
      const o = await http.ok<{ status: string }>('GET', `/api/v1/orders/${id}`);
      if (o.status !== 'released') log.warn({ id, status: o.status }, 'order not released');
    }
    const rawBulkDocsPerSec = s.rawDocs / (rawMs / 1000);
    const ordersPerSec = released / (doneMs / 1000);
    const cpuMsPerOrder = (cpu.user + cpu.system) / 1000 / Math.max(1, released);
    return {
      perRequest: Math.max(1, bulk),
      orders: accepted,
      couchRequestsPerOrder: Math.round((couchRequests / Math.max(1, accepted)) * 10) / 10,
      couchRequestKinds: Object.fromEntries(Object.entries(requests.top(8)).map(([k, v]) => [k, Math.round((v / Math.max(1, accepted)) * 100) / 100])),
      couchRequestMs: requests.meanMs(8),
      postMs: { p50: posted.latencyMs.p50, p99: posted.latencyMs.p99 },
      eventLoopDelayMs: {
        mean: Math.round(loopDelay.mean / 1e5) / 10,
        p99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
        max: Math.round(loopDelay.max / 1e5) / 10,
      },
      hubCpuMsPerOrder: Math.round(cpuMsPerOrder * 10) / 10,
      ordersPerSecPerCore: Math.round(1000 / cpuMsPerOrder),
      concurrency: bulk ? Math.max(2, Math.ceil(s.orderConcurrency / 16)) : s.orderConcurrency,
      facilities: facs.length,
      acceptedPerSec: Math.round(acceptedPerSec),
      ordersPerSec: Math.round(ordersPerSec),
      seconds: Math.round(doneMs / 100) / 10,
      released,
      notReleased: accepted - released,
      postErrors,
      dosCreated: hub.allocator.stats.dosCreated,
      dosInNodeDbs,
      batches: hub.allocator.stats.batches,
      rawBulkDocs: s.rawDocs,
      rawBulkDocsPerSec: Math.round(rawBulkDocsPerSec),
      ratioToRaw: Math.round((ordersPerSec / rawBulkDocsPerSec) * 10_000) / 10_000,
    };
  } finally {
    for (const x of sub) x.unsubscribe();
    await hub.stop();
  }
}

// ------------------------------------------------------------------ phase 2: sync latency

interface LatencyRun {
  ratePerSec: number;
  orders: number;
  dosCreated: number;
  dosReceived: number;
  eventsWritten: number;
  eventsMatched: number;
  down: Pct;
  up: Pct;
  upOrder: Pct;
  probeDown: Pct;
  probeUp: Pct;
  /** CPU used during the traffic, in % of one core: the hub process (with its CouchDB), the nodes' process */
  hubCpuPct: number;
  nodesCpuPct: number;
  /** CouchDB requests per order (above the idle rate), and per order by kind */
  couchRequestsPerOrder: number;
  couchRequestKinds: Record<string, number>;
  /** the monitor's own counts over the run (events applied from uploads, catch-up reads, events waiting for their DO's state) */
  monitorCounts: Record<string, number>;
}

/** The first traffic rate's figures at the top level; every rate's in `runs`. */
interface LatencyResult extends LatencyRun {
  nodes: number;
  /** the hub with every node linked and no traffic: CPU, and requests to CouchDB by kind */
  idleHubCpuPct: number;
  idleCouchRequestsPerSec: number;
  /** of which to the node databases: what the idle nodes cost */
  idleNodeDbRequestsPerSec: number;
  idleCouchRequestKinds: Record<string, number>;
  runs: LatencyRun[];
}

interface FleetStart {
  hubUrl: string;
  couchUrl: string;
  couchAuth: string;
  nodes: { id: string; token: string }[];
  dir: string;
  skus: number;
}

async function latencyPhase(s: Sizes, log: Logger, dirs: Dirs, notes: string[], backend: Backend): Promise<LatencyResult> {
  // each node: a LevelDB (~4-6 fds), its HTTP server, the pull's long poll and the push
  const limit = ulimitN();
  let n = s.nodes;
  const fits = Math.floor((limit - 500) / 16);
  if (fits < n) {
    notes.push(`ulimit -n is ${limit}: ran ${fits} nodes instead of ${n}`);
    n = Math.max(1, fits);
  }
  const hub = await startHub({ port: 0, dataDir: dirs.make('lat'), plannerToken: PLANNER, ...backend.hub('lat') }, log);
  const subs: { unsubscribe(): void }[] = [];
  let fleet: ChildHandle | undefined;
  const stopProbe = new AbortController();
  try {
    const http = api(hub.url, PLANNER);
    const facs = facilities(n, 'LT', 2);
    const tokens: { id: string; token: string }[] = [];
    const regBar = progress('facilities', n, 'registered');
    for (const f of facs) {
      tokens.push({ id: f.id, token: (await http.ok<{ token: string }>('POST', '/api/v1/facilities', f)).token });
      regBar.update(tokens.length);
    }
    regBar.stop();
    const skus = Array.from({ length: 10 }, (_, i) => `LT-${i}`);
    await http.ok(
      'POST',
      '/api/v1/items',
      skus.map((sku) => ({ sku, name: `Item ${sku}` })),
    );
    await pool(facs, 8, async (f) => {
      await http.ok('POST', '/api/v1/inventory', { facility: f.id, positions: skus.map((sku) => ({ sku, onHand: 1_000_000 })) });
    });
    // the probe: plain PouchDB live replication of one database, straight from CouchDB
    await hub.ctx.couch.ensureDb('bench_probe');

    fleet = child('fleet');
    const startBar = progress('nodes live', n, 'nodes');
    fleet.onProgress((m) => startBar.update(m.ready));
    fleet.send({
      hubUrl: hub.url,
      couchUrl: hub.ctx.couch.dbUrl('bench_probe'),
      couchAuth: hub.ctx.couch.authHeader,
      nodes: tokens,
      dir: dirs.make('fleet'),
      skus: skus.length,
    } satisfies FleetStart);
    await fleet.next('ready', 300_000);
    startBar.update(n);
    startBar.stop();
    // let the start-up uploads (counts applied, positions) settle, then see what idle sync costs
    await settle(hub, Math.min(n / 5, 40) * 2 + 5, s.nodes > 10 ? 30_000 : 5_000);
    // and the monitor's catch-up reads of the databases the start-up wrote (30 s after): idle is nothing left to do
    await until("the monitor's catch-up reads", () => hub.ctx.monitor.pendingCatchUps === 0, 60_000, 250);
    const idle = await idleWindow(hub, quickIdleMs(s));

    // the hub side: when each DO state and order status changed here
    const doArrivals = new Map<string, { eventAt: string; t: number }[]>();
    const picked = new Set<string>();
    const inFulfilment = new Map<string, number>();
    const probeUp: number[] = [];
    subs.push(
      hub.ctx.events.events$.subscribe((e) => {
        if (e.type === 'do' && typeof e.data.eventAt === 'string') {
          const doId = String(e.data.doId);
          doArrivals.set(doId, [...(doArrivals.get(doId) ?? []), { eventAt: e.data.eventAt, t: Date.now() }]);
          if (e.data.state === 'picked') picked.add(doId);
        } else if (e.type === 'order' && e.data.status === 'in_fulfilment' && !inFulfilment.has(String(e.data.id))) {
          inFulfilment.set(String(e.data.id), Date.now());
        }
      }),
    );
    const probeDb = hub.ctx.couch.db('bench_probe');
    const probeInfo = await hub.ctx.couch.dbInfo('bench_probe');
    let measuring = true;
    void (async () => {
      let since = String(probeInfo.update_seq);
      while (!stopProbe.signal.aborted) {
        try {
          const res = await fetch(
            `${hub.ctx.couch.dbUrl('bench_probe')}/_changes?feed=longpoll&include_docs=true&timeout=5000&since=${encodeURIComponent(since)}`,
            { headers: { authorization: hub.ctx.couch.authHeader }, signal: stopProbe.signal },
          );
          const body = (await res.json()) as { results: { id: string; doc?: { at?: string } }[]; last_seq: string | number };
          for (const r of body.results) if (r.id.startsWith('pup:') && r.doc?.at && measuring) probeUp.push(Date.now() - Date.parse(r.doc.at));
          since = String(body.last_seq);
        } catch {
          if (!stopProbe.signal.aborted) await sleep(100);
        }
      }
    })();

    const runs: LatencyRun[] = [];
    let orderNo = 0;
    for (const rate of s.latencyRates) {
      probeUp.length = 0;
      fleet.send({ cmd: 'measure' });
      const total = Math.round(s.latencySeconds * rate);
      const r = rng(3 + rate);
      const bar = progress(`orders at ${rate}/s`, total, 'orders');
      const posts: Promise<unknown>[] = [];
      const cpu0 = process.cpuUsage();
      const stopProfile = await startProfile(`latency-${rate}`);
      const traffic = countCouchRequests(hub.ctx.couch, [hub.ctx.couch.dbUrl('bench_probe')]);
      const monitor0 = { ...hub.ctx.monitor.counts };
      const dos0 = hub.allocator.stats.dosCreated;
      const t0 = Date.now();
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const f = facs[orderNo % facs.length]!;
        const no = orderNo++;
        posts.push(
          http.call('POST', '/api/v1/orders', {
            id: `LAT-${String(no).padStart(6, '0')}`,
            channel: 'web',
            delivery: 'ship',
            shipTo: { lat: f.lat, lon: f.lon },
            lines: [{ line: 1, sku: skus[Math.floor(r() * skus.length)]!, qty: 1 }],
          }),
        );
        if (i % 5 === 0) posts.push(probeDb.insert({ _id: `pdown:${String(no).padStart(6, '0')}`, createdAt: new Date().toISOString() } as never));
        bar.update(i + 1);
      }
      await Promise.all(posts);
      bar.stop();

      // settle: every DO at its node, and picked as far as the hub knows
      await until(
        'the DOs and their events to arrive',
        async () => {
          fleet!.send({ cmd: 'status' });
          const st = await fleet!.next<{ dosSeen: number }>('status', 10_000);
          return st.dosSeen >= hub.allocator.stats.dosCreated - dos0 && picked.size >= hub.allocator.stats.dosCreated;
        },
        60_000,
        250,
      );
      const wallMs = Date.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      traffic.stop();
      await stopProfile();
      fleet.send({ cmd: 'report' });
      const rep = await fleet.next<{ down: number[]; probeDown: number[]; dosSeen: number; events: FleetEvent[]; stepErrors: number; cpuMs: number }>(
        'report',
        60_000,
      );
      if (rep.stepErrors) notes.push(`latency at ${rate}/s: ${rep.stepErrors} associate steps failed at the nodes`);
      // each event written at a node → the first change of its DO state at the hub that includes it
      // (the monitor may apply an ack and a pick in one go: both count, each from its own time)
      const up: number[] = [];
      const upOrder: number[] = [];
      let matched = 0;
      for (const e of rep.events) {
        const a = doArrivals.get(e.doId)?.find((x) => x.eventAt >= e.at);
        if (!a) continue;
        matched++;
        up.push(a.t - Date.parse(e.at));
        const o = inFulfilment.get(e.orderId);
        if (e.status === 'ack' && o !== undefined) upOrder.push(o - Date.parse(e.at));
      }
      runs.push({
        ratePerSec: rate,
        orders: total,
        dosCreated: hub.allocator.stats.dosCreated - dos0,
        dosReceived: rep.dosSeen,
        eventsWritten: rep.events.length,
        eventsMatched: matched,
        down: pct(rep.down),
        up: pct(up),
        upOrder: pct(upOrder),
        probeDown: pct(rep.probeDown),
        probeUp: pct(probeUp),
        hubCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
        nodesCpuPct: Math.round((rep.cpuMs / wallMs) * 100),
        couchRequestsPerOrder: Math.round(((traffic.total() - (idle.couchRequestsPerSec * wallMs) / 1000) / Math.max(1, total)) * 10) / 10,
        couchRequestKinds: Object.fromEntries(Object.entries(traffic.top(10)).map(([k, v]) => [k, Math.round((v / Math.max(1, total)) * 10) / 10])),
        monitorCounts: Object.fromEntries(Object.entries(hub.ctx.monitor.counts).map(([k, v]) => [k, v - (monitor0[k as keyof typeof monitor0] ?? 0)])),
      });
      await settle(hub, Math.min(n / 5, 40) * 2 + 5, 20_000);
    }
    measuring = false;
    return {
      nodes: n,
      idleHubCpuPct: idle.cpuPct,
      idleCouchRequestsPerSec: idle.couchRequestsPerSec,
      idleNodeDbRequestsPerSec: idle.nodeDbRequestsPerSec,
      idleCouchRequestKinds: idle.kinds,
      ...runs[0]!,
      runs,
    };
  } finally {
    stopProbe.abort();
    for (const x of subs) x.unsubscribe();
    await fleet?.exit();
    await hub.stop();
  }
}

async function fleetChild(start: FleetStart, log: Logger): Promise<void> {
  const nodes: DomNode[] = [];
  const feeds: { cancel(): void }[] = [];
  const down: number[] = [];
  const probeDown: number[] = [];
  const measured = new Map<string, DomNode>(); // doId → its node
  let measuring = false;
  let stepErrors = 0;
  let cpu0 = process.cpuUsage();

  const step = async (node: DomNode, doId: string, name: 'ack' | 'pick', body: object) => {
    if (!(await stepWhenSeen(node, doId, name, body))) stepErrors++;
  };

  await pool(start.nodes, 8, async (n) => {
    const node = await startNode(
      {
        id: n.id,
        hubUrl: start.hubUrl,
        token: n.token,
        port: 0,
        dataDir: join(start.dir, n.id),
        associateToken: ASSOCIATE,
        initialBackoffMs: 250,
        maxBackoffMs: 2000,
      },
      log,
    );
    nodes.push(node);
    const feed = node.db.changes({ since: 'now', live: true, include_docs: true, return_docs: false });
    feed.on('change', (ch: { id: string; doc?: unknown }) => {
      if (!ch.id.startsWith('do:') || !ch.doc || !measuring) return;
      const d = ch.doc as DistributionOrderDoc;
      down.push(Date.now() - Date.parse(d.createdAt));
      measured.set(d.doId, node);
      // the associate: acknowledge at once, pick a moment later
      void (async () => {
        await step(node, d.doId, 'ack', {});
        await sleep(100);
        await step(node, d.doId, 'pick', { lines: d.lines.map((l) => ({ line: l.line, qty: l.qty })) });
      })();
    });
    feeds.push(feed);
  });

  // the probe: a plain PouchDB replica of one database, straight from CouchDB, both ways
  const probe = new PouchDB(join(start.dir, 'probe'));
  const remote = new PouchDB(start.couchUrl, {
    skip_setup: true,
    fetch: (url, init) => {
      init.headers.set('Authorization', start.couchAuth);
      return PouchDB.fetch(url, init);
    },
  });
  const live = { live: true, retry: true, heartbeat: 10_000, batch_size: 200 };
  const probePull = probe.replicate.from(remote, live);
  const probePush = probe.replicate.to(remote, live);
  const probeFeed = probe.changes({ since: 'now', live: true, include_docs: true, return_docs: false });
  probeFeed.on('change', (ch: { id: string; doc?: { createdAt?: string } }) => {
    if (!ch.id.startsWith('pdown:') || !ch.doc?.createdAt || !measuring) return;
    probeDown.push(Date.now() - Date.parse(ch.doc.createdAt));
    void probe.put({ _id: `pup:${ch.id.slice(6)}`, at: new Date().toISOString() }).catch(() => undefined);
  });

  // ready: every node linked, its count applied and its uploads done
  const ready = () => nodes.filter((n) => n.sync.snapshot().online && n.sync.snapshot().pending === 0 && n.store.positions().length >= start.skus).length;
  for (let i = 0; ; i++) {
    const r = nodes.length < start.nodes.length ? 0 : ready();
    childReply({ type: 'progress', ready: r });
    if (r === start.nodes.length) break;
    if (i > 1500) throw new Error(`only ${r} of ${start.nodes.length} nodes became ready`);
    await sleep(200);
  }
  childReply({ type: 'ready' });

  await new Promise<void>((done) => {
    process.on('message', (m: any) => {
      if (m?.cmd === 'measure') {
        measuring = true;
        cpu0 = process.cpuUsage();
      } else if (m?.cmd === 'status') childReply({ type: 'status', dosSeen: down.length, stepErrors });
      else if (m?.cmd === 'report') {
        // this window's figures; the next window starts afresh
        const c = process.cpuUsage(cpu0);
        const dos = new Map(measured);
        measured.clear();
        const d = down.splice(0);
        const p = probeDown.splice(0);
        const errors = stepErrors;
        stepErrors = 0;
        void statusEvents(dos).then((evts) =>
          childReply({ type: 'report', down: d, probeDown: p, dosSeen: d.length, events: evts, stepErrors: errors, cpuMs: (c.user + c.system) / 1000 }),
        );
      } else if (m?.cmd === 'stop') done();
    });
  });
  probeFeed.cancel();
  probePull.cancel();
  probePush.cancel();
  for (const f of feeds) f.cancel();
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  await probe.close().catch(() => undefined);
}

// ----------------------------------------------------- phase 3: initial sync, node memory

interface PullStart {
  mode: 'plain' | 'node';
  /** plain: the remote database URL and its Authorization header */
  url?: string;
  auth?: string;
  /** node */
  hubUrl?: string;
  id?: string;
  token?: string;
  expectDocs: number;
  expectPositions?: number;
  dir: string;
}

interface PullResult {
  ms: number;
  docs: number;
  baseRssMb: number;
  peakRssMb: number;
  /** node: until the count it pulled is applied and its positions are uploaded */
  settledMs?: number;
  positions?: number;
  rssMb?: number;
  heapUsedMb?: number;
  /** where the peak RSS was sampled: which step, and the heap and buffers then */
  atPeak?: { phase: string; heapUsedMb: number; externalMb: number; arrayBuffersMb: number };
}

interface InitialResult {
  docs: number;
  /** rounds of the three pulls, each from a store of its own; the rates are their medians */
  rounds: number;
  nodeDocsPerSec: number;
  gatewayPlainDocsPerSec: number;
  directDocsPerSec: number;
  /** startNode through the gateway vs plain PouchDB straight from CouchDB: the median round's */
  gatewayCostPct: number;
  /** plain PouchDB through the gateway vs plain PouchDB straight from CouchDB: the proxy alone (median of the rounds) */
  proxyCostPct: number;
  /** each round's `gatewayCostPct`; the figure above is their median (and the node figures below that round's) */
  roundCostPcts: number[];
  node: { skus: number; baseRssMb: number; peakRssMb: number; rssMb: number; heapUsedMb: number; countAppliedSeconds: number; atPeak?: PullResult['atPeak'] };
}

async function initialSyncPhase(s: Sizes, log: Logger, dirs: Dirs, backend: Backend): Promise<InitialResult> {
  const hub = await startHub({ port: 0, dataDir: dirs.make('init'), plannerToken: PLANNER, ...backend.hub('init') }, log);
  try {
    const http = api(hub.url, PLANNER);
    const N = s.initialDocs;
    // a store with N SKUs: its catalogue and its first count, which the hub writes into its database
    const skus = Array.from({ length: N }, (_, i) => `IS-${String(i).padStart(6, '0')}`);
    const bar = progress('catalogue and count', N, 'SKUs');
    for (let i = 0; i < N; i += 10_000) {
      await http.ok(
        'POST',
        '/api/v1/items',
        skus.slice(i, i + 10_000).map((sku) => ({ sku, name: `Item ${sku}`, barcode: `0${sku.slice(3)}` })),
      );
      bar.update(i + 10_000);
    }
    bar.stop();
    // a store per round, each with the catalogue and its own first count: a round's node writes its
    // positions back into its own database, which no later pull reads
    const stores: { id: string; db: string; token: string }[] = [];
    for (let k = 1; k <= s.initialRounds; k++) {
      const id = `BULK${k}`;
      const { token } = await http.ok<{ token: string }>('POST', '/api/v1/facilities', {
        id,
        type: 'store',
        name: `Bulk store ${k}`,
        lat: 40,
        lon: -100,
        capacity: 1000,
      });
      for (let i = 0; i < N; i += 50_000) {
        await http.ok('POST', '/api/v1/inventory', {
          facility: id,
          positions: skus.slice(i, i + 50_000).map((sku, j) => ({ sku, onHand: (i + j) % 40, safetyStock: 1 })),
        });
      }
      stores.push({ id, db: `node_${id.toLowerCase()}`, token });
    }
    const expectDocs = (await hub.ctx.couch.dbInfo(stores[0]!.db)).doc_count;

    const pull = async (label: string, start: Omit<PullStart, 'dir' | 'expectDocs'>): Promise<PullResult> => {
      // the hub's own work on the new database (the monitor reading its changes) out of the way first
      await settle(hub, 10, 60_000);
      const c = child('pull', ['--expose-gc']);
      const b = progress(label, expectDocs, 'docs');
      c.onProgress((m) => b.update(m.docs));
      try {
        c.send({ ...start, expectDocs, dir: dirs.make('pull') } satisfies PullStart);
        const r = await c.next<PullResult & { type: string }>('done', 600_000);
        b.update(expectDocs);
        return r;
      } finally {
        b.stop();
        await c.exit();
      }
    };
    const rate = (r: PullResult) => r.docs / (r.ms / 1000);
    const costPct = (r: PullResult, base: PullResult) => Math.round((1 - rate(r) / rate(base)) * 1000) / 10;
    // rounds: in each, the two plain pulls (in turn first) and then the node, each from the round's
    // own store; the figures are the medians of the rounds, the costs each round's against its own
    // direct pull (the machine's load moves between rounds more than between the pulls of one)
    const rounds: { direct: PullResult; viaGateway: PullResult; node: PullResult }[] = [];
    for (const [k, st] of stores.entries()) {
      const tag = stores.length > 1 ? ` (round ${k + 1} of ${stores.length})` : '';
      const direct = () => pull(`pull: PouchDB direct${tag}`, { mode: 'plain', url: hub.ctx.couch.dbUrl(st.db), auth: hub.ctx.couch.authHeader });
      const viaGateway = () => pull(`pull: PouchDB via gateway${tag}`, { mode: 'plain', url: `${hub.url}/sync/${st.id}`, auth: `Bearer ${st.token}` });
      const plain = k % 2 === 0 ? { direct: await direct(), viaGateway: await viaGateway() } : { viaGateway: await viaGateway(), direct: await direct() };
      // last: the node writes its positions back into the database the others read
      const node = await pull(`pull: startNode${tag}`, { mode: 'node', hubUrl: hub.url, id: st.id, token: st.token, expectPositions: N });
      rounds.push({ ...plain, node });
    }
    const byCost = [...rounds].sort((x, y) => costPct(x.node, x.direct) - costPct(y.node, y.direct));
    const mid = byCost[byCost.length >> 1]!;
    const node = mid.node;
    return {
      docs: expectDocs,
      rounds: rounds.length,
      nodeDocsPerSec: Math.round(median(rounds.map((r) => rate(r.node)))),
      gatewayPlainDocsPerSec: Math.round(median(rounds.map((r) => rate(r.viaGateway)))),
      directDocsPerSec: Math.round(median(rounds.map((r) => rate(r.direct)))),
      gatewayCostPct: costPct(mid.node, mid.direct),
      proxyCostPct: median(rounds.map((r) => costPct(r.viaGateway, r.direct))),
      roundCostPcts: rounds.map((r) => costPct(r.node, r.direct)),
      node: {
        skus: node.positions ?? 0,
        baseRssMb: node.baseRssMb,
        peakRssMb: node.peakRssMb,
        rssMb: node.rssMb ?? 0,
        heapUsedMb: node.heapUsedMb ?? 0,
        countAppliedSeconds: Math.round(((node.settledMs ?? 0) - node.ms) / 100) / 10,
        ...(node.atPeak ? { atPeak: node.atPeak } : {}),
      },
    };
  } finally {
    await hub.stop();
  }
}

async function pullChild(start: PullStart, log: Logger): Promise<void> {
  const baseRssMb = rssMb();
  const ticker = (count: () => number | Promise<number>) => setInterval(async () => childReply({ type: 'progress', docs: await count() }), 250);
  if (start.mode === 'plain') {
    const local = new PouchDB(join(start.dir, 'db'));
    const remote = new PouchDB(start.url!, {
      skip_setup: true,
      fetch: (url, init) => {
        init.headers.set('Authorization', start.auth!);
        return PouchDB.fetch(url, init);
      },
    });
    let written = 0;
    const t = ticker(() => written);
    const t0 = performance.now();
    // the same batch size as the node's own replication (node/sync)
    const rep = local.replicate.from(remote, { batch_size: 200 });
    rep.on('change', (i: PouchDB.ReplicationInfo) => (written = i.docs_written ?? written));
    await rep;
    const ms = performance.now() - t0;
    clearInterval(t);
    const docs = (await local.info()).doc_count;
    childReply({ type: 'done', ms, docs, baseRssMb, peakRssMb: peakRssMb() } satisfies PullResult & { type: string });
    await local.close();
    return;
  }
  const t0 = performance.now();
  const node = await startNode(
    { id: start.id!, hubUrl: start.hubUrl!, token: start.token!, port: 0, dataDir: join(start.dir, 'node'), associateToken: ASSOCIATE },
    log,
  );
  const t = ticker(() => node.sync.snapshot().pulled);
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0, phase: '' };
  let phase = 'pull';
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) Object.assign(peak, { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, phase });
  }, 100);
  await until('the node to pull everything', () => node.sync.snapshot().pulled >= start.expectDocs, 600_000, 20);
  const ms = performance.now() - t0;
  const docs = node.sync.snapshot().pulled;
  clearInterval(t);
  phase = 'count';
  // then: the count applied, every position written and uploaded
  await until('the node to apply its count', () => node.store.positions().length >= (start.expectPositions ?? 0), 600_000, 100);
  const settledMs = performance.now() - t0;
  // and a few seconds of its upload of them (the whole upload is not waited for: time)
  phase = 'upload';
  await sleep(3000);
  clearInterval(sampler);
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  childReply({
    type: 'done',
    ms,
    docs,
    baseRssMb,
    peakRssMb: peakRssMb(),
    settledMs,
    positions: node.store.positions().length,
    rssMb: Math.round(mem.rss / 1048576),
    heapUsedMb: Math.round(mem.heapUsed / 1048576),
    atPeak: {
      phase: peak.phase,
      heapUsedMb: Math.round(peak.heapUsed / 1048576),
      externalMb: Math.round(peak.external / 1048576),
      arrayBuffersMb: Math.round(peak.arrayBuffers / 1048576),
    },
  } satisfies PullResult & { type: string });
  await node.stop();
}

// --------------------------------------------------------------- phase 4: availability

interface AtpResult {
  facilities: number;
  skus: number;
  connections: number;
  seconds: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  floorRequestsPerSec: number;
  floorP50Ms: number;
  floorP99Ms: number;
  registerSeconds: number;
  /** CPU of the hub process during the ATP load, in % of one core, and per request */
  hubCpuPct: number;
  hubCpuUsPerCheck: number;
  floorCpuUsPerRequest: number;
  /** the hub with these facilities and no traffic */
  idleHubCpuPct: number;
  idleCouchRequestsPerSec: number;
  /** after the load, until the monitor's catch-up of the loaded databases was done and the hub quiet: seconds, CouchDB requests */
  catchUpSeconds: number;
  catchUpRequests: number;
  /** cart checks (POST /api/v1/atp) of `cartLines` lines, same hub, same connections */
  cartLines: number;
  cartRequestsPerSec: number;
  cartP50Ms: number;
  cartP99Ms: number;
  cartErrors: number;
  hubCpuUsPerCart: number;
  /** the check's own cost per line: hub CPU per cart above the trivial route's, over its lines */
  cartOwnUsPerLine: number;
  /** the single-SKU check's own cost: hub CPU per check above the trivial route's */
  ownUsPerCheck: number;
}

function load(cfg: LoadConfig): Promise<LoadResult> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, ['--import', 'tsx', LOAD_ATP, JSON.stringify(cfg)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return fail(new Error(`load-atp exited ${code}: ${out.slice(0, 500)}`));
      try {
        ok(JSON.parse(line) as LoadResult);
      } catch {
        fail(new Error(`load-atp printed no result: ${out.slice(0, 500)}`));
      }
    });
  });
}

async function atpPhase(s: Sizes, log: Logger, dirs: Dirs, backend: Backend): Promise<AtpResult> {
  const hub = await startHub({ port: 0, dataDir: dirs.make('atp'), plannerToken: PLANNER, ...backend.hub('atp') }, log);
  try {
    const http = api(hub.url, PLANNER);
    const facs = facilities(s.atpFacilities, 'AT', 4);
    const skus = Array.from({ length: s.atpSkus }, (_, i) => `AT-${i}`);
    await http.ok(
      'POST',
      '/api/v1/items',
      skus.map((sku) => ({ sku, name: `Item ${sku}` })),
    );
    // registered as any facility is: each gets its node database, registry entry and follower
    const t0 = performance.now();
    const bar = progress('facilities + inventory', facs.length, 'facilities');
    let n = 0;
    const r = rng(5);
    await pool(facs, 8, async (f) => {
      await http.ok('POST', '/api/v1/facilities', f);
      await http.ok('POST', '/api/v1/inventory', { facility: f.id, positions: skus.map((sku) => ({ sku, onHand: Math.floor(r() * 30), safetyStock: 1 })) });
      bar.update(++n);
    });
    bar.stop();
    const registerSeconds = Math.round((performance.now() - t0) / 100) / 10;
    // what the load leaves behind (on Apache CouchDB: the monitor's catch-up of the databases the
    // load wrote, marked by /_db_updates, read 30 s later), counted until it is done and a second
    // passes with at most 5 requests; then idle
    const tail = countCouchRequests(hub.ctx.couch);
    const tail0 = Date.now();
    await sleep(2_000);
    await until('the catch-up of the loaded databases', () => hub.ctx.monitor.pendingCatchUps === 0, 180_000, 250);
    // and the rest of the load's tail (the `dom` feed reading what the load wrote): a quiet second
    await settle(hub, 5, 60_000);
    tail.stop();
    const catchUpSeconds = Math.round((Date.now() - tail0) / 100) / 10;
    const idle = await idleWindow(hub, Math.min(10_000, s.atpSeconds * 1000));
    // the floor: an authenticated route of the same API that does nothing (one map lookup)
    const fcpu0 = process.cpuUsage();
    const floor = await profiled('atp-floor', () =>
      load({ url: hub.url, token: PLANNER, path: `/api/v1/items/${skus[0]}`, connections: s.atpConnections, duration: s.atpSeconds }),
    );
    const fcpu = process.cpuUsage(fcpu0);
    const cpu0 = process.cpuUsage();
    const atp = await profiled('atp', () => load({ url: hub.url, token: PLANNER, skus, box: BOX, connections: s.atpConnections, duration: s.atpSeconds }));
    const cpu = process.cpuUsage(cpu0);
    const cartLines = Math.min(10, skus.length);
    const ccpu0 = process.cpuUsage();
    const cart = await profiled('atp-cart', () =>
      load({ url: hub.url, token: PLANNER, skus, box: BOX, cart: { lines: cartLines }, connections: s.atpConnections, duration: s.atpSeconds }),
    );
    const ccpu = process.cpuUsage(ccpu0);
    const floorUs = (fcpu.user + fcpu.system) / Math.max(1, floor.requests);
    const checkUs = (cpu.user + cpu.system) / Math.max(1, atp.requests);
    const cartUs = (ccpu.user + ccpu.system) / Math.max(1, cart.requests);
    return {
      facilities: facs.length,
      skus: skus.length,
      connections: s.atpConnections,
      seconds: s.atpSeconds,
      requestsPerSec: Math.round(atp.requestsPerSec),
      p50Ms: atp.latencyMs.p50,
      p99Ms: atp.latencyMs.p99,
      maxMs: atp.latencyMs.max,
      errors: atp.errors + atp.non2xx + atp.timeouts,
      floorRequestsPerSec: Math.round(floor.requestsPerSec),
      floorP50Ms: floor.latencyMs.p50,
      floorP99Ms: floor.latencyMs.p99,
      registerSeconds,
      hubCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (s.atpSeconds * 1000)) * 100),
      hubCpuUsPerCheck: Math.round((cpu.user + cpu.system) / Math.max(1, atp.requests)),
      idleHubCpuPct: idle.cpuPct,
      idleCouchRequestsPerSec: idle.couchRequestsPerSec,
      catchUpSeconds,
      catchUpRequests: tail.total(),
      floorCpuUsPerRequest: Math.round(floorUs),
      cartLines,
      cartRequestsPerSec: Math.round(cart.requestsPerSec),
      cartP50Ms: cart.latencyMs.p50,
      cartP99Ms: cart.latencyMs.p99,
      cartErrors: cart.errors + cart.non2xx + cart.timeouts,
      hubCpuUsPerCart: Math.round(cartUs),
      cartOwnUsPerLine: Math.round(Math.max(0, cartUs - floorUs) / cartLines),
      ownUsPerCheck: Math.round(Math.max(0, checkUs - floorUs)),
    };
  } finally {
    await hub.stop();
  }
}

// ------------------------------------------------------------------- phase 5: hub memory

interface HubMemStart {
  facilities: number;
  skus: number;
  dir: string;
  /** where the child's hub keeps its data (the parent's backend) */
  backend: { couchUrl?: string; dbPrefix?: string };
}

interface HubMemResult {
  facilities: number;
  skus: number;
  positions: number;
  baseRssMb: number;
  peakRssMb: number;
  rssMb: number;
  heapUsedMb: number;
  bytesPerPosition: number;
  loadSeconds: number;
  atpP50Ms: number;
  atpP99Ms: number;
}

async function hubMemoryPhase(s: Sizes, dirs: Dirs, backend: Backend): Promise<HubMemResult> {
  // a heap limit well above the expected ~1-2 GB, so the figure is the need, not the cap
  const c = child('hubmem', ['--max-old-space-size=8192', '--expose-gc']);
  const bar = progress('positions loaded', s.memFacilities * s.memSkus, 'positions');
  c.onProgress((m) => bar.update(m.positions));
  try {
    c.send({ facilities: s.memFacilities, skus: s.memSkus, dir: dirs.make('hubmem'), backend: backend.hub('hubmem') } satisfies HubMemStart);
    const { type: _type, ...r } = await c.next<HubMemResult & { type: string }>('done', 600_000);
    bar.update(s.memFacilities * s.memSkus);
    return r;
  } finally {
    bar.stop();
    await c.exit();
  }
}

async function hubMemoryChild(start: HubMemStart, log: Logger): Promise<void> {
  const hub: Hub = await startHub({ port: 0, dataDir: start.dir, plannerToken: PLANNER, ...start.backend }, log);
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const baseRssMb = rssMb();
    const skus = Array.from({ length: start.skus }, (_, i) => `M-${String(i).padStart(5, '0')}`);
    await hub.ctx.items.upsert(skus.map((sku) => ({ sku, name: `Item ${sku}`, substitutes: [] })));
    // the facilities, written straight into `dom` (no node databases: the index is what is measured)
    const facs = facilities(start.facilities, 'MF', 6);
    const now = new Date().toISOString();
    for (let i = 0; i < facs.length; i += 500) {
      const docs: FacilityDoc[] = facs.slice(i, i + 500).map((f) => ({ ...f, _id: `facility:${f.id}`, priority: 0, enabled: true, createdAt: now }));
      await hub.ctx.couch.db('dom').bulk({ docs });
    }
    await hub.ctx.facilities.refresh();
    // the positions: one count per facility straight into the availability index, as the hub
    // applies a count it loaded (POST /api/v1/inventory) or a node's positions at start
    const t0 = performance.now();
    for (let f = 0; f < facs.length; f++) {
      const positions = skus.map((sku, i) => ({ sku, onHand: (i * 7 + f) % 50, safetyStock: 1 }));
      hub.ctx.index.applyCount({ facility: facs[f]!.id, positions, createdAt: now });
      if (f % 10 === 9 || f === facs.length - 1) {
        childReply({ type: 'progress', positions: (f + 1) * skus.length });
        await sleep(0);
      }
    }
    const loadSeconds = Math.round((performance.now() - t0) / 100) / 10;
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    // availability checks at this size, one at a time, in this process
    const times: number[] = [];
    const r = rng(9);
    for (let i = 0; i < 200; i++) {
      const sku = skus[Math.floor(r() * skus.length)]!;
      const t = performance.now();
      const res = await fetch(`${hub.url}/api/v1/atp?sku=${sku}&qty=1&lat=${(BOX[0] + r() * 17).toFixed(3)}&lon=${(BOX[2] + r() * 47).toFixed(3)}`, {
        headers: { authorization: `Bearer ${PLANNER}` },
      });
      await res.text();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const positions = facs.length * skus.length;
    childReply({
      type: 'done',
      facilities: facs.length,
      skus: skus.length,
      positions,
      baseRssMb,
      peakRssMb: peakRssMb(),
      rssMb: Math.round(mem.rss / 1048576),
      heapUsedMb: Math.round(mem.heapUsed / 1048576),
      bytesPerPosition: Math.round((mem.rss - baseRssMb * 1048576) / positions),
      loadSeconds,
      atpP50Ms: Math.round(times[Math.floor(times.length / 2)]! * 100) / 100,
      atpP99Ms: Math.round(times[Math.floor(times.length * 0.99)]! * 100) / 100,
    });
  } finally {
    await hub.stop();
  }
}

// --------------------------------------------------------------------------- the report

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const yes = (ok: boolean) => (ok ? 'met' : '**missed**');
const lat = (p: Pct) => `${fmt(p.p50)} / ${fmt(p.p99)} / ${fmt(p.max)} ms`;

/** One table, every figure once per backend, the backend named in the first column. */
function table(byBackend: Record<string, Record<string, any>>): string {
  const rows: string[][] = [];
  for (const [name, r] of Object.entries(byBackend)) {
    const before = rows.length;
    figureRows(r, rows);
    for (let i = before; i < rows.length; i++) rows[i]!.unshift(name);
  }
  const head = ['Backend', 'Figure', 'Measured', 'Limit beneath (same run)', 'Share / cost', 'Target', 'Target met'];
  return [head, head.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

function figureRows(r: Record<string, any>, rows: string[][]): void {
  for (const t of [r.throughput, r.throughputBulk] as (ThroughputResult | undefined)[]) {
    if (!t) continue;
    const how =
      t.perRequest > 1 ? `POST /orders/bulk (${t.perRequest} a request, ${t.concurrency} requests in flight)` : `POST /orders (${t.concurrency} in flight)`;
    rows.push([
      `Order throughput: ${how} → allocated → DOs in node DBs (${fmt(t.orders)} orders, ${t.facilities} facilities)`,
      `${fmt(t.ordersPerSec)} orders/s (accepted ${fmt(t.acceptedPerSec)}/s; ${fmt(t.dosInNodeDbs)} DOs); hub CPU ${fmt(t.hubCpuMsPerOrder, 1)} ms/order = ${fmt(t.ordersPerSecPerCore)}/s per core; ${fmt(t.couchRequestsPerOrder, 1)} CouchDB requests/order`,
      `raw \`_bulk_docs\` ${fmt(t.rawBulkDocsPerSec)} docs/s`,
      `${fmt(t.ratioToRaw * 100, 1)}%`,
      '≥ 1,000 orders/s and ≥ 30% of raw',
      yes(t.ordersPerSec >= 1000 && t.ratioToRaw >= 0.3),
    ]);
  }
  const il: IntakeLatencyResult | undefined = r.intake;
  if (il) {
    rows.push([
      `Order accepted (201) → its DOs in the node DBs, p50 / p99 / max (${fmt(il.ratePerSec)} orders/s asked over ${fmt(il.connections)} connections, ${fmt(il.achievedPerSec)}/s accepted; ${fmt(il.orders)} orders, ${fmt(il.released)} released)`,
      lat(il.acceptedToDos),
      '',
      '',
      'p99 ≤ 2 s at 500 orders/s',
      yes(il.acceptedToDos.p99 <= 2000 && il.achievedPerSec >= 0.95 * 500 && il.released === il.orders),
    ]);
  }
  const l: LatencyResult | undefined = r.latency;
  if (l) {
    for (const run of l.runs) {
      const traffic = `${l.nodes} nodes live, ${run.ratePerSec} orders/s; CPU: hub ${run.hubCpuPct}% (idle sync alone ${l.idleHubCpuPct}%), nodes ${run.nodesCpuPct}% of a core; ${fmt(run.couchRequestsPerOrder)} CouchDB requests/order`;
      const ratio = (a: Pct, b: Pct) =>
        `p99 ${fmt(a.p99 / Math.max(1, b.p99), 1)}× plain (≤ 1.5× at 20 orders/s: ${run.ratePerSec >= 20 ? (a.p99 <= 1.5 * b.p99 ? 'met' : 'missed') : 'not this rate'})`;
      rows.push([
        `Sync hub → node: DO created → in the node's DB, p50 / p99 / max (${traffic}; ${fmt(run.down.count)} DOs)`,
        lat(run.down),
        `plain PouchDB live, direct: ${lat(run.probeDown)}`,
        ratio(run.down, run.probeDown),
        'p99 < 1 s',
        yes(run.down.p99 < 1000),
      ]);
      rows.push([
        `Sync node → hub: event → DO state at the hub (${run.ratePerSec} orders/s; ${fmt(run.up.count)} events)`,
        lat(run.up),
        `plain PouchDB live, direct: ${lat(run.probeUp)}`,
        ratio(run.up, run.probeUp),
        'p99 < 1 s',
        yes(run.up.p99 < 1000),
      ]);
      const kinds = Object.entries(run.couchRequestKinds)
        .slice(0, 6)
        .map(([k, v]) => `${k} ${fmt(v, 1)}`)
        .join('; ');
      rows.push([
        `CouchDB requests per order of sync traffic (${l.nodes} nodes, ${run.ratePerSec} orders/s; by kind: ${kinds})`,
        fmt(run.couchRequestsPerOrder, 1),
        '',
        '',
        '≤ 12',
        yes(run.couchRequestsPerOrder <= 12),
      ]);
      rows.push([
        `Sync node → hub: ack → order status at the hub (${run.ratePerSec} orders/s; ${fmt(run.upOrder.count)} orders)`,
        lat(run.upOrder),
        '',
        '',
        'p99 < 1 s',
        yes(run.upOrder.p99 < 1000),
      ]);
    }
    rows.push([
      `Idle hub with ${l.nodes} nodes linked: CouchDB requests/s to the node databases (all requests: ${fmt(l.idleCouchRequestsPerSec, 1)}/s, the lease and the dom feed)`,
      fmt(l.idleNodeDbRequestsPerSec, 1),
      '',
      '',
      '0 for an idle node',
      yes(l.idleNodeDbRequestsPerSec === 0),
    ]);
  }
  const i: InitialResult | undefined = r.initialSync;
  if (i) {
    rows.push([
      `Initial sync of a new node, ${fmt(i.docs)} docs (startNode, via gateway)${i.rounds > 1 ? `, median of ${i.rounds} rounds` : ''}`,
      `${fmt(i.nodeDocsPerSec)} docs/s`,
      `plain PouchDB direct ${fmt(i.directDocsPerSec)} docs/s; via gateway ${fmt(i.gatewayPlainDocsPerSec)} docs/s`,
      `costs ${fmt(i.gatewayCostPct, 1)}%${i.rounds > 1 ? ` (rounds: ${i.roundCostPcts.map((x) => `${fmt(x, 1)}%`).join(', ')})` : ''} (proxy alone ${fmt(i.proxyCostPct, 1)}%)`,
      'cost ≤ 20%',
      yes(i.gatewayCostPct <= 20),
    ]);
  }
  const a: AtpResult | undefined = r.atp;
  if (a) {
    rows.push([
      `Availability checks, ${fmt(a.facilities)} facilities (${a.connections} connections, ${a.seconds} s, autocannon in its own process)`,
      `${fmt(a.requestsPerSec)} checks/s, p50 ${fmt(a.p50Ms)} / p99 ${fmt(a.p99Ms)} ms; hub CPU ${fmt(a.hubCpuUsPerCheck)} µs/check (${fmt(a.ownUsPerCheck)} µs above the trivial route)`,
      `trivial API route ${fmt(a.floorRequestsPerSec)} req/s, p99 ${fmt(a.floorP99Ms)} ms; ${fmt(a.floorCpuUsPerRequest)} µs/request. Idle hub with these facilities: ${a.idleHubCpuPct}% of a core (${fmt(a.idleCouchRequestsPerSec)} CouchDB requests/s), after the load's tail (the catch-up of the loaded databases included: ${fmt(a.catchUpRequests)} requests in ${fmt(a.catchUpSeconds, 1)} s)`,
      `${fmt((a.requestsPerSec / Math.max(1, a.floorRequestsPerSec)) * 100, 1)}%`,
      '≥ 80% of the trivial route, p99 < 10 ms',
      yes(a.requestsPerSec >= 0.8 * a.floorRequestsPerSec && a.p99Ms < 10),
    ]);
    if (a.cartLines) {
      rows.push([
        `Cart checks (POST /api/v1/atp, ${a.cartLines} lines), ${fmt(a.facilities)} facilities (${a.connections} connections)`,
        `${fmt(a.cartRequestsPerSec)} carts/s = ${fmt(a.cartRequestsPerSec * a.cartLines)} lines/s, p50 ${fmt(a.cartP50Ms)} / p99 ${fmt(a.cartP99Ms)} ms; hub CPU ${fmt(a.hubCpuUsPerCart)} µs/cart`,
        `trivial API route ${fmt(a.floorRequestsPerSec)} req/s`,
        `${fmt(a.cartOwnUsPerLine)} µs/line above the trivial route`,
        "≤ 50 µs per line (the check's own cost)",
        yes(a.cartOwnUsPerLine <= 50 && a.cartErrors === 0),
      ]);
    }
  }
  const m: HubMemResult | undefined = r.memory?.hub;
  if (m) {
    rows.push([
      `Hub memory, ${fmt(m.facilities)} facilities × ${fmt(m.skus)} SKUs = ${fmt(m.positions)} positions (loaded in ${m.loadSeconds} s)`,
      `peak RSS ${fmt(m.peakRssMb)} MB (heap ${fmt(m.heapUsedMb)} MB; ATP p50 ${m.atpP50Ms} ms)`,
      `same hub before loading ${fmt(m.baseRssMb)} MB`,
      `${fmt(m.bytesPerPosition)} B/position`,
      '',
      '',
    ]);
  }
  const nm = r.memory?.node;
  if (nm) {
    rows.push([
      `Node memory, ${fmt(nm.skus)} SKUs (catalogue, count, positions; count applied in ${nm.countAppliedSeconds} s)`,
      `peak RSS ${fmt(nm.peakRssMb)} MB${nm.atPeak ? ` (during the ${nm.atPeak.phase}, heap then ${fmt(nm.atPeak.heapUsedMb)} MB)` : ''}; after: ${fmt(nm.rssMb)} MB, heap ${fmt(nm.heapUsedMb)} MB`,
      `same node process at start ${fmt(nm.baseRssMb)} MB`,
      '',
      '',
      '',
    ]);
  }
}

const SECTION = '## End to end';
const SECTION_INTRO = `\`dom bench e2e\` (\`scripts/bench/e2e.ts\`): the whole system on one machine, every figure next to the
limit of the part beneath it, measured in the same run. Each run appends its table below.
`;

function appendToBenchmarks(entry: string): void {
  let text = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : '# Benchmarks\n';
  let at = text.indexOf(`\n${SECTION}\n`);
  if (at < 0) {
    text = `${text.replace(/\s*$/, '\n')}\n${SECTION}\n\n${SECTION_INTRO}`;
    at = text.indexOf(`\n${SECTION}\n`);
  }
  // at the end of this section: before the next "## " heading, or at the end of the file
  const next = text.indexOf('\n## ', at + SECTION.length + 2);
  const head = next < 0 ? text : text.slice(0, next + 1);
  const tail = next < 0 ? '' : text.slice(next + 1);
  writeFileSync(BENCHMARKS_MD, `${head.replace(/\s*$/, '\n')}\n${entry.trim()}\n${tail ? `\n${tail}` : ''}`);
}

// ------------------------------------------------------------------------------------- run

export async function run(opts: E2eOptions = {}): Promise<Record<string, unknown>> {
  const quick = !!opts.quick;
  // DOM_E2E_SIZES='{"nodes":20}' overrides sizes (for exploring; the recorded runs use the defaults)
  const s: Sizes = { ...(quick ? QUICK : FULL), ...(process.env.DOM_E2E_SIZES ? (JSON.parse(process.env.DOM_E2E_SIZES) as Partial<Sizes>) : {}) };
  const want = (p: string) => !opts.only || opts.only.includes(p);
  const log = createLogger('bench-e2e', process.env.DOM_LOG_LEVEL ?? 'error');
  // DOM_E2E_KEEP=1 leaves the data folders (and the embedded CouchDB's log) for a post-mortem
  const dirs = new Dirs('dom-e2e', 'DOM_E2E_KEEP');
  const notes: string[] = [];
  const m = machine();
  const started = Date.now();
  const out: Record<string, any> = { quick, date: new Date().toISOString(), commit: commitOf(REPO), machine: m };
  const say = (x: string) => opts.print !== false && process.stdout.write(`${x}\n`);
  say(`dom bench e2e${quick ? ' --quick' : ''}: ${m.cpu}, ${m.cores} cores, ${m.ramGb} GB; load average ${m.loadAvgStart}`);
  const phase = async <T>(name: string, title: string, fn: () => Promise<T>) => {
    if (!want(name)) return;
    say(`\n${title}`);
    const t0 = Date.now();
    try {
      return await fn();
    } catch (err) {
      notes.push(`${name} failed: ${(err as Error).message.split('\n')[0]}`);
      say(`  failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      say(`  (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  };
  // a full run: the embedded server and one CouchDB node in full, a 3-node cluster's write path beside them
  const backends = await chooseBackends({ ...opts, clusterPhases: ['throughput'] }, dirs, say);
  out.backends = {};
  try {
    for (const backend of backends) {
      say(`\n=== on the ${backend.label} ===`);
      const r: Record<string, any> = { label: backend.label };
      out.backends[backend.name] = r;
      const on = async <T>(name: string, title: string, fn: () => Promise<T>) => {
        if (backend.phases && !backend.phases.includes(name)) return undefined;
        try {
          return await phase(name, `${title} (${backend.name})`, fn);
        } finally {
          await backend.dropDatabases().catch(() => undefined);
        }
      };
      r.throughput = await on('throughput', 'Order throughput', () => throughputPhase(s, log, dirs, backend));
      r.intake = await on('intake', `Order latency at ${s.intakeRate} orders/s`, () => intakeLatencyPhase(s, log, dirs, backend));
      r.throughputBulk = await on('bulk', 'Order throughput, bulk intake (100 orders a request)', () => throughputPhase(s, log, dirs, backend, 100));
      r.latency = await on('latency', 'Sync latency', () => latencyPhase(s, log, dirs, notes, backend));
      r.initialSync = await on('initial', 'Initial sync and node memory', () => initialSyncPhase(s, log, dirs, backend));
      r.atp = await on('atp', 'Availability checks', () => atpPhase(s, log, dirs, backend));
      const hubMem = await on('memory', 'Hub memory', () => hubMemoryPhase(s, dirs, backend));
      r.memory = { ...(hubMem ? { hub: hubMem } : {}), ...(r.initialSync ? { node: r.initialSync.node } : {}) };
      for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
    }
  } finally {
    for (const b of backends) await b.stop().catch(() => undefined);
    dirs.clean();
  }
  m.loadAvgEnd = Math.round(os.loadavg()[0]! * 100) / 100;
  out.seconds = Math.round((Date.now() - started) / 1000);
  out.notes = notes;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];

  const md = [
    ...Object.entries(out.backends as Record<string, Record<string, any>>).map(([name, r]) => `Backend **${name}**: ${r.label}.`),
    '',
    table(out.backends),
  ].join('\n');
  say(`\n${md}\n`);
  for (const n of notes) say(`note: ${n}`);
  // a full run keeps its raw figures in bench-results/ (ignored by git); docs/BENCHMARKS.md only with --record
  if (!quick && !process.env.VITEST) say(`raw results: ${saveResult(REPO, 'e2e', out)}`);
  if (opts.record) {
    const entry = [
      `### ${out.date.slice(0, 16).replace('T', ' ')} UTC · ${out.commit} · ${quick ? 'quick' : 'full'} run (${out.seconds} s)`,
      '',
      `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB RAM, Node ${m.node}; load average ${m.loadAvgStart} at the start, ${m.loadAvgEnd} at the end.`,
      '',
      md,
      ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
      '',
    ].join('\n');
    appendToBenchmarks(entry);
    say(`appended to ${BENCHMARKS_MD}`);
  }
  return out;
}

if (process.env.DOM_E2E_CHILD && process.send) void childMain(process.env.DOM_E2E_CHILD);
