/** The chaos run's report: the figures, and the same as Markdown (docs/RELIABILITY.md) or a console table. */
import type { FaultCounts, FaultLogEntry } from './faults.js';
import type { InvariantResult } from './invariants.js';
import type { DiskMode } from './disk.js';
import { soakMarkdown, type SoakResult } from './soak.js';

export interface Report {
  seed: number;
  /** where the hub kept its data: the embedded server, or Apache CouchDB as a process of its own */
  backend: string;
  quick: boolean;
  nodes: number;
  orders: number;
  diskMode: DiskMode | null;
  startedAt: string;
  durationMs: number;
  phasesMs: { setup: number; workload: number; drain: number; verify: number };
  /** Did the system come to rest (nothing pending, nothing moving) after the faults stopped? */
  quiesced: boolean;
  faultsPlanned: FaultCounts;
  /** Why the power-loss fault was skipped (LazyFS cannot mount here), if it was */
  powerLossSkipped?: string;
  /** The processes whose data folders were on LazyFS ('hub', facility ids) */
  powerLossTargets?: string[];
  faults: FaultCounts;
  faultLog: FaultLogEntry[];
  proxy: { connections: number; refusedOrDropped: number; resets: number; mbUp: number; mbDown: number };
  restarts: { hub: number; nodes: number; couch?: number };
  workload: {
    ordersAccepted: number;
    orderAttempts: number;
    cancelsRequested: number;
    associateSteps: number;
    stepsRefused: number;
    sales: number;
    receipts: number;
    adjustments: number;
    replenishmentRuns: number;
    purchaseOrders: number;
    unknownOutcomes: Record<string, number>;
    refusedWhileDiskFull: number;
    /** hub calls answered 503 storage_unavailable while its CouchDB was down */
    refusedWhileCouchDown?: number;
  };
  outcome: {
    ordersByStatus: Record<string, number>;
    dos: number;
    events: number;
    docsAtNodes: number;
  };
  invariants: InvariantResult[];
  violations: number;
  /** The soak's samples and verdict (dom chaos --soak) */
  soak?: SoakResult;
}

export function formatMarkdown(r: Report, chart?: string): string {
  const lines: string[] = [];
  if (r.soak) lines.push(soakMarkdown(r.soak, chart), '');
  const f = r.faults;
  lines.push(
    `Backend: ${r.backend}. Seed ${r.seed}, ${r.nodes} nodes, ${r.orders} orders${r.quick ? ' (quick)' : ''}; started ${r.startedAt}, ran ${(r.durationMs / 1000).toFixed(0)} s (setup ${(r.phasesMs.setup / 1000).toFixed(0)} s, workload under faults ${(r.phasesMs.workload / 1000).toFixed(0)} s, drain ${(r.phasesMs.drain / 1000).toFixed(0)} s, checks ${(r.phasesMs.verify / 1000).toFixed(0)} s). Quiesced: ${r.quiesced ? 'yes' : '**no**'}.`,
  );
  lines.push('');
  lines.push('| fault | planned | injected |');
  lines.push('|---|---:|---:|');
  const names: Record<keyof FaultCounts, string> = {
    linkCut: 'link cut (sockets destroyed, connections refused)',
    slowLink: 'slow link (every chunk delayed)',
    midResponseReset: 'reset in the middle of a response',
    hubKill: 'hub kill -9 and restart',
    nodeKill: 'node kill -9 and restart',
    diskFull: `full disk at one node (${r.diskMode === 'tmpfs' ? 'a real tmpfs filled up: ENOSPC from the kernel' : 'simulated ENOSPC'})`,
    couchKill: 'CouchDB kill -9 and restart on the same data',
    poisonDoc: "poison document in a node's database (the gateway must refuse it, the rest going on)",
    powerLoss: r.powerLossSkipped
      ? `power loss (skipped: LazyFS cannot run here, ${r.powerLossSkipped})`
      : `power loss: kill -9 and every byte never fsynced dropped (LazyFS; targets ${r.powerLossTargets?.join(', ') || 'none'}), restart on what the disk holds`,
  };
  for (const k of Object.keys(names) as (keyof FaultCounts)[]) lines.push(`| ${names[k]} | ${r.faultsPlanned[k] ?? 0} | ${f[k] ?? 0} |`);
  lines.push('');
  const w = r.workload;
  lines.push(
    `Workload: ${w.ordersAccepted} orders accepted (${w.orderAttempts} POSTs, the retries included), ${w.cancelsRequested} cancellations, ${w.associateSteps} associate steps (${w.stepsRefused} refused as out of order), ${w.sales} walk-in sales, ${w.receipts} receipts, ${w.adjustments} cycle counts, ${w.replenishmentRuns} replenishment runs, ${w.purchaseOrders} purchase orders. Calls whose answer was lost to a fault: ${
      Object.entries(w.unknownOutcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }; refused while the disk was full: ${w.refusedWhileDiskFull}${w.refusedWhileCouchDown !== undefined ? `; answered 503 while CouchDB was down: ${w.refusedWhileCouchDown}` : ''}. The proxies carried ${r.proxy.connections} connections, ${r.proxy.mbUp.toFixed(1)} MB up and ${r.proxy.mbDown.toFixed(1)} MB down (while a link was cut its port was closed: connections were refused by the kernel). Processes started again: hub ${r.restarts.hub}, nodes ${r.restarts.nodes}${r.restarts.couch ? `, CouchDB ${r.restarts.couch}` : ''}.`,
  );
  lines.push('');
  lines.push(
    `End state: ${r.outcome.dos} DOs, ${r.outcome.events} status events, ${r.outcome.docsAtNodes} documents in the node databases; orders by status: ${Object.entries(
      r.outcome.ordersByStatus,
    )
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  lines.push('');
  lines.push('| invariant | checks | violations |');
  lines.push('|---|---:|---:|');
  for (const i of r.invariants) lines.push(`| \`${i.name}\`: ${i.description} | ${i.checked} | ${i.violations} |`);
  lines.push(`| **total** | ${r.invariants.reduce((s, i) => s + i.checked, 0)} | **${r.violations}** |`);
  const bad = r.invariants.filter((i) => i.violations);
  if (bad.length) {
    lines.push('');
    lines.push('Violations:');
    for (const i of bad) for (const e of i.examples) lines.push(`- \`${i.name}\`: ${e}`);
  }
  lines.push('');
  lines.push('<details><summary>Fault log</summary>');
  lines.push('');
  for (const e of r.faultLog) lines.push(`- ${e.at} ${e.kind} ${e.target}${e.note ? `: ${e.note}` : ''}`);
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}

export function formatConsole(r: Report): string {
  const rows = [
    [
      'faults injected',
      Object.entries(r.faults)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ...(r.powerLossSkipped ? [['power loss', `skipped: LazyFS cannot run here (${r.powerLossSkipped})`]] : []),
    ['orders accepted', String(r.workload.ordersAccepted)],
    ['quiesced', r.quiesced ? 'yes' : 'NO'],
    ...r.invariants.map((i) => [i.name, `${i.checked} checked, ${i.violations} violations`]),
    ['violations', String(r.violations)],
    ...(r.soak
      ? [
          [
            'soak',
            `stalls ${r.soak.stalls.length}, RSS growth hub ${r.soak.growth.hubRss} % CouchDB ${r.soak.growth.couchRss ?? 'n/a'} % nodes ${r.soak.growth.nodesRss} %, descriptor trends ${r.soak.fdTrends.map((x) => `${x.what} ${x.change > 0 ? '+' : ''}${x.change}`).join(', ')}: ${r.soak.pass.all ? 'PASS' : 'FAIL'}`,
          ],
        ]
      : []),
  ];
  const w = Math.max(...rows.map((x) => x[0]!.length));
  return rows.map(([k, v]) => `${k!.padEnd(w)}  ${v}`).join('\n');
}
