import { describe, expect, it } from 'vitest';
import { runDemo } from '../../scripts/demo.js';

describe('dom demo --quick', () => {
  it('runs to completion, and its summary matches what the hub API reports', async () => {
    let checked = false;
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    let summary: Awaited<ReturnType<typeof runDemo>>;
    try {
      summary = await runDemo({
        quick: true,
        seconds: 10,
        inspect: async (hub, s, orderIds) => {
          const token = process.env.DOM_PLANNER_TOKEN ?? 'demo-planner-token';
          const byStatus: Record<string, number> = {};
          let units = 0;
          for (const id of orderIds) {
            const o = (await (await fetch(`${hub.url}/api/v1/orders/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
            byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
            for (const l of o.lines) units += l.qty;
          }
          // statuses can move on between the summary and this read only by events already in flight
          expect(Object.values(byStatus).reduce((a, b) => a + b, 0)).toBe(s.orders);
          expect(units).toBe(s.unitsOrdered);
          const nodes = (await (await fetch(`${hub.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })).json()) as any[];
          expect(nodes).toHaveLength(13);
          // it points at the pages a person opens, each answering in a browser (no token in a URL bar)
          const text = printed.join('');
          expect(text).toContain(`planner dashboard  ${hub.url}/ `);
          expect(text).toContain(`${hub.url}/docs`);
          expect(text).toContain(token);
          const pages = [...text.matchAll(/^ {4}\S+\s+(http:\/\/\S+\/)$/gm)].map((m) => m[1]!);
          expect(pages).toHaveLength(13);
          for (const url of [`${hub.url}/`, `${hub.url}/docs`, ...pages]) expect((await fetch(url)).status, url).toBe(200);
          checked = true;
        },
      });
    } finally {
      process.stdout.write = write;
    }
    expect(checked).toBe(true);
    expect(summary.orders).toBeGreaterThan(0);
    expect(summary.linkCuts).toBe(1);
    expect(summary.fillRate).toBeGreaterThan(0);
    expect(summary.syncDownMs.count).toBeGreaterThan(0);
    expect(summary.syncUpMs).toEqual(expect.objectContaining({ p50: expect.any(Number), p99: expect.any(Number) }));
  }, 120_000);
});
