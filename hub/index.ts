/**
 * startHub(): the hub process. CouchDB (embedded or COUCH_URL), the node registry, the sync
 * gateway, the monitor following every node database, and the planner API, on one port.
 * stop() is idempotent and closes everything in reverse order.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { openCouch } from './couch/index.js';
import { HubConfig, type HubConfigInput } from './config.js';
import { NodeRegistry } from './registry.js';
import { NodeStats } from './gateway/stats.js';
import { createGateway } from './gateway/index.js';
import { serverKind } from './gateway/pull.js';
import { SyncEpoch, type SyncEpochDoc } from './gateway/epoch.js';
import { Monitor } from './monitor/index.js';
import { DbUpdates } from './monitor/dbupdates.js';
import { FacilityStore } from './facilities.js';
import { createHubApp } from './app.js';
import type { HubContext } from './context.js';
import { Reservations, type ReservationDoc } from './inventory/reservations.js';
import { FacilityGrid } from './inventory/atp.js';
import { AvailabilityIndex } from './inventory/index.js';
import { ItemStore } from './items.js';
import { OrderStore, type OrderViews } from './orders/store.js';
import { BulkWriter } from './couch/bulk.js';
import { EventBus } from './events.js';
import { PlanningStore, type ForecastDoc, type ModelStockDoc, type SupplyDoc } from './planning/store.js';
import { Lease } from './lease.js';
import { costStrategy } from './allocator/strategy.js';
import { DEFAULT_COSTS } from '../shared/instance.js';
import { DomFeed } from './domfeed.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { DoStateDoc } from '../shared/dostate.js';
import type { FacilityDoc, ItemDoc, CountDoc, NodeRegistryDoc } from '../shared/schemas.js';
import type { OrderDoc } from './orders/model.js';
import { Allocator, type AllocatorOptions } from './allocator/service.js';
import { createLogger, type Logger } from '../shared/log.js';
import { parseWith } from '../shared/http.js';
import { finishTransfers } from './planning/run.js';
import { HubSeries } from './timeseries.js';
import { syncHealth } from './api/series.js';
import { pagedPrefix } from './inventory/index.js';
import { LiveSourcing } from './simulate/live.js';
import { SimulationRuns } from './simulate/runs.js';
import type { SourcingSettings } from './simulate/scenario.js';

export interface Hub {
  url: string;
  port: number;
  ctx: HubContext;
  allocator: Allocator;
  lease: Lease;
  stop(): Promise<void>;
}

/** The allocator's strategies, one per sourcing setting (--sourcing). */
function sourcingStrategies(config: HubConfig) {
  return Object.fromEntries(
    Object.entries(config.sourcing).map(([key, s]) => [
      key,
      costStrategy(
        {
          ...DEFAULT_COSTS,
          ...(s.perShipment === undefined ? {} : { perShipment: s.perShipment }),
          ...(s.perKm === undefined ? {} : { perKm: s.perKm }),
          ...(s.perUnit ? { perUnit: s.perUnit } : {}),
        },
        { name: key, maxCandidates: s.maxCandidates, maxDistanceKm: s.maxDistanceKm },
      ),
    ]),
  );
}

export async function startHub(input: HubConfigInput, log: Logger = createLogger('hub'), allocatorOptions: AllocatorOptions = {}): Promise<Hub> {
  const config = parseWith(HubConfig, input, 'invalid_config');
  config.dataDir = resolve(config.dataDir);
  const couch = await openCouch({ couchUrl: config.couchUrl, dataDir: config.dataDir, dbPrefix: config.dbPrefix });
  await couch.ensureDb('dom');
  const dom = couch.db('dom');
  const instance = config.instance ?? `${hostname()}-${config.port}`;

  // ---- what the hub keeps: registry, facilities, catalogue, stock, planning, events
  const registry = new NodeRegistry(dom as never);
  const stats = new NodeStats(dom as never, log);
  const facilities = new FacilityStore(dom as never);
  const index = new AvailabilityIndex();
  const items = new ItemStore(dom as never);
  const events = new EventBus();
  const planning = new PlanningStore();
  const reservations = new Reservations(dom as never, index, log);
  const grid = new FacilityGrid(() => facilities.snapshot());

  // ---- the event path: a node's upload → the monitor (its DO states) → the order roll-up → re-sourcing.
  // The monitor's DO states and the orders they move are written through one group commit.
  const writes = new BulkWriter(dom as never);
  // an inbound whose every line is received leaves the planning store's memory; `dom` records when
  // (a conflict: another instance stored it first, or changed it: read and stored again). If this
  // write is lost, the next start closes the inbound again from its receipts.
  planning.onClosed = (closed) =>
    void (async () => {
      let doc: SupplyDoc = closed;
      for (let attempt = 0; attempt < 3; attempt++) {
        const [r] = await writes.write([doc]);
        if (!r || r.rev) return;
        if (r.error !== 'conflict') throw new Error(`${r.error} ${r.reason ?? ''}`);
        const stored = await couch.db<SupplyDoc>('dom').get(closed._id);
        if (stored.closedAt) return;
        doc = { ...stored, closedAt: closed.closedAt };
      }
    })().catch((err: unknown) => log.warn({ err, inbound: closed.id }, 'storing when an inbound closed failed; the next start closes it again'));
  // how the monitor hears of node databases changed by others: none on this process's own embedded
  // server (every node writes through this gateway), CouchDB's /_db_updates, else a sweep
  const dbUpdates = couch.embedded ? null : new DbUpdates(couch, log, (db) => monitor.markChanged(db));
  const watching = (await dbUpdates?.start().catch(() => false)) ?? false;
  const monitor: Monitor = new Monitor({
    couch,
    log,
    sweepMs: config.sweepMs,
    instance,
    catchUp: couch.embedded || watching ? 'marked' : 'sweep',
    // Apache CouchDB filters _changes by a selector (`dom couch`, with its /_db_updates, does not)
    filterChanges: watching && (await serverKind(couch)) === 'couchdb',
    writer: writes,
  });
  const orders = new OrderStore(dom as never, monitor, (o) => events.emit('order', { id: o.id, status: o.status, channel: o.channel }), writes);
  const ctx: HubContext = { config, couch, registry, stats, monitor, facilities, index, reservations, grid, items, orders, events, planning, log };

  // ---- the allocator (active on the lease holder), its sourcing
  const allocator = new Allocator(ctx, {
    windowMs: config.batchWindowMs,
    maxBatch: config.batchSize,
    strategies: sourcingStrategies(config),
    ...allocatorOptions,
  });
  await allocator.setActive(false);
  // the sourcing a planner applied from a simulation stands over --sourcing (hub/simulate/live.ts)
  const live = new LiveSourcing(ctx, allocator, config.sourcing as SourcingSettings);
  await live.load();
  const simulations = new SimulationRuns(ctx, live);
  // Several hub instances may share one CouchDB: one allocates (the lease holder), all serve.
  const lease = new Lease(
    dom as never,
    'allocator',
    `${instance}/${randomUUID().slice(0, 8)}`,
    log,
    config.leaseTtlMs,
    Math.max(500, Math.floor(config.leaseTtlMs / 4)),
  );

  // the dashboard's charts: one point a minute for 24 h (hub/timeseries.ts)
  const series = new HubSeries({
    allocator: () => allocator.stats,
    backordersOpen: () => planning.promises().size,
    nodes: async () => {
      const h = [...(await syncHealth(ctx)).values()];
      return { online: h.filter((x) => x.health === 'online').length, total: h.length };
    },
  });

  /**
   * Every DO state that moved, whoever moved it (this monitor, another instance's through the `dom`
   * feed, a DO just created): the index, the charts and the event feed hear of it, and the orders'
   * roll-up (`views`) goes to the allocator, which re-sources what a facility did not deliver.
   */
  const doStatesMoved = (states: DoStateDoc[], views: OrderViews) => {
    series.doStates(states);
    for (const s of states) {
      index.applyDoState(s);
      events.emit('do', { doId: s.doId, orderId: s.orderId, facility: s.facility, state: s.state, eventAt: s.history.at(-1)?.at });
    }
    allocator.doStatesChanged(states, views);
  };
  const rollUp = (states: DoStateDoc[]) => orders.rollUp(states.map((s) => s.orderId));
  monitor.setHooks({
    rollUp,
    onDoStates: doStatesMoved,
    onInventory: (facility, positions) => index.applyNodePositions(facility, positions),
    onReceipts: (_facility, receipts) => planning.applyReceipts(receipts),
    onCreated: (states) => series.doStates(states),
  });
  index.onMoreAvailable((_facility, skus) => allocator.moreAvailable(skus));

  // ---- the `dom` feed: what other instances wrote (what this one wrote itself is not read back)
  const feed = new DomFeed(couch, log);
  registry.trustWhile(() => feed.live);
  // DO states another instance moved (or created): kept in memory, their orders rolled up here too
  // (also when this instance had read the state already: its roll-ups before may have used an older one)
  feed.on(
    'dostate:',
    async (docs) => {
      const states = docs as unknown as DoStateDoc[];
      const newer = monitor.rememberStates(states);
      const views = await rollUp(states);
      if (newer.length) doStatesMoved(newer, views);
    },
    (id, rev) => !monitor.wrote(id.slice('dostate:'.length), rev),
  );
  // orders: a copy another instance changed is dropped from the roll-up's; new orders accepted by
  // another instance go to the allocator (the lease holder's own are queued as they come in)
  feed.on(
    'order:',
    (docs) => {
      for (const o of docs as unknown as OrderDoc[]) if (o.status === 'received' && !o.hold && !o.cancelRequested) allocator.submitFromFeed(o.id);
    },
    (id, rev) => !orders.seen(id.slice('order:'.length), rev) && allocator.isActive && !allocator.queuedHere(id.slice('order:'.length)),
  );
  feed.on('item:', (docs) => docs.forEach((d) => items.set(d as unknown as ItemDoc)));
  feed.on('facility:', (docs) => {
    docs.forEach((d) => facilities.upsert(d as unknown as FacilityDoc));
    // enabled again, more capacity, a new facility: the backorders may be filled now
    allocator.facilitiesChanged();
  });
  feed.on('node:', (docs) => docs.forEach((d) => monitor.follow((d as { id: string }).id)));
  feed.on('node:', (docs) => docs.forEach((d) => registry.apply(d as unknown as NodeRegistryDoc)));
  const epoch = new SyncEpoch(dom as never);
  feed.on('sync:', (docs) => docs.forEach((d) => epoch.apply(d as Partial<SyncEpochDoc>)));
  await epoch.load();
  feed.on('count:', (docs) => docs.forEach((d) => index.applyCount(d as unknown as CountDoc)));
  feed.on('po:', (docs) => docs.forEach((d) => planning.addSupply(d as unknown as SupplyDoc)));
  feed.on('asn:', (docs) => docs.forEach((d) => planning.addSupply(d as unknown as SupplyDoc)));
  feed.on('modelstock:', (docs) => docs.forEach((d) => planning.setModelStock(d as unknown as ModelStockDoc)));
  feed.on('forecast:', (docs) => docs.forEach((d) => planning.setForecast(d as unknown as ForecastDoc)));
  feed.on('reservation:', (docs) => docs.forEach((d) => reservations.apply(d as unknown as ReservationDoc)));
  feed.on('sourcing:', (docs) => docs.forEach((d) => live.adopt(d as never)));
  const seriesSub = events.events$.subscribe((e) => {
    if (e.type === 'order' && e.data.created === true) series.orderReceived();
    else if (e.type === 'allocation' && typeof e.data.orders === 'number') series.batch(e.data.orders);
    else if (e.type === 'do' && typeof e.data.eventAt === 'string') series.statusApplied(e.data.eventAt);
  });

  // ---- HTTP: the sync gateway (uploads applied by the monitor at once) and the API
  const gateway = createGateway({
    couch,
    registry,
    stats,
    log,
    maxConnections: config.maxSyncConnections,
    onUpload: (nodeId, docs) => void monitor.applyUploaded(nodeId, docs),
    epoch: () => epoch.value,
  });
  let ready = false;
  const app = createHubApp(ctx, gateway, allocator, () => ready, series, { runs: simulations, live });

  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => ok(s));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;

  // ---- start: catch up with everything the nodes wrote while the hub was down, then follow
  await facilities.refresh();
  await items.load();
  const nodes = await registry.list();
  const { allocs } = await index.rebuild(couch, nodes);
  await reservations.rebuild(allocs);
  await planning.load(
    couch,
    nodes.map((n) => n.db),
  );
  // a replenishment run that died half-way: issue the transfers it had decided
  await finishTransfers(ctx, planning).catch((err) => log.error({ err }, 'finishing pending replenishment transfers failed'));
  for (const n of nodes) monitor.follow(n.id);
  await feed.start();
  series.start();
  void series.scan(() => pagedPrefix(couch.db<DoStateDoc>('dom'), 'dostate:')).catch((err) => log.warn({ err }, 'series: reading the DO states failed'));
  const leaseSub = lease.held$.subscribe((held) => void allocator.setActive(held).catch((err) => log.error({ err }, 'allocator (de)activation failed')));
  await lease.start();
  const recovered = { leader: lease.isHeld };
  void monitor.pokeAll().then(() => {
    ready = true;
  });
  log.info({ url, couch: couch.url, embedded: couch.embedded, nodes: monitor.followerCount, ...recovered }, 'hub started');

  // ---- stop: everything in reverse order
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    ctx,
    allocator,
    lease,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((ok) => {
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => ok());
        });
        leaseSub.unsubscribe();
        series.stop();
        seriesSub.unsubscribe();
        await lease.stop();
        await feed.stop();
        await simulations.stop();
        await allocator.stop();
        reservations.stop();
        await dbUpdates?.stop();
        await monitor.stop();
        events.close();
        await stats.stop().catch(() => undefined);
        await couch.stop();
        log.info('hub stopped');
      })();
      return stopping;
    },
  };
}
