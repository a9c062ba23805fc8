/**
 * The hub's HTTP surface: the planner API under /api/v1, the sync gateway under /sync, health,
 * metrics, the OpenAPI document with Swagger UI, and the planner dashboard.
 */
import { Hono } from 'hono';
import type { HubContext } from './context.js';
import type { Gateway } from './gateway/index.js';
import { errorHandler, limitAuthFailures, limitBody, notFoundHandler, requireToken } from '../shared/http.js';
import { FailureLimiter } from '../shared/ratelimit.js';
import { secretEquals } from '../shared/secrets.js';
import { facilitiesApi } from './api/facilities.js';
import { nodesApi } from './api/nodes.js';
import { ordersApi } from './api/orders.js';
import { reservationsApi } from './api/reservations.js';
import { catalogueApi } from './api/catalogue.js';
import { planningApi } from './api/planning.js';
import { eventsApi } from './api/events.js';
import { dosApi } from './web/dos.js';
import { webApp } from './web/index.js';
import { createHubMetrics } from './metrics.js';
import { hubOpenApiDocument } from './openapi.js';
import type { Allocator } from './allocator/service.js';
import { requestId } from 'hono/request-id';
import { seriesApi } from './api/series.js';
import type { HubSeries } from './timeseries.js';
import { simulationsApi, sourcingApi } from './api/simulations.js';
import { simulationPage } from './simulate/page.js';
import type { SimulationRuns } from './simulate/runs.js';
import type { LiveSourcing } from './simulate/live.js';

export function createHubApp(
  ctx: HubContext,
  gateway: Gateway,
  allocator: Allocator,
  ready: () => boolean,
  series?: HubSeries,
  what?: { runs: SimulationRuns; live: LiveSourcing },
): Hono {
  const app = new Hono();
  const metrics = createHubMetrics(ctx, allocator);
  const isPlanner = (t: string) => secretEquals(t, ctx.config.plannerToken);
  // every request gets an id (X-Request-Id, kept when the caller sends one) and one log line
  app.use(requestId());
  app.use(async (c, next) => {
    const t0 = performance.now();
    await next();
    const line = { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - t0) };
    // replication traffic is constant: debug level; planner calls: info
    if (c.req.path.startsWith('/sync/')) ctx.log.debug(line, 'request');
    else ctx.log.info(line, 'request');
  });
  app.use(metrics.http);
  // repeated bad planner tokens from one address: 429 (the gateway has its own, per node)
  app.use('/api/v1/*', limitAuthFailures(new FailureLimiter()));
  app.onError(errorHandler(ctx.log));
  app.notFound(notFoundHandler);

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const couchOk = await ctx.couch.server.info().then(
      () => true,
      () => false,
    );
    const ok = couchOk && ready();
    return c.json({ ok, couch: couchOk, ready: ready(), followers: ctx.monitor.followerCount, syncConnections: gateway.openConnections() }, ok ? 200 : 503);
  });
  // no token: operators scrape it on the private network (docs/API.md)
  app.get('/metrics', (c) => metrics.handler(c));
  app.get('/openapi.json', (c) => c.json(hubOpenApiDocument()));
  app.route('/', webApp());
  app.route('/', simulationPage());

  // down-sync latency for the charts: which DOs a node fetched, read from the body the gateway has already read
  if (series) {
    app.post('/sync/:nodeId/_bulk_get', async (c, next) => {
      await next();
      if (!c.res.ok) return;
      const body = (await c.req.json().catch(() => null)) as { docs?: { id?: unknown }[] } | null;
      if (Array.isArray(body?.docs)) series.fetched(body.docs.map((d) => String(d?.id ?? '')));
    });
  }
  app.route('/sync', gateway.app);

  // before the API's token guard: the event stream also takes the token as ?token= (EventSource)
  app.route('/api/v1/events', eventsApi(ctx, { authorize: isPlanner, clients: metrics.sseClients }));
  const api = new Hono();
  // the token first: a request without one is refused before its body is read
  api.use(requireToken(isPlanner));
  api.use(limitBody(4 * 1024 * 1024));
  api.route('/facilities', facilitiesApi(ctx));
  api.route('/nodes', nodesApi(ctx));
  api.route('/orders', ordersApi(ctx, allocator));
  api.route('/dos', dosApi(ctx));
  api.route('/reservations', reservationsApi(ctx));
  api.route('/', catalogueApi(ctx));
  api.route('/', planningApi(ctx, ctx.planning));
  if (series) api.route('/', seriesApi(ctx, series));
  if (what) {
    api.route('/simulations', simulationsApi(ctx, what.runs, what.live));
    api.route('/sourcing', sourcingApi(what.live));
  }
  app.route('/api/v1', api);
  return app;
}
