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
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Cluster, NodeHandle } from './cluster.js';
import type { Workload } from './workload.js';
import { http, sleep } from './util.js';

export interface SoakSample {
  /** seconds since the workload started */
  t: number;
  /** the hub's descriptors also by kind: sockets, and files (the embedded server's LevelDB tables and logs) */
  hub: { rssMb: number | null; fds: number | null; sockets?: number; files?: number };
  couch: { rssMb: number | null; fds: number | null } | null;
  /** the nodes up at the sample: mean and max RSS, total fds; and the same for the nodes never restarted */
  nodes: { up: number; rssMeanMb: number; rssMaxMb: number; fds: number; steadyRssMeanMb: number; steadyFds: number };
  /** changes at the hub the nodes have not pulled (sum, max), and changes at the nodes not pushed (sum, max) */
  lag: { notPulled: number; notPulledMax: number; notPushed: number; notPushedMax: number };
  /** probes finished since the last sample: upload and download latency, ms */
  up: { n: number; p50: number | null; max: number | null };
  down: { n: number; p50: number | null; max: number | null };
  ordersAccepted: number;
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
  samples: SoakSample[];
  stalls: SoakStall[];
  probes: { up: number[]; down: number[]; failed: number };
  growth: { hubRss: number | null; couchRss: number | null; nodesRss: number | null; hubFds: number | null; couchFds: number | null; nodesFds: number | null };
  pass: { noStall: boolean; rss: boolean; fds: boolean; violations?: boolean; all?: boolean };
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
    private readonly opts: { intervalMs: number; ratePerS: number; durationMs: number; couchPid?: () => number | null; say: (m: string) => void },
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
        await this.sample();
        return;
      }
    }
  }

  private async sample(): Promise<void> {
    const hub = procStat(this.cluster.hub?.pid, true);
    const couch = this.opts.couchPid ? procStat(this.opts.couchPid()) : null;
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
    };
    this.upLat = [];
    this.downLat = [];
    this.samples.push(s);
    this.opts.say(
      `soak t=${s.t}s: hub ${hub.rssMb} MB/${hub.fds} fds (${hub.sockets} sockets, ${hub.files} files)${couch ? `, CouchDB ${couch.rssMb} MB/${couch.fds} fds` : ''}, ` +
        `nodes ${s.nodes.up} up, mean ${s.nodes.rssMeanMb} MB, ${s.nodes.fds} fds; not pulled ${s.lag.notPulled}, not pushed ${s.lag.notPushed}; ` +
        `up p50 ${s.up.p50} ms, down p50 ${s.down.p50} ms; ${s.ordersAccepted} orders`,
    );
  }

  /** Growth from 5 minutes in (or a sixth of the run, if shorter) to the end, each the mean of up to 3 samples. */
  result(): SoakResult {
    const s = this.samples;
    const from = Math.min(300, this.opts.durationMs / 1000 / 6);
    const base = s.filter((x) => x.t >= from).slice(0, 3);
    const end = s.slice(-3);
    const mean = (xs: (number | null | undefined)[]) => {
      const v = xs.filter((x): x is number => typeof x === 'number');
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const growth = (pick: (x: SoakSample) => number | null | undefined) => {
      const a = mean(base.map(pick));
      const b = mean(end.map(pick));
      return a && b !== null ? Math.round(((b - a) / a) * 1000) / 10 : null;
    };
    const g = {
      hubRss: growth((x) => x.hub.rssMb),
      couchRss: growth((x) => x.couch?.rssMb),
      nodesRss: growth((x) => x.nodes.steadyRssMeanMb),
      hubFds: growth((x) => x.hub.fds),
      couchFds: growth((x) => x.couch?.fds),
      nodesFds: growth((x) => x.nodes.steadyFds),
    };
    const fdOk = (pct: number | null, pick: (x: SoakSample) => number | null | undefined) => {
      if (pct === null) return true;
      const a = mean(base.map(pick)) ?? 0;
      return pct < 10 || (a * pct) / 100 <= 20;
    };
    const pass = {
      noStall: this.stalls.length === 0,
      rss: [g.hubRss, g.couchRss, g.nodesRss].every((x) => x === null || x < 10),
      fds: fdOk(g.hubFds, (x) => x.hub.fds) && fdOk(g.couchFds, (x) => x.couch?.fds) && fdOk(g.nodesFds, (x) => x.nodes.steadyFds),
    };
    return {
      durationS: Math.round(this.opts.durationMs / 1000),
      intervalS: Math.round(this.opts.intervalMs / 1000),
      ratePerS: this.opts.ratePerS,
      samples: s,
      stalls: this.stalls,
      probes: { up: this.allUp, down: this.allDown, failed: this.failedProbes },
      growth: g,
      pass,
    };
  }
}

/** The soak's chart: resident memory (hub, CouchDB, node mean), open descriptors and sync latency (per sample) over time. */
export function soakSvg(r: SoakResult, title: string): string {
  const W = 860;
  const H = 250;
  const L = 60;
  const R = 20;
  const panels: { title: string; unit: string; series: { name: string; color: string; thin?: boolean; pts: [number, number][] }[] }[] = [
    {
      title: 'resident memory (MB)',
      unit: 'MB',
      series: [
        { name: 'hub', color: '#1f77b4', pts: r.samples.flatMap((x) => (x.hub.rssMb === null ? [] : [[x.t, x.hub.rssMb] as [number, number]])) },
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
  const first = r.samples.find((x) => x.t >= Math.min(300, r.durationS / 6));
  const last = r.samples.at(-1);
  const q = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : null);
  const probes = (what: string, xs: number[]) =>
    `${xs.length} ${what} (median ${q(xs, 0.5)} ms, p95 ${q(xs, 0.95)} ms, max ${xs.length ? Math.max(...xs) : 'n/a'} ms)`;
  const yes = (ok: boolean | undefined) => (ok ? 'yes' : '**no**');
  lines.push(
    `Soak: ${Math.round(r.durationS / 60)} min of steady work (${r.ratePerS} orders/s), sampled every ${r.intervalS} s (${r.samples.length} samples).`,
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
  lines.push(
    `| resident memory grows < 10 % after the first ${warm >= 60 ? `${Math.round(warm / 60)} min` : `${Math.round(warm)} s`} | ` +
      `hub ${first?.hub.rssMb} → ${last?.hub.rssMb} MB (${pc(r.growth.hubRss)})` +
      (first?.couch ? `; CouchDB ${first.couch.rssMb} → ${last?.couch?.rssMb} MB (${pc(r.growth.couchRss)})` : '') +
      `; nodes never restarted, mean ${first?.nodes.steadyRssMeanMb} → ${last?.nodes.steadyRssMeanMb} MB (${pc(r.growth.nodesRss)}) | ${yes(r.pass.rss)} |`,
  );
  lines.push(
    `| open file descriptors flat (within 10 % or 20) | hub ${first?.hub.fds} → ${last?.hub.fds} (${pc(r.growth.hubFds)})` +
      (first?.couch ? `; CouchDB ${first.couch.fds} → ${last?.couch?.fds} (${pc(r.growth.couchFds)})` : '') +
      `; nodes never restarted, total ${first?.nodes.steadyFds} → ${last?.nodes.steadyFds} (${pc(r.growth.nodesFds)}) | ${yes(r.pass.fds)} |`,
  );
  if (r.pass.violations !== undefined) lines.push(`| 0 invariant violations | see the invariants below | ${r.pass.violations ? 'yes' : '**no**'} |`);
  lines.push('');
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
    '| t (s) | hub MB | hub fds (sockets/files) | CouchDB MB | CouchDB fds | nodes up | node MB mean / max | node fds | not pulled | not pushed | upload p50 ms | download p50 ms | orders |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.samples)
    lines.push(
      `| ${x.t} | ${x.hub.rssMb} | ${x.hub.fds}${x.hub.sockets !== undefined ? ` (${x.hub.sockets}/${x.hub.files})` : ''} | ${x.couch?.rssMb ?? ''} | ${x.couch?.fds ?? ''} | ` +
        `${x.nodes.up} | ${x.nodes.rssMeanMb} / ${x.nodes.rssMaxMb} | ${x.nodes.fds} | ${x.lag.notPulled} | ${x.lag.notPushed} | ${x.up.p50 ?? ''} | ${x.down.p50 ?? ''} | ${x.ordersAccepted} |`,
    );
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}
