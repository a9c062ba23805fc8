/**
 * Route tables and what is built from them. A route table (shared/routes/hub.ts, shared/routes/node.ts)
 * lists every path of a service once: method, path, summary, the zod schemas of its body and query,
 * and its answers. The handlers register themselves from it (`serve`) and validate with its very
 * schemas; the OpenAPI document is built from it (`openApiDocument`); a unit test checks that the
 * app's routes and the table agree. So the document cannot drift from what the API accepts.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono, Handler } from 'hono';
import { z } from 'zod';

export type Registry = OpenAPIHono['openAPIRegistry'];
export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;
export type Security = 'planner' | 'planner-or-query' | 'node' | 'associate' | 'none';
export type Schema = z.ZodType;
/** A raw JSON schema, for answers that are not JSON (HTML, text, event streams). */
export type Raw = { type: 'string' };
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
export const Rows = z.array(z.looseObject({}));

export interface RouteSpec {
  method: Method;
  /** The path as OpenAPI writes it (`/api/v1/orders/{id}`). */
  path: string;
  /** The document's group. */
  tag: string;
  summary: string;
  description?: string;
  /** Default: the planner token. */
  security?: Security;
  params?: Record<string, Schema>;
  /** The query schema the handler parses the query string with. */
  query?: z.ZodObject;
  headers?: Record<string, Schema>;
  /** The JSON body the handler validates with; `csv` adds a text/csv alternative of the same rows. */
  body?: Schema;
  /** The body may be left out (it is then `{}`). */
  bodyOptional?: boolean;
  csv?: boolean;
  /** Status → [description, JSON schema], or a media type and raw schema for non-JSON answers. */
  responses: Record<number, [string, Schema?] | [string, string, Raw]>;
}

/** A route table: route name → route. `const` keeps each route's own schema types for the handlers. */
export const routeTable = <const T extends Record<string, RouteSpec>>(t: T): T => t;

/** `/api/v1/orders/{id}` → `/api/v1/orders/:id` (Hono's way of writing it). */
export const honoPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');
/** The same, as a type: a handler's `c.req.param('id')` is then known to be there. */
export type HonoPath<S extends string> = S extends `${infer A}{${infer P}}${infer B}` ? `${A}:${P}${HonoPath<B>}` : S;

/**
 * Registers handlers from a table on a Hono app mounted at `base` (the handlers of
 * `/api/v1/orders/...` live in a sub-app mounted at `/api/v1/orders`).
 */
export function serve(app: Hono, base = '') {
  return <R extends RouteSpec>(route: R, handler: Handler<any, HonoPath<R['path']>>) => {
    const full = honoPath(route.path);
    if (!full.startsWith(base)) throw new Error(`route ${route.path} is not under ${base}`);
    app.on(route.method.toUpperCase(), full.slice(base.length) || '/', handler);
  };
}

function register(r: Registry, s: RouteSpec): void {
  const security = s.security ?? 'planner';
  const responses: Record<string, { description: string; content?: Record<string, { schema: Schema | Raw }> }> = {};
  for (const [status, spec] of Object.entries(s.responses)) {
    if (spec.length === 3) responses[status] = { description: spec[0], content: { [spec[1]]: { schema: spec[2] } } };
    else responses[status] = { description: spec[0], ...(spec[1] ? { content: { 'application/json': { schema: spec[1] } } } : {}) };
  }
  if ((s.body || s.query) && !responses[400])
    responses[400] = {
      description: 'invalid input (`invalid_body`, `malformed_json`, `unknown_field`, …)',
      content: { 'application/json': { schema: ErrorBody } },
    };
  if (security !== 'none' && !responses[401])
    responses[401] = { description: 'missing or wrong bearer token', content: { 'application/json': { schema: ErrorBody } } };
  const csv = s.csv ? { 'text/csv': { schema: { type: 'string' as const } } } : {};
  r.registerPath({
    method: s.method,
    path: s.path,
    tags: [s.tag],
    summary: s.summary,
    ...(s.description ? { description: s.description } : {}),
    security: security === 'none' ? [] : security === 'planner-or-query' ? [{ planner: [] }, { plannerQuery: [] }] : [{ [security]: [] }],
    request: {
      ...(s.params ? { params: z.object(s.params) } : {}),
      ...(s.query ? { query: s.query } : {}),
      ...(s.headers ? { headers: z.object(s.headers) } : {}),
      ...(s.body ? { body: { required: !s.bodyOptional, content: { 'application/json': { schema: s.body }, ...csv } } } : {}),
    },
    responses,
  });
}

export interface DocumentInfo {
  title: string;
  description: string;
  securitySchemes: Record<string, Parameters<Registry['registerComponent']>[2]>;
  tags?: { name: string; description: string }[];
}

/** The OpenAPI 3.1 document of a route table. */
export function openApiDocument(routes: Record<string, RouteSpec>, info: DocumentInfo): OpenApiDocument {
  const app = new OpenAPIHono();
  const r = app.openAPIRegistry;
  for (const [name, scheme] of Object.entries(info.securitySchemes)) r.registerComponent('securitySchemes', name, scheme);
  for (const route of Object.values(routes)) register(r, route);
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: info.title, version: '0.1.0', description: info.description },
    ...(info.tags ? { tags: info.tags } : {}),
  });
}

export const notFound = (what: string): [string, Schema] => [`no such ${what}`, ErrorBody];
export const html: [string, string, Raw] = ['an HTML page', 'text/html', { type: 'string' }];
