/**
 * The route tables (shared/routes/hub.ts, shared/routes/node.ts) are the one list of every path:
 * the OpenAPI documents are built from them with the handlers' own body and query schemas (no
 * free-form placeholders), and the apps serve exactly the routes the tables list.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Hono } from 'hono';
import { HUB_ROUTES } from '../../shared/routes/hub.js';
import { NODE_ROUTES } from '../../shared/routes/node.js';
import { honoPath, type RouteSpec } from '../../shared/openapi.js';
import { hubOpenApiDocument } from '../../hub/openapi.js';
import { nodeOpenApiDocument } from '../../node/api/openapi.js';
import { createHubApp } from '../../hub/app.js';
import { createGateway } from '../../hub/gateway/index.js';
import { createNodeApp } from '../../node/api/app.js';
import { createLogger } from '../../shared/log.js';

type Json = { type?: string | string[]; properties?: Record<string, Json>; items?: Json; anyOf?: Json[]; additionalProperties?: unknown; [k: string]: unknown };

/** The field names a JSON schema describes (an array's: its items'), as the document has them. */
function fields(s: Json | undefined): string[] {
  if (!s) return [];
  if (s.items) return fields(s.items);
  return Object.keys(s.properties ?? {}).sort();
}

/** A stand-in for the hub's state: registering routes reads none of it (metrics subscribe to its feeds). */
function stub(): any {
  const f = function () {} as unknown as object;
  return new Proxy(f, { get: (_, k) => (k === 'then' || typeof k === 'symbol' ? undefined : stub()), apply: () => stub() });
}
const unused = <T>(): T => stub() as T;

function checkDocument(doc: ReturnType<typeof hubOpenApiDocument>, routes: Record<string, RouteSpec>) {
  const paths = doc.paths as Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: Json }> }; parameters?: { in: string; name: string }[] }>
  >;
  for (const [name, r] of Object.entries(routes)) {
    const op = paths[r.path]?.[r.method];
    expect(op, `${name}: ${r.method.toUpperCase()} ${r.path} in the document`).toBeDefined();
    if (r.body) {
      const schema = op!.requestBody?.content['application/json']?.schema;
      const want = z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) as Json;
      expect(fields(want).length, `${name}: the body schema has fields`).toBeGreaterThan(0);
      // the handler's schema, field for field: no loose-object placeholder
      expect(fields(schema), `${name}: body fields`).toEqual(fields(want));
      expect(JSON.stringify(schema)).not.toMatch(/not exported/);
    }
    if (r.query) {
      const inQuery = (op!.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort();
      expect(inQuery, `${name}: query parameters`).toEqual(Object.keys(r.query.shape).sort());
    }
  }
  // nothing in the document that the table does not list
  const documented = Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
  expect(documented.sort()).toEqual(
    Object.values(routes)
      .map((r) => `${r.method} ${r.path}`)
      .sort(),
  );
}

/** The app's routes (method and Hono path), without middleware (`ALL` with a wildcard). */
function served(app: Hono): Set<string> {
  return new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
}

describe('the hub route table', () => {
  it('every route is in the OpenAPI document with the body and query schemas its handler validates with', () => {
    checkDocument(hubOpenApiDocument(), HUB_ROUTES);
    // e.g. the bodies that used to be free-form objects in the document
    const doc = hubOpenApiDocument() as unknown as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: Json }> } }>> };
    const body = (p: string, m = 'post') => doc.paths[p]![m]!.requestBody.content['application/json']!.schema;
    expect(fields(body('/api/v1/purchase-orders'))).toEqual(['expectedAt', 'facility', 'id', 'lines', 'supplier']);
    expect(fields(body('/api/v1/inventory'))).toEqual(['facility', 'positions']);
    expect(fields(body('/api/v1/model-stock', 'put'))).toEqual(['daysOfSupply', 'facility', 'max', 'min', 'sku']);
    expect(fields(body('/api/v1/atp'))).toEqual(['limit', 'lines', 'pickupFacility', 'reserve', 'shipTo']);
  });

  it('the app serves exactly the routes of the table', () => {
    const gateway = createGateway({ couch: unused(), registry: unused(), stats: unused(), log: createLogger('test') });
    const app = createHubApp(unused(), gateway, unused(), () => true, unused(), { runs: unused(), live: unused() });
    const routes = served(app);
    const want = Object.values(HUB_ROUTES).map((r) => `${r.method.toUpperCase()} ${honoPath(r.path)}`);
    // the sync gateway (hub/gateway) answers CouchDB's protocol for a node's database through
    // `/sync/:nodeId/*`: the table documents the paths PouchDB uses; the root is `/sync` (with or without "/")
    const root = ['GET /sync', 'GET /sync/:root{^$}'];
    const viaGateway = (r: string) => /^[A-Z]+ \/sync\/:nodeId(\/|$)/.test(r);
    expect(app.routes.some((r) => r.method === 'ALL' && r.path === '/sync/:nodeId/*')).toBe(true);
    for (const r of want) {
      if (r === 'GET /sync/') expect([...routes]).toEqual(expect.arrayContaining(root));
      else if (!viaGateway(r)) expect(routes, r).toContain(r);
    }
    // and nothing the table does not list, but the pages' own files (scripts, styles, Swagger UI)
    const extra = [...routes].filter((r) => !want.includes(r) && !root.includes(r) && !/^GET \/(web|docs)\//.test(r));
    expect(extra).toEqual([]);
  });
});

describe('the node route table', () => {
  it('every route is in the OpenAPI document with the body schema its handler validates with', () => {
    checkDocument(nodeOpenApiDocument(), NODE_ROUTES);
  });

  it('the app serves exactly the routes of the table (and answers an unknown step with 400)', async () => {
    const app = createNodeApp({ store: unused(), sync: null, associateToken: 'tok', facility: 'F1', log: createLogger('test') });
    const want = Object.values(NODE_ROUTES).map((r) => `${r.method.toUpperCase()} ${honoPath(r.path)}`);
    expect([...served(app)].sort()).toEqual([...want, 'POST /api/v1/dos/:id/:step'].sort());
    const res = await app.request('/api/v1/dos/D1/fly', { method: 'POST', headers: { authorization: 'Bearer tok' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_step');
  });
});
