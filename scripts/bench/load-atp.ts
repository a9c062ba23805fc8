/**
 * The load generator of `dom bench e2e`'s availability phase, run as a process of its own so that
 * it does not share the hub's event loop: autocannon against `GET /api/v1/atp` with a random SKU
 * and customer location per request (or any fixed path, for the baseline), or posting orders for
 * the throughput phase. Prints one JSON line.
 *
 *   node --import tsx scripts/bench/load-atp.ts '{"url":"http://127.0.0.1:8080","token":"…",
 *     "skus":["A","B"],"box":[30,47,-122,-75],"connections":16,"duration":10}'
 */
import { createRequire } from 'node:module';

export interface LoadConfig {
  url: string;
  token: string;
  /** SKUs to ask for, at random; absent: `path` is requested as is. */
  skus?: string[];
  /** [minLat, maxLat, minLon, maxLon] of the customer locations. */
  box?: [number, number, number, number];
  path?: string;
  /**
   * Post orders instead: `amount` orders of 1–3 lines of these SKUs (the first ones more often),
   * ids `<prefix><n>`, shipped to a random customer in `box`. Ends when all are answered.
   */
  orders?: { skus: string[]; prefix: string; amount: number; /** orders per request, through POST /api/v1/orders/bulk */ bulk?: number };
  /** Cart checks instead: POST /api/v1/atp with `lines` distinct SKUs of `skus`, shipped to a random customer in `box`. */
  cart?: { lines: number };
  connections: number;
  /** requests per second over all connections (autocannon's overallRate); default as fast as answered */
  rate?: number;
  /** seconds (ignored for orders) */
  duration: number;
}

export interface LoadResult {
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AutocannonResult) => void) => unknown;

// autocannon ships no types; it is a CommonJS module
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export function runLoad(cfg: LoadConfig): Promise<LoadResult> {
  const [la, lb, oa, ob] = cfg.box ?? [30, 47, -122, -75];
  const skus = cfg.skus ?? [];
  const request: AutocannonRequest = {
    method: 'GET',
    path: cfg.path ?? '/',
    setupRequest: (req) => {
      if (!skus.length) return req;
      const sku = skus[Math.floor(Math.random() * skus.length)]!;
      const lat = (la + Math.random() * (lb - la)).toFixed(3);
      const lon = (oa + Math.random() * (ob - oa)).toFixed(3);
      return { ...req, path: `/api/v1/atp?sku=${encodeURIComponent(sku)}&qty=1&lat=${lat}&lon=${lon}` };
    },
  };
  const cartLines = cfg.cart?.lines ?? 0;
  const cart: AutocannonRequest = {
    method: 'POST',
    path: '/api/v1/atp',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => {
      const pool = [...skus];
      const lines: { sku: string; qty: number }[] = [];
      while (lines.length < cartLines && pool.length)
        lines.push({ sku: pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!, qty: 1 + Math.floor(Math.random() * 2) });
      return {
        ...req,
        body: JSON.stringify({ lines, shipTo: { lat: la + Math.random() * (lb - la), lon: oa + Math.random() * (ob - oa) } }),
      } as AutocannonRequest;
    },
  };
  const orders = cfg.orders;
  let n = 0;
  const one = () => {
    const o = orders!;
    const lines: { line: number; sku: string; qty: number }[] = [];
    const k = 1 + Math.floor(Math.random() * 3);
    while (lines.length < k) {
      const sku = o.skus[Math.floor(Math.random() ** 2 * o.skus.length)]!;
      if (!lines.some((l) => l.sku === sku)) lines.push({ line: lines.length + 1, sku, qty: 1 + Math.floor(Math.random() * 2) });
    }
    return {
      id: `${o.prefix}${n++}`,
      channel: 'web',
      priority: Math.random() < 0.1 ? 1 : 5,
      delivery: 'ship',
      shipTo: { lat: la + Math.random() * (lb - la), lon: oa + Math.random() * (ob - oa) },
      lines,
    };
  };
  const bulk = orders?.bulk ?? 0;
  const post: AutocannonRequest = {
    method: 'POST',
    path: bulk ? '/api/v1/orders/bulk' : '/api/v1/orders',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => ({ ...req, body: JSON.stringify(bulk ? { orders: Array.from({ length: bulk }, one) } : one()) }) as AutocannonRequest,
  };
  return new Promise((ok, fail) => {
    autocannon(
      {
        url: cfg.url,
        connections: cfg.connections,
        ...(cfg.rate ? { overallRate: cfg.rate } : {}),
        ...(orders ? { amount: bulk ? Math.ceil(orders.amount / bulk) : orders.amount } : { duration: cfg.duration }),
        headers: { authorization: `Bearer ${cfg.token}` },
        requests: [orders ? post : cartLines ? cart : request],
      },
      (err, r) => {
        if (err) return fail(err);
        ok({
          requests: r.requests.total,
          requestsPerSec: r.requests.average,
          latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
          errors: r.errors,
          timeouts: r.timeouts,
          non2xx: r.non2xx,
        });
      },
    );
  });
}

// run as a process: the configuration is the first argument, the result the one line printed
if (process.argv[1] && /load-atp\.[cm]?[tj]s$/.test(process.argv[1]) && process.argv[2]) {
  runLoad(JSON.parse(process.argv[2]) as LoadConfig).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`load-atp: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
