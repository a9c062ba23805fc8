/**
 * `dom bench e2e --quick` runs every phase (hub, nodes in a child process, the gateway, autocannon
 * in its own process, memory in child processes) and reports every figure. Timings depend on the
 * machine, so only the presence and type of each figure is checked, never its value; request
 * counts do not, and the sync path's are held under upper bounds.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../scripts/bench/e2e.js';

const FIGURES = [
  'throughput.orders',
  'throughput.ordersPerSec',
  'throughput.acceptedPerSec',
  'throughput.dosInNodeDbs',
  'throughput.rawBulkDocsPerSec',
  'throughput.ratioToRaw',
  'throughput.couchRequestsPerOrder',
  'throughput.hubCpuMsPerOrder',
  'throughputBulk.ordersPerSec',
  'throughputBulk.perRequest',
  'throughputBulk.ratioToRaw',
  'intake.ratePerSec',
  'intake.achievedPerSec',
  'intake.released',
  'intake.acceptedToDos.p50',
  'intake.acceptedToDos.p99',
  'latency.nodes',
  'latency.down.p50',
  'latency.down.p99',
  'latency.down.max',
  'latency.up.p50',
  'latency.up.p99',
  'latency.up.max',
  'latency.upOrder.p50',
  'latency.upOrder.p99',
  'latency.upOrder.max',
  'latency.probeDown.p99',
  'latency.probeUp.p99',
  'latency.hubCpuPct',
  'latency.idleHubCpuPct',
  'latency.couchRequestsPerOrder',
  'latency.idleNodeDbRequestsPerSec',
  'initialSync.docs',
  'initialSync.nodeDocsPerSec',
  'initialSync.directDocsPerSec',
  'initialSync.gatewayPlainDocsPerSec',
  'initialSync.gatewayCostPct',
  'initialSync.proxyCostPct',
  'initialSync.rounds',
  'atp.facilities',
  'atp.requestsPerSec',
  'atp.p50Ms',
  'atp.p99Ms',
  'atp.floorRequestsPerSec',
  'atp.hubCpuUsPerCheck',
  'atp.ownUsPerCheck',
  'atp.cartRequestsPerSec',
  'atp.cartP99Ms',
  'atp.cartOwnUsPerLine',
  'memory.hub.positions',
  'memory.hub.peakRssMb',
  'memory.hub.baseRssMb',
  'memory.hub.bytesPerPosition',
  'memory.hub.loadSeconds',
  'memory.hub.atpP50Ms',
  'memory.node.skus',
  'memory.node.peakRssMb',
  'memory.node.baseRssMb',
  'memory.node.countAppliedSeconds',
];

const at = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

describe('dom bench e2e --quick', () => {
  it("reports every figure as a number, on the suite's backend", { timeout: 600_000 }, async () => {
    const r = (await run({ quick: true, record: false, print: false })) as { notes: string[]; backends: Record<string, unknown> };
    expect(r.notes).toEqual([]);
    // a quick run measures the backend the suite runs on (scripts/with-couchdb.sh sets DOM_BENCH_COUCH_URL)
    const backend = process.env.DOM_BENCH_COUCH_URL ? 'couchdb' : 'embedded';
    expect(Object.keys(r.backends)).toEqual([backend]);
    const b = r.backends[backend];
    const missing = FIGURES.filter((f) => typeof at(b, f) !== 'number' || !Number.isFinite(at(b, f) as number));
    expect(missing).toEqual([]);
    // the work itself was done: orders released with their DOs in the node databases, every DO synced
    expect(at(b, 'throughput.dosInNodeDbs')).toBeGreaterThan(0);
    expect(at(b, 'latency.down.count')).toBeGreaterThan(0);
    expect(at(b, 'initialSync.docs')).toBeGreaterThan(0);
    // the initial sync ran in rounds (two in the quick run), each from a store of its own, and its
    // cost is one of theirs (the median round's)
    const rounds = at(b, 'initialSync.roundCostPcts') as number[];
    expect(rounds).toHaveLength(2);
    expect(rounds).toContain(at(b, 'initialSync.gatewayCostPct'));
    // the sync path's cost in CouchDB requests (counts, never timings): per order of sync traffic
    // (one DO down, its two status events up; 55-65 before the sync path was cut down; in the quick
    // run 10.3 embedded and 9.4 on CouchDB at eb0e370, against the target of 12 for the full run),
    // and none at all to the databases of idle nodes (the sweep read each one every 5 s)
    expect(at(b, 'latency.couchRequestsPerOrder')).toBeLessThanOrEqual(13);
    expect(at(b, 'latency.idleNodeDbRequestsPerSec')).toBe(0);
  });
});
