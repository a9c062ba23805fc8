/** Hub settings: every flag has an environment variable, and bad values stop the start with a clear message. */
import { z } from 'zod';
import { StrategyConfig } from '../shared/bodies/simulations.js';

export { StrategyConfig };

/** Sourcing per channel (web, mobile, store, call_centre) or delivery (ship, pickup), and `default`. */
const Sourcing = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v; // reported by the record check below
    }
  },
  z.record(z.string(), StrategyConfig),
);

export const HubConfig = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().default('127.0.0.1'),
  dataDir: z.string().min(1).default('./data/hub'),
  couchUrl: z.string().url().optional(),
  /** Prefix of every database name, so that several deployments (or test runs) can share one CouchDB. */
  dbPrefix: z
    .string()
    .regex(/^[a-z][a-z0-9_$()+/-]*$/, 'DOM_DB_PREFIX must start with a lowercase letter and hold only a-z, 0-9 and _$()+-/ (CouchDB database names)')
    .max(100)
    .optional(),
  plannerToken: z.string().min(8, 'DOM_PLANNER_TOKEN must be at least 8 characters'),
  /** Sweep interval of the node-database followers (ms). */
  sweepMs: z.coerce.number().int().min(0).default(5_000),
  maxSyncConnections: z.coerce.number().int().positive().default(5_000),
  /** Orders arriving within this window are allocated together (batch optimisation). */
  batchWindowMs: z.coerce.number().int().min(0).max(60_000).default(200),
  batchSize: z.coerce.number().int().positive().max(10_000).default(500),
  /** This instance's name, unique among the hubs sharing one CouchDB (default: host and port). */
  instance: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  /** Seconds before an allocator lease whose holder stopped renewing may be taken over. */
  leaseTtlMs: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  /** e.g. {"default":{"perShipment":6},"store":{"maxCandidates":8},"pickup":{"maxDistanceKm":80}} */
  sourcing: Sourcing.default({}),
});
export type HubConfig = z.infer<typeof HubConfig>;
export type HubConfigInput = z.input<typeof HubConfig>;

export function hubConfigFromEnv(flags: Record<string, string | undefined>, env = process.env): HubConfigInput {
  const pick = (flag: string, envName: string) => flags[flag] ?? env[envName];
  return {
    port: pick('port', 'DOM_PORT') as unknown as number,
    host: pick('host', 'DOM_HOST'),
    dataDir: pick('data', 'DOM_DATA'),
    couchUrl: pick('couch-url', 'COUCH_URL') || undefined,
    dbPrefix: pick('db-prefix', 'DOM_DB_PREFIX') || undefined,
    plannerToken: pick('planner-token', 'DOM_PLANNER_TOKEN') as string,
    sweepMs: pick('sweep-ms', 'DOM_SWEEP_MS') as unknown as number,
    maxSyncConnections: pick('max-sync-connections', 'DOM_MAX_SYNC_CONNECTIONS') as unknown as number,
    batchWindowMs: pick('batch-window-ms', 'DOM_BATCH_WINDOW_MS') as unknown as number,
    batchSize: pick('batch-size', 'DOM_BATCH_SIZE') as unknown as number,
    instance: pick('instance', 'DOM_INSTANCE'),
    leaseTtlMs: pick('lease-ttl-ms', 'DOM_LEASE_TTL_MS') as unknown as number,
    sourcing: pick('sourcing', 'DOM_SOURCING') as never,
  } as HubConfigInput;
}
