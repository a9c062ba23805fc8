/**
 * The hub's per-minute series (hub/timeseries.ts) on a clock the test moves: one point a minute,
 * kept for a bounded window, counting orders, batches, backorders, open DOs by state, nodes online
 * and sync latency p99 each way; and GET /api/v1/series refusing a bad `since`.
 */
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { HubSeries, p99 } from '../../hub/timeseries.js';
import { seriesApi } from '../../hub/api/series.js';
import { errorHandler } from '../../shared/http.js';
import { createLogger } from '../../shared/log.js';
import type { HubContext } from '../../hub/context.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function setup(keep = 1440) {
  const clock = { now: T0 + 5_000 };
  const alloc = { ordersAllocated: 0, backordered: 0 };
  const state = { backorders: 0, online: 1, total: 3, nodesFail: false };
  const series = new HubSeries(
    {
      allocator: () => alloc,
      backordersOpen: () => state.backorders,
      nodes: async () => {
        if (state.nodesFail) throw new Error('couch down');
        return { online: state.online, total: state.total };
      },
      now: () => clock.now,
    },
    { keep },
  );
  return { series, clock, alloc, state, minute: (n: number) => (clock.now = T0 + n * 60_000 + 5_000) };
}

const dos = (doId: string, state: string, lastEvent: number, createdAt = new Date(T0).toISOString()) => ({ doId, state: state as never, lastEvent, createdAt });

describe('the per-minute series', () => {
  it('closes one point a minute with the orders received, planned and allocated in it, and the fill rate', async () => {
    const { series, alloc, state, minute } = setup();
    for (let i = 0; i < 5; i++) series.orderReceived();
    series.batch(4);
    alloc.ordersAllocated += 4;
    alloc.backordered += 1;
    state.backorders = 1;
    let r = await series.read();
    expect(r.points).toEqual([]);
    expect(r.current).toMatchObject({
      at: '2026-03-02T10:00:00.000Z',
      received: 5,
      planned: 4,
      allocated: 4,
      fillRate: 0.75,
      backordersOpen: 1,
      nodesOnline: 1,
      nodes: 3,
    });

    minute(1);
    series.orderReceived();
    r = await series.read();
    expect(r.points).toHaveLength(1);
    expect(r.points[0]).toMatchObject({ at: '2026-03-02T10:00:00.000Z', received: 5, allocated: 4, fillRate: 0.75 });
    // the new minute starts from nothing: no batch yet, so no fill rate
    expect(r.current).toMatchObject({ at: '2026-03-02T10:01:00.000Z', received: 1, planned: 0, allocated: 0, fillRate: null });
    // `since` answers only what is newer
    expect((await series.read(Date.parse('2026-03-02T10:00:00Z'))).points).toEqual([]);
  });

  it('keeps a bounded number of points, the oldest dropped first', async () => {
    const { series, minute } = setup(3);
    for (let m = 1; m <= 6; m++) {
      series.orderReceived();
      minute(m);
      await series.tick();
    }
    const r = await series.read();
    expect(r.keep).toBe(3);
    expect(r.points.map((p) => p.at)).toEqual(['2026-03-02T10:03:00.000Z', '2026-03-02T10:04:00.000Z', '2026-03-02T10:05:00.000Z']);
  });

  it('counts open DOs by state from the DO states it is shown, a newer copy winning over an older one', async () => {
    const { series } = setup();
    series.doStates([dos('A', 'released', 0), dos('B', 'released', 0), dos('C', 'picked', 2)]);
    series.doStates([dos('A', 'acknowledged', 1), dos('B', 'shipped', 4)]);
    // an old copy (the start-up scan reading behind the feed) changes nothing
    await series.scan(async () => [dos('A', 'released', 0), dos('B', 'packed', 3), dos('D', 'released', 0)]);
    expect((await series.read()).current.dos).toEqual({ acknowledged: 1, picked: 1, released: 1 });
  });

  it('measures sync latency p99 each way: DO created → fetched by the node, status written at the node → applied at the hub', async () => {
    const { series, clock } = setup();
    const created = new Date(clock.now - 40).toISOString();
    series.doStates([dos('X', 'released', 0, created), dos('Y', 'released', 0, created)]);
    series.fetched(['do:X', 'inv:SKU-1']);
    series.fetched(['do:X']); // fetched again: counted once
    // fetched before the hub's feed told of it: matched when it does
    series.fetched(['do:Z']);
    clock.now += 10;
    series.doStates([dos('Z', 'released', 0, new Date(clock.now - 110).toISOString())]);
    series.statusApplied(new Date(clock.now - 250).toISOString());
    const c = (await series.read()).current;
    expect(c.syncDownSamples).toBe(2);
    expect(c.syncDownP99Ms).toBe(100);
    expect(c.syncUpSamples).toBe(1);
    expect(c.syncUpP99Ms).toBe(250);
    expect(p99(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(99);
  });

  it('leaves the node figures empty when they cannot be read, and still closes the minute', async () => {
    const { series, state, minute } = setup();
    state.nodesFail = true;
    minute(1);
    const r = await series.read();
    expect(r.points[0]).toMatchObject({ nodesOnline: null, nodes: null });
  });
});

describe('GET /api/v1/series', () => {
  it('answers the points, and refuses a "since" that is not a date-time', async () => {
    const { series } = setup();
    const app = new Hono();
    app.onError(errorHandler(createLogger('test', 'silent')));
    app.route('/', seriesApi({} as HubContext, series));
    const ok = await app.request('/series?since=2026-03-02T09:00:00Z');
    expect(ok.status).toBe(200);
    expect((await ok.json()).current.nodes).toBe(3);
    const bad = await app.request('/series?since=yesterday');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'invalid_query', message: expect.stringMatching(/since/) });
    const unknown = await app.request('/series?from=1');
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.code).toBe('unknown_parameter');
  });
});
