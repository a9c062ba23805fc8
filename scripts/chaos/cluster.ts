/**
 * The system under test: one hub process and one process per node, each node's sync link to the
 * hub through its own FaultProxy. Kill -9 and restart of any of them, on the same port and data
 * folder; one node's data folder can run out of space.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { FaultProxy } from './proxy.js';
import { spawnHubProc, spawnNodeProc, type Proc } from './procs.js';
import { FullDisk, type DiskMode } from './disk.js';
import { LazyMount } from './lazyfs.js';
import { http, sleep } from './util.js';
/** Apache CouchDB run by the harness: one process, or a cluster behind a balancer. */
export interface HarnessCouch {
  /** Base URL with the admin credentials (the balancer's, for a cluster). */
  url: string;
  base: string;
  /** kill -9: the single process, or one node of the cluster picked by `pick`; names the target. */
  kill(pick: <T>(xs: T[]) => T): Promise<string>;
  /** Start again what was killed, on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const firstLine = (err: unknown) => {
  const lines = String((err as Error).message).split('\n');
  return `${lines[0]!.slice(0, 120)} ${lines.find((l) => /Error|EADDR|within/.test(l)) ?? ''}`;
};

export interface FacilitySpec {
  id: string;
  type: 'dc' | 'store';
  name: string;
  lat: number;
  lon: number;
  capacity: number;
  shipFromStore: boolean;
  pickup: boolean;
  servingDc?: string;
}

export interface NodeHandle {
  spec: FacilitySpec;
  id: string;
  token: string;
  port: number;
  dataDir: string;
  proxy: FaultProxy;
  proc: Proc | null;
  url: string;
  up: boolean;
  disk?: FullDisk;
  /** Times this node's process was started. */
  starts: number;
  /** Its data folder on LazyFS: a target of the power-loss fault. */
  lazy?: LazyMount;
}

export interface Crash {
  node: string;
  code: number | null;
  signal: string | null;
  at: string;
  output: string;
}

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux), so that no outgoing
 * connection can take it while its process is down: the hub, nodes and proxies come back on the
 * same port after a kill or a cut.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (ok) return port;
  }
}

export class Cluster {
  hub: Proc | null = null;
  hubUp = false;
  hubPort = 0;
  hubStarts = 0;
  readonly nodes: NodeHandle[] = [];
  /** Node processes that ended without the harness killing them. */
  readonly crashes: Crash[] = [];
  hubDir: string;
  /** The hub's data folder on LazyFS (the embedded server): a target of the power-loss fault. */
  hubLazy: LazyMount | null = null;
  diskMode: DiskMode | null = null;
  /** Apache CouchDB run by the harness (the couchdb and cluster backends), or none (the embedded server). */
  couch: HarnessCouch | null = null;
  couchUp = false;
  couchStarts = 0;
  /** When CouchDB was last started again (ms since the epoch). */
  couchBackAt = 0;
  /** The hub's CouchDB settings (COUCH_URL, DOM_DB_PREFIX) when it is not the embedded server. */
  hubEnv: Record<string, string> = {};
  /** Start the hub with its inspector open on loopback (the soak samples its live heap). */
  hubInspect = false;
  /** The hub's V8 old-space limit in MB (spawnHubProc's `heapMb`), or V8's own. */
  hubHeapMb: number | undefined;

  constructor(
    readonly baseDir: string,
    readonly plannerToken: string,
    readonly associateToken: string,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    this.hubDir = join(baseDir, 'hub');
  }

  get hubUrl(): string {
    return `http://127.0.0.1:${this.hubPort}`;
  }

  async startHub(): Promise<void> {
    if (!this.hubPort) this.hubPort = await freePort();
    for (let attempt = 1; ; attempt++) {
      try {
        // the same port as before (nodes' proxies point at it), unless it was taken meanwhile
        this.hub = await spawnHubProc({
          port: attempt > 3 ? await freePort() : this.hubPort,
          dataDir: this.hubDir,
          plannerToken: this.plannerToken,
          env: this.hubEnv,
          inspect: this.hubInspect,
          heapMb: this.hubHeapMb,
        });
        break;
      } catch (err) {
        if (attempt >= 6) throw err;
        this.log(`hub start failed (attempt ${attempt}): ${firstLine(err)}`);
        await sleep(300 * attempt);
      }
    }
    const port = Number(new URL(this.hub.url).port);
    if (port !== this.hubPort) {
      this.hubPort = port;
      for (const n of this.nodes) n.proxy.retarget(port);
    }
    this.hubStarts++;
    this.hubUp = true;
  }

  /** Keep the hub's data folder (its embedded server's databases) on LazyFS; before startHub. */
  hubOnLazyFs(): void {
    this.hubLazy = new LazyMount(join(this.baseDir, 'lazy-hub'), '2gb');
    this.hubDir = this.hubLazy.mount();
  }

  /** Power cut at the hub: kill -9, every byte it never fsynced dropped; startHub brings it back. */
  async powerLossHub(): Promise<number | null> {
    await this.killHub();
    return this.hubLazy!.powerLoss();
  }

  /** Power cut at a node: kill -9, every byte it never fsynced dropped; startNode brings it back. */
  async powerLossNode(n: NodeHandle): Promise<number | null> {
    await this.killNode(n);
    return n.lazy!.powerLoss();
  }

  /** Run the hub on Apache CouchDB, this process of the harness's, under a database prefix. */
  useCouch(couch: HarnessCouch, dbPrefix: string): void {
    this.couch = couch;
    this.couchUp = true;
    this.couchStarts = 1;
    this.hubEnv = { COUCH_URL: couch.url, DOM_DB_PREFIX: dbPrefix };
  }

  async killCouch(pick: <T>(xs: T[]) => T): Promise<string> {
    if (!this.couch) return 'none';
    this.couchUp = false;
    return this.couch.kill(pick);
  }

  async startCouch(): Promise<void> {
    if (!this.couch) return;
    await this.couch.restart();
    this.couchUp = true;
    this.couchBackAt = Date.now();
    this.couchStarts++;
  }

  /** Is CouchDB down, or was it started again less than `graceMs` ago? */
  couchOutage(graceMs: number): boolean {
    return !!this.couch && (!this.couchUp || Date.now() - this.couchBackAt < graceMs);
  }

  async killHub(): Promise<void> {
    this.hubUp = false;
    await this.hub?.kill('SIGKILL');
    this.hub = null;
  }

  /** Register a facility and create its node's proxy (the process starts with startNode). */
  async addNode(spec: FacilitySpec, disk?: { sizeMb: number }, lazy = false): Promise<NodeHandle> {
    const r = await http(this.hubUrl, 'POST', '/api/v1/facilities', spec, this.plannerToken);
    if (r.status !== 201) throw new Error(`registering ${spec.id}: ${r.status} ${JSON.stringify(r.body)}`);
    let dataDir = join(this.baseDir, 'nodes', spec.id);
    let mount: LazyMount | undefined;
    if (lazy && !disk) {
      mount = new LazyMount(join(this.baseDir, 'lazy', spec.id));
      dataDir = mount.mount();
    }
    mkdirSync(dataDir, { recursive: true });
    const proxy = new FaultProxy(this.hubPort, '127.0.0.1', await freePort());
    await proxy.start();
    const n: NodeHandle = {
      spec,
      id: spec.id,
      token: r.body.token,
      port: await freePort(),
      dataDir,
      proxy,
      proc: null,
      url: '',
      up: false,
      starts: 0,
      ...(mount ? { lazy: mount } : {}),
    };
    if (disk) {
      n.disk = new FullDisk(dataDir, disk.sizeMb);
      this.diskMode = n.disk.prepare();
    }
    this.nodes.push(n);
    return n;
  }

  async startNode(n: NodeHandle): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // the same port at every start, unless it was taken meanwhile
        n.proc = await spawnNodeProc({
          id: n.id,
          hubUrl: n.proxy.url,
          token: n.token,
          port: attempt > 2 ? await freePort() : n.port,
          dataDir: n.dataDir,
          associateToken: this.associateToken,
        });
        break;
      } catch (err) {
        if (attempt >= 6) throw err;
        this.log(`node ${n.id} start failed (attempt ${attempt}): ${firstLine(err)}`);
        await sleep(300 * attempt);
      }
    }
    n.url = n.proc.url;
    n.port = Number(new URL(n.url).port);
    n.up = true;
    n.starts++;
    // a node process that ends without the harness killing it has crashed: say so, with its last words
    const proc = n.proc;
    proc.child.once('exit', (code, signal) => {
      if (n.proc !== proc || !n.up) return;
      n.up = false;
      this.crashes.push({ node: n.id, code, signal, at: new Date().toISOString(), output: proc.output().slice(-3000) });
      this.log(`node ${n.id} exited by itself (${code ?? signal}):\n${proc.output().slice(-1500)}`);
    });
  }

  async killNode(n: NodeHandle): Promise<void> {
    n.up = false;
    await n.proc?.kill('SIGKILL');
    n.proc = null;
  }

  /** Graceful stop of every process (SIGTERM), so their databases can be opened by the harness. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        n.up = false;
        await n.proc?.kill('SIGTERM');
        n.proc = null;
      }),
    );
    this.hubUp = false;
    await this.hub?.kill('SIGTERM');
    this.hub = null;
    for (const n of this.nodes) await n.proxy.stop();
  }

  /** Last resort on errors: nothing left running. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc?.kill('SIGKILL')));
    await this.hub?.kill('SIGKILL');
    for (const n of this.nodes) {
      await n.proxy.stop().catch(() => undefined);
      n.disk?.unmount();
      n.lazy?.umount();
    }
    this.hubLazy?.umount();
  }
}
