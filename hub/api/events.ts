/**
 * GET /api/v1/events: the hub's event feed (order, DO, allocation and supply changes) as
 * server-sent events. Every event carries its `id:`; a client resumes with the `Last-Event-ID`
 * header (EventSource sends it on reconnect) or `?since=`, and is replayed what the EventBus ring
 * still holds. A `: ping` comment keeps idle connections open through proxies.
 *
 * Auth: the planner token as a bearer header, or as `?token=` because EventSource cannot send
 * headers. Each client holds one subscription and a bounded queue; a client too slow to drain it
 * is disconnected (it resumes from its last id), and a disconnect unsubscribes at once.
 */
import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { HubContext } from '../context.js';
import type { HubEvent } from '../events.js';
import { bearerToken } from '../../shared/http.js';
import { badRequest, unauthorized } from '../../shared/errors.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';

export interface EventsApiOptions {
  authorize(token: string): boolean;
  /** Told when a client connects and leaves (a gauge). */
  clients?: { inc(): void; dec(): void };
  heartbeatMs?: number;
  /** Events a client may fall behind by before it is disconnected. */
  maxQueue?: number;
}

const TYPES = /^[a-z_]+(,[a-z_]+)*$/;
/** What the hub emits on the feed. */
const EVENT_TYPES = ['order', 'do', 'allocation', 'supply', 'facility', 'sourcing'];

function resumeFrom(c: Context): number | null {
  const raw = c.req.header('last-event-id') ?? c.req.query('since');
  if (raw === undefined || raw === '') return null;
  if (!/^\d{1,15}$/.test(raw)) throw badRequest('invalid_query', 'Last-Event-ID / since must be an event id (a whole number)');
  return Number(raw);
}

export function eventsApi(ctx: HubContext, o: EventsApiOptions) {
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const maxQueue = o.maxQueue ?? 10_000;
  const app = new Hono();

  serve(app, '/api/v1/events')(R.events, (c) => {
    const token = bearerToken(c) ?? c.req.query('token') ?? null;
    if (!token || !o.authorize(token)) throw unauthorized();
    const since = resumeFrom(c);
    const typesParam = c.req.query('types');
    if (typesParam !== undefined && !TYPES.test(typesParam)) throw badRequest('invalid_query', '"types" is a comma-separated list such as order,do');
    const unknownTypes = typesParam?.split(',').filter((t) => !EVENT_TYPES.includes(t)) ?? [];
    if (unknownTypes.length)
      throw badRequest(
        'invalid_query',
        `unknown event type${unknownTypes.length > 1 ? 's' : ''} ${unknownTypes.join(', ')} in "types"; the types are ${EVENT_TYPES.join(', ')}`,
      );
    const types = typesParam ? new Set(typesParam.split(',')) : null;
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, (stream) => pump(stream, since, types));
  });

  async function pump(stream: SSEStreamingApi, since: number | null, types: Set<string> | null): Promise<void> {
    const queue: HubEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let overflow = false;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    // subscribe before reading the ring, so nothing falls between the replay and the live feed
    const sub = ctx.events.events$.subscribe({
      next: (e) => {
        if (queue.length >= maxQueue) overflow = true;
        else queue.push(e);
        poke();
      },
      complete: () => {
        ended = true;
        poke();
      },
    });
    stream.onAbort(() => {
      ended = true;
      poke();
    });
    o.clients?.inc();
    try {
      let last = since ?? 0;
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ resumedFrom: since }), retry: 3000 });
      if (since !== null) {
        const held = ctx.events.since(since);
        // the ring no longer holds everything after `since`: tell the client to reload its views
        if (held.length && held[0]!.id > since + 1) await stream.writeSSE({ event: 'gap', data: JSON.stringify({ from: since, to: held[0]!.id }) });
        queue.unshift(...held);
      }
      let lastWrite = Date.now();
      while (!ended && !stream.aborted) {
        if (overflow) break;
        while (queue.length && !stream.aborted) {
          const e = queue.shift()!;
          if (e.id <= last) continue; // replayed and also seen live
          last = e.id;
          if (types && !types.has(e.type)) continue;
          await stream.writeSSE({ id: String(e.id), event: e.type, data: JSON.stringify(e) });
          lastWrite = Date.now();
        }
        if (ended || overflow) break;
        const idle = await new Promise<boolean>((ok) => {
          const t = setTimeout(() => ok(true), Math.max(1, heartbeatMs - (Date.now() - lastWrite)));
          wake = () => {
            clearTimeout(t);
            ok(false);
          };
        });
        wake = null;
        if (idle && !ended && Date.now() - lastWrite >= heartbeatMs) {
          await stream.write(': ping\n\n');
          lastWrite = Date.now();
        }
      }
    } finally {
      sub.unsubscribe();
      o.clients?.dec();
    }
  }

  return app;
}
