/**
 * What the hub's and the node's OpenAPI documents are built with: the route registration helper,
 * the error body, and the picking of a module's own exported schema. Each side builds its own
 * document (hub/openapi.ts, node/api/openapi.ts) from these.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';

export type Registry = OpenAPIHono['openAPIRegistry'];
export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;
export type Security = 'planner' | 'planner-or-query' | 'node' | 'associate' | 'none';
export type Schema = z.ZodType;
/** A raw JSON schema, for answers that are not JSON (HTML, text, event streams). */
export type Raw = { type: 'string' };

export const isZod = (x: unknown): x is Schema => typeof x === 'object' && x !== null && typeof (x as Schema).safeParse === 'function';

/** The module's own exported schema, or a documented stand-in while it is not exported. */
export function exported(mod: object, name: string, fallback: Schema): Schema {
  const s = (mod as Record<string, unknown>)[name];
  return isZod(s) ? s : fallback.describe(`see docs/API.md (the schema "${name}" is not exported for this document yet)`);
}

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
export const Rows = z.array(z.looseObject({}));

// ------------------------------------------------------------------ registration helper

export interface RouteSpec {
  summary: string;
  description?: string;
  security?: Security;
  params?: Record<string, Schema>;
  /** Query parameters: their schemas, or the object schema the handler parses the query with. */
  query?: Record<string, Schema> | z.ZodObject;
  headers?: Record<string, Schema>;
  /** A JSON body; `csv` adds a text/csv alternative. */
  body?: Schema;
  csv?: boolean;
  /** Status → [description, JSON schema], or a media type and raw schema for non-JSON answers. */
  responses: Record<number, [string, Schema?] | [string, string, Raw]>;
}

export function makeRoute(r: Registry, tag: string) {
  return (method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, s: RouteSpec) => {
    const security = s.security ?? 'planner';
    const responses: Record<string, { description: string; content?: Record<string, { schema: Schema | Raw }> }> = {};
    for (const [status, spec] of Object.entries(s.responses)) {
      if (spec.length === 3) responses[status] = { description: spec[0], content: { [spec[1]]: { schema: spec[2] } } };
      else responses[status] = { description: spec[0], ...(spec[1] ? { content: { 'application/json': { schema: spec[1] } } } : {}) };
    }
    if (s.body && !responses[400])
      responses[400] = { description: 'invalid input (`invalid_body`, `malformed_json`, …)', content: { 'application/json': { schema: ErrorBody } } };
    if (security !== 'none' && !responses[401])
      responses[401] = { description: 'missing or wrong bearer token', content: { 'application/json': { schema: ErrorBody } } };
    r.registerPath({
      method,
      path,
      tags: [tag],
      summary: s.summary,
      ...(s.description ? { description: s.description } : {}),
      security: security === 'none' ? [] : security === 'planner-or-query' ? [{ planner: [] }, { plannerQuery: [] }] : [{ [security]: [] }],
      request: {
        ...(s.params ? { params: z.object(s.params) } : {}),
        ...(s.query ? { query: s.query instanceof z.ZodObject ? s.query : z.object(s.query) } : {}),
        ...(s.headers ? { headers: z.object(s.headers) } : {}),
        ...(s.body
          ? { body: { required: true, content: { 'application/json': { schema: s.body }, ...(s.csv ? { 'text/csv': { schema: { type: 'string' } } } : {}) } } }
          : {}),
      },
      responses,
    });
  };
}

export const notFound = (what: string): [string, Schema] => [`no such ${what}`, ErrorBody];
export const html: [string, string, Raw] = ['an HTML page', 'text/html', { type: 'string' }];
