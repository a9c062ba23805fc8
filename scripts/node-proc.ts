/**
 * A node as a child process, for the chaos harness: `dom node` with the sync backoff settings the
 * CLI does not expose (a harness wants reconnection within seconds of a restored link, not the
 * production cap of 30 s). Run as `node --import tsx scripts/node-proc.ts --id … --hub … --token …
 * [--port N] [--data DIR] [--initial-backoff-ms 100] [--max-backoff-ms 2000]`; prints
 * `{"event":"node_ready","url","id"}` once serving, stops cleanly on SIGTERM/SIGINT. SIGUSR2 toggles
 * a simulated full disk, SIGUSR1 writes a poison document (below).
 */
import { parseArgs } from 'node:util';
import { startNode } from '../node/index.js';
import { nodeConfigFromEnv } from '../node/config.js';
import { createLogger } from '../shared/log.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    id: { type: 'string' },
    hub: { type: 'string' },
    token: { type: 'string' },
    port: { type: 'string' },
    data: { type: 'string' },
    'associate-token': { type: 'string' },
    'initial-backoff-ms': { type: 'string' },
    'max-backoff-ms': { type: 'string' },
  },
  strict: true,
});

const log = createLogger('node');
const base = nodeConfigFromEnv(values as Record<string, string | undefined>);
const node = await startNode(
  {
    ...base,
    initialBackoffMs: Number(values['initial-backoff-ms'] ?? 100),
    maxBackoffMs: Number(values['max-backoff-ms'] ?? 2000),
  },
  log,
);
console.log(JSON.stringify({ event: 'node_ready', url: node.url, id: node.config.id }));

// A simulated full disk, for hosts where the harness cannot mount a small tmpfs: SIGUSR2 toggles
// it, and while it is on every database write fails as LevelDB's would, with ENOSPC.
let diskFull = false;
const enospc = () => Object.assign(new Error('IO error: No space left on device'), { status: 500, name: 'ENOSPC', code: 'ENOSPC' });
const db = node.db as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const m of ['put', 'post', 'bulkDocs'] as const) {
  const orig = db[m]!.bind(node.db);
  db[m] = (...args: unknown[]) => {
    if (!diskFull) return orig(...args);
    const cb = args.find((a) => typeof a === 'function') as ((e: unknown) => void) | undefined;
    if (cb) return void cb(enospc());
    return Promise.reject(enospc());
  };
}
process.on('SIGUSR2', () => {
  diskFull = !diskFull;
  log.warn({ diskFull }, 'simulated disk full toggled');
});

// A poison document, for the harness: SIGUSR1 writes into the node's own database a document of a
// node-owned type that the gateway must refuse (an event with a status no DO has). Uploads of
// everything else must go on, and the refusal must show at the node and the hub.
process.on('SIGUSR1', () => {
  const doId = `POISON-${Date.now()}.1.${node.config.id}`;
  node.db.put({ _id: `evt:${doId}:0001`, type: 'evt', doId, n: 1, status: 'teleported', facility: node.config.id, at: new Date().toISOString() }).then(
    () => log.warn({ doId }, 'poison document written'),
    (err: unknown) => log.error({ err }, 'writing the poison document failed'),
  );
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  node.stop().then(
    () => process.exit(0),
    (err) => {
      log.error({ err }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
