/**
 * `dom demo` (= `npm start`): an embedded hub, one DC and a dozen stores at real US locations, a
 * seeded catalogue and inventory, then live traffic: web, mobile, store and pickup orders with
 * priorities and substitutes, simulated associates working the DOs (some short picks), walk-in
 * sales, and one store cut off from the hub and reconnected. A progress line while it runs, then a
 * summary, and the URLs, left running until Ctrl-C (`--quick`: a short run that then stops).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zipcodes from 'zipcodes';
import hdr from 'hdr-histogram-js';
import { startHub, type Hub } from '../hub/index.js';
import { startNode, type DomNode } from '../node/index.js';
import { createLogger } from '../shared/log.js';
import { distanceKm } from '../shared/geo.js';

export interface DemoOptions {
  quick?: boolean;
  port?: string;
  dataDir?: string;
  seconds?: number;
  /** Called with the live hub and the summary before a quick run stops (tests check the figures). */
  inspect?: (hub: Hub, summary: DemoSummary, orderIds: string[]) => Promise<void>;
}

export interface DemoSummary {
  orders: number;
  byStatus: Record<string, number>;
  unitsOrdered: number;
  unitsAllocated: number;
  fillRate: number;
  splitOrders: number;
  averageDistanceKm: number;
  resourcedShortPicks: number;
  shortPicks: number;
  walkInSales: number;
  linkCuts: number;
  replenishmentTransfers: number;
  syncDownMs: { p50: number; p99: number; max: number; count: number };
  syncUpMs: { p50: number; p99: number; max: number; count: number };
}

const DC = { id: 'DC-ATL', zip: '30336', name: 'Atlanta DC' };
const STORES = [
  ['ST-ATL', '30303'],
  ['ST-DEC', '30030'],
  ['ST-MAR', '30060'],
  ['ST-ATH', '30601'],
  ['ST-MAC', '31201'],
  ['ST-CHA', '37402'],
  ['ST-BHM', '35203'],
  ['ST-GVL', '29601'],
  ['ST-CLT', '28202'],
  ['ST-NSH', '37203'],
  ['ST-SAV', '31401'],
  ['ST-JAX', '32202'],
] as const;
const COLOURS = ['black', 'white', 'navy', 'red'];
const PRODUCTS = ['Crew tee', 'Hoodie', 'Chino', 'Rain jacket', 'Beanie', 'Sneaker', 'Backpack', 'Water bottle'];

/** A deterministic PRNG (mulberry32) so a demo run can be replayed. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function where(zip: string) {
  const z = zipcodes.lookup(zip);
  if (!z) throw new Error(`unknown ZIP ${zip}`);
  return { lat: z.latitude, lon: z.longitude, name: `${z.city}, ${z.state}` };
}

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const quick = !!opts.quick;
  const seconds = opts.seconds ?? (quick ? 12 : 45);
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'dom-demo-'));
  const plannerToken = process.env.DOM_PLANNER_TOKEN ?? 'demo-planner-token';
  const associateToken = process.env.DOM_ASSOCIATE_TOKEN ?? 'demo-associate';
  const log = createLogger('demo', process.env.DOM_LOG_LEVEL ?? 'warn');
  const random = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const print = (s: string) => process.stdout.write(`${s}\n`);

  const hub: Hub = await startHub(
    { port: Number(opts.port ?? process.env.DOM_PORT ?? (quick ? 0 : 8080)), dataDir: join(dir, 'hub'), plannerToken, batchWindowMs: 250, sweepMs: 2000 },
    log,
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${hub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${plannerToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json().catch(() => null);
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };

  // facilities, catalogue, inventory
  const facilities = [
    { id: DC.id, type: 'dc', ...where(DC.zip), name: DC.name, capacity: 5000, shipFromStore: true, pickup: false },
    ...STORES.map(([id, zip]) => ({
      id,
      type: 'store',
      ...where(zip),
      name: `Store ${where(zip).name}`,
      capacity: 400,
      shipFromStore: true,
      pickup: true,
      servingDc: DC.id,
    })),
  ];
  const tokens: Record<string, string> = {};
  for (const f of facilities) tokens[f.id] = (await call('POST', '/api/v1/facilities', f)).token;
  const items = PRODUCTS.flatMap((p, i) =>
    COLOURS.map((c, j) => ({
      sku: `SKU-${i}${j}`,
      name: `${p}, ${c}`,
      barcode: `400${i}${j}000${i}${j}`,
      substitutes: COLOURS.filter((x) => x !== c)
        .slice(0, 2)
        .map((x) => `SKU-${i}${COLOURS.indexOf(x)}`),
    })),
  );
  await call('POST', '/api/v1/items', items);
  for (const f of facilities) {
    const positions = items.map((it) => ({
      sku: it.sku,
      onHand: f.type === 'dc' ? 150 + Math.floor(random() * 100) : Math.floor(random() * 12),
      safetyStock: f.type === 'dc' ? 10 : 1,
    }));
    await call('POST', '/api/v1/inventory', { facility: f.id, positions });
  }

  // model stock for the stores' best sellers, so the replenishment run has something to do
  await call(
    'PUT',
    '/api/v1/model-stock',
    stores0(facilities).flatMap((f) => items.slice(0, 8).map((it) => ({ facility: f.id, sku: it.sku, min: 4, max: 12 }))),
  );
  const nodes: DomNode[] = [];
  for (const f of facilities)
    nodes.push(
      await startNode(
        {
          id: f.id,
          hubUrl: hub.url,
          token: tokens[f.id]!,
          port: 0,
          dataDir: join(dir, `node-${f.id}`),
          associateToken,
          initialBackoffMs: 250,
          maxBackoffMs: 4000,
        },
        log,
      ),
    );

  // sync latency both ways, from the documents' own timestamps (one process, one clock)
  const down = hdr.build();
  const up = hdr.build();
  for (const n of nodes) {
    const feed = n.db.changes({ since: 'now', live: true, include_docs: true, return_docs: false });
    feed.on('change', (ch: { id: string; doc?: { createdAt?: string } }) => {
      if (ch.id.startsWith('do:') && ch.doc?.createdAt) down.recordValue(Math.max(0, Date.now() - Date.parse(ch.doc.createdAt)));
    });
    stopFeeds.push(() => feed.cancel());
  }
  const sub = hub.ctx.events.events$.subscribe((e) => {
    if (e.type === 'do' && typeof e.data.eventAt === 'string') up.recordValue(Math.max(0, Date.now() - Date.parse(e.data.eventAt)));
  });

  // traffic
  const counters = { orders: 0, shortPicks: 0, sales: 0, cuts: 0, steps: 0, replenishmentTransfers: -1 };
  const orderIds: string[] = [];
  const stores = facilities.filter((f) => f.type === 'store');
  const started = Date.now();
  const until = started + seconds * 1000;
  const cut = nodes[3]!;
  let cutState: 'before' | 'cut' | 'after' = 'before';
  const placeOrder = async () => {
    const near = pick(stores);
    const pickup = random() < 0.2;
    const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
      line: i + 1,
      sku: items[Math.floor(random() ** 2 * items.length)]!.sku,
      qty: 1 + Math.floor(random() * 2),
      allowSubstitutes: random() < 0.5,
    }));
    const uniq = lines.filter((l, i) => lines.findIndex((x) => x.sku === l.sku) === i).map((l, i) => ({ ...l, line: i + 1 }));
    const id = `D${String(++counters.orders).padStart(5, '0')}`;
    orderIds.push(id);
    await call('POST', '/api/v1/orders', {
      id,
      channel: pickup ? 'store' : pick(['web', 'web', 'mobile', 'call_centre']),
      priority: random() < 0.15 ? 1 : 5,
      delivery: pickup ? 'pickup' : 'ship',
      ...(pickup
        ? { pickupFacility: near.id, customerName: `Customer ${id}` }
        : { shipTo: { lat: near.lat + (random() - 0.5), lon: near.lon + (random() - 0.5) } }),
      lines: uniq,
    });
  };
  const work = async (n: DomNode) => {
    for (const t of n.store.tasks().slice(0, 3)) {
      const step = t.allowed.find((s) => s !== 'reject');
      if (!step) continue;
      const body =
        step === 'pick'
          ? {
              lines: t.lines.map((l) =>
                random() < 0.05 ? (counters.shortPicks++, { line: l.line, qty: l.qty - 1, reason: 'damaged' }) : { line: l.line, qty: l.qty },
              ),
            }
          : step === 'ship'
            ? { carrier: 'UPS', tracking: `1Z${Math.floor(random() * 1e9)}` }
            : step === 'pickedup'
              ? { customerName: t.customerName ?? 'Customer' }
              : {};
      await n.store.step(t.doId, step, body).then(
        () => counters.steps++,
        () => undefined,
      );
    }
  };
  const ticker = setInterval(() => {
    const s = hub.allocator.stats;
    const link = cutState === 'cut' ? `${cut.config.id} OFFLINE` : 'all nodes linked';
    const line =
      `  ${Math.round((Date.now() - started) / 1000)}s  orders ${counters.orders}  allocated ${s.ordersAllocated}  DOs ${s.dosCreated}  ` +
      `steps ${counters.steps}  short ${counters.shortPicks}  sales ${counters.sales}  ${link}   `;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
  }, 500);
  print(`DOM demo: hub ${hub.url}, ${facilities.length} facilities, ${items.length} SKUs, traffic for ${seconds}s`);
  while (Date.now() < until) {
    const elapsed = (Date.now() - started) / (until - started);
    if (cutState === 'before' && elapsed > 0.3) {
      cut.sync.pause();
      cutState = 'cut';
      counters.cuts++;
    } else if (cutState === 'cut' && elapsed > 0.55) {
      cut.sync.resume();
      cutState = 'after';
    }
    if (counters.replenishmentTransfers < 0 && elapsed > 0.7)
      counters.replenishmentTransfers = ((await call('POST', '/api/v1/replenishment/run', {})) as { transfers: unknown[] }).transfers.length;
    if (elapsed < 0.8) await Promise.all([placeOrder(), placeOrder()]).catch((err) => log.warn({ err }, 'order refused'));
    if (random() < 0.3) {
      const n = pick(nodes.slice(1));
      const inv = n.store.positions().filter((p) => p.available > 0);
      if (inv.length) await n.store.sale(pick(inv).sku, 1).then(() => counters.sales++);
    }
    await Promise.all(nodes.map(work));
    await new Promise((r) => setTimeout(r, 100));
  }
  if (cutState === 'cut') cut.sync.resume();
  // let the last work sync up
  const settleUntil = Date.now() + 8000;
  while (Date.now() < settleUntil && nodes.some((n) => !n.sync.snapshot().online || n.sync.snapshot().pending > 0))
    await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1500));
  clearInterval(ticker);
  if (process.stdout.isTTY) process.stdout.write('\n');

  const summary = await summarise(hub, orderIds, facilities, counters, down, up);
  print('');
  print('Summary');
  print(
    `  orders            ${summary.orders}  ${Object.entries(summary.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  print(`  fill rate         ${(summary.fillRate * 100).toFixed(1)}% of ${summary.unitsOrdered} units`);
  print(`  split orders      ${summary.splitOrders}`);
  print(`  average distance  ${summary.averageDistanceKm.toFixed(1)} km from facility to customer`);
  print(`  short picks       ${summary.shortPicks}, re-sourced ${summary.resourcedShortPicks}`);
  print(`  walk-in sales     ${summary.walkInSales}; link cuts ${summary.linkCuts}; replenishment transfer lines ${summary.replenishmentTransfers}`);
  print(
    `  sync latency      hub→node p50 ${summary.syncDownMs.p50} ms, p99 ${summary.syncDownMs.p99} ms; node→hub p50 ${summary.syncUpMs.p50} ms, p99 ${summary.syncUpMs.p99} ms`,
  );
  print(`SUMMARY ${JSON.stringify(summary)}`);
  print('');
  print('Open in a browser:');
  print(`  planner dashboard  ${hub.url}/   (sign in with the planner token: ${plannerToken})`);
  print(`  API docs           ${hub.url}/docs   (try calls there with the same token; the OpenAPI document is ${hub.url}/openapi.json)`);
  print(`  associate pages    (sign in with the associate token: ${associateToken})`);
  for (const n of nodes) print(`    ${n.config.id.padEnd(8)} ${n.url}/`);
  print(`From a shell: curl -H 'authorization: Bearer ${plannerToken}' ${hub.url}/api/v1/nodes   (sync health of every node)`);

  const stopAll = async () => {
    sub.unsubscribe();
    for (const s of stopFeeds) s();
    for (const n of nodes) await n.stop();
    await hub.stop();
    if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
  };
  if (quick) {
    try {
      await opts.inspect?.(hub, summary, orderIds);
    } finally {
      await stopAll();
    }
  } else {
    print('\nRunning until Ctrl-C.');
    await new Promise<void>((resolve) => {
      const done = () => void stopAll().then(resolve);
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  }
  return summary;
}

const stopFeeds: (() => void)[] = [];
const stores0 = <F extends { type: string }>(fs: F[]) => fs.filter((f) => f.type === 'store');

async function summarise(
  hub: Hub,
  orderIds: string[],
  facilities: { id: string; lat: number; lon: number }[],
  counters: { shortPicks: number; sales: number; cuts: number; replenishmentTransfers: number },
  down: hdr.Histogram,
  up: hdr.Histogram,
): Promise<DemoSummary> {
  const byStatus: Record<string, number> = {};
  let unitsOrdered = 0;
  let unitsAllocated = 0;
  let splitOrders = 0;
  let km = 0;
  let kmUnits = 0;
  const fac = new Map(facilities.map((f) => [f.id, f]));
  for (const id of orderIds) {
    const v = await hub.ctx.orders.view(id);
    if (!v) continue;
    byStatus[v.order.status] = (byStatus[v.order.status] ?? 0) + 1;
    const live = new Set<string>();
    for (const l of v.lines) {
      unitsOrdered += l.qty;
      unitsAllocated += l.delivered + l.open;
      for (const a of l.allocations) if (!['rejected', 'cancelled'].includes(a.doStatus) && a.kind !== 'transfer') live.add(a.facility);
    }
    if (live.size > 1) splitOrders++;
    const to = v.order.delivery === 'pickup' ? fac.get(v.order.pickupFacility!)! : v.order.shipTo!;
    for (const l of v.lines)
      for (const a of l.allocations) {
        if (['rejected', 'cancelled'].includes(a.doStatus)) continue;
        km += distanceKm(fac.get(a.facility)!, to) * a.qty;
        kmUnits += a.qty;
      }
  }
  const pct = (h: hdr.Histogram) => ({ p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue, count: h.totalCount });
  return {
    orders: orderIds.length,
    byStatus,
    unitsOrdered,
    unitsAllocated,
    fillRate: unitsOrdered ? unitsAllocated / unitsOrdered : 0,
    splitOrders,
    averageDistanceKm: kmUnits ? km / kmUnits : 0,
    resourcedShortPicks: hub.allocator.stats.resourced,
    shortPicks: counters.shortPicks,
    walkInSales: counters.sales,
    linkCuts: counters.cuts,
    replenishmentTransfers: Math.max(0, counters.replenishmentTransfers),
    syncDownMs: pct(down),
    syncUpMs: pct(up),
  };
}
