/**
 * Request bodies under `limitBody` (shared/http.ts), as the hub and the node serve them: read off
 * Node's request by the limit itself when @hono/node-server serves the app, and through Hono when
 * it does not (`app.request`). Either way a body over the limit is a 413 and the handler never
 * runs, and the handler reads the whole body, as text or as JSON, however it came in.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, limitBody, readJson } from '../../shared/http.js';
import { createLogger } from '../../shared/log.js';

const LIMIT = 64;

function appUnderTest() {
  const app = new Hono();
  let handled = 0;
  app.onError(errorHandler(createLogger('http-body-test', 'silent')));
  app.use(limitBody(LIMIT));
  app.post('/json', async (c) => {
    handled++;
    return c.json({ got: await readJson(c) });
  });
  // a second read of the same body, as the hub's `_bulk_get` middleware makes after the gateway's
  app.post('/twice', async (c) => {
    handled++;
    const text = await c.req.text();
    return c.json({ text, json: await c.req.json() });
  });
  return { app, handled: () => handled };
}

/** A POST sent as the given chunks, with a content-length or (none given) chunked. */
function post(port: number, path: string, chunks: Buffer[], contentLength?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(contentLength === undefined ? {} : { 'content-length': contentLength }) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('request bodies under the size limit, served by @hono/node-server', () => {
  const under = appUnderTest();
  let server: ServerType;
  let port = 0;

  beforeAll(async () => {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: under.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('hands the handler the whole body, a multi-byte character split across chunks included', async () => {
    const bytes = Buffer.from(JSON.stringify({ name: 'Crème brûlée ✓' }));
    // cut inside the two bytes of the "è"
    const cut = bytes.indexOf(Buffer.from('è')) + 1;
    for (const length of [bytes.length, undefined]) {
      const r = await post(port, '/json', [bytes.subarray(0, cut), bytes.subarray(cut)], length);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ got: { name: 'Crème brûlée ✓' } });
    }
  });

  it('lets a handler read the body twice, as text and as JSON', async () => {
    const r = await post(port, '/twice', [Buffer.from('{"a":1}')], 7);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ text: '{"a":1}', json: { a: 1 } });
  });

  it('answers 413 to a body over the limit, declared or sent chunked, without running the handler', async () => {
    const before = under.handled();
    const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(LIMIT) }));
    const declared = await post(port, '/json', [big], big.length);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('body_too_large');
    const chunked = await post(port, '/json', [big.subarray(0, 40), big.subarray(40)]);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('body_too_large');
    expect(under.handled()).toBe(before);
    // and the server goes on answering
    const ok = await post(port, '/json', [Buffer.from('{"b":2}')], 7);
    expect(JSON.parse(ok.body)).toEqual({ got: { b: 2 } });
  });

  it('answers 400 to a body that is not JSON', async () => {
    const r = await post(port, '/json', [Buffer.from('{"a":')], 5);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('malformed_json');
  });
});

describe('request bodies under the size limit, without a Node server (app.request)', () => {
  it('reads the body through Hono, with the same limit', async () => {
    const under = appUnderTest();
    const ok = await under.app.request('/twice', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await ok.json()).toEqual({ text: '{"a":1}', json: { a: 1 } });
    const big = await under.app.request('/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(LIMIT) }),
    });
    expect(big.status).toBe(413);
    expect(under.handled()).toBe(1);
  });
});
