/**
 * The `dom` CLI: hub, node, couch, demo, allocate, bench. Every flag also has an environment
 * variable; a bad setting stops the start with a clear message and exit code 2.
 */
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../shared/log.js';
import { DomError } from '../shared/errors.js';

const USAGE = `dom <command> [options]

  hub      [--port 8080] [--data DIR] [--couch-url URL] [--db-prefix P] [--planner-token T]
  node     --id ID --hub URL --token TOKEN [--port N] [--data DIR] [--associate-token T]
  couch    [--port 5984] [--data DIR]     (COUCH_USER / COUCH_PASSWORD)
  demo     [--quick] [--port 8080] [--data DIR]
  allocate --input instance.json [--output result.json]
  chaos    [--quick] [--seed N] [--nodes N] [--orders N] [--backend embedded|couchdb|cluster] [--report F.md] [--soak 30m]
  replenish [--hub URL] [--json]          (DOM_PLANNER_TOKEN)
  simulate --from ISO --to ISO --candidates F.json | --input instance.json --candidates F.json | --scenario F.json
           [--hub URL] [--format json|csv] [--table summary|load|changed] [--output F]; apply ID --candidate N --by WHO; rollback --by WHO
  bench    <allocator|e2e|scale|replenish|instances|highs|simulate|all> [--quick] [--record]
           [--backend embedded|couchdb|cluster|both|all] [--couch-url URL]   (e2e, scale)

Environment: DOM_PORT, DOM_DATA, COUCH_URL, DOM_PLANNER_TOKEN, DOM_ASSOCIATE_TOKEN, DOM_LOG_LEVEL.
dom <command> --help: that command's options.`;

/** `dom <command> --help`: each command's own flags, with their environment variables and defaults. */
const HELP: Record<string, string> = {
  hub: `dom hub: the hub (planner API, sync gateway, allocator, monitor) on one port

  --port N                 DOM_PORT               8080
  --host H                 DOM_HOST               127.0.0.1 (0.0.0.0 behind a load balancer)
  --data DIR               DOM_DATA               ./data/hub (the embedded CouchDB's folder)
  --couch-url URL          COUCH_URL              Apache CouchDB 3.x, e.g. http://admin:secret@127.0.0.1:5984
                                                  (none: the embedded CouchDB-compatible server in --data)
  --db-prefix P            DOM_DB_PREFIX          before every database name (several deployments on one CouchDB)
  --planner-token T        DOM_PLANNER_TOKEN      required, at least 8 characters
  --instance NAME          DOM_INSTANCE           unique per hub sharing a CouchDB (default host-port)
  --batch-window-ms N      DOM_BATCH_WINDOW_MS    200
  --batch-size N           DOM_BATCH_SIZE         500
  --sweep-ms N             DOM_SWEEP_MS           5000
  --lease-ttl-ms N         DOM_LEASE_TTL_MS       10000
  --max-sync-connections N DOM_MAX_SYNC_CONNECTIONS 5000
  --sourcing JSON          DOM_SOURCING           per channel, e.g. {"default":{"perShipment":6}}
                           DOM_LOG_LEVEL          info
Prints {"event":"hub_ready","url":…} when it serves. See docs/OPERATIONS.md.`,
  node: `dom node: a store's or DC's node (local PouchDB, associate API and page), syncing with the hub

  --id ID                  DOM_NODE_ID            the facility id it was registered under
  --hub URL[,URL…]         DOM_HUB_URL            the hub (several instances: comma-separated)
  --token T                DOM_NODE_TOKEN         the node token the registration answered
  --port N                 DOM_PORT               8081
  --data DIR               DOM_DATA               ./data/node-<id>
  --associate-token T      DOM_ASSOCIATE_TOKEN    the associates' sign-in token
Prints {"event":"node_ready","url":…} when it serves.`,
  couch: `dom couch: the embedded CouchDB-compatible server alone (express-pouchdb over LevelDB), for
several hubs to share through COUCH_URL. Apache CouchDB 3.x is the production engine.

  --port N                 DOM_PORT               5984
  --data DIR               DOM_DATA               ./data/couch
                           COUCH_USER, COUCH_PASSWORD   the admin account (required)`,
  demo: `dom demo: an embedded hub, a DC and 12 stores, seeded, live traffic and a summary (npm start)

  --quick                  a shorter run
  --port N                 the hub's port (default 8080)
  --data DIR               where the demo keeps its data (default a temporary folder)`,
  allocate: `dom allocate: allocate a batch offline with the live allocator (the instance format of docs/CONTRACT.md)

  --input FILE             the instance (JSON), required
  --output FILE            where the result goes (default: standard output)`,
  chaos: `dom chaos: the fault harness (real hub and node processes, faults, then the invariants)

  --quick                  3 nodes, 60 orders, every kind of fault once or twice
  --seed N --nodes N --orders N
  --backend B              embedded (default), couchdb (Apache CouchDB from ../shared/couchdb, killed -9 too)
                           or cluster (a 3-node CouchDB cluster, its nodes killed one at a time)
  --report FILE.md         the report as Markdown
  --keep                   keep the data folders
  --soak 30m               the soak: steady work this long (50 nodes unless --nodes), faults at a low rate,
                           memory, descriptors, feed lag and sync latency sampled (--sample 30s)
  --rate N                 the soak's orders a second (default 1)
  --hub-heap-mb N          the hub's V8 heap limit (--max-old-space-size; the soak's default 1024, 0: V8's own)
  --chart FILE.svg         the soak's chart of memory and latency; --samples FILE.json its samples
Exits 1 on any violation (and, for a soak, when a pass criterion fails). See docs/RELIABILITY.md.`,
  replenish: `dom replenish: a replenishment run on a running hub

  --hub URL                DOM_HUB_URL            http://127.0.0.1:8080
  --planner-token T        DOM_PLANNER_TOKEN
  --json                   the run's answer as JSON`,
  simulate: `dom simulate: what-if, replay real orders under candidate sourcing configurations (docs/API.md, Simulations)

  --from ISO --to ISO      a window of the hub's orders (by arrival), replayed as the live allocator batched them
  --input FILE             or an instance file (docs/CONTRACT.md); without --hub it runs offline, here
  --candidates FILE        a JSON array of candidates: {"name","sourcing"?,"costs"?,"facilities"?,"newFacilities"?}
  --scenario FILE          or the whole POST /api/v1/simulations body
  --batch-size N           instance orders per batch, in arrival order (default: one batch, as dom allocate)
  --hub URL                DOM_HUB_URL            the hub to run it on
  --planner-token T        DOM_PLANNER_TOKEN
  --format json|csv        the comparison as JSON (default) or CSV; --table summary|load|changed for CSV
  --output FILE            where it goes (default: standard output); progress goes to standard error
dom simulate apply ID --candidate NAME --by WHO   apply a candidate of a finished run as the live configuration
dom simulate rollback --by WHO                    put back the configuration the last apply replaced`,
  bench: `dom bench <allocator|e2e|scale|replenish|instances|highs|simulate|all>: the benchmarks

  --quick                  small sizes (the smoke tests)
  --record                 also append the run to docs/BENCHMARKS.md (by default a full run
                           writes its raw figures to bench-results/, which git ignores)
  --backend B              e2e and scale: embedded, couchdb, cluster (e2e), both or all
                           (default for a full run: all where ../shared/couchdb is here)
  --couch-url URL          e2e and scale: measure that Apache CouchDB
  --only P,Q               e2e: only these phases (throughput, intake, bulk, latency, initial, atp, memory)
See docs/BENCHMARKS.md.`,
};

type Flags = Record<string, string | undefined>;

function flags(args: string[], booleans: string[] = []): { values: Flags; bools: Set<string>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const a of args) {
    const m = /^--([a-z][a-z0-9-]*)/.exec(a);
    if (m) options[m[1]!] = { type: booleans.includes(m[1]!) ? 'boolean' : 'string' };
  }
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  const out: Flags = {};
  const bools = new Set<string>();
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'boolean') bools.add(k);
    else out[k] = v as string;
  }
  return { values: out, bools, positionals };
}

/** Stop cleanly on SIGINT/SIGTERM: the service's stop() cancels sync, closes servers and LevelDB. */
function stopOnSignals(stop: () => Promise<void>, log: Logger) {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping');
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd && (rest.includes('--help') || rest.includes('-h'))) {
    if (HELP[cmd]) console.log(HELP[cmd]);
    else {
      console.error(`unknown command "${cmd}"\n\n${USAGE}`);
      process.exitCode = 2;
    }
    return;
  }
  try {
    switch (cmd) {
      case 'hub': {
        const { startHub } = await import('../hub/index.js');
        const { hubConfigFromEnv } = await import('../hub/config.js');
        const log = createLogger('hub');
        const hub = await startHub(hubConfigFromEnv(flags(rest).values), log);
        console.log(JSON.stringify({ event: 'hub_ready', url: hub.url }));
        stopOnSignals(() => hub.stop(), log);
        break;
      }
      case 'node': {
        const { startNode } = await import('../node/index.js');
        const { nodeConfigFromEnv } = await import('../node/config.js');
        const log = createLogger(`node`);
        const node = await startNode(nodeConfigFromEnv(flags(rest).values), log);
        console.log(JSON.stringify({ event: 'node_ready', url: node.url, id: node.config.id }));
        stopOnSignals(() => node.stop(), log);
        break;
      }
      case 'couch': {
        const { startEmbeddedCouch } = await import('../hub/couch/embedded.js');
        const f = flags(rest).values;
        const log = createLogger('couch');
        const user = process.env.COUCH_USER;
        const password = process.env.COUCH_PASSWORD;
        if (!user || !password) throw new DomError(400, 'missing_credentials', 'set COUCH_USER and COUCH_PASSWORD for the admin account');
        const couch = await startEmbeddedCouch({
          dataDir: f.data ?? process.env.DOM_DATA ?? './data/couch',
          port: Number(f.port ?? process.env.DOM_PORT ?? 5984),
          user,
          password,
        });
        console.log(JSON.stringify({ event: 'couch_ready', url: couch.url }));
        stopOnSignals(() => couch.stop(), log);
        break;
      }
      case 'demo': {
        const { runDemo } = await import('./demo.js');
        const f = flags(rest, ['quick']);
        await runDemo({ quick: f.bools.has('quick'), port: f.values.port, dataDir: f.values.data });
        break;
      }
      case 'allocate': {
        const { runAllocate } = await import('./allocate.js');
        const f = flags(rest);
        if (!f.values.input) throw new DomError(400, 'missing_input', '--input instance.json is required');
        await runAllocate(f.values.input, f.values.output);
        break;
      }
      case 'bench': {
        // dom bench <name|all> [--quick] [--no-record]: scripts/bench/<name>.ts exporting run(opts)
        const { readdirSync } = await import('node:fs');
        const f = flags(rest, ['quick', 'record', 'no-record']);
        const which = f.positionals[0];
        const dir = new URL('./bench/', import.meta.url);
        const known = readdirSync(dir)
          .filter((n) => n.endsWith('.ts'))
          .map((n) => n.slice(0, -3));
        const load = async (name: string) =>
          (await import(new URL(`${name}.ts`, dir).href)) as {
            run?: (opts: { only?: string[]; quick?: boolean; record?: boolean; backend?: string; couchUrl?: string }) => Promise<unknown>;
          };
        const benches: string[] = [];
        if (which && which !== 'all' && known.includes(which) && typeof (await load(which)).run === 'function') benches.push(which);
        else {
          // the files that export run(): the benches (the others are their helpers)
          const all: string[] = [];
          for (const name of known.sort()) if (typeof (await load(name)).run === 'function') all.push(name);
          if (which !== 'all') throw new DomError(400, 'unknown_bench', `which bench? ${which ? `"${which}" is not one; ` : ''}one of: all, ${all.join(', ')}`);
          benches.push(...all);
        }
        // --backend embedded|couchdb|both and --couch-url URL: the e2e and scale benches' storage
        const backend = f.values.backend;
        if (backend !== undefined && !['embedded', 'couchdb', 'cluster', 'both', 'all'].includes(backend))
          throw new DomError(400, 'invalid_backend', `--backend must be embedded, couchdb, cluster, both or all, not "${backend}"`);
        const couchUrl = f.values['couch-url'];
        if (couchUrl !== undefined && !/^https?:\/\//.test(couchUrl))
          throw new DomError(400, 'invalid_couch_url', `--couch-url must be an http(s) URL, not "${couchUrl}"`);
        // --only throughput,bulk: e2e's phases (throughput, intake, bulk, latency, initial, atp, memory)
        const only = f.values.only
          ?.split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        const phases = ['throughput', 'intake', 'bulk', 'latency', 'initial', 'atp', 'memory'];
        const badPhase = only?.find((p) => !phases.includes(p));
        if (badPhase) throw new DomError(400, 'invalid_phase', `--only takes ${phases.join(', ')}; not "${badPhase}"`);
        for (const name of benches)
          await (
            await load(name)
          ).run!({
            ...(only?.length ? { only } : {}),
            quick: f.bools.has('quick'),
            ...(f.bools.has('record') ? { record: true as const } : f.bools.has('no-record') ? { record: false as const } : {}),
            ...(backend ? { backend } : {}),
            ...(couchUrl ? { couchUrl } : {}),
          });
        // done: a keep-alive socket or a timer of a stopped server must not keep the command up
        setTimeout(() => process.exit(process.exitCode ?? 0), 500);
        break;
      }
      case 'chaos': {
        const { chaosCli } = await import('./chaos/index.js');
        process.exitCode = await chaosCli(rest); // --quick --seed N --nodes N --orders N --report FILE.md --keep
        break;
      }
      case 'simulate': {
        const { runSimulate } = await import('./simulate.js');
        const f = flags(rest);
        const v = f.values;
        await runSimulate(f.positionals, {
          hub: v.hub ?? process.env.DOM_HUB_URL,
          token: v['planner-token'] ?? process.env.DOM_PLANNER_TOKEN,
          scenario: v.scenario,
          input: v.input,
          candidates: v.candidates,
          from: v.from,
          to: v.to,
          batchSize: v['batch-size'],
          format: v.format,
          table: v.table,
          output: v.output,
          candidate: v.candidate,
          by: v.by,
        });
        break;
      }
      case 'replenish': {
        const { runReplenish } = await import('./replenish.js');
        const f = flags(rest, ['json']);
        await runReplenish(
          f.values.hub ?? process.env.DOM_HUB_URL ?? `http://127.0.0.1:${process.env.DOM_PORT ?? 8080}`,
          f.values['planner-token'] ?? process.env.DOM_PLANNER_TOKEN,
          f.bools.has('json'),
        );
        break;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        break;
      default:
        console.error(`unknown command "${cmd}"\n\n${USAGE}`);
        process.exitCode = 2;
    }
  } catch (err) {
    if (err instanceof DomError) {
      console.error(`dom ${cmd}: ${err.message}`);
      process.exit(2);
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`dom ${cmd}: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
}
