/**
 * The hub's busiest requests to CouchDB (the group commits' `_bulk_docs`, the feeds' reads, what the
 * gateway relays for a node) through undici's `request` on one keep-alive agent, instead of the
 * global `fetch` that nano and a plain call use. A fetch builds a `Request`, a `Response`, an
 * `AbortSignal` and web streams for each call and sends even a string body as an async iterable
 * (chunk by chunk): at 20 orders/s with 100 nodes on Apache CouchDB the fetch machinery was about a
 * fifth of the hub's CPU (docs/BENCHMARKS.md). Same requests, same answers; a body is read whole.
 */
import { Agent, request } from 'undici';

/**
 * Keep-alive connections to the CouchDB server, shared by every caller in the process: these
 * requests and nano's (`agentOptions`, hub/couch/index.ts). Only a node's relayed pull, which holds
 * its connection for as long as the longpoll waits, goes through `fetch`'s own pool
 * (hub/gateway/pull.ts), so that a thousand waiting pulls never queue the hub's own requests.
 *
 * An idle connection is closed after 10 s whatever the server offers (the embedded server offers 65 s):
 * the pool then holds what the last few seconds' bursts needed, not the largest burst of the last minute
 * (in the embedded soak the hub's sockets followed those bursts, two a connection on the in-process
 * server; docs/RELIABILITY.md). Opening one again costs a loopback or data-centre round trip.
 */
export const couchAgent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 10_000, connections: 128 });

export interface CouchAnswer {
  status: number;
  contentType: string;
  /** The answer's body, read whole. */
  text: string;
}

export interface CouchRequestInit {
  method?: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

/** One request; the answer read whole. A network error rejects, as fetch does (`fetch failed` among the messages the hub knows as unreachable). */
export async function couchRequest(url: string, init: CouchRequestInit): Promise<CouchAnswer> {
  // header names in lower case, so that one given twice in two cases (nano's `Accept-Encoding`) is sent once
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  for (const [k, v] of Object.entries(init.headers)) headers[k.toLowerCase()] = v;
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers,
    body: init.body,
    signal: init.signal,
    dispatcher: couchAgent,
  });
  const text = await res.body.text();
  const ct = res.headers['content-type'];
  return { status: res.statusCode, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? 'application/json', text };
}

/** An error for a CouchDB answer that is not a success, shaped as nano's (`statusCode`, `error`, `reason`), which `isStatus` reads. */
export function couchError(what: string, a: CouchAnswer): Error {
  let body: { error?: string; reason?: string } = {};
  try {
    body = JSON.parse(a.text) as typeof body;
  } catch {
    // not JSON: the status says it
  }
  return Object.assign(new Error(`${what}: ${a.status} ${body.error ?? ''} ${body.reason ?? ''}`.trim()), {
    statusCode: a.status,
    error: body.error,
    reason: body.reason,
  });
}
