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
import { Monitor } from './monitor/index.js';
import { FacilityStore } from './facilities.js';
import { createHubApp } from './app.js';
import type { HubContext } from './context.js';
import { AvailabilityIndex } from './inventory/index.js';
import { ItemStore } from './items.js';
import { OrderStore } from './orders/store.js';
import { EventBus } from './events.js';
import { PlanningStore } from './planning/store.js';
import { Allocator, type AllocatorOptions } from './allocator/service.js';
import { createLogger, type Logger } from '../shared/log.js';
import { parseWith } from '../shared/http.js';

export interface Hub {
  url: string;
  port: number;
  ctx: HubContext;
  allocator: Allocator;
  stop(): Promise<void>;
}

export async function startHub(input: HubConfigInput, log: Logger = createLogger('hub'), allocatorOptions: AllocatorOptions = {}): Promise<Hub> {
  const config = parseWith(HubConfig, input, 'invalid_config');
  config.dataDir = resolve(config.dataDir);
  const couch = await openCouch({ couchUrl: config.couchUrl, dataDir: config.dataDir });
  await couch.ensureDb('dom');

  const dom = couch.db('dom');
  const registry = new NodeRegistry(dom as never);
  const stats = new NodeStats(dom as never, log);
  const monitor = new Monitor({ couch, log, sweepMs: config.sweepMs });
  const facilities = new FacilityStore(dom as never);
  const index = new AvailabilityIndex();
  const items = new ItemStore(dom as never);
  const orders = new OrderStore(dom as never, dom as never);
  const events = new EventBus();
  const planning = new PlanningStore();
  const ctx: HubContext = { config, couch, registry, stats, monitor, facilities, index, items, orders, events, planning, log };
  const allocator = new Allocator(ctx, { windowMs: config.batchWindowMs, maxBatch: config.batchSize, ...allocatorOptions });
  monitor.setHooks({
    onInventory: (facility, positions) => index.applyNodePositions(facility, positions),
    onReceipts: (_facility, receipts) => planning.applyReceipts(receipts),
    onDoStates: async (states) => {
      for (const s of states) {
        index.applyDoState(s);
        events.emit('do', { doId: s.doId, orderId: s.orderId, facility: s.facility, state: s.state, eventAt: s.history.at(-1)?.at });
      }
      await allocator.doStatesChanged(states);
    },
  });
  index.onChange((_facility, skus) => allocator.stockChanged(skus));

  const gateway = createGateway({
    couch,
    registry,
    stats,
    log,
    maxConnections: config.maxSyncConnections,
    onUpload: (nodeId) => void monitor.poke(nodeId),
  });
  let ready = false;
  const app = createHubApp(ctx, gateway, allocator, () => ready);

  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => ok(s));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;

  // Catch up with everything the nodes wrote while the hub was down.
  await facilities.refresh();
  await items.load();
  const nodes = await registry.list();
  await index.rebuild(couch, nodes);
  await planning.load(couch, nodes.map((n) => n.db));
  for (const n of nodes) monitor.follow(n.id);
  const recovered = await allocator.recover();
  void monitor.pokeAll().then(() => {
    ready = true;
  });
  log.info({ url, couch: couch.url, embedded: couch.embedded, nodes: monitor.followerCount, ...recovered }, 'hub started');

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    ctx,
    allocator,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((ok) => {
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => ok());
        });
        await allocator.stop();
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
