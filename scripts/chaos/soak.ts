/**
 * The soak (`dom chaos --soak 30m`): the chaos harness held for a long time at a steady load (orders
 * at a fixed rate, associates, walk-in sales, receipts, counts, replenishment), with faults at a low
 * rate, sampled every 30 s: resident memory and open file descriptors of the hub, of Apache CouchDB
 * (when it is a process of its own) and of every node; feed lag (changes the nodes have not pulled,
 * changes they have not pushed); and sync latency, measured by probes (a walk-in sale at a store
 * until the hub holds it: upload; a purchase order at the hub until the node lists it: download).
 * A sync stall is a node with work waiting either way and no progress for over 60 s while its link
 * and process were not under a fault, or a probe that took over 60 s.
 *
 * Pass: no stall over 60 s, resident memory grown < 10 % from 5 minutes in to the end (hub, CouchDB,
 * the nodes never restarted), open descriptors flat (within 10 % or 20), 0 invariant violations.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { couchAccessOf } from '../../hub/couch/index.js';
import type { Cluster, NodeHandle } from './cluster.js';
import type { Workload } from './workload.js';
import { http, sleep } from './util.js';

export interface SoakSample {
  /** seconds since the workload started */
  t: number;
  /** the hub's descriptors also by kind: sockets, and files (the embedded server's LevelDB tables and logs) */
  hub: { rssMb: number | null; fds: number | null; sockets?: number; files?: number; heap?: HeapSample | null; mem?: MemParts | null };
  /** CouchDB's process; `erlang`: its own memory counters (`GET /_node/_local/_system`), MB */
  couch: { rssMb: number | null; fds: number | null; sockets?: number; files?: number; erlang?: ErlangMemory | null } | null;
  /** the nodes up at the sample: mean and max RSS, total fds; and the same for the nodes never restarted */
  nodes: { up: number; rssMeanMb: number; rssMaxMb: number; fds: number; steadyRssMeanMb: number; steadyFds: number };
  /** changes at the hub the nodes have not pulled (sum, max), and changes at the nodes not pushed (sum, max) */
  lag: { notPulled: number; notPulledMax: number; notPushed: number; notPushedMax: number };
  /** probes finished since the last sample: upload and download latency, ms */
  up: { n: number; p50: number | null; max: number | null };
  down: { n: number; p50: number | null; max: number | null };
  ordersAccepted: number;
  /** the sample taken once the work had stopped (shown, not judged: the hub idles and shrinks its heap then) */
  final?: boolean;
}

/**
 * The hub's memory right after a full GC forced through its inspector (heap-probe.mjs), taken
 * after the RSS sample: the live JavaScript heap, and what V8 counts outside it (Buffers).
 * LevelDB's memory (the embedded server's write buffers and block caches) is in none of these.
 */
export interface HeapSample {
  /** V8's heap as the process held it before the GC: garbage and all */
  heapTotalBeforeMb: number;
  heapUsedBeforeMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  rssMb: number;
  /** before the GC, the capacity of V8's old space, young generation and code space (absent from an older probe) */
  oldSpaceMb?: number;
  newSpaceMb?: number;
  codeSpaceMb?: number;
  /** the most V8 ever held in malloc'd memory of its own (its compilers' and parsers' zones), MB */
  v8MallocPeakMb?: number;
}

const PROBE = fileURLToPath(new URL('./heap-probe.mjs', import.meta.url));
const mb = (bytes: number) => Math.round(bytes / 104857.6) / 10;

/** A full GC in the process behind `url` (an inspector), then its memory; null if it does not answer. */
export function probeHeap(url: string | null | undefined): Promise<HeapSample | null> {
  if (!url) return Promise.resolve(null);
  return new Promise((ok) => {
    execFile(process.execPath, ['--experimental-websocket', '--no-warnings', PROBE, url, 'gc'], { timeout: 60_000 }, (err, stdout) => {
      if (err) return ok(null);
      try {
        type Usage = { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
        type V8Stats = { spaces: Record<string, number>; malloced: number; peakMalloced: number } | null;
        const m = JSON.parse(stdout) as Usage & { before: Usage & { v8?: V8Stats } };
        const v8 = m.before.v8;
        ok({
          ...(v8
            ? {
                oldSpaceMb: mb(v8.spaces.old_space ?? 0),
                newSpaceMb: mb(v8.spaces.new_space ?? 0),
                codeSpaceMb: mb(v8.spaces.code_space ?? 0),
                v8MallocPeakMb: mb(v8.peakMalloced),
              }
            : {}),
          heapTotalBeforeMb: mb(m.before.heapTotal),
          heapUsedBeforeMb: mb(m.before.heapUsed),
          heapUsedMb: mb(m.heapUsed),
          heapTotalMb: mb(m.heapTotal),
          externalMb: mb(m.external),
          arrayBuffersMb: mb(m.arrayBuffers),
          rssMb: mb(m.rss),
        });
      } catch {
        ok(null);
      }
    });
  });
}

/**
 * Where a process's resident memory is (/proc/PID/smaps): C malloc's main arena (the `[heap]`
 * mapping: native allocations of the main thread, and memory malloc keeps after they are freed),
 * the other threads' malloc arenas (glibc's per-thread heaps: anonymous mappings that start on a
 * 64 MiB boundary and reach no further), other anonymous memory (V8's heap, large Buffers), and
 * mapped files (the node binary, libraries, LevelDB's tables as it reads them).
 */
export interface MemParts {
  brkMb: number;
  /** the other threads' malloc arenas (included in anonMb) */
  arenasMb?: number;
  anonMb: number;
  fileMb: number;
}

export function memParts(pid: number | null | undefined): MemParts | null {
  if (!pid) return null;
  try {
    return memPartsOf(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  } catch {
    return null;
  }
}

const ARENA = 64n << 20n;

/** memParts of the text of a /proc/PID/smaps. */
export function memPartsOf(smaps: string): MemParts {
  let name = '';
  let arena = false;
  const kb = { brk: 0, arenas: 0, anon: 0, file: 0 };
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[3]!;
      const start = BigInt(`0x${head[1]}`);
      arena = name === '' && start % ARENA === 0n && BigInt(`0x${head[2]}`) - start <= ARENA;
    } else if (line.startsWith('Rss:')) {
      const v = Number(/(\d+)/.exec(line)?.[1] ?? 0);
      if (name === '[heap]') kb.brk += v;
      else if (name.startsWith('/')) kb.file += v;
      else {
        kb.anon += v;
        if (arena) kb.arenas += v;
      }
    }
  }
  const m = (v: number) => Math.round(v / 102.4) / 10;
  return { brkMb: m(kb.brk), arenasMb: m(kb.arenas), anonMb: m(kb.anon), fileMb: m(kb.file) };
}

/** The parts of the hub's resident memory, each [from, to] as the RSS criterion compares them (MB). */
export interface HubMemFromTo {
  /** V8's heap as the hub held it before the probe's GC, and its old space and young generation */
  v8: [number, number] | null;
  oldSpace: [number, number] | null;
  newSpace: [number, number] | null;
  /** anonymous memory and malloc's main arena, less V8's heap: malloc's arenas, Buffers, LevelDB's buffers */
  native: [number, number] | null;
  mainArena: [number, number] | null;
  otherArenas: [number, number] | null;
  files: [number, number] | null;
  /** V8's own malloc'd memory at its peak (its compilers' zones): what malloc may have kept of it */
  v8MallocPeak: [number, number] | null;
}

export interface SoakStall {
  node: string;
  what: string;
  seconds: number;
  at: string;
}

export interface SoakResult {
  durationS: number;
  intervalS: number;
  ratePerS: number;
  /** the hub's V8 old-space limit (MB), or null: V8's own */
  hubHeapMb?: number | null;
  samples: SoakSample[];
  stalls: SoakStall[];
  probes: { up: number[]; down: number[]; failed: number };
  growth: { hubRss: number | null; couchRss: number | null; nodesRss: number | null };
  /** the RSS figures the growth compares: the mean of the first 3 samples from the warm-up on, and of the last 3 */
  rssFromTo: { hub: [number, number] | null; couch: [number, number] | null; nodes: [number, number] | null };
  /** the hub's live heap after a full GC, the same way (null where the probe did not answer) */
  hubHeapFromTo: [number, number] | null;
  /** where the hub's resident memory is, the same way, by part (HubMemFromTo); null without the probes */
  hubMemFromTo?: HubMemFromTo | null;
  /** CouchDB's own memory counters, the same way, by kind */
  couchErlangFromTo?: Record<keyof ErlangMemory, [number, number] | null> | null;
  /** descriptors: the trend (Theil–Sen) over the samples from the warm-up on, per kind */
  fdTrends: FdTrend[];
  pass: { noStall: boolean; rss: boolean; fds: boolean; violations?: boolean; all?: boolean };
}

/**
 * One descriptor count's trend: a robust line (Theil–Sen) through the samples from the warm-up on.
 * `change` is what the line rises over that window; flat = `change` ≤ `limit`, the larger of 10 % of
 * the window's mean and 20. A leak grows steadily and shows in the line; traffic (sockets come and go
 * with requests) scatters around it and does not, where first-against-last samples would take it for one.
 */
export interface FdTrend {
  what: string;
  n: number;
  mean: number;
  min: number;
  max: number;
  change: number;
  limit: number;
  ok: boolean;
}

/** The trend of `pts` (t in s, value), or null with fewer than 3 points. */
export function fdTrend(what: string, pts: [number, number][]): FdTrend | null {
  if (pts.length < 3) return null;
  const n = pts.length;
  const mv = pts.reduce((a, p) => a + p[1], 0) / n;
  // Theil–Sen: the median of the slopes between every two samples; a few samples taken at a burst
  // of requests (or at its lull) move it little, wherever they fall
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (pts[j]![0] > pts[i]![0]) slopes.push((pts[j]![1] - pts[i]![1]) / (pts[j]![0] - pts[i]![0]));
  slopes.sort((a, b) => a - b);
  const slope = slopes.length ? (slopes[(slopes.length - 1) >> 1]! + slopes[slopes.length >> 1]!) / 2 : 0;
  const change = Math.round(slope * (pts[n - 1]![0] - pts[0]![0]) * 10) / 10;
  const limit = Math.max(20, Math.round(mv) / 10);
  return {
    what,
    n,
    mean: Math.round(mv * 10) / 10,
    min: Math.min(...pts.map((p) => p[1])),
    max: Math.max(...pts.map((p) => p[1])),
    change,
    limit,
    ok: change <= limit,
  };
}

const STALL_S = 60;

function procStat(pid: number | null | undefined, kinds = false): { rssMb: number | null; fds: number | null; sockets?: number; files?: number } {
  if (!pid) return { rssMb: null, fds: null };
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const names = readdirSync(`/proc/${pid}/fd`);
    const out: { rssMb: number | null; fds: number | null; sockets?: number; files?: number } = {
      rssMb: m ? Math.round(Number(m[1]) / 102.4) / 10 : null,
      fds: names.length,
    };
    if (kinds) {
      // what the descriptors are: sockets (HTTP, the nodes' sync requests) or files (LevelDB's tables and logs)
      let sockets = 0;
      let files = 0;
      for (const n of names) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${n}`);
          if (target.startsWith('socket:')) sockets++;
          else if (target.startsWith('/')) files++;
        } catch {
          /* closed meanwhile */
        }
      }
      Object.assign(out, { sockets, files });
    }
    return out;
  } catch {
    return { rssMb: null, fds: null };
  }
}

/** CouchDB's memory by kind, as the Erlang VM counts it (MB): its processes' heaps, binaries, ETS tables, the rest. */
export interface ErlangMemory {
  processes: number;
  binary: number;
  ets: number;
  other: number;
}

async function erlangMemory(url: string): Promise<ErlangMemory | null> {
  const { url: base, auth } = couchAccessOf(url);
  try {
    const res = await fetch(`${base}/_node/_local/_system`, { headers: { authorization: auth }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return null;
    const m = ((await res.json()) as { memory?: Record<string, number> }).memory;
    if (!m) return null;
    const mb = (b: number | undefined) => Math.round((b ?? 0) / 104857.6) / 10;
    return { processes: mb(m.processes), binary: mb(m.binary), ets: mb(m.ets), other: mb((m.other ?? 0) + (m.code ?? 0) + (m.atom ?? 0)) };
  } catch {
    return null;
  }
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export class Soak {
  readonly samples: SoakSample[] = [];
  readonly stalls: SoakStall[] = [];
  private upLat: number[] = [];
  private downLat: number[] = [];
  private allUp: number[] = [];
  private allDown: number[] = [];
  private failedProbes = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private t0 = Date.now();
  /** per node: progress seen last (pushed, pulled), and since when work waited without progress */
  private watch = new Map<string, { pushed: number; pulled: number; upSince: number | null; downSince: number | null; startsSeen: number }>();
  private probeTurn = 0;
  private poNo = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly workload: Workload,
    private readonly opts: {
      intervalMs: number;
      ratePerS: number;
      durationMs: number;
      couchPid?: () => number | null;
      /** CouchDB's URL with its admin's credentials, for its memory counters */
      couchUrl?: string;
      say: (m: string) => void;
    },
  ) {}

  start(): void {
    this.t0 = Date.now();
    this.loops.push(this.sampleLoop(), this.watchLoop(), this.probeLoop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async pause(ms: number) {
    const end = Date.now() + ms;
    while (!this.stopped && Date.now() < end) await sleep(Math.min(250, end - Date.now()));
  }

  private disturbed(n: NodeHandle): boolean {
    return !n.up || n.proxy.isCut || n.proxy.slowMs > 0 || !!n.disk?.full || !this.cluster.hubUp;
  }

  /** Every 10 s: a node with work waiting and no progress, its link and process fault-free, for over 60 s, is a stall. */
  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      await this.pause(10_000);
      if (this.stopped) return;
      const hubNodes = await http<{ id: string; pending: number | null }[]>(this.cluster.hubUrl, 'GET', '/api/v1/nodes', undefined, this.cluster.plannerToken);
      const notPulled = new Map((Array.isArray(hubNodes.body) ? hubNodes.body : []).map((x) => [x.id, x.pending ?? 0]));
      const now = Date.now();
      await Promise.all(
        this.cluster.nodes.map(async (n) => {
          let w = this.watch.get(n.id);
          const s = n.up
            ? await http<{ pending: number; pushed: number; pulled: number }>(n.url, 'GET', '/api/v1/sync', undefined, this.cluster.associateToken, 10_000)
            : null;
          if (!w || w.startsSeen !== n.starts || this.disturbed(n) || !s || s.status !== 200) {
            // a fault (or a restart: its counters start again) resets the clock
            this.watch.set(n.id, { pushed: s?.body?.pushed ?? 0, pulled: s?.body?.pulled ?? 0, upSince: null, downSince: null, startsSeen: n.starts });
            return;
          }
          const upWaits = s.body.pending > 0 && s.body.pushed === w.pushed;
          const downWaits = (notPulled.get(n.id) ?? 0) > 0 && s.body.pulled === w.pulled;
          w.upSince = upWaits ? (w.upSince ?? now) : null;
          w.downSince = downWaits ? (w.downSince ?? now) : null;
          w.pushed = s.body.pushed;
          w.pulled = s.body.pulled;
          for (const [what, since] of [
            ['upload', w.upSince],
            ['download', w.downSince],
          ] as const) {
            if (since !== null && now - since > STALL_S * 1000) {
              this.stalls.push({
                node: n.id,
                what: `${what}: ${what === 'upload' ? s.body.pending : notPulled.get(n.id)} changes waiting, no progress`,
                seconds: Math.round((now - since) / 1000),
                at: new Date(now).toISOString(),
              });
              this.opts.say(`soak: STALL at ${n.id}: ${what} without progress for ${Math.round((now - since) / 1000)} s`);
              if (what === 'upload') w.upSince = now;
              else w.downSince = now;
            }
          }
          w = undefined;
        }),
      );
    }
  }

  /** Every 6 s a probe at the next node in turn: upload (a sale at a store) and download (a purchase order to it). */
  private async probeLoop(): Promise<void> {
    const stores = this.cluster.nodes.filter((n) => n.spec.type === 'store');
    while (!this.stopped) {
      await this.pause(6_000);
      if (this.stopped) return;
      const n = stores[this.probeTurn++ % stores.length]!;
      if (this.disturbed(n)) continue;
      await Promise.all([this.probeUp(n), this.probeDown(n)]);
    }
  }

  private async until(ms: number, fn: () => Promise<boolean>, n: NodeHandle): Promise<number | null> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await fn().catch(() => false)) return Date.now() - t0;
      if (this.disturbed(n)) return null; // a fault came by: not a measure of sync
      await sleep(100);
    }
    return -1;
  }

  private async probeUp(n: NodeHandle): Promise<void> {
    const t = this.workload.tracker;
    const sku = this.workload.walkSkus[this.probeTurn % this.workload.walkSkus.length]!;
    const res = await http<{ sale: { _id: string } }>(n.url, 'POST', '/api/v1/sales', { sku, qty: 1 }, this.cluster.associateToken, 15_000);
    t.ops++;
    if (res.status !== 201) return;
    t.sales.set(res.body.sale._id, { facility: n.id, sku, qty: 1 });
    t.acks.push({ target: n.id, kind: 'sale', key: res.body.sale._id, at: Date.now() });
    const id = encodeURIComponent(res.body.sale._id);
    const ms = await this.until(
      2 * STALL_S * 1000,
      async () => (await http(this.cluster.hubUrl, 'GET', `/sync/${n.id}/${id}`, undefined, n.token, 5_000)).status === 200,
      n,
    );
    this.record('up', ms, n);
  }

  private async probeDown(n: NodeHandle): Promise<void> {
    const id = `SOAKPO-${this.workload.seed}-${this.poNo++}`;
    const sku = this.workload.walkSkus[(this.probeTurn + 1) % this.workload.walkSkus.length]!;
    const body = { id, facility: n.id, supplier: 'Acme', expectedAt: new Date(Date.now() + 86_400_000).toISOString(), lines: [{ sku, qty: 2 }] };
    const res = await http(this.cluster.hubUrl, 'POST', '/api/v1/purchase-orders', body, this.cluster.plannerToken, 15_000);
    if (res.status !== 201) return;
    this.workload.tracker.purchaseOrders++;
    const ms = await this.until(
      2 * STALL_S * 1000,
      async () => {
        const inb = await http<{ inboundId: string }[]>(n.url, 'GET', '/api/v1/inbound', undefined, this.cluster.associateToken, 5_000);
        return Array.isArray(inb.body) && inb.body.some((i) => i.inboundId.includes(id));
      },
      n,
    );
    this.record('down', ms, n);
  }

  private record(kind: 'up' | 'down', ms: number | null, n: NodeHandle) {
    if (ms === null) return;
    if (ms < 0) {
      this.failedProbes++;
      this.stalls.push({
        node: n.id,
        what: `${kind === 'up' ? 'a sale' : 'a purchase order'} not ${kind === 'up' ? 'at the hub' : 'at the node'} after ${2 * STALL_S} s`,
        seconds: 2 * STALL_S,
        at: new Date().toISOString(),
      });
      this.opts.say(`soak: STALL at ${n.id}: ${kind} probe not through in ${2 * STALL_S} s`);
      return;
    }
    if (ms > STALL_S * 1000)
      this.stalls.push({ node: n.id, what: `${kind} probe took ${Math.round(ms / 1000)} s`, seconds: Math.round(ms / 1000), at: new Date().toISOString() });
    (kind === 'up' ? this.upLat : this.downLat).push(ms);
    (kind === 'up' ? this.allUp : this.allDown).push(ms);
  }

  private async sampleLoop(): Promise<void> {
    for (;;) {
      await this.sample();
      await this.pause(this.opts.intervalMs);
      if (this.stopped) {
        await this.sample(true);
        return;
      }
    }
  }

  private async sample(final = false): Promise<void> {
    const hub: SoakSample['hub'] = procStat(this.cluster.hub?.pid, true);
    hub.mem = memParts(this.cluster.hub?.pid);
    // after the RSS figure: the forced GC would lower it
    hub.heap = await probeHeap(this.cluster.hub?.inspector());
    const couch: SoakSample['couch'] = this.opts.couchPid ? procStat(this.opts.couchPid(), true) : null;
    if (couch && this.opts.couchUrl) couch.erlang = await erlangMemory(this.opts.couchUrl);
    const up = this.cluster.nodes.filter((n) => n.up && n.proc);
    const stats = up.map((n) => ({ n, ...procStat(n.proc!.pid) }));
    const steady = stats.filter((x) => x.n.starts === 1);
    const rss = stats.map((x) => x.rssMb ?? 0);
    const hubNodes = await http<{ id: string; pending: number | null }[]>(this.cluster.hubUrl, 'GET', '/api/v1/nodes', undefined, this.cluster.plannerToken);
    const pulled = (Array.isArray(hubNodes.body) ? hubNodes.body : []).map((x) => x.pending ?? 0);
    const pushed = await Promise.all(
      up.map(async (n) => (await http<{ pending: number }>(n.url, 'GET', '/api/v1/sync', undefined, this.cluster.associateToken, 10_000)).body?.pending ?? 0),
    );
    const lat = (xs: number[]) => ({ n: xs.length, p50: median(xs), max: xs.length ? Math.max(...xs) : null });
    const s: SoakSample = {
      t: Math.round((Date.now() - this.t0) / 1000),
      hub,
      couch,
      nodes: {
        up: up.length,
        rssMeanMb: rss.length ? Math.round((rss.reduce((a, b) => a + b, 0) / rss.length) * 10) / 10 : 0,
        rssMaxMb: rss.length ? Math.max(...rss) : 0,
        fds: stats.reduce((a, x) => a + (x.fds ?? 0), 0),
        steadyRssMeanMb: steady.length ? Math.round((steady.reduce((a, x) => a + (x.rssMb ?? 0), 0) / steady.length) * 10) / 10 : 0,
        steadyFds: steady.reduce((a, x) => a + (x.fds ?? 0), 0),
      },
      lag: {
        notPulled: pulled.reduce((a, b) => a + b, 0),
        notPulledMax: pulled.length ? Math.max(...pulled) : 0,
        notPushed: pushed.reduce((a, b) => a + b, 0),
        notPushedMax: pushed.length ? Math.max(...pushed) : 0,
      },
      up: lat(this.upLat),
      down: lat(this.downLat),
      ordersAccepted: this.workload.tracker.acceptedOrders.size,
      ...(final ? { final } : {}),
    };
    this.upLat = [];
    this.downLat = [];
    this.samples.push(s);
    this.opts.say(
      `soak t=${s.t}s: hub ${hub.rssMb} MB (malloc main ${hub.mem?.brkMb ?? '?'}, other anon ${hub.mem?.anonMb ?? '?'}; V8 heap ${hub.heap?.heapTotalBeforeMb ?? '?'} MB, live after GC ${hub.heap?.heapUsedMb ?? '?'} MB)/${hub.fds} fds (${hub.sockets} sockets, ${hub.files} files)${couch ? `, CouchDB ${couch.rssMb} MB/${couch.fds} fds (${couch.sockets} sockets, ${couch.files} files)${couch.erlang ? ` (Erlang: processes ${couch.erlang.processes}, binaries ${couch.erlang.binary}, ETS ${couch.erlang.ets}, other ${couch.erlang.other})` : ''}` : ''}, ` +
        `nodes ${s.nodes.up} up, mean ${s.nodes.rssMeanMb} MB, ${s.nodes.fds} fds; not pulled ${s.lag.notPulled}, not pushed ${s.lag.notPushed}; ` +
        `up p50 ${s.up.p50} ms, down p50 ${s.down.p50} ms; ${s.ordersAccepted} orders`,
    );
  }

  /** The samples, the probes and the criteria (judgeSoak). */
  result(): SoakResult {
    const j = judgeSoak(this.samples, this.opts.durationMs, this.stalls.length);
    return {
      durationS: Math.round(this.opts.durationMs / 1000),
      intervalS: Math.round(this.opts.intervalMs / 1000),
      ratePerS: this.opts.ratePerS,
      hubHeapMb: this.cluster.hubHeapMb ?? null,
      samples: this.samples,
      stalls: this.stalls,
      probes: { up: this.allUp, down: this.allDown, failed: this.failedProbes },
      ...j,
    };
  }
}

/**
 * The soak's criteria over its samples: memory growth from the warm-up (5 minutes, or a sixth of a
 * shorter run) to the end, each the mean of up to 3 samples; descriptors by their trend over the
 * same window (fdTrend), per kind.
 */
export function judgeSoak(
  samples: SoakSample[],
  durationMs: number,
  stalls: number,
): Pick<SoakResult, 'growth' | 'rssFromTo' | 'hubHeapFromTo' | 'hubMemFromTo' | 'couchErlangFromTo' | 'fdTrends' | 'pass'> {
  // under load only: the sample taken after the work stopped is shown, not judged
  const s = samples.filter((x) => !x.final);
  const from = Math.min(300, durationMs / 1000 / 6);
  const window = s.filter((x) => x.t >= from);
  const base = window.slice(0, 3);
  const end = s.slice(-3);
  const mean = (xs: (number | null | undefined)[]) => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const fromTo = (pick: (x: SoakSample) => number | null | undefined): [number, number] | null => {
    const a = mean(base.map(pick));
    const b = mean(end.map(pick));
    return a && b !== null ? [r1(a), r1(b)] : null;
  };
  const pct = (ft: [number, number] | null) => (ft ? Math.round(((ft[1] - ft[0]) / ft[0]) * 1000) / 10 : null);
  const rssFromTo = { hub: fromTo((x) => x.hub.rssMb), couch: fromTo((x) => x.couch?.rssMb), nodes: fromTo((x) => x.nodes.steadyRssMeanMb) };
  const g = { hubRss: pct(rssFromTo.hub), couchRss: pct(rssFromTo.couch), nodesRss: pct(rssFromTo.nodes) };
  const series = (pick: (x: SoakSample) => number | null | undefined) =>
    window.flatMap((x) => {
      const v = pick(x);
      return typeof v === 'number' ? [[x.t, v] as [number, number]] : [];
    });
  const fdTrends = [
    fdTrend(
      'hub: files',
      series((x) => x.hub.files),
    ),
    fdTrend(
      'hub: sockets',
      series((x) => x.hub.sockets),
    ),
    fdTrend(
      'hub: other (pipes, event descriptors)',
      series((x) => (x.hub.fds === null || x.hub.sockets === undefined ? null : x.hub.fds - x.hub.sockets - (x.hub.files ?? 0))),
    ),
    fdTrend(
      'CouchDB',
      series((x) => x.couch?.fds),
    ),
    fdTrend(
      'nodes never restarted (total)',
      series((x) => x.nodes.steadyFds),
    ),
  ].filter((x): x is FdTrend => x !== null);
  const pass = {
    noStall: stalls === 0,
    rss: [g.hubRss, g.couchRss, g.nodesRss].every((x) => x === null || x < 10),
    fds: fdTrends.every((x) => x.ok),
  };
  const erlang = (k: keyof ErlangMemory) => fromTo((x) => x.couch?.erlang?.[k]);
  const couchErlangFromTo = base.some((x) => x.couch?.erlang)
    ? { processes: erlang('processes'), binary: erlang('binary'), ets: erlang('ets'), other: erlang('other') }
    : null;
  const native = (x: SoakSample) => (x.hub.mem && x.hub.heap ? x.hub.mem.anonMb + x.hub.mem.brkMb - x.hub.heap.heapTotalBeforeMb : null);
  const hubMemFromTo = base.some((x) => x.hub.mem)
    ? {
        v8: fromTo((x) => x.hub.heap?.heapTotalBeforeMb),
        oldSpace: fromTo((x) => x.hub.heap?.oldSpaceMb),
        newSpace: fromTo((x) => x.hub.heap?.newSpaceMb),
        native: fromTo(native),
        mainArena: fromTo((x) => x.hub.mem?.brkMb),
        otherArenas: fromTo((x) => x.hub.mem?.arenasMb),
        files: fromTo((x) => x.hub.mem?.fileMb),
        v8MallocPeak: fromTo((x) => x.hub.heap?.v8MallocPeakMb),
      }
    : null;
  return { growth: g, rssFromTo, hubHeapFromTo: fromTo((x) => x.hub.heap?.heapUsedMb), hubMemFromTo, couchErlangFromTo, fdTrends, pass };
}

/** The soak's chart: resident memory (hub, CouchDB, node mean), open descriptors and sync latency (per sample) over time. */
export function soakSvg(r: SoakResult, title: string): string {
  const W = 860;
  const H = 250;
  const L = 60;
  const R = 20;
  const panels: { title: string; unit: string; series: { name: string; color: string; thin?: boolean; pts: [number, number][] }[] }[] = [
    {
      title: "memory (MB): resident, and the hub's V8 heap (thin: before a GC)",
      unit: 'MB',
      series: [
        { name: 'hub', color: '#1f77b4', pts: r.samples.flatMap((x) => (x.hub.rssMb === null ? [] : [[x.t, x.hub.rssMb] as [number, number]])) },
        {
          name: 'hub: V8 heap',
          color: '#aec7e8',
          thin: true,
          pts: r.samples.flatMap((x) => (x.hub.heap ? [[x.t, x.hub.heap.heapTotalBeforeMb] as [number, number]] : [])),
        },
        {
          name: 'hub: live heap after GC',
          color: '#17becf',
          pts: r.samples.flatMap((x) => (x.hub.heap ? [[x.t, x.hub.heap.heapUsedMb] as [number, number]] : [])),
        },
        { name: 'CouchDB', color: '#9467bd', pts: r.samples.flatMap((x) => (x.couch?.rssMb == null ? [] : [[x.t, x.couch.rssMb] as [number, number]])) },
        { name: 'node (mean)', color: '#2ca02c', pts: r.samples.map((x) => [x.t, x.nodes.rssMeanMb] as [number, number]) },
        { name: 'node (max)', color: '#98df8a', pts: r.samples.map((x) => [x.t, x.nodes.rssMaxMb] as [number, number]) },
      ],
    },
    {
      title: 'open file descriptors',
      unit: '',
      series: [
        { name: 'hub', color: '#1f77b4', pts: r.samples.flatMap((x) => (x.hub.fds === null ? [] : [[x.t, x.hub.fds] as [number, number]])) },
        {
          name: 'hub: sockets',
          color: '#aec7e8',
          thin: true,
          pts: r.samples.flatMap((x) => (x.hub.sockets === undefined ? [] : [[x.t, x.hub.sockets] as [number, number]])),
        },
        {
          name: 'hub: files',
          color: '#17becf',
          thin: true,
          pts: r.samples.flatMap((x) => (x.hub.files === undefined ? [] : [[x.t, x.hub.files] as [number, number]])),
        },
        { name: 'CouchDB', color: '#9467bd', pts: r.samples.flatMap((x) => (x.couch?.fds == null ? [] : [[x.t, x.couch.fds] as [number, number]])) },
        { name: 'nodes (total, all up)', color: '#2ca02c', pts: r.samples.map((x) => [x.t, x.nodes.fds] as [number, number]) },
      ],
    },
    {
      title: `sync latency per ${r.intervalS} s: median (solid) and slowest (thin) probe (ms)`,
      unit: 'ms',
      series: [
        {
          name: 'upload (sale at a store → at the hub)',
          color: '#d62728',
          pts: r.samples.flatMap((x) => (x.up.p50 === null ? [] : [[x.t, x.up.p50] as [number, number]])),
        },
        {
          name: 'download (purchase order → at the node)',
          color: '#ff7f0e',
          pts: r.samples.flatMap((x) => (x.down.p50 === null ? [] : [[x.t, x.down.p50] as [number, number]])),
        },
        { name: '', color: '#f4a5a5', thin: true, pts: r.samples.flatMap((x) => (x.up.max === null ? [] : [[x.t, x.up.max] as [number, number]])) },
        { name: '', color: '#ffc993', thin: true, pts: r.samples.flatMap((x) => (x.down.max === null ? [] : [[x.t, x.down.max] as [number, number]])) },
      ],
    },
  ];
  const tMax = Math.max(60, ...r.samples.map((x) => x.t));
  const out: string[] = [];
  const total = 40 + panels.length * (H + 50);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${total}" viewBox="0 0 ${W} ${total}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  panels.forEach((p, i) => {
    const top = 40 + i * (H + 50);
    const vMax = niceMax(Math.max(1, ...p.series.flatMap((s) => s.pts.map((x) => x[1]))));
    const x = (t: number) => L + ((W - L - R) * t) / tMax;
    const y = (v: number) => top + 20 + (H - 40) * (1 - v / vMax);
    out.push(`<text x="${L}" y="${top + 10}" font-weight="bold">${esc(p.title)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (vMax * k) / 4;
      out.push(
        `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
      );
    }
    const step = tMax > 1800 ? 600 : tMax > 600 ? 300 : 60;
    for (let t = 0; t <= tMax; t += step) out.push(`<text x="${x(t)}" y="${top + H}" text-anchor="middle">${Math.round(t / 60)} min</text>`);
    let lx = L + 10;
    // the thin lines under the solid ones
    for (const s of [...p.series].sort((a, b) => Number(!!b.thin) - Number(!!a.thin))) {
      if (!s.pts.length) continue;
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="${s.thin ? 1 : 2}" points="${s.pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const s of p.series) {
      if (!s.pts.length || !s.name) continue;
      out.push(`<rect x="${lx}" y="${top + 16}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${top + 25}">${esc(s.name)}</text>`);
      lx += 30 + s.name.length * 6.6;
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** "30m", "90s", "1h", or milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`not a duration: "${s}" (say 30m, 90s or 1h)`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h']);
}

/** The soak's section of the report, as Markdown. */
export function soakMarkdown(r: SoakResult, chart?: string): string {
  const lines: string[] = [];
  const pc = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v} %`);
  const last = r.samples.at(-1);
  const ft = (x: [number, number] | null, unit: string) => (x ? `${x[0]} → ${x[1]} ${unit}` : 'n/a');
  const q = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : null);
  const probes = (what: string, xs: number[]) =>
    `${xs.length} ${what} (median ${q(xs, 0.5)} ms, p95 ${q(xs, 0.95)} ms, max ${xs.length ? Math.max(...xs) : 'n/a'} ms)`;
  const yes = (ok: boolean | undefined) => (ok ? 'yes' : '**no**');
  lines.push(
    `Soak: ${Math.round(r.durationS / 60)} min of steady work (${r.ratePerS} orders/s), sampled every ${r.intervalS} s (${r.samples.length} samples); ` +
      (r.hubHeapMb ? `the hub's V8 heap limited to ${r.hubHeapMb} MB (\`--max-old-space-size\`, docs/OPERATIONS.md).` : `the hub's V8 heap at V8's own limit.`),
  );
  lines.push('');
  lines.push('| criterion | measured | pass |');
  lines.push('|---|---|---|');
  lines.push(
    `| no sync stall over 60 s | ${r.stalls.length} stalls${
      r.stalls.length
        ? ` (${r.stalls
            .slice(0, 3)
            .map((s) => `${s.node} ${s.what}`)
            .join('; ')})`
        : ''
    }; probes: ${probes('uploads', r.probes.up)}, ${probes('downloads', r.probes.down)}, ${r.probes.failed} not through | ${r.pass.noStall ? 'yes' : '**no**'} |`,
  );
  const warm = Math.min(300, r.durationS / 6);
  const warmText = warm >= 60 ? `${Math.round(warm / 60)} min` : `${Math.round(warm)} s`;
  lines.push(
    `| resident memory grows < 10 % after the first ${warmText} (mean of the first 3 samples from then against the last 3) | ` +
      `hub ${ft(r.rssFromTo.hub, 'MB')} (${pc(r.growth.hubRss)})` +
      (r.rssFromTo.couch ? `; CouchDB ${ft(r.rssFromTo.couch, 'MB')} (${pc(r.growth.couchRss)})` : '') +
      `; nodes never restarted, mean ${ft(r.rssFromTo.nodes, 'MB')} (${pc(r.growth.nodesRss)}) | ${yes(r.pass.rss)} |`,
  );
  const sign = (v: number) => `${v > 0 ? '+' : ''}${v}`;
  lines.push(
    `| open file descriptors flat: the trend (Theil–Sen) from ${warmText} on rises by at most 10 % of the mean or 20, per kind | ` +
      r.fdTrends.map((x) => `${x.what} ${sign(x.change)} (mean ${x.mean}, ${x.min}–${x.max}; limit ${x.limit})${x.ok ? '' : ' **over**'}`).join('; ') +
      ` | ${yes(r.pass.fds)} |`,
  );
  if (r.pass.violations !== undefined) lines.push(`| 0 invariant violations | see the invariants below | ${r.pass.violations ? 'yes' : '**no**'} |`);
  lines.push('');
  if (r.hubHeapFromTo)
    lines.push(
      `The hub's live heap after a full GC (forced through its inspector after each RSS sample; not a criterion): ` +
        `${ft(r.hubHeapFromTo, 'MB')} (${pc(Math.round(((r.hubHeapFromTo[1] - r.hubHeapFromTo[0]) / r.hubHeapFromTo[0]) * 1000) / 10)}), the same samples as its RSS.`,
      '',
    );
  const hm = r.hubMemFromTo;
  if (hm) {
    const part = (label: string, v: [number, number] | null) => (v ? `${label} ${ft(v, 'MB')}` : null);
    const v8 = [part('its old space', hm.oldSpace), part('young generation', hm.newSpace)].filter(Boolean).join(', ');
    const native = [part("malloc's main arena", hm.mainArena), part("the other threads' arenas", hm.otherArenas)].filter(Boolean).join(', ');
    lines.push(
      `Where the hub's resident memory went, the same samples (\`/proc/PID/smaps\`, and V8's heap as the probe found it before its GC; not a criterion): ` +
        [
          hm.v8 && `V8's heap ${ft(hm.v8, 'MB')}${v8 ? ` (${v8})` : ''}`,
          hm.native && `native memory outside it ${ft(hm.native, 'MB')}${native ? ` (${native})` : ''}`,
          hm.files && `mapped files ${ft(hm.files, 'MB')}`,
          hm.v8MallocPeak && `V8's own malloc'd memory at its peak ${ft(hm.v8MallocPeak, 'MB')}`,
        ]
          .filter(Boolean)
          .join('; ') +
        '.',
      '',
    );
  }
  const ce = r.couchErlangFromTo;
  if (ce)
    lines.push(
      `CouchDB's own memory counters (\`GET /_node/_local/_system\`, the same samples; not a criterion): ` +
        (['processes', 'binary', 'ets', 'other'] as const)
          .map((k) => `${k === 'binary' ? 'binaries' : k === 'ets' ? 'ETS' : k} ${ce[k] ? ft(ce[k]!, 'MB') : '?'}`)
          .join(', ') +
        '.',
      '',
    );
  const maxLag = r.samples.reduce((a, x) => ({ p: Math.max(a.p, x.lag.notPulled), u: Math.max(a.u, x.lag.notPushed) }), { p: 0, u: 0 });
  lines.push(
    `Feed lag: at most ${maxLag.p} changes at the hub not yet pulled by the nodes (all nodes together) and ${maxLag.u} changes at the nodes not yet pushed, ` +
      `in any sample; at the last sample ${last?.lag.notPulled} and ${last?.lag.notPushed}.`,
  );
  if (chart) lines.push('', `![resident memory and sync latency over the soak](${chart})`);
  lines.push('');
  lines.push('<details><summary>Samples</summary>');
  lines.push('');
  lines.push(
    '| t (s) | hub MB | hub live heap MB | hub fds (sockets/files) | CouchDB MB | CouchDB fds | nodes up | node MB mean / max | node fds | not pulled | not pushed | upload p50 ms | download p50 ms | orders |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.samples)
    lines.push(
      `| ${x.t}${x.final ? ' (work stopped)' : ''} | ${x.hub.rssMb} | ${x.hub.heap?.heapUsedMb ?? ''} | ${x.hub.fds}${x.hub.sockets !== undefined ? ` (${x.hub.sockets}/${x.hub.files})` : ''} | ${x.couch?.rssMb ?? ''} | ${x.couch?.fds ?? ''} | ` +
        `${x.nodes.up} | ${x.nodes.rssMeanMb} / ${x.nodes.rssMaxMb} | ${x.nodes.fds} | ${x.lag.notPulled} | ${x.lag.notPushed} | ${x.up.p50 ?? ''} | ${x.down.p50 ?? ''} | ${x.ordersAccepted} |`,
    );
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}
