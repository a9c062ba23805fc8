/**
 * `dom bench simulate`: how long a what-if replay takes, and how faithful it is.
 *
 * 1. The demo's traffic (`dom demo`: a hub, a DC and 12 stores with their nodes, web, mobile, store
 *    and pickup orders, short picks, walk-in sales, a link cut, a replenishment run), then a
 *    simulation over its whole window through the hub's API, with two candidates (the busiest
 *    store closed, dearer shipments): wall time from POST to result, replay time per
 *    configuration, and how many of the live decisions the current configuration reproduced.
 * 2. A day of that traffic: the demo's own orders, network and order mix repeated to a day's volume
 *    (4,000 orders, arriving over 24 hours on a daytime curve, batched as the live allocator's
 *    250 ms window batches them; stock and capacity scaled to the volume), replayed in memory
 *    under the same three configurations (median of 3).
 */
import { runDemo } from '../demo.js';
import { scenarioFromHistory } from '../../hub/simulate/history.js';
import { simulate } from '../../hub/simulate/run.js';
import type { Candidate, Scenario, ScenarioBatch } from '../../hub/simulate/scenario.js';
import type { SourcingOrder } from '../../hub/allocator/strategy.js';
import { commit, machine, rng, saveResult } from './common.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface DemoReplay {
  orders: number;
  batches: number;
  wallMs: number;
  replayMs: Record<string, number>;
  fidelity: { checked: number; matching: number };
  configurations: { name: string; cost: number; unitsFilled: number; unitsBackordered: number; changedOrders: number }[];
}

/** The demo's orders repeated to `perDay` orders over one day, with stock and capacity scaled to match. */
function dayOf(sc: Scenario, perDay: number, windowMs = 250): Scenario {
  const r = rng(20261201);
  const mix = sc.batches.flatMap((b) => b.orders);
  const k = perDay / Math.max(1, mix.length);
  const day0 = Date.parse('2026-12-02T00:00:00Z');
  // arrivals: more by day than by night (a sine over the day, its peak at 14:00)
  const times: number[] = [];
  while (times.length < perDay) {
    const t = r() * 86_400_000;
    if (r() < 0.55 + 0.45 * Math.sin(((t / 3_600_000 - 8) / 24) * 2 * Math.PI)) times.push(day0 + t);
  }
  times.sort((a, b) => a - b);
  const orders: SourcingOrder[] = times.map((t, i) => {
    const o = mix[i % mix.length]!;
    return { ...o, id: `DAY-${i}`, createdAt: new Date(t).toISOString(), lines: o.lines.map((l) => ({ ...l })) };
  });
  const batches: ScenarioBatch[] = [];
  for (let i = 0; i < orders.length;) {
    const start = Date.parse(orders[i]!.createdAt);
    let j = i + 1;
    while (j < orders.length && Date.parse(orders[j]!.createdAt) < start + windowMs && j - i < 500) j++;
    batches.push({ at: new Date(start + windowMs).toISOString(), orders: orders.slice(i, j) });
    i = j;
  }
  return {
    ...sc,
    from: new Date(day0).toISOString(),
    to: new Date(day0 + 86_400_000).toISOString(),
    facilities: sc.facilities.map((f) => ({ ...f, capacity: Math.ceil(f.capacity * Math.max(1, k / 4)) })),
    stock: sc.stock.map((s) => ({ ...s, available: Math.ceil(s.available * k) })),
    usedAtStart: [],
    batches,
    background: [],
    live: {},
    skipped: {},
    notes: [],
  };
}

export async function run(opts: { quick?: boolean; record?: boolean }): Promise<Record<string, unknown>> {
  const m = machine();
  const perDay = opts.quick ? 400 : 4000;
  let demo: DemoReplay | undefined;
  let day: Record<string, unknown> | undefined;
  let differing: unknown[] = [];
  await runDemo({
    quick: true,
    seconds: opts.quick ? 12 : 45,
    inspect: async (hub) => {
      const token = hub.ctx.config.plannerToken;
      const orders = await hub.ctx.couch
        .db<{ _id: string; receivedAt: string }>('dom')
        .list({ startkey: 'order:', endkey: 'order:\ufff0', include_docs: true });
      const received = orders.rows.map((x) => x.doc!.receivedAt).sort();
      const from = received[0]!;
      const to = new Date(Date.now() - 1).toISOString();
      // the busiest store in the live run is the one to close
      const byStore = new Map<string, number>();
      for (const f of hub.ctx.index.unitsReleasedOn(new Date().toISOString().slice(0, 10))) if (f[0].startsWith('ST-')) byStore.set(f[0], f[1]);
      const busiest = [...byStore].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'ST-ATL';
      const candidates: Candidate[] = [
        { name: `${busiest} closed`, facilities: [{ id: busiest, enabled: false }] },
        { name: 'dearer shipments', costs: { perShipment: 9 } },
      ];
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${hub.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
        return res.json() as Promise<any>;
      };
      const t0 = performance.now();
      const started = await call('POST', '/api/v1/simulations', { window: { from, to }, candidates });
      let runDoc: any;
      for (;;) {
        runDoc = await call('GET', `/api/v1/simulations/${started.id}`);
        if (runDoc.status === 'done' || runDoc.status === 'failed') break;
        await new Promise((ok) => setTimeout(ok, 50));
      }
      const wallMs = Math.round(performance.now() - t0);
      if (runDoc.status === 'failed') throw new Error(`the simulation failed: ${JSON.stringify(runDoc.error)}`);
      const res = runDoc.result;
      demo = {
        orders: res.orders,
        batches: res.batches,
        wallMs,
        replayMs: Object.fromEntries(res.configurations.map((c: any) => [c.name, c.replayMs])),
        fidelity: { checked: res.fidelity.checked, matching: res.fidelity.matching },
        configurations: res.configurations.map((c: any) => ({
          name: c.name,
          cost: c.cost,
          unitsFilled: c.unitsFilled,
          unitsBackordered: c.unitsBackordered,
          changedOrders: c.vsCurrent?.changedOrders ?? 0,
        })),
      };
      // where the replay differs: what each saw at the candidates (units there for the order's SKUs)
      const seen = (e: any) => (e?.candidates ?? []).map((c: any) => `${c.facility}:${c.units ?? '-'}${c.excluded ? `(${c.excluded})` : ''}`).join(' ');
      differing = res.fidelity.differing.map((d: any) => ({
        order: d.order,
        live: d.live.picks,
        replay: d.replay.picks,
        liveSaw: seen(d.live.explanation),
        replaySaw: seen(d.replay.explanation),
      }));
      for (const d of differing.slice(0, 5)) process.stdout.write(`differs: ${JSON.stringify(d)}\n`);

      // a day of the same traffic, replayed in memory
      const sc = await scenarioFromHistory(hub.ctx, {}, { from, to });
      const d = dayOf(sc, perDay);
      const runs: Record<string, number[]> = {};
      let last: Awaited<ReturnType<typeof simulate>> | undefined;
      for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
        last = await simulate(d, candidates, { maxMs: 600_000 });
        for (const c of last.configurations) (runs[c.name] ??= []).push(c.replayMs);
      }
      const medians = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v))]));
      day = {
        orders: last!.orders,
        batches: last!.batches,
        replayMsMedian: medians,
        msPerOrderCurrent: Math.round((medians.current! / last!.orders) * 1000) / 1000,
        candidateToCurrent: Object.fromEntries(
          Object.entries(medians)
            .filter(([k]) => k !== 'current')
            .map(([k, v]) => [k, Math.round((v / medians.current!) * 100) / 100]),
        ),
        fillRate: Object.fromEntries(last!.configurations.map((c) => [c.name, c.fillRate])),
      };
    },
  });
  m.loadAvgEnd = Math.round((await import('node:os')).loadavg()[0]! * 100) / 100;
  const result = { bench: 'simulate', commit: commit(process.cwd()), machine: m, quick: !!opts.quick, demo, day, differing };
  console.log('\nWhat-if replay');
  console.table({
    'demo traffic: orders / batches': `${demo!.orders} / ${demo!.batches}`,
    'demo traffic: POST to result (3 configurations)': `${demo!.wallMs} ms`,
    ...Object.fromEntries(Object.entries(demo!.replayMs).map(([k, v]) => [`demo traffic: replay "${k}"`, `${v} ms`])),
    'demo traffic: live decisions reproduced': `${demo!.fidelity.matching} of ${demo!.fidelity.checked}`,
    [`a day (${perDay} orders): batches`]: day!.batches,
    ...Object.fromEntries(Object.entries(day!.replayMsMedian as Record<string, number>).map(([k, v]) => [`a day: replay "${k}" (median)`, `${v} ms`])),
    'a day: ms per order (current)': day!.msPerOrderCurrent,
  });
  if (!opts.quick) process.stdout.write(`raw results: ${saveResult(process.cwd(), 'simulate', result)}\n`);
  return result;
}
