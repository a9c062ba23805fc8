/**
 * `dom bench scale --quick`: a spawned `dom couch`, one then two spawned `dom hub` instances on it,
 * a few real nodes live-syncing. Timings depend on the machine (and on what else runs on it), so
 * only the presence and type of each figure is checked, never its value.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../scripts/bench/scale.js';

const FIGURES = [
  'one.throughput.orders',
  'one.throughput.ordersPerSec',
  'one.throughput.acceptedPerSec',
  'one.throughput.dosInNodeDbs',
  'one.throughput.ordersNotExactlyOnce',
  'one.throughput.cpuMsPerOrder.hub1',
  'one.throughput.cpuMsPerOrder.couch',
  'two.throughput.orders',
  'two.throughput.ordersPerSec',
  'two.throughput.dosInNodeDbs',
  'two.throughput.ordersNotExactlyOnce',
  'two.throughput.cpuMsPerOrder.hub1',
  'two.throughput.cpuMsPerOrder.hub2',
  'one.throughput.holderCpuMsPerOrder',
  'one.throughput.holderOrdersPerCoreSec',
  'two.throughput.holderOrdersPerCoreSec',
  'one.throughput.couchOrdersPerCoreSec',
  'ratio.throughput',
  'ratio.downP99',
  'ratio.upOrderP99',
  'one.latency.nodes',
  'one.latency.down.p50',
  'one.latency.down.p99',
  'one.latency.up.p50',
  'one.latency.up.p99',
  'one.latency.upOrder.p50',
  'one.latency.upOrder.p99',
  'two.latency.nodes',
  'two.latency.down.p50',
  'two.latency.down.p99',
  'two.latency.up.p50',
  'two.latency.up.p99',
  'two.latency.upOrder.p50',
  'two.latency.upOrder.p99',
  'one.latency.syncCpuMsPerOrder.hubs',
  'two.latency.syncCpuMsPerOrder.hubs',
  'two.latency.syncCpuMsPerOrder.couch',
  'one.idle.cpuPct.hub1',
  'one.idle.rssMb.hub1',
  'two.idle.cpuPct.hub2',
  'two.idle.rssMb.hub2',
  'capacity.nodesAtP99Under1s',
  'capacity.projectedNodesPerInstance',
  'capacity.hubCpuMsPerSecPerNode',
  'capacity.hubRssMbPerNode',
  'capacity.couchCpuMsPerSecPerNode',
  'capacity.couchRssMbPerNode',
  'capacity.nodesAtDownP99Under1s',
  'capacity.hubSyncCpuMsPerOrder',
  'capacity.couchSyncCpuMsPerOrder',
  'capacity.steps.0.nodes',
  'capacity.steps.0.hubRssMb',
  'capacity.steps.0.idleHubCpuPct',
  'capacity.steps.1.nodes',
];

const at = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

describe('dom bench scale --quick', () => {
  it("reports every figure as a number, on the suite's backend", { timeout: 300_000 }, async () => {
    const all = await run({ quick: true, record: false, print: false });
    // no phase failed (a slow machine may still leave a note on a wait, which is not a failure)
    expect(all.notes.filter((n) => / failed/.test(n))).toEqual([]);
    // a quick run measures the backend the suite runs on (scripts/with-couchdb.sh sets DOM_BENCH_COUCH_URL)
    const backend = process.env.DOM_BENCH_COUCH_URL ? 'couchdb' : 'embedded';
    expect(Object.keys(all.backends)).toEqual([backend]);
    const r = all.backends[backend];
    // CouchDB's own CPU is known when the bench runs it (embedded: `dom couch`; couchdb: only when the bench started it)
    const figures = FIGURES.filter((f) => backend === 'embedded' || !/couch/i.test(f));
    const missing = figures.filter((f) => typeof at(r, f) !== 'number' || !Number.isFinite(at(r, f) as number));
    expect(missing).toEqual([]);
    // the work itself was done: orders allocated exactly once with their DOs written, DOs synced both ways
    expect(at(r, 'one.throughput.dosInNodeDbs')).toBeGreaterThan(0);
    expect(at(r, 'two.throughput.dosInNodeDbs')).toBeGreaterThan(0);
    expect(at(r, 'one.throughput.ordersNotExactlyOnce')).toBe(0);
    expect(at(r, 'two.throughput.ordersNotExactlyOnce')).toBe(0);
    expect(at(r, 'one.latency.down.count')).toBeGreaterThan(0);
    expect(at(r, 'two.latency.upOrder.count')).toBeGreaterThan(0);
  });
});
