/**
 * Real processes for the chaos harness: the hub as `node scripts/dom.js hub …` and each node as
 * `node --import tsx scripts/node-proc.ts …` (the `dom node` start with short sync backoff). Each
 * can be killed with SIGKILL (kill -9) and started again on the same port and data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Proc {
  url: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  /** The inspector's WebSocket URL, when started with --inspect. */
  inspector(): string | null;
  /** Resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  alive(): boolean;
}

export async function spawnReady(args: string[], readyEvent: string, env: Record<string, string>, timeoutMs = 60_000): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, DOM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  let inspector: string | null = null;
  const keep = (d: Buffer) => {
    all += d.toString();
    inspector ??= /Debugger listening on (ws:\/\/\S+)/.exec(all)?.[1] ?? null;
    if (all.length > 200_000) all = all.slice(-100_000);
  };
  child.stderr!.on('data', keep);
  child.stdout!.on('data', keep);
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = new RegExp(`"event":"${readyEvent}","url":"([^"]+)"`).exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        ok(m[1]!);
      }
    };
    const onExit = (code: number | null, sig: string | null) => {
      clearTimeout(t);
      fail(new Error(`${args.join(' ')} exited (${code ?? sig}) before it was ready:\n${all.slice(-3000)}`));
    };
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms:\n${all.slice(-3000)}`));
    }, timeoutMs);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    url,
    child,
    pid: child.pid!,
    output: () => all,
    inspector: () => inspector,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface HubProcOptions {
  port: number;
  dataDir: string;
  plannerToken: string;
  env?: Record<string, string>;
  /** Open the inspector on a loopback port of the system's choosing (the soak's heap probe: heap-probe.mjs). */
  inspect?: boolean;
  /**
   * V8's old-space limit in MB (`--max-old-space-size`), as a deployment sets it to the hub's memory
   * budget (docs/OPERATIONS.md, "The hub's memory"); absent: V8's own, a quarter of the machine's memory.
   */
  heapMb?: number;
}

export function spawnHubProc(o: HubProcOptions): Promise<Proc> {
  // a restart catches up with every node database before it says it is ready: give it time
  return spawnReady(
    [
      ...(o.inspect ? ['--inspect=127.0.0.1:0'] : []),
      ...(o.heapMb ? [`--max-old-space-size=${o.heapMb}`] : []),
      'scripts/dom.js',
      'hub',
      '--port',
      String(o.port),
      '--data',
      o.dataDir,
    ],
    'hub_ready',
    {
      DOM_PLANNER_TOKEN: o.plannerToken,
      DOM_SWEEP_MS: '1000',
      DOM_BATCH_WINDOW_MS: '100',
      // a killed hub's allocator lease frees within 2 s, not the default 10 s
      DOM_LEASE_TTL_MS: '2000',
      ...o.env,
    },
    180_000,
  );
}

export interface NodeProcOptions {
  id: string;
  hubUrl: string;
  token: string;
  port: number;
  dataDir: string;
  associateToken: string;
  env?: Record<string, string>;
}

export function spawnNodeProc(o: NodeProcOptions): Promise<Proc> {
  return spawnReady(
    [
      '--import',
      'tsx',
      'scripts/node-proc.ts',
      '--id',
      o.id,
      '--hub',
      o.hubUrl,
      `--token=${o.token}`,
      '--port',
      String(o.port),
      '--data',
      o.dataDir,
      '--initial-backoff-ms',
      '100',
      '--max-backoff-ms',
      '1500',
    ],
    'node_ready',
    { DOM_ASSOCIATE_TOKEN: o.associateToken, ...o.env },
    120_000,
  );
}
