/**
 * The dashboard's pictures in a real browser (headless Chromium, playwright-core) against a real
 * hub and a node on loopback, after traffic: the network map draws a dot for every facility, with
 * its card on hover and its details on click; an order re-sourced after a short pick is drawn with
 * each chosen facility joined to the ship-to point, the attempts in order; the charts of the last
 * hours show non-empty series that grow, live, as orders arrive; the replenishment fair share is
 * drawn per constrained SKU beside its table. Nothing is loaded from outside the hub.
 * `DOM_SCREENSHOT_DIR=docs npx vitest --run test/e2e` refreshes the screenshots in docs/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { openPage, type TestPage } from './browser.js';
import { PLANNER, api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';

const SHOTS = process.env.DOM_SCREENSHOT_DIR ? resolve(process.env.DOM_SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'dom-screens-'));
// a customer in west Atlanta: nearest to ST-ATL, then ST-DEC
const ATL = { lat: 33.8, lon: -84.45, name: 'West Midtown' };
const FACILITIES = [
  { id: 'DC-ATL', type: 'dc', name: 'Atlanta DC', lat: 33.9, lon: -84.6, capacity: 2000 },
  { id: 'DC-DAL', type: 'dc', name: 'Dallas DC', lat: 32.9, lon: -97.0, capacity: 2000 },
  { id: 'ST-ATL', name: 'Atlanta Midtown', lat: 33.75, lon: -84.39 },
  { id: 'ST-DEC', name: 'Decatur', lat: 33.77, lon: -84.3, capacity: 4 },
  { id: 'ST-MAR', name: 'Marietta', lat: 33.95, lon: -84.55, shipFromStore: false },
  { id: 'ST-CLT', name: 'Charlotte', lat: 35.23, lon: -80.84 },
  { id: 'ST-NSH', name: 'Nashville', lat: 36.16, lon: -86.78 },
  { id: 'ST-CHI', name: 'Chicago', lat: 41.88, lon: -87.63, servingDc: 'DC-DAL' },
  { id: 'ST-NYC', name: 'New York', lat: 40.71, lon: -74.0, servingDc: 'DC-DAL' },
  { id: 'ST-LAX', name: 'Los Angeles', lat: 34.05, lon: -118.24, servingDc: 'DC-DAL' },
  { id: 'ST-SEA', name: 'Seattle', lat: 47.6, lon: -122.33, servingDc: 'DC-DAL' },
] as const;
const SOUTHEAST = ['ST-ATL', 'ST-DEC', 'ST-MAR', 'ST-CLT'];

describe('the dashboard pictures in a browser', () => {
  let hub: Hub;
  let node: DomNode;
  let page: Page;
  let t: TestPage;
  let placed = 0;

  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const orderOf = async (id: string) => (await api(hub.url, 'GET', `/api/v1/orders/${id}`)).body;
  const until = (id: string, pred: (o: any) => boolean) =>
    waitFor(
      id,
      async () => {
        const o = await orderOf(id);
        return o && pred(o) ? o : null;
      },
      30_000,
    );
  const order = (id: string, qty: number, shipTo: { lat: number; lon: number; name?: string } = ATL) => ({
    id,
    channel: 'web',
    priority: 5,
    delivery: 'ship',
    shipTo,
    lines: [{ line: 1, sku: 'MUG', qty }],
  });
  const receivedShown = () =>
    page.evaluate(() => [...document.querySelectorAll('#series-table tbody tr td:nth-child(2)')].reduce((a, td) => a + Number(td.textContent), 0));

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    let token = '';
    for (const f of FACILITIES) {
      const tk = await registerFacility(hub.url, { ...f, ...('type' in f || 'servingDc' in f ? {} : { servingDc: 'DC-ATL' }) } as never);
      if (f.id === 'ST-ATL') token = tk;
    }
    node = await testNode(hub.url, 'ST-ATL', token);
    expect(
      (
        await post('/api/v1/items', [
          { sku: 'MUG', name: 'Mug', substitutes: [] },
          { sku: 'TEE', name: 'Red tee', substitutes: [] },
        ])
      ).status,
    ).toBe(201);
    const stock: Record<string, [string, number][]> = {
      'ST-ATL': [
        ['MUG', 10],
        ['TEE', 1],
      ],
      'ST-DEC': [
        ['MUG', 50],
        ['TEE', 0],
      ],
      'ST-MAR': [
        ['MUG', 5],
        ['TEE', 2],
      ],
      'ST-CLT': [
        ['MUG', 20],
        ['TEE', 0],
      ],
      'DC-ATL': [['TEE', 10]],
      'DC-DAL': [['MUG', 200]],
    };
    for (const [facility, positions] of Object.entries(stock))
      expect((await post('/api/v1/inventory', { facility, positions: positions.map(([sku, onHand]) => ({ sku, onHand, safetyStock: 0 })) })).status).toBe(201);
    // four southeast stores below their TEE model stock, the DC short of what they need: a fair share
    expect(
      (
        await api(
          hub.url,
          'PUT',
          '/api/v1/model-stock',
          SOUTHEAST.map((facility) => ({ facility, sku: 'TEE', min: 5, max: 20 })),
        )
      ).status,
    ).toBe(200);
    const days = Array.from({ length: 14 }, (_, i) => new Date(Date.now() + i * 86_400_000).toISOString().slice(0, 10));
    expect(
      (
        await post(
          '/api/v1/forecasts',
          SOUTHEAST.flatMap((facility, i) => days.map((date) => ({ facility, sku: 'TEE', date, qty: 1 + i }))),
        )
      ).status,
    ).toBe(201);
    await waitFor('ST-ATL counted', () => node.store.positions().find((p) => p.sku === 'MUG')?.onHand === 10);

    // traffic: WEB-1 from the store next door, short-picked there and re-sourced; others across the network
    expect((await post('/api/v1/orders', order('WEB-1', 2))).status).toBe(201);
    const first = (await until('WEB-1', (o) => o.status === 'released')).lines[0].allocations[0];
    expect(first.facility).toBe('ST-ATL');
    await waitFor('the DO at ST-ATL', () => node.store.dos.get(first.doId));
    await node.store.step(first.doId, 'ack', {});
    await node.store.step(first.doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'damaged' }] });
    const resourced = await until('WEB-1', (o) => o.explanations.length === 2 && o.lines[0].allocations.some((a: any) => a.facility !== 'ST-ATL'));
    // the next nearest store with mugs
    expect(resourced.explanations[1].chosen.map((c: any) => c.facility)).toEqual(['ST-DEC']);
    for (const [i, to] of [
      { lat: 35.2, lon: -80.8 },
      { lat: 41.8, lon: -87.6 },
      { lat: 34.0, lon: -118.2 },
    ].entries()) {
      expect((await post('/api/v1/orders', order(`WEB-${i + 2}`, 1, to))).status).toBe(201);
    }
    placed = 4;
    await until('WEB-4', (o) => o.status === 'released');

    t = await openPage(hub.url, { viewport: { width: 1440, height: 1000 } });
    page = t.page;
    await page.goto(hub.url + '/');
    await page.getByLabel('Planner token').fill(PLANNER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Orders by state').first().waitFor();
  });

  afterAll(async () => {
    await t?.browser.close();
    await node?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('draws every facility on the map, with its card on hover and its details on click', async () => {
    const dots = page.locator('#network-map circle.fac');
    await expect.poll(() => dots.count()).toBe(FACILITIES.length);
    const drawn = await dots.evaluateAll((els) => els.map((e) => e.getAttribute('data-facility')).sort());
    expect(drawn).toEqual(FACILITIES.map((f) => f.id).sort());
    // the states are drawn under them, from the packaged atlas
    expect((await page.locator('#network-map path.land').getAttribute('d'))!.length).toBeGreaterThan(10_000);
    // the table says the same: one row per facility; ST-DEC's load today is WEB-1's 2 units, re-sourced there
    // (ST-ATL's short-picked DO took nothing off its shelf: no load)
    expect(await page.locator('#map-table tbody tr').count()).toBe(FACILITIES.length);
    expect(await page.locator('#map-table tr[data-facility="ST-DEC"] td').nth(3).textContent()).toBe('2');
    expect(await page.locator('#map-table tr[data-facility="ST-ATL"] td').nth(3).textContent()).toBe('0');

    // load against capacity: ST-DEC (2 of 4 units today, 50%) against Seattle's none
    expect(await page.locator('circle.fac[data-facility="ST-DEC"]').getAttribute('class')).toMatch(/\bactive\b/);
    expect(await page.locator('circle.fac[data-facility="ST-SEA"]').getAttribute('class')).toMatch(/\bgood\b/);
    await page.locator('circle.fac[data-facility="ST-CHI"]').hover();
    await expect.poll(() => page.locator('#map-card').textContent()).toMatch(/Chicago.*ST-CHI · store.*Today.*of 100 units/);
    // Atlanta's dots lie close together at this scale: open ST-ATL from the keyboard
    await page.locator('circle.fac[data-facility="ST-ATL"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#facility-title').textContent()).toBe('Atlanta Midtown (ST-ATL)');
    await page.locator('#facility-dos').waitFor();

    // sync health: ST-ATL runs a node and is online; the others have never called
    await page.locator('#map-colour').selectOption('sync');
    expect(await page.locator('circle.fac[data-facility="ST-ATL"]').getAttribute('class')).toMatch(/\bgood\b/);
    expect(await page.locator('circle.fac[data-facility="ST-NYC"]').getAttribute('class')).toMatch(/\bbad\b/);
    // stock of a SKU as dot size: ST-DEC holds 50 mugs, ST-ATL 10 (less the 2 it came up short on, as counted)
    await page.locator('#map-sku').fill('MUG');
    await page.locator('#map-form').getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('#map-table thead').textContent()).toMatch(/MUG on hand/);
    const r = (id: string) => page.locator(`circle.fac[data-facility="${id}"]`).getAttribute('r').then(Number);
    expect(await r('DC-DAL')).toBeGreaterThan(await r('ST-DEC'));
    expect(await r('ST-DEC')).toBeGreaterThan(await r('ST-MAR'));
    await page.locator('#map-colour').selectOption('load');
    await page.locator('section[aria-labelledby="h-map"]').screenshot({ path: join(SHOTS, 'dashboard-map.png') });
  });

  it("draws an order's decision: each chosen facility joined to the ship-to point, the re-sourcing attempts in order", async () => {
    await page.getByLabel('Order id').fill('WEB-1');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('svg.decision-map line.route.latest').first().waitFor();
    const o = await orderOf('WEB-1');
    const second = o.explanations[1].chosen[0];
    const shipTo = page.locator('svg.decision-map circle.shipto');
    const center = async (sel: string) => page.locator(sel).evaluate((e) => [Number(e.getAttribute('cx')), Number(e.getAttribute('cy'))]);
    const ends = async (sel: string) =>
      page.locator(sel).evaluate((e) => [
        [Number(e.getAttribute('x1')), Number(e.getAttribute('y1'))],
        [Number(e.getAttribute('x2')), Number(e.getAttribute('y2'))],
      ]);
    const dest = await shipTo.evaluate((e) => [Number(e.getAttribute('cx')), Number(e.getAttribute('cy'))]);
    // the latest attempt: a line from the facility now chosen to the ship-to point, labelled with units and cost
    const [from, to] = await ends(`line.route.latest[data-facility="${second.facility}"]`);
    expect(to).toEqual(dest);
    expect(from).toEqual(await center(`circle.cand[data-facility="${second.facility}"]`));
    expect(await page.locator(`text.route-label.latest[data-facility="${second.facility}"]`).textContent()).toBe(
      `#2 ${second.units} u · ${second.cost.toFixed(2)}`,
    );
    // the first attempt, ST-ATL, drawn dashed before it; ST-ATL greyed now, its reason on hover
    const [, firstTo] = await ends('line.route.earlier[data-facility="ST-ATL"][data-attempt="1"]');
    expect(firstTo).toEqual(dest);
    expect(await page.locator('circle.cand[data-facility="ST-ATL"]').getAttribute('class')).toBe('cand excluded');
    expect(await page.locator('circle.cand[data-facility="ST-ATL"] title').textContent()).toMatch(/excluded: came up short on this order before/);
    expect(await page.locator('circle.cand[data-facility="ST-MAR"] title').textContent()).toMatch(/excluded: .*ship from store/);
    // the text alternative: the attempts in order
    expect(await page.locator('table.attempts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-attempt')))).toEqual(['1', '2']);
    await page.locator('#decision').screenshot({ path: join(SHOTS, 'dashboard-order-map.png') });
  });

  it('charts the last hours with series that grow, live, as orders arrive', async () => {
    for (const id of ['orders', 'fill', 'backorders', 'dos', 'nodes', 'sync']) {
      await expect.poll(() => page.locator(`#chart-${id}`).getAttribute('data-points').then(Number)).toBeGreaterThan(0);
      expect(await page.locator(`#chart-${id} canvas`).count()).toBeGreaterThan(0);
    }
    await expect.poll(receivedShown).toBe(placed);
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    for (const i of [5, 6, 7]) expect((await post('/api/v1/orders', order(`WEB-${i}`, 1, { lat: 36.1, lon: -86.7 }))).status).toBe(201);
    // no reload: the event stream told the page, and the series grew by the three orders
    await expect.poll(receivedShown, { timeout: 15_000 }).toBe(placed + 3);
    await expect
      .poll(
        () => page.evaluate(() => [...document.querySelectorAll('#series-table tbody tr td:nth-child(3)')].reduce((a, td) => a + Number(td.textContent), 0)),
        { timeout: 15_000 },
      )
      .toBeGreaterThanOrEqual(placed + 3);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    // the hub measured sync both ways: DOs fetched by ST-ATL, and its status events applied
    const s = (await api(hub.url, 'GET', '/api/v1/series')).body;
    const all = [...s.points, s.current];
    expect(all.reduce((a: number, p: any) => a + p.syncDownSamples, 0)).toBeGreaterThan(0);
    expect(all.reduce((a: number, p: any) => a + p.syncUpSamples, 0)).toBeGreaterThan(0);
    expect(s.current.nodes).toBe(FACILITIES.length);
    expect(s.current.nodesOnline).toBe(1);
    await page.locator('section[aria-labelledby="h-charts"]').screenshot({ path: join(SHOTS, 'dashboard-charts.png') });
  });

  it('draws the replenishment fair share per constrained SKU beside its table', async () => {
    await page.getByRole('button', { name: 'Plan (dry run)' }).click();
    const block = page.locator('.fair[data-sku="TEE"][data-dc="DC-ATL"]');
    await block.waitFor();
    const stores = await block.locator('.fair-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-store')).sort());
    expect(stores).toEqual([...SOUTHEAST].sort());
    // one "after" bar per store, and the DC's 10 units split among them
    expect(await block.locator('rect.bar.after').count()).toBe(SOUTHEAST.length);
    const sent = await block.locator('.fair-table tbody tr td:nth-child(5)').allTextContents();
    expect(sent.map(Number).reduce((a, b) => a + b, 0)).toBe(10);
    expect(await block.locator('.fair-split text').last().textContent()).toMatch(/DC-ATL: 10 units available, 10 sent/);
    // a dry run writes nothing
    expect(await page.locator('#repl-summary').textContent()).toMatch(/planned, nothing written/);
    await block.screenshot({ path: join(SHOTS, 'dashboard-fair-share.png') });
  });

  it('keeps every picture inside its card, and loads nothing from outside the hub', async () => {
    for (const width of [1440, 1024, 800]) {
      await page.setViewportSize({ width, height: 1000 });
      const spill = await page.evaluate(() => {
        const out: string[] = [];
        for (const card of document.querySelectorAll('main > section.card')) {
          const box = card.getBoundingClientRect();
          for (const el of card.querySelectorAll('svg, canvas, figure, table')) {
            let clipped = false;
            for (let p = el.parentElement; p && p !== card; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') clipped = true;
            const r = el.getBoundingClientRect();
            if (r.width && !clipped && (r.right > box.right + 1 || r.left < box.left - 1)) out.push(`${card.getAttribute('aria-labelledby')}: ${el.tagName}`);
          }
        }
        return out;
      });
      expect(spill, `at ${width} px`).toEqual([]);
    }
    expect(t.pageErrors).toEqual([]);
    expect(t.consoleErrors).toEqual([]);
    expect(t.foreignRequests).toEqual([]);
    for (const name of ['dashboard-map.png', 'dashboard-order-map.png', 'dashboard-charts.png', 'dashboard-fair-share.png']) {
      expect(existsSync(join(SHOTS, name))).toBe(true);
      expect(statSync(join(SHOTS, name)).size).toBeGreaterThan(5_000);
    }
  });
});
