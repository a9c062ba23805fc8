/**
 * Prometheus metrics of one hub, in its own Registry (tests run several hubs in one process).
 * Allocation figures are read from the allocator's counters when scraped; order and DO changes are
 * counted from the event bus; node sync health is read from the gateway's stats and the node
 * databases on each scrape; HTTP latency is recorded per route pattern (never per raw path, so
 * the label set stays bounded). Served at /metrics without a token: scrape it on the private
 * network.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubContext } from './context.js';
import type { Allocator } from './allocator/service.js';
import { isOnline, pendingChanges } from './nodehealth.js';
import { readNodeStats } from './api/nodes.js';

export interface HubMetrics {
  registry: Registry;
  /** Records the latency of every request by method, route pattern and status. */
  http: MiddlewareHandler;
  /** Connected event-stream clients. */
  sseClients: Gauge;
  /** The /metrics handler. */
  handler(c: Context): Promise<Response>;
}

interface NodeSample {
  id: string;
  /** ms since the epoch */
  lastSeen: number | null;
  pending: number | null;
  errorCount: number;
  docsUploaded: number;
  openConnections: number;
}

async function readNodes(ctx: HubContext): Promise<NodeSample[]> {
  return (await readNodeStats(ctx)).map(({ node, stat: s, info }) => ({
    id: node.id,
    lastSeen: s.lastSeen ? Date.parse(s.lastSeen) : null,
    pending: pendingChanges(s, info?.update_seq),
    errorCount: s.errorCount,
    docsUploaded: s.docsUploaded,
    openConnections: s.openConnections,
  }));
}

export function createHubMetrics(ctx: HubContext, allocator: Allocator): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dom_hub_' });
  const registers = [registry];
  const stats = allocator.stats;

  /** A counter mirroring a running total kept elsewhere, read when scraped. */
  const mirror = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });

  const received = new Counter({ name: 'dom_orders_received_total', help: 'New orders accepted by the planner API', registers });
  const cancelled = new Counter({ name: 'dom_orders_cancel_requested_total', help: 'Orders a planner asked to cancel', registers });
  mirror('dom_orders_allocated_total', 'Orders that got at least one unit allocated in a batch', () => stats.ordersAllocated);
  mirror('dom_orders_backordered_total', 'Orders left with unfilled units by a batch (counted per batch)', () => stats.backordered);
  mirror('dom_lines_resourced_total', 'Order lines re-sourced after a short pick or a rejection', () => stats.resourced);
  mirror('dom_dos_created_total', 'Distribution orders written to node databases', () => stats.dosCreated);
  mirror('dom_allocation_batches_total', 'Allocation batches run', () => stats.batches);
  mirror('dom_allocation_light_batches_total', 'Allocation batches optimised less because orders were waiting behind them', () => stats.lightBatches);
  const batchSeconds = new Histogram({
    name: 'dom_allocation_batch_duration_seconds',
    help: 'Time to plan and write one allocation batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const batchOrders = new Histogram({
    name: 'dom_allocation_batch_orders',
    help: 'Orders in one allocation batch',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000],
    registers,
  });
  new Gauge({
    name: 'dom_backorders_open',
    help: 'Orders currently waiting for stock (backordered lines)',
    registers,
    collect() {
      this.set(ctx.planning.promises().size);
    },
  });
  const doStates = new Counter({
    name: 'dom_do_state_changes_total',
    help: 'DO state changes reported by the nodes, by new state',
    labelNames: ['state'],
    registers,
  });
  const events = new Counter({ name: 'dom_events_total', help: 'Events on the hub event feed, by type', labelNames: ['type'], registers });
  const sseClients = new Gauge({ name: 'dom_sse_clients', help: 'Connected /api/v1/events clients', registers });

  // per-node sync health, read once per scrape (the gauges are collected together, in parallel)
  let inFlight: Promise<NodeSample[]> | null = null;
  const nodeSamples = () => {
    inFlight ??= readNodes(ctx)
      .catch((err: unknown) => {
        // a scrape still answers when CouchDB does not: the node gauges are left out
        ctx.log.warn({ err }, 'metrics: reading node health failed');
        return [];
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  const nodeGauge = (name: string, help: string, value: (n: NodeSample) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers,
      async collect() {
        this.reset();
        for (const n of await nodeSamples()) {
          const v = value(n);
          if (v !== null) this.set({ node: n.id }, v);
        }
      },
    });
  new Gauge({
    name: 'dom_nodes',
    help: 'Registered nodes',
    registers,
    async collect() {
      this.set((await nodeSamples()).length);
    },
  });
  nodeGauge('dom_node_online', '1 when the node is linked now (an open sync request to this instance) or was heard from in the last minute', (n) =>
    isOnline({ openConnections: n.openConnections, lastSeenMs: n.lastSeen }, Date.now()) ? 1 : 0,
  );
  nodeGauge('dom_node_last_seen_timestamp_seconds', 'When the node last called the sync gateway (unix time; 0: never)', (n) =>
    n.lastSeen === null ? 0 : n.lastSeen / 1000,
  );
  nodeGauge('dom_node_sync_lag_seconds', 'Seconds since the node last called the sync gateway', (n) =>
    n.lastSeen === null ? null : Math.max(0, (Date.now() - n.lastSeen) / 1000),
  );
  nodeGauge('dom_node_sync_pending_changes', 'Changes in the node database the node has not pulled yet', (n) => n.pending);
  nodeGauge('dom_node_replication_errors', 'Replication requests the gateway refused or failed for the node, since it was registered', (n) => n.errorCount);
  nodeGauge('dom_node_docs_uploaded', 'Documents the node has uploaded through the gateway', (n) => n.docsUploaded);
  nodeGauge('dom_node_open_connections', 'Open sync connections of the node', (n) => n.openConnections);

  // the feed ends (completes) when the hub stops, which ends this subscription too
  ctx.events.events$.subscribe((e) => {
    events.inc({ type: e.type });
    if (e.type === 'order') {
      if (e.data.cancelRequested) cancelled.inc();
      else if (e.data.created === true) received.inc();
    } else if (e.type === 'do' && typeof e.data.state === 'string') {
      doStates.inc({ state: e.data.state });
    } else if (e.type === 'allocation') {
      batchSeconds.observe(stats.lastBatchMs / 1000);
      if (typeof e.data.orders === 'number') batchOrders.observe(e.data.orders);
    }
  });

  const httpSeconds = new Histogram({
    name: 'dom_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status (event streams: time to first byte)',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers,
  });
  const http: MiddlewareHandler = async (c, next) => {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      // after next(), routePath is the pattern of the handler that answered (a bounded set)
      httpSeconds.observe({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) }, (performance.now() - t0) / 1000);
    }
  };

  return {
    registry,
    http,
    sseClients,
    async handler(c) {
      const body = await registry.metrics();
      return c.body(body, 200, { 'content-type': registry.contentType });
    },
  };
}
