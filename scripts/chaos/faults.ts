/**
 * The fault schedule: link cuts, slow links and mid-response resets on the node ↔ hub proxies,
 * kill -9 and restart of the hub (one of them while a replenishment run is in flight) and of
 * nodes, a full disk at one node, a poison document in a node's database (which the gateway must
 * refuse, the rest going on), a power cut at a node or the embedded hub (kill -9 and every byte not
 * yet fsynced dropped, with LazyFS), and on Apache CouchDB kill -9 of CouchDB itself (of one node at a
 * time, on a cluster). Faults fire as the workload progresses (by the share of
 * orders accepted), so a slow machine gets the same faults as a fast one, only later.
 */
import type { Cluster, NodeHandle } from './cluster.js';
import type { Workload } from './workload.js';
import { sleep, type Rng } from './util.js';

export type FaultKind = 'linkCut' | 'slowLink' | 'midResponseReset' | 'hubKill' | 'nodeKill' | 'diskFull' | 'couchKill' | 'poisonDoc' | 'powerLoss';

export interface FaultCounts {
  linkCut: number;
  slowLink: number;
  midResponseReset: number;
  hubKill: number;
  nodeKill: number;
  diskFull: number;
  /** kill -9 of Apache CouchDB (a process of its own) and its restart on the same data */
  couchKill: number;
  /** a document the gateway must refuse, written into a node's own database */
  poisonDoc: number;
  /** kill -9 of a node (or the embedded hub) on LazyFS, every byte it never fsynced dropped, restart on what is left */
  powerLoss: number;
}

export interface FaultLogEntry {
  kind: FaultKind;
  target: string;
  at: string;
  ms: number;
  note?: string;
}

export const emptyCounts = (): FaultCounts => ({
  linkCut: 0,
  slowLink: 0,
  midResponseReset: 0,
  hubKill: 0,
  nodeKill: 0,
  diskFull: 0,
  couchKill: 0,
  poisonDoc: 0,
  powerLoss: 0,
});

export class FaultInjector {
  readonly counts = emptyCounts();
  readonly log: FaultLogEntry[] = [];
  private stopped = false;
  private background: Promise<unknown>[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly workload: Workload,
    private readonly r: Rng,
    private readonly say: (m: string) => void,
  ) {}

  /** The planned faults, shuffled by the seed, each with the progress at which it fires. */
  plan(want: FaultCounts): { kind: FaultKind; at: number }[] {
    const kinds: FaultKind[] = [];
    for (const [k, n] of Object.entries(want) as [FaultKind, number][]) for (let i = 0; i < n; i++) kinds.push(k);
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = this.r.int(0, i);
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    // spread over 5%..90% of the orders, so the tail of the workload runs under a healed system too
    return kinds.map((kind, i) => ({ kind, at: 0.05 + (0.85 * (i + 0.5)) / kinds.length }));
  }

  async run(want: FaultCounts): Promise<void> {
    const plan = this.plan(want);
    let hubKills = 0;
    for (const f of plan) {
      while (!this.stopped && this.workload.progress < f.at) await sleep(50);
      if (this.stopped) return;
      const t0 = Date.now();
      const entry = await this.inject(f.kind, f.kind === 'hubKill' && hubKills++ === 0);
      this.log.push({ ...entry, at: new Date(t0).toISOString(), ms: Date.now() - t0 });
      this.say(`fault ${f.kind} ${entry.target}${entry.note ? ` (${entry.note})` : ''} at ${(this.workload.progress * 100).toFixed(0)}%`);
    }
    await Promise.all(this.background);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Wait for faults still healing in the background (links restored). */
  async settle(): Promise<void> {
    await Promise.all(this.background);
  }

  private pickNode(filter: (n: NodeHandle) => boolean = () => true): NodeHandle {
    const ok = this.cluster.nodes.filter((n) => n.up && filter(n));
    return this.r.pick(ok.length ? ok : this.cluster.nodes);
  }

  private async inject(kind: FaultKind, duringReplenishment: boolean): Promise<{ kind: FaultKind; target: string; note?: string }> {
    const { cluster, r } = this;
    switch (kind) {
      case 'linkCut': {
        const n = this.pickNode((x) => !x.proxy.isCut);
        await n.proxy.cut();
        this.counts.linkCut++;
        const downMs = r.int(1000, 4000);
        // the link heals in the background: other faults may overlap it
        this.background.push(
          sleep(downMs)
            .then(() => n.proxy.restore())
            .catch((err) => this.say(`restoring the link of ${n.id} failed: ${(err as Error).message}`)),
        );
        return { kind, target: n.id, note: `${downMs} ms` };
      }
      case 'slowLink': {
        const n = this.pickNode();
        const delay = r.int(100, 400);
        n.proxy.slow(delay);
        this.counts.slowLink++;
        const forMs = r.int(2000, 5000);
        this.background.push(sleep(forMs).then(() => n.proxy.slow(0)));
        return { kind, target: n.id, note: `${delay} ms per chunk for ${forMs} ms` };
      }
      case 'midResponseReset': {
        const n = this.pickNode((x) => !x.proxy.isCut);
        const before = n.proxy.stats.resets;
        n.proxy.resetNext(1);
        // it fires on the next response through that link; wait (bounded) until it has
        for (let i = 0; i < 100 && n.proxy.stats.resets === before; i++) await sleep(100);
        if (n.proxy.stats.resets > before) {
          this.counts.midResponseReset++;
          return { kind, target: n.id, note: 'reset after half a response' };
        }
        // an idle link (its node's pull waiting, heartbeats only): the reset stays armed and is
        // counted when the next DO or count comes down, before the workload ends
        this.background.push(
          (async () => {
            for (let i = 0; i < 600 && !this.stopped && n.proxy.stats.resets === before; i++) await sleep(100);
            if (n.proxy.stats.resets > before) this.counts.midResponseReset++;
          })(),
        );
        return { kind, target: n.id, note: 'armed: no response came through within 10 s, fires on the next one' };
      }
      case 'hubKill': {
        let note = '';
        if (duringReplenishment) {
          // kill -9 while a replenishment run is writing its transfers
          void this.workload.replenish();
          await sleep(r.int(5, 60));
          note = 'during a replenishment run';
        } else await sleep(r.int(0, 200));
        await cluster.killHub();
        this.counts.hubKill++;
        const downMs = r.int(300, 1500);
        await sleep(downMs);
        const t0 = Date.now();
        await cluster.startHub();
        return { kind, target: 'hub', note: `${note ? `${note}, ` : ''}down ${downMs} ms, then ${Date.now() - t0} ms to start again and catch up` };
      }
      case 'nodeKill': {
        const n = this.pickNode((x) => !x.disk?.full);
        await cluster.killNode(n);
        this.counts.nodeKill++;
        const downMs = r.int(300, 2000);
        await sleep(downMs);
        const t0 = Date.now();
        await cluster.startNode(n);
        return { kind, target: n.id, note: `down ${downMs} ms, then ${Date.now() - t0} ms to start again` };
      }
      case 'couchKill': {
        if (!cluster.couch) return { kind, target: 'none', note: 'no CouchDB process of the harness (embedded server)' };
        // the hub keeps running: it must ride out its database vanishing mid-request and coming back
        await sleep(r.int(0, 200));
        const target = await cluster.killCouch((xs) => r.pick(xs));
        this.counts.couchKill++;
        const downMs = r.int(500, 2500);
        await sleep(downMs);
        const t0 = Date.now();
        await cluster.startCouch();
        return { kind, target, note: `down ${downMs} ms, then ${Date.now() - t0} ms to start again on the same data` };
      }
      case 'powerLoss': {
        // the targets: the nodes whose data folder is on LazyFS, and the hub's when it is (embedded)
        const targets: string[] = [...cluster.nodes.filter((x) => x.lazy && x.up).map((x) => x.id), ...(cluster.hubLazy && cluster.hubUp ? ['hub'] : [])];
        if (!targets.length) return { kind, target: 'none', note: 'no process on LazyFS' };
        // the target cut least often so far: every target gets its turn
        const cuts = (x: string) => this.workload.tracker.powerLosses.filter((p) => p.target === x).length;
        const fewest = Math.min(...targets.map(cuts));
        const target = r.pick(targets.filter((x) => cuts(x) === fewest));
        const at = Date.now();
        let dropped: number | null;
        const t0 = Date.now();
        if (target === 'hub') {
          dropped = await cluster.powerLossHub();
          this.workload.tracker.powerLosses.push({ target, at, dropped });
          this.counts.powerLoss++;
          const cutMs = Date.now() - t0;
          const t1 = Date.now();
          await cluster.startHub();
          return {
            kind,
            target,
            note: `${dropped ?? '?'} bytes never fsynced dropped; ${cutMs} ms down, then ${Date.now() - t1} ms to start again and catch up`,
          };
        }
        const n = cluster.nodes.find((x) => x.id === target)!;
        dropped = await cluster.powerLossNode(n);
        this.workload.tracker.powerLosses.push({ target, at, dropped });
        this.counts.powerLoss++;
        const cutMs = Date.now() - t0;
        const t1 = Date.now();
        await cluster.startNode(n);
        return { kind, target, note: `${dropped ?? '?'} bytes never fsynced dropped; ${cutMs} ms down, then ${Date.now() - t1} ms to start again` };
      }
      case 'poisonDoc': {
        // not the node with the small disk: while it reopens its database after a full disk, the
        // poison write would be refused like any other
        const n = this.pickNode((x) => !x.disk && !!x.proc);
        if (!n.proc) return { kind, target: 'none', note: 'no node process up' };
        n.proc.child.kill('SIGUSR1');
        this.workload.tracker.poisoned.set(n.id, (this.workload.tracker.poisoned.get(n.id) ?? 0) + 1);
        this.counts.poisonDoc++;
        return { kind, target: n.id, note: "an event with a status no DO has, in the node's own database" };
      }
      case 'diskFull': {
        const n = cluster.nodes.find((x) => x.disk);
        if (!n?.disk) return { kind, target: 'none', note: 'no node with a small disk' };
        const holdMs = r.int(3000, 6000);
        if (n.disk.mode === 'tmpfs') {
          const bytes = n.disk.fill();
          this.counts.diskFull++;
          await sleep(holdMs);
          n.disk.free();
          return { kind, target: n.id, note: `tmpfs filled (${Math.round(bytes / 1024)} KiB ballast) for ${holdMs} ms` };
        }
        n.proc?.child.kill('SIGUSR2');
        n.disk.full = true;
        this.counts.diskFull++;
        await sleep(holdMs);
        n.proc?.child.kill('SIGUSR2');
        n.disk.full = false;
        n.disk.freedAt = Date.now();
        return { kind, target: n.id, note: `simulated ENOSPC for ${holdMs} ms` };
      }
    }
  }
}
