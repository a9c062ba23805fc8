/**
 * HTTP plumbing shared by the hub and the node: JSON errors in one shape, bodies validated with
 * zod at the edge, bearer tokens, and the error handler that turns anything thrown into
 * `{error:{code,message}}` (4xx for bad input; 5xx only for our own faults, which are logged).
 */
import type { IncomingMessage } from 'node:http';
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { getConnInfo } from '@hono/node-server/conninfo';
import { z } from 'zod';
import { DomError, badRequest, isStorageUnavailable, unauthorized } from './errors.js';
import type { Logger } from './log.js';

export function zodMessage(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw badRequest('empty_body', 'a JSON body is required');
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('malformed_json', 'the body is not valid JSON');
  }
}

/**
 * The fields of `value` that `schema` does not know, as paths (`lines.0.allowSubstitute`). zod
 * drops unknown keys silently, so a typo such as `allowSubstitute` used to be accepted with
 * substitutes off; a request body with one is refused instead (`parseBody`). Schemas that accept
 * any key (`looseObject`, records) are left alone.
 */
export function unknownFields(schema: z.ZodType, value: unknown, path = ''): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, any> } })._zod.def;
  switch (def.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
      // a catchall (loose or strict objects) decides for itself
      if (def.catchall) return [];
      const shape = def.shape as Record<string, z.ZodType>;
      const out: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        const at = path ? `${path}.${k}` : k;
        if (!Object.hasOwn(shape, k)) out.push(at);
        else out.push(...unknownFields(shape[k]!, v, at));
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(def.element, v, path ? `${path}.${i}` : String(i))) : [];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return value === undefined || value === null ? [] : unknownFields(def.innerType, value, path);
    case 'pipe':
      return unknownFields(def.in, value, path);
    default:
      return [];
  }
}

/** Parse a request body: as parseWith, and a field the schema does not know is a 400 naming it. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const unknown = unknownFields(schema, value);
  if (unknown.length)
    throw badRequest('unknown_field', `unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 10).join(', ')}`, { fields: unknown.slice(0, 50) });
  return parseWith(schema, value);
}

/** Parse a query string: a parameter the route does not take, or a bad value, is a 400 naming it. */
export function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const unknown = unknownFields(schema, query);
  if (unknown.length) throw badRequest('unknown_parameter', `unknown query parameter${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  return parseWith(schema, query, 'invalid_query');
}

export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseBody(schema, await readJson(c));
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, code = 'invalid_body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(code, zodMessage(r.error), r.error.issues.slice(0, 20));
  return r.data;
}

export function bearerToken(c: Context): string | null {
  const h = c.req.header('authorization');
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1]! : null;
}

export function errorHandler(log: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof DomError) return c.json(err.toJSON(), err.status);
    if (err instanceof z.ZodError) return c.json(badRequest('invalid_body', zodMessage(err)).toJSON(), 400);
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? 'body_too_large' : status === 401 ? 'unauthorized' : 'http_error';
      return c.json({ error: { code, message: err.message || 'request refused' } }, status);
    }
    if (isStorageUnavailable(err)) {
      // CouchDB restarting, or out of reach: not our fault, and the client should try again
      log.warn({ err: (err as Error).message, path: c.req.path }, 'storage unavailable');
      c.header('Retry-After', '1');
      return c.json({ error: { code: 'storage_unavailable', message: 'the database is not reachable just now; retry' } }, 503);
    }
    log.error({ err, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
}

export const notFoundHandler = (c: Context) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404);

/**
 * Bodies over `maxSize` bytes are answered 413 (by default in the API's error shape). Served by
 * @hono/node-server, the body is read here straight off Node's request and kept as the request's
 * text (`c.req.text()` and `c.req.json()` read it from there): reading it through Hono makes the
 * server build a whole fetch Request for it, with an AbortController and a web stream over the
 * socket: about half of the hub's CPU for a cart's availability check (docs/BENCHMARKS.md).
 */
export function limitBody(
  maxSize: number,
  opts: {
    /** the answer to a body over the limit (by default the API's error shape) */
    onError?: (c: Context) => Response | Promise<Response>;
    /** read through Hono's `bodyLimit` even under @hono/node-server (the sync gateway, hub/gateway/index.ts) */
    viaHono?: boolean;
  } = {},
): MiddlewareHandler {
  const onError = opts.onError ?? ((c: Context) => c.json({ error: { code: 'body_too_large', message: `body over ${maxSize} bytes` } }, 413));
  const limit = bodyLimit({ maxSize, onError });
  return async (c, next) => {
    // no handler reads the body of a GET or HEAD
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const incoming = opts.viaHono ? undefined : (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming || incoming.readableEnded || Object.keys(c.req.bodyCache).length > 0) return limit(c, next);
    if (Number(incoming.headers['content-length']) > maxSize) return onError(c);
    const text = await readWithin(incoming, maxSize);
    if (text === null) return onError(c);
    // Hono keeps its reads there as promises (`json()` chains on the text's)
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    return next();
  };
}

const utf8 = new TextDecoder();

/** The whole body as text (decoded as `Request.text()` decodes it), or null once it runs over `maxSize` bytes. */
function readWithin(incoming: IncomingMessage, maxSize: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (b: Buffer) => {
      size += b.length;
      if (size <= maxSize) return void chunks.push(b);
      // the answer is a 413; the rest is read and dropped, as @hono/node-server drains an unread
      // body: a socket closed with data unread is reset, and the client can lose the 413 to it
      done();
      incoming.resume();
      resolve(null);
    };
    const onEnd = () => {
      done();
      resolve(utf8.decode(Buffer.concat(chunks, size)));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(new HTTPException(400, { message: 'the client closed the connection before the whole body came' }));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** Counts failed authentications per key (hub/ratelimit.ts FailureLimiter). */
export interface FailureCounter {
  blocked(key: string): boolean;
  fail(key: string): void;
}

/** The client's address, as the socket has it (a proxy in front would need its own limits). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Slows token guessing: a client address whose requests failed authentication (401) too often
 * gets 429 for every request, without its token being looked at, until the window passes.
 */
export function limitAuthFailures(limiter: FailureCounter): MiddlewareHandler {
  return async (c, next) => {
    const key = clientAddress(c);
    if (limiter.blocked(key)) {
      c.header('Retry-After', '60');
      return c.json({ error: { code: 'too_many_requests', message: 'too many failed authentications from this address; try later' } }, 429);
    }
    await next();
    if (c.res.status === 401) limiter.fail(key);
  };
}

/** Bearer-token guard for a fixed secret (planner and associate tokens). */
export function requireToken(check: (token: string) => boolean): MiddlewareHandler {
  return async (c, next) => {
    const token = bearerToken(c);
    if (!token || !check(token)) throw unauthorized();
    await next();
  };
}
