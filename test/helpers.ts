/**
 * Test harness: real hubs and nodes on loopback, each in a fresh temporary data folder.
 *
 * The backend: with DOM_TEST_COUCH_URL set (e.g. http://admin:pw@127.0.0.1:5999), every hub a test
 * starts uses that Apache CouchDB, its databases named with a prefix of its own (derived from the
 * hub's data folder, so a hub restarted on the same folder finds its data again); without it, each
 * hub embeds its own CouchDB-compatible server in its data folder, as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { startHub, type Hub } from '../hub/index.js';
import { couchAccessOf, openCouch, type Couch } from '../hub/couch/index.js';
import { startNode, type DomNode } from '../node/index.js';
import type { Facility } from '../shared/schemas.js';

export const PLANNER = 'planner-secret-token';
export const ASSOCIATE = 'associate-secret';

/** The Apache CouchDB the tests run on, or undefined for the embedded server. */
export const TEST_COUCH_URL = process.env.DOM_TEST_COUCH_URL || undefined;
export const BACKEND: 'couchdb' | 'embedded' = TEST_COUCH_URL ? 'couchdb' : 'embedded';

const dirs: string[] = [];
const prefixes = new Set<string>();
export function tempDir(name = 'dom'): string {
  const d = mkdtempSync(join(tmpdir(), `${name}-`));
  dirs.push(d);
  return d;
}

/** The database prefix of the hub whose data folder (or shared name) this is, on CouchDB. */
export function dbPrefixFor(key: string): string {
  const p = `t${createHash('sha1').update(resolve(key)).digest('hex').slice(0, 12)}_`;
  prefixes.add(p);
  return p;
}

/** Where a hub on this data folder keeps its databases: nothing to add for the embedded server. */
export function backendFor(dataDir: string): { couchUrl?: string; dbPrefix?: string } {
  return TEST_COUCH_URL ? { couchUrl: TEST_COUCH_URL, dbPrefix: dbPrefixFor(dataDir) } : {};
}

/** The same, as a `dom hub` process's environment. */
export function backendEnv(dataDir: string): Record<string, string> {
  return TEST_COUCH_URL ? { COUCH_URL: TEST_COUCH_URL, DOM_DB_PREFIX: dbPrefixFor(dataDir) } : {};
}

/** The stored data of a hub that is not running (its embedded server, or its CouchDB databases). */
export function openTestCouch(dataDir: string): Promise<Couch> {
  return openCouch({ dataDir, ...backendFor(dataDir) });
}

/** Credentials and database-name prefix for reading a hub's CouchDB straight from a test. */
export function couchAccess(dataDir: string): { url: string; auth: string; prefix: string } | null {
  if (!TEST_COUCH_URL) return null;
  return { ...couchAccessOf(TEST_COUCH_URL), prefix: dbPrefixFor(dataDir) };
}

/** Remove the temporary folders and, on CouchDB, every database the tests of this file created. */
export async function cleanupDirs(): Promise<void> {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (!TEST_COUCH_URL || prefixes.size === 0) return;
  const { url, auth } = couchAccessOf(TEST_COUCH_URL);
  const all = (await fetch(`${url}/_all_dbs`, { headers: { authorization: auth } }).then((r) => r.json())) as string[];
  const mine = all.filter((db) => [...prefixes].some((p) => db.startsWith(p)));
  prefixes.clear();
  for (const db of mine) await fetch(`${url}/${encodeURIComponent(db)}`, { method: 'DELETE', headers: { authorization: auth } });
}

export async function testHub(dataDir = tempDir('hub'), extra: Record<string, unknown> = {}): Promise<Hub> {
  return startHub({ port: 0, dataDir, plannerToken: PLANNER, sweepMs: 1000, ...backendFor(dataDir), ...extra });
}

export async function api<T = any>(base: string, method: string, path: string, body?: unknown, token = PLANNER): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T };
}

export async function registerFacility(hubUrl: string, f: Partial<Facility> & { id: string }): Promise<string> {
  const r = await api(hubUrl, 'POST', '/api/v1/facilities', {
    type: 'store',
    name: f.id,
    lat: 33.75,
    lon: -84.39,
    capacity: 100,
    shipFromStore: true,
    pickup: true,
    ...f,
  });
  if (r.status !== 201) throw new Error(`registering ${f.id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

/**
 * Put a SKU in the catalogue and count it at a facility, and wait until its node has applied the
 * count (a node refuses sales of SKUs it has never heard of; and a count applied after a sale
 * would set the position back to the counted figure).
 */
export async function stockNode(
  hubUrl: string,
  node: { store: { positions(): { sku: string }[] } } | null,
  facility: string,
  sku: string,
  onHand: number,
): Promise<void> {
  const items = await api(hubUrl, 'POST', '/api/v1/items', [{ sku, name: sku }]);
  if (items.status !== 201) throw new Error(`items: ${items.status} ${JSON.stringify(items.body)}`);
  const count = await api(hubUrl, 'POST', '/api/v1/inventory', { facility, positions: [{ sku, onHand }] });
  if (count.status !== 201) throw new Error(`count: ${count.status} ${JSON.stringify(count.body)}`);
  if (node) await waitFor(`${facility} applied its count of ${sku}`, () => node.store.positions().some((p) => p.sku === sku));
}

export async function testNode(hubUrl: string, id: string, token: string, dataDir = tempDir(`node-${id}`)): Promise<DomNode> {
  return startNode({ id, hubUrl, token, port: 0, dataDir, associateToken: ASSOCIATE, initialBackoffMs: 100, maxBackoffMs: 1000 });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A hub as a real child process (`dom hub`), for kill -9 tests. */
export interface HubProcess {
  url: string;
  child: ChildProcess;
  /** What the process logged (stdout and stderr), for diagnosing a failure. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnHub(dataDir: string, port: number, env: Record<string, string> = {}): Promise<HubProcess> {
  return spawnDom(['hub', '--port', String(port), '--data', dataDir], 'hub_ready', {
    DOM_PLANNER_TOKEN: PLANNER,
    DOM_SWEEP_MS: '1000',
    ...backendEnv(dataDir),
    ...env,
  });
}

/** Any `dom` command as a child process; resolves once it prints its ready event. */
export async function spawnDom(args: string[], readyEvent: string, env: Record<string, string> = {}): Promise<HubProcess> {
  const child = spawn(process.execPath, ['scripts/dom.js', ...args], {
    env: { ...process.env, DOM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let all = '';
  child.stderr!.on('data', (d) => {
    err += d;
    all += d;
  });
  child.stdout!.on('data', (d) => (all += d));
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const t = setTimeout(() => fail(new Error(`${args[0]} did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = new RegExp(`"event":"${readyEvent}","url":"([^"]+)"`).exec(out);
      if (m) {
        clearTimeout(t);
        ok(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`${args[0]} exited ${code}: ${err}`)));
  });
  return {
    url,
    child,
    output: () => all,
    kill: (signal = 'SIGKILL') =>
      new Promise((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill(signal);
      }),
  };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}
