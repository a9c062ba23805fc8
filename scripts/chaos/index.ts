/**
 * `dom chaos`: the fault harness. It runs a real hub process and real node processes (each node's
 * sync link through a TCP proxy it can cut, slow down or reset mid-response), drives a seeded
 * workload through the hub and node APIs while it injects faults (link cuts, slow links, resets,
 * kill -9 of the hub and of nodes, a full disk at one node), then stops the faults, lets the system
 * quiesce, works every open DO to its end, and checks the invariants against every database. The
 * report counts each fault injected and each invariant checked; zero violations is the bar.
 *
 *   runChaos({ quick: true })                       3 nodes, 60 orders, every kind of fault (30–90 s)
 *   runChaos({ seed: 7, nodes: 20, orders: 1200 })  the long run of docs/RELIABILITY.md (≈ 12 min here)
 *   runChaos({})                                    20 nodes, 5,000 orders, 12 link cuts, 3 hub and 5 node kills
 *   runChaos({ backend: 'couchdb' })                the same on Apache CouchDB, with 3 kills -9 of CouchDB too
 *   runChaos({ backend: 'cluster' })                on a 3-node CouchDB cluster, killing one node at a time
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type FacilitySpec, type NodeHandle } from './cluster.js';
import { Workload, generateOrders, type WorkloadOptions } from './workload.js';
import { FaultInjector, type FaultCounts } from './faults.js';
import { checkInvariants, isPoison, type Doc, type Snapshot } from './invariants.js';
import { formatConsole, formatMarkdown, type Report } from './report.js';
import { http, mapLimit, rng, sleep } from './util.js';

export type { Report } from './report.js';
export { formatMarkdown, formatConsole } from './report.js';

export interface ChaosOptions {
  quick?: boolean;
  seed?: number;
  nodes?: number;
  orders?: number;
  /** Override the fault plan (counts per kind). */
  faults?: Partial<FaultCounts>;
  /** Keep the data folders (for a post-mortem). */
  keep?: boolean;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
  /**
   * Where the hub keeps its data: its embedded server (default), or Apache CouchDB from
   * ../shared/couchdb as a process of its own, which the harness also kills with -9 and restarts,
   * or a 3-node CouchDB cluster behind a TCP balancer, whose nodes it kills one at a time.
   */
  backend?: 'embedded' | 'couchdb' | 'cluster';
  /**
   * The soak: hold a steady load this long (ms), faults at a low rate, sampling memory, descriptors,
   * feed lag and sync latency (scripts/chaos/soak.ts); 50 nodes unless `nodes` says otherwise.
   */
  soakMs?: number;
  /** The soak's order rate (orders a second; default 1). */
  ratePerS?: number;
  /** The soak's sampling interval (default 30 s). */
  sampleMs?: number;
  /**
   * The hub's V8 old-space limit in MB, as a deployment sets it (docs/OPERATIONS.md, "The hub's
   * memory"): the soak's default is 1,024; 0 leaves V8's own (a quarter of the machine's memory).
   */
  hubHeapMb?: number;
}

const PLANNER = 'chaos-planner-token';
/** The soak's hub heap limit (MB): a budget of its own, as a deployment gives the hub, not a quarter of the machine. */
const SOAK_HUB_HEAP_MB = 1024;
const ASSOCIATE = 'chaos-associate-token';

export async function runChaos(opts: ChaosOptions = {}): Promise<Report> {
  const t0 = Date.now();
  const soakMs = opts.soakMs ?? 0;
  const quick = !!opts.quick && !soakMs;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const nNodes = Math.max(2, opts.nodes ?? (soakMs ? 50 : quick ? 3 : 20));
  const ratePerS = opts.ratePerS ?? 1;
  const nOrders = Math.max(1, soakMs ? Math.round((soakMs / 1000) * ratePerS) : (opts.orders ?? (quick ? 60 : 5000)));
  const minutes = soakMs / 60_000;
  const say = opts.log ?? ((m: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`));
  const backend = opts.backend ?? 'embedded';
  const want: FaultCounts = {
    // the soak: faults at a low rate, at the nodes and their links only (a hub or CouchDB restart
    // would reset the memory and descriptor figures the soak is there to watch)
    ...(soakMs
      ? {
          linkCut: Math.ceil(minutes / 5),
          slowLink: Math.ceil(minutes / 10),
          midResponseReset: Math.ceil(minutes / 10),
          hubKill: 0,
          nodeKill: Math.ceil(minutes / 10),
          diskFull: 1,
          couchKill: 0,
          poisonDoc: Math.ceil(minutes / 15),
          powerLoss: Math.ceil(minutes / 15),
        }
      : quick
        ? {
            linkCut: 2,
            slowLink: 1,
            midResponseReset: 2,
            hubKill: 1,
            nodeKill: 1,
            diskFull: 1,
            couchKill: backend === 'embedded' ? 0 : 1,
            poisonDoc: 1,
            powerLoss: backend === 'embedded' ? 2 : 1,
          }
        : {
            linkCut: 12,
            slowLink: 4,
            midResponseReset: 6,
            hubKill: 3,
            nodeKill: 5,
            diskFull: 2,
            couchKill: backend === 'embedded' ? 0 : 3,
            poisonDoc: 2,
            powerLoss: 4,
          }),
    ...opts.faults,
  } as FaultCounts;
  // power cuts need LazyFS (root, /dev/fuse, fuse3): where it cannot mount, the fault is skipped
  const { lazyFsUnavailable } = await import('./lazyfs.js');
  const powerLossSkipped = want.powerLoss > 0 ? lazyFsUnavailable() : null;
  if (powerLossSkipped) want.powerLoss = 0;
  const r = rng(seed);
  const base = mkdtempSync(join(tmpdir(), 'dom-chaos-'));
  const cluster = new Cluster(base, PLANNER, ASSOCIATE, say);
  const phases = { setup: 0, workload: 0, drain: 0, verify: 0 };
  let keepForPostMortem = false;
  say(`seed ${seed}, ${nNodes} nodes, ${nOrders} orders, data in ${base}`);
  // Ctrl-C: leave no hub, node or CouchDB process behind
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping every process`);
    void cluster
      .destroy()
      .then(() => cluster.couch?.stop())
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let couchPid: (() => number | null) | undefined;
  let couchUrl: string | undefined;
  let soak: import('./soak.js').Soak | null = null;
  let backendLabel = 'the embedded server (express-pouchdb over LevelDB, inside the hub process)';
  try {
    // ------------------------------------------------------------ setup
    if (backend === 'couchdb') {
      const { startCouchDb } = await import('../couchdb.js');
      const one = await startCouchDb({ dir: join(base, 'couchdb') });
      couchPid = () => one.pid();
      couchUrl = one.url;
      cluster.useCouch(
        { url: one.url, base: one.base, kill: async () => (await one.kill9(), 'couchdb'), restart: () => one.restart(), stop: () => one.stop() },
        'chaos_',
      );
      const version = ((await http<{ version: string }>(one.base, 'GET', '/')).body as { version: string }).version;
      backendLabel = `Apache CouchDB ${version}, a process of its own (q=1), at ${one.base}`;
      say(`CouchDB ${version} up at ${one.base}`);
    } else if (backend === 'cluster') {
      const { startCouchCluster } = await import('../couchdb.js');
      const many = await startCouchCluster({ dir: join(base, 'couchdb'), size: 3 });
      cluster.useCouch(
        {
          url: many.url,
          base: many.base,
          kill: async (pick) => {
            const node = pick(many.upNodes());
            await many.kill9(node);
            return `couchdb node${node}`;
          },
          restart: () => many.restartDown(),
          stop: () => many.stop(),
        },
        'chaos_',
      );
      const version = ((await http<{ version: string }>(many.base, 'GET', '/')).body as { version: string }).version;
      backendLabel = `a 3-node Apache CouchDB ${version} cluster (n=3, q=2) behind a TCP balancer at ${many.base}; its nodes killed one at a time`;
      say(`CouchDB ${version} cluster up behind ${many.base}`);
    }
    // the targets of power cuts on LazyFS: the embedded hub's data folder, and a few nodes' (below)
    if (want.powerLoss > 0 && backend === 'embedded' && !soakMs) cluster.hubOnLazyFs();
    if (powerLossSkipped) say(`power-loss fault skipped: LazyFS cannot run here (${powerLossSkipped})`);
    // the soak samples the hub's live heap after a full GC through its inspector (loopback only)
    if (soakMs) cluster.hubInspect = true;
    const hubHeapMb = opts.hubHeapMb ?? (soakMs ? SOAK_HUB_HEAP_MB : 0);
    if (hubHeapMb > 0) cluster.hubHeapMb = hubHeapMb;
    await cluster.startHub();
    if (soakMs) say(`hub inspector at ${cluster.hub?.inspector() ?? '(none)'}`);
    const nSkus = quick ? 8 : 24;
    const tightSkus = Array.from({ length: nSkus / 2 }, (_, i) => `T-${i + 1}`);
    const walkSkus = Array.from({ length: nSkus / 2 }, (_, i) => `W-${i + 1}`);
    const units = nOrders * 2 * 2; // ≈ lines × units per order
    const perSku = units / nSkus;
    const nDcs = Math.max(1, Math.round(nNodes / 10));
    const specs: FacilitySpec[] = [];
    for (let i = 0; i < nNodes; i++) {
      const dc = i < nDcs;
      const angle = (2 * Math.PI * i) / nNodes;
      const km = dc ? 10 : 5 + r.int(0, 45);
      specs.push({
        id: dc ? `DC${i + 1}` : `S${String(i - nDcs + 1).padStart(2, '0')}`,
        type: dc ? 'dc' : 'store',
        name: dc ? `DC ${i + 1}` : `Store ${i - nDcs + 1}`,
        lat: 33.75 + (km / 111) * Math.sin(angle),
        lon: -84.39 + (km / 92) * Math.cos(angle),
        // a day's capacity for the run's units (binding by design in a chaos run); the soak's is three
        // times that, so that its load can be carried for the whole run and the backlog stays level
        capacity: Math.ceil(((dc ? units * 0.4 : units * 0.6) * (soakMs ? 3 : 1)) / (dc ? nDcs : Math.max(1, nNodes - nDcs))),
        shipFromStore: true,
        pickup: !dc && i % 2 === 0,
        ...(dc ? {} : { servingDc: `DC${(i % nDcs) + 1}` }),
      });
    }
    const items = [
      ...tightSkus.map((sku, i) => ({
        sku,
        name: `Tight ${sku}`,
        barcode: String(4000000000000 + i),
        substitutes: i % 2 === 0 && tightSkus[i + 1] ? [tightSkus[i + 1]!] : [],
      })),
      ...walkSkus.map((sku, i) => ({ sku, name: `Walk-in ${sku}`, barcode: String(5000000000000 + i), substitutes: [] as string[] })),
    ];
    // substitutes must exist first: items without substitutes, then the rest
    const itemRes = await http(cluster.hubUrl, 'POST', '/api/v1/items', items, PLANNER);
    if (itemRes.status !== 201) throw new Error(`items: ${itemRes.status} ${JSON.stringify(itemRes.body)}`);
    const diskNode = specs[specs.length - 1]!.id;
    // power cuts at the first DC (in a long run) and the first stores, never the node with the small disk
    const lazyNodes = new Set(
      want.powerLoss > 0
        ? [
            ...(quick ? [] : [specs[0]!.id]),
            ...specs
              .filter((x) => x.type === 'store' && x.id !== diskNode)
              .slice(0, quick ? 1 : 2)
              .map((x) => x.id),
          ]
        : [],
    );
    for (const spec of specs) await cluster.addNode(spec, spec.id === diskNode ? { sizeMb: quick ? 48 : 96 } : undefined, lazyNodes.has(spec.id));
    say(
      `registered ${specs.length} facilities; full disk at ${diskNode}: ${cluster.diskMode}${lazyNodes.size ? `; on LazyFS: ${[...lazyNodes].join(', ')}${cluster.hubLazy ? ', hub' : ''}` : ''}`,
    );
    await mapLimit(cluster.nodes, 4, (n) => cluster.startNode(n));
    say('node processes up');
    for (const spec of specs) {
      const dc = spec.type === 'dc';
      const positions = [
        ...tightSkus.map((sku) => ({
          sku,
          onHand: Math.max(4, Math.round((dc ? (perSku * 0.45) / nDcs : (perSku * 0.55) / (nNodes - nDcs)) * (0.5 + r()))),
          safetyStock: 2,
        })),
        ...walkSkus.map((sku) => ({
          sku,
          onHand: Math.max(4, Math.round((dc ? (perSku * 0.6) / nDcs : (perSku * 0.7) / (nNodes - nDcs)) * (0.5 + r()))),
          safetyStock: 1,
        })),
      ];
      const res = await http(cluster.hubUrl, 'POST', '/api/v1/inventory', { facility: spec.id, positions }, PLANNER);
      if (res.status !== 201) throw new Error(`inventory ${spec.id}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const stores = specs.filter((s) => s.type === 'store');
    const model = stores.flatMap((s) => walkSkus.map((sku) => ({ facility: s.id, sku, min: 3, max: 8 })));
    if (model.length) {
      const res = await http(cluster.hubUrl, 'PUT', '/api/v1/model-stock', model, PLANNER);
      if (res.status !== 200) throw new Error(`model stock: ${res.status} ${JSON.stringify(res.body)}`);
    }
    // the counts must be applied at every node before the work starts
    for (const n of cluster.nodes) {
      await until(
        `${n.id} applied its count`,
        async () => {
          const inv = await http<{ sku: string }[]>(n.url, 'GET', '/api/v1/inventory', undefined, ASSOCIATE);
          return inv.status === 200 && inv.body.length >= nSkus;
        },
        60_000,
      );
    }
    phases.setup = Date.now() - t0;
    say(`setup done in ${(phases.setup / 1000).toFixed(1)} s`);

    // ------------------------------------------------------------ workload under faults
    const wopts: WorkloadOptions = {
      seed,
      orders: nOrders,
      orderConcurrency: quick ? 2 : soakMs ? 4 : 6,
      tightSkus,
      walkSkus,
      associatePauseMs: quick ? [150, 400] : soakMs ? [1500, 4000] : nNodes > 10 ? [400, 1200] : [200, 600],
      replenishEveryMs: quick ? 8_000 : soakMs ? 60_000 : 20_000,
      ...(soakMs ? { ordersPerSecond: ratePerS, restock: true } : {}),
    };
    const orders = generateOrders(r.fork(1), wopts, stores);
    const workload = new Workload(cluster, wopts, r.fork(2), orders);
    const faults = new FaultInjector(cluster, workload, r.fork(3), say);
    const t1 = Date.now();
    workload.start();
    if (soakMs) {
      const { Soak } = await import('./soak.js');
      soak = new Soak(cluster, workload, { intervalMs: opts.sampleMs ?? 30_000, ratePerS, durationMs: soakMs, couchPid, couchUrl, say });
      soak.start();
    }
    const progress = setInterval(
      () => say(`${workload.tracker.acceptedOrders.size}/${nOrders} orders, ${workload.tracker.steps.length} steps, faults ${JSON.stringify(faults.counts)}`),
      quick ? 10_000 : 30_000,
    );
    try {
      await faults.run(want);
      while (!workload.ordersDone) await sleep(200);
      // a little more work with every fault healed, so the last faults' effects are worked through
      await sleep(quick ? 2_000 : 5_000);
    } finally {
      clearInterval(progress);
      await soak?.stop();
      faults.stop();
      await workload.stop();
      await faults.settle();
    }
    phases.workload = Date.now() - t1;
    say(`workload done: ${workload.tracker.acceptedOrders.size} orders accepted; faults ${JSON.stringify(faults.counts)}`);

    // ------------------------------------------------------------ heal and drain
    const t2 = Date.now();
    for (const n of cluster.nodes) {
      await n.proxy.restore();
      if (n.disk?.full) n.disk.free();
      if (!n.up) await cluster.startNode(n);
    }
    if (cluster.couch && !cluster.couchUp) await cluster.startCouch();
    if (!cluster.hubUp) await cluster.startHub();
    const quiesced = await drain(cluster, workload, r.fork(4), quick ? 120_000 : Math.max(600_000, nOrders * 240), say);
    phases.drain = Date.now() - t2;
    say(`drain ${quiesced ? 'settled' : 'DID NOT SETTLE'} in ${(phases.drain / 1000).toFixed(1)} s`);

    // ------------------------------------------------------------ read everything and check
    const t3 = Date.now();
    const apiOrders = new Map<string, { status: number; orderStatus?: string }>();
    await mapLimit([...workload.tracker.acceptedOrders.keys()], 8, async (id) => {
      const res = await http(cluster.hubUrl, 'GET', `/api/v1/orders/${id}`, undefined, PLANNER);
      apiOrders.set(id, { status: res.status, orderStatus: res.body?.status });
    });
    const hubOnHand = new Map<string, number>();
    for (const sku of [...tightSkus, ...walkSkus]) {
      const res = await http(cluster.hubUrl, 'GET', `/api/v1/inventory/${sku}`, undefined, PLANNER);
      for (const f of res.body?.facilities ?? []) hubOnHand.set(`${f.facility}|${sku}`, f.onHand);
    }
    await cluster.stopAll();
    const snap: Snapshot = {
      facilities: specs,
      dom: [],
      hubDbs: new Map(),
      nodeDbs: new Map(),
      apiOrders,
      hubOnHand,
      nodePoison: new Map(),
      nodeRefused: new Map(),
      crashes: cluster.crashes,
    };
    const { openCouch } = await import('../../hub/couch/index.js');
    const couch = await openCouch({ dataDir: cluster.hubDir, couchUrl: cluster.hubEnv.COUCH_URL, dbPrefix: cluster.hubEnv.DOM_DB_PREFIX });
    try {
      snap.dom = await readAll(couch.db('dom') as never);
      for (const n of cluster.nodes) snap.hubDbs.set(n.id, await readAll(couch.db(`node_${n.id.toLowerCase()}`) as never));
    } finally {
      await couch.stop();
    }
    const { default: PouchDB } = await import('pouchdb');
    for (const n of cluster.nodes) {
      const db = new PouchDB(join(n.dataDir, 'db'));
      try {
        const res = await db.allDocs({ include_docs: true, conflicts: true });
        const docs = res.rows.map((x) => x.doc as unknown as Doc);
        // the harness's poison documents are checked on their own (poison_refused)
        snap.nodeDbs.set(
          n.id,
          docs.filter((d) => !isPoison(d._id)),
        );
        snap.nodePoison!.set(
          n.id,
          docs.filter((d) => isPoison(d._id)),
        );
        const state = await db.get<{ refused?: { id: string }[] }>('_local/dom-sync-state').catch(() => null);
        snap.nodeRefused!.set(
          n.id,
          (state?.refused ?? []).map((r) => r.id),
        );
      } finally {
        await db.close();
      }
    }
    const invariants = checkInvariants(snap, workload.tracker);
    invariants.unshift({
      name: 'quiesced',
      description:
        'after the faults stopped, the system came to rest: every node online with nothing pending either way, every DO worked to its end, nothing moving',
      checked: 1,
      violations: quiesced ? 0 : 1,
      examples: quiesced ? [] : ['the drain did not settle in time'],
    });
    phases.verify = Date.now() - t3;

    const t = workload.tracker;
    const ordersByStatus: Record<string, number> = {};
    for (const d of snap.dom) if (d._id.startsWith('order:')) ordersByStatus[d.status] = (ordersByStatus[d.status] ?? 0) + 1;
    const hubDocs = [...snap.nodeDbs.values()].flat();
    const proxy = cluster.nodes.reduce(
      (a, n) => ({
        connections: a.connections + n.proxy.stats.connections,
        refusedOrDropped: a.refusedOrDropped + n.proxy.stats.refusedOrDropped,
        resets: a.resets + n.proxy.stats.resets,
        mbUp: a.mbUp + n.proxy.stats.bytesUp / 1e6,
        mbDown: a.mbDown + n.proxy.stats.bytesDown / 1e6,
      }),
      { connections: 0, refusedOrDropped: 0, resets: 0, mbUp: 0, mbDown: 0 },
    );
    const report: Report = {
      seed,
      backend: backendLabel,
      quick,
      nodes: nNodes,
      orders: nOrders,
      diskMode: cluster.diskMode,
      startedAt: new Date(t0).toISOString(),
      durationMs: Date.now() - t0,
      phasesMs: phases,
      quiesced,
      faultsPlanned: want,
      ...(powerLossSkipped ? { powerLossSkipped } : {}),
      powerLossTargets: [...lazyNodes, ...(cluster.hubLazy ? ['hub'] : [])],
      faults: faults.counts,
      faultLog: faults.log,
      proxy,
      restarts: {
        hub: cluster.hubStarts - 1,
        nodes: cluster.nodes.reduce((s, n) => s + n.starts - 1, 0),
        ...(cluster.couch ? { couch: cluster.couchStarts - 1 } : {}),
      },
      workload: {
        ordersAccepted: t.acceptedOrders.size,
        orderAttempts: t.orderAttempts,
        cancelsRequested: t.cancels.size,
        associateSteps: t.steps.length,
        stepsRefused: t.stepsRefused,
        sales: t.sales.size,
        receipts: t.receipts.size,
        adjustments: [...t.adjustments.values()].reduce((a, b) => a + b, 0),
        replenishmentRuns: t.replenishmentRuns,
        purchaseOrders: t.purchaseOrders,
        unknownOutcomes: t.unknown,
        refusedWhileDiskFull: t.serverErrors.filter((e) => e.diskFull).length,
        refusedWhileCouchDown: t.serverErrors.filter((e) => e.couchDown).length,
      },
      outcome: {
        ordersByStatus,
        dos: hubDocs.filter((d) => d._id.startsWith('do:')).length,
        events: hubDocs.filter((d) => d._id.startsWith('evt:')).length,
        docsAtNodes: hubDocs.length,
      },
      invariants,
      violations: invariants.reduce((s, i) => s + i.violations, 0),
    };
    if (soak) {
      const res = soak.result();
      res.pass.violations = report.violations === 0;
      res.pass.all = res.pass.noStall && res.pass.rss && res.pass.fds && res.pass.violations;
      report.soak = res;
    }
    keepForPostMortem = report.violations > 0;
    say(`done: ${report.violations} violations\n${formatConsole(report)}`);
    return report;
  } catch (err) {
    keepForPostMortem = true;
    say(`failed: ${(err as Error).stack}`);
    if (cluster.hub) say(`hub output:\n${cluster.hub.output().slice(-4000)}`);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster.destroy();
    await cluster.couch?.stop().catch(() => undefined);
    if (!opts.keep && !keepForPostMortem) rmSync(base, { recursive: true, force: true });
    else say(`data kept in ${base}`);
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

async function readAll(db: { list(p: object): Promise<{ rows: { id: string; doc?: Doc }[] }> }): Promise<Doc[]> {
  const out: Doc[] = [];
  let startkey: string | undefined;
  for (;;) {
    const res = await db.list({ include_docs: true, conflicts: true, limit: 5001, ...(startkey !== undefined ? { startkey } : {}) });
    const rows = res.rows.slice(0, 5000);
    for (const r of rows) if (r.doc) out.push(r.doc);
    if (res.rows.length <= 5000) return out;
    startkey = res.rows[5000]!.id;
  }
}

/**
 * Work every open DO to its end and receive what has come, until nothing moves: every node online
 * with nothing to push, the hub with nothing the nodes have not pulled, no open task anywhere, and
 * the hub's allocation and DO counters unchanged over two rounds.
 */
async function drain(cluster: Cluster, w: Workload, r: ReturnType<typeof rng>, timeoutMs: number, say: (m: string) => void): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let last = '';
  let stable = 0;
  for (let round = 1; Date.now() < end; round++) {
    const steps = (await mapLimit(cluster.nodes, 4, (n) => w.finishNode(n, r))).reduce((a, b) => a + b, 0);
    await sleep(1500);
    const sig = await signature(cluster);
    const settled = steps === 0 && sig.ok && sig.text === last;
    if (round % 5 === 0 || settled) say(`drain round ${round}: ${steps} steps, ${sig.ok ? 'in sync' : sig.why}`);
    stable = settled ? stable + 1 : 0;
    last = sig.text;
    if (stable >= 2) return true;
  }
  return false;
}

async function signature(cluster: Cluster): Promise<{ ok: boolean; why: string; text: string }> {
  const metrics = await http<string>(cluster.hubUrl, 'GET', '/metrics');
  const counters =
    typeof metrics.body === 'string'
      ? metrics.body
          .split('\n')
          .filter((l) => /^dom_(dos_created_total|do_state_changes_total|allocation_batches_total|orders_allocated_total|lines_resourced_total)/.test(l))
          .join(';')
      : '';
  const nodes = await http<{ id: string; pending: number | null }[]>(cluster.hubUrl, 'GET', '/api/v1/nodes', undefined, cluster.plannerToken);
  const why: string[] = [];
  if (metrics.status !== 200 || nodes.status !== 200) why.push('hub not answering');
  for (const n of Array.isArray(nodes.body) ? nodes.body : []) if (n.pending) why.push(`${n.id}: ${n.pending} not pulled`);
  const states = await mapLimit(cluster.nodes, 8, async (n: NodeHandle) => {
    const s = await http<{ online: boolean; pending: number }>(n.url, 'GET', '/api/v1/sync', undefined, cluster.associateToken);
    if (s.status !== 200) why.push(`${n.id}: not answering`);
    else if (!s.body.online || s.body.pending) why.push(`${n.id}: ${s.body.online ? 'online' : 'offline'}, ${s.body.pending} to push`);
    return `${n.id}:${s.body?.pending}`;
  });
  return { ok: why.length === 0, why: why.slice(0, 4).join('; '), text: `${counters}|${states.join(',')}` };
}

/**
 * The `dom chaos [--quick] [--seed N] [--nodes N] [--orders N] [--backend embedded|couchdb|cluster] [--report FILE.md] [--keep]` command:
 * runs the harness, prints the report, writes it as Markdown when asked, and exits 1 on any violation.
 */
export async function chaosCli(argv: string[]): Promise<number> {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      orders: { type: 'string' },
      report: { type: 'string' },
      keep: { type: 'boolean' },
      backend: { type: 'string' },
      soak: { type: 'string' },
      rate: { type: 'string' },
      chart: { type: 'string' },
      samples: { type: 'string' },
      sample: { type: 'string' },
      'hub-heap-mb': { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  if (values.backend !== undefined && !['embedded', 'couchdb', 'cluster'].includes(values.backend)) {
    console.error(`dom chaos: --backend must be embedded, couchdb or cluster, not "${values.backend}"`);
    return 2;
  }
  if (values.backend === 'couchdb' || values.backend === 'cluster') {
    const { couchDist } = await import('../couchdb.js');
    if (!couchDist()) {
      console.error('dom chaos: --backend couchdb|cluster needs the Apache CouchDB release in ../shared/couchdb (or DOM_COUCHDB_DIST)');
      return 2;
    }
  }
  let soakMs: number | undefined;
  if (values.soak !== undefined) {
    const { parseDuration } = await import('./soak.js');
    try {
      soakMs = parseDuration(values.soak);
    } catch (err) {
      console.error(`dom chaos: --soak ${(err as Error).message}`);
      return 2;
    }
    if (soakMs < 60_000) {
      console.error('dom chaos: --soak must be at least 1m');
      return 2;
    }
    if (values.backend === 'cluster') {
      console.error('dom chaos: --soak runs on the embedded server or Apache CouchDB, not the cluster');
      return 2;
    }
  }
  const rate = num(values.rate);
  if (rate !== undefined && !(rate > 0 && rate <= 100)) {
    console.error(`dom chaos: --rate must be a number of orders a second, above 0 and at most 100, not "${values.rate}"`);
    return 2;
  }
  const hubHeapMb = num(values['hub-heap-mb']);
  if (hubHeapMb !== undefined && !(Number.isInteger(hubHeapMb) && (hubHeapMb === 0 || (hubHeapMb >= 128 && hubHeapMb <= 65536)))) {
    console.error(`dom chaos: --hub-heap-mb must be 0 (V8's own limit) or a whole number of MB from 128 to 65536, not "${values['hub-heap-mb']}"`);
    return 2;
  }
  let sampleMs: number | undefined;
  if (values.sample !== undefined) {
    const { parseDuration } = await import('./soak.js');
    try {
      sampleMs = parseDuration(values.sample);
    } catch (err) {
      console.error(`dom chaos: --sample ${(err as Error).message}`);
      return 2;
    }
  }
  const report = await runChaos({
    quick: values.quick,
    seed: num(values.seed),
    nodes: num(values.nodes),
    orders: num(values.orders),
    keep: values.keep,
    backend: values.backend as 'embedded' | 'couchdb' | 'cluster' | undefined,
    soakMs,
    ratePerS: rate,
    sampleMs,
    hubHeapMb,
  });
  const { writeFileSync } = await import('node:fs');
  if (report.soak) {
    const { soakSvg } = await import('./soak.js');
    if (values.chart)
      writeFileSync(
        values.chart,
        `${soakSvg(report.soak, `DOM soak: ${report.nodes} nodes, ${Math.round(report.soak.durationS / 60)} min, ${report.soak.ratePerS} orders/s, ${values.backend === 'couchdb' ? 'Apache CouchDB' : 'the embedded server'}`)}\n`,
      );
    if (values.samples) writeFileSync(values.samples, `${JSON.stringify(report.soak, null, 1)}\n`);
  }
  if (values.report) writeFileSync(values.report, `${formatMarkdown(report, values.chart)}\n`);
  console.log(
    JSON.stringify({
      event: 'chaos_report',
      seed: report.seed,
      faults: report.faults,
      violations: report.violations,
      ...(report.soak ? { soak: { pass: report.soak.pass, stalls: report.soak.stalls.length, growth: report.soak.growth } } : {}),
    }),
  );
  return report.violations === 0 && (!report.soak || report.soak.pass.all) ? 0 : 1;
}
