/**
 * The planner dashboard in a real browser (headless Chromium driven by playwright-core) against a
 * real hub and node on loopback: sign in with the planner token, see orders by state, backorders
 * and at-risk DOs, look an order up with its explanation, search a SKU across the network, and see
 * the order turn shipped live, without a reload, when the store ships it. Also Swagger UI at /docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openPage, type TestPage } from './browser.js';
import { PLANNER, api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';

// into a temporary folder; `DOM_SCREENSHOT_DIR=docs npx vitest --run test/e2e` refreshes the ones in docs/
const SCREENSHOT = join(
  process.env.DOM_SCREENSHOT_DIR ? resolve(process.env.DOM_SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'dom-screens-')),
  'dashboard.png',
);
const ATL = { lat: 33.749, lon: -84.388 };
const XSS = '<img src=x onerror="window.__xss=1">';

describe('planner dashboard in a browser', () => {
  let hub: Hub;
  let node: DomNode;
  let browser: Browser;
  let page: Page;
  let shipDo = '';
  let problems: TestPage;

  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const until = (id: string, pred: (o: any) => boolean) =>
    waitFor(
      `${id}`,
      async () => {
        const r = await api(hub.url, 'GET', `/api/v1/orders/${id}`);
        return r.status === 200 && pred(r.body) ? r.body : null;
      },
      30_000,
    );
  const order = (id: string, sku: string, qty: number) => ({ id, channel: 'web', priority: 5, delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku, qty }] });
  const see = (text: string | RegExp) => page.getByText(text).first().waitFor({ state: 'visible', timeout: 15_000 });

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    const token = await registerFacility(hub.url, { id: 'S1', name: 'Midtown', lat: 33.75, lon: -84.39 });
    await registerFacility(hub.url, { id: 'S3', name: 'Decatur', lat: 33.77, lon: -84.3, shipFromStore: false });
    await registerFacility(hub.url, { id: 'DC1', type: 'dc', name: 'Atlanta DC', lat: 33.9, lon: -84.6, capacity: 1000 });
    node = await testNode(hub.url, 'S1', token);
    expect(
      (
        await post('/api/v1/items', [
          { sku: 'TEE', name: 'Red tee', substitutes: [] },
          { sku: 'MUG', name: 'Mug', substitutes: [] },
        ])
      ).status,
    ).toBe(201);
    for (const [facility, positions] of Object.entries({
      S1: [
        ['TEE', 10],
        ['MUG', 5],
      ],
      S3: [['TEE', 100]],
      DC1: [['MUG', 20]],
    })) {
      const r = await post('/api/v1/inventory', { facility, positions: positions.map(([sku, onHand]) => ({ sku, onHand, safetyStock: 0 })) });
      expect(r.status).toBe(201);
    }
    expect((await api(hub.url, 'PUT', '/api/v1/model-stock', [{ facility: 'S1', sku: 'TEE', min: 2, max: 8 }])).status).toBe(200);
    const po = {
      id: 'PO-9',
      facility: 'DC1',
      supplier: 'Acme',
      expectedAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
      lines: [{ sku: 'TEE', qty: 12 }],
    };
    expect((await post('/api/v1/purchase-orders', po)).status).toBe(201);
    await waitFor('S1 counted', () => node.store.positions().find((p) => p.sku === 'MUG')?.onHand === 5);

    // one order to ship, one that cannot be filled (a backorder), one a walk-in sale puts at risk
    await post('/api/v1/orders', order('WEB-1', 'TEE', 2));
    shipDo = (await until('WEB-1', (o) => o.status === 'released')).lines[0].allocations[0].doId;
    await post('/api/v1/orders', order('WEB-2', 'MUG', 40));
    await until('WEB-2', (o) => o.status === 'partially_allocated');
    await post('/api/v1/orders', order('WEB-3', 'TEE', 3));
    const atRiskDo = (await until('WEB-3', (o) => o.status === 'released')).lines[0].allocations[0].doId;
    await waitFor('the DO at S1', () => node.store.dos.get(atRiskDo));
    // S1 holds 10 TEE, 5 of them for WEB-1 and WEB-3: selling 7 leaves 3 and puts the newest DO at risk
    expect((await node.store.sale('TEE', 7)).atRisk).toEqual([atRiskDo]);
    await waitFor(
      'S1 reports the sale',
      async () => (await api(hub.url, 'GET', '/api/v1/inventory/TEE')).body.facilities.find((f: any) => f.facility === 'S1')?.onHand === 3,
    );
    await waitFor('the DO for WEB-1 at S1', () => node.store.dos.get(shipDo));

    problems = await openPage(hub.url, { viewport: { width: 1440, height: 1000 } });
    ({ browser, page } = problems);
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('refuses a wrong token, then signs in with the planner token and shows the network', async () => {
    await page.goto(hub.url + '/');
    expect(await page.title()).toBe('DOM · planner dashboard');
    await page.getByLabel('Planner token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see('That token was refused.');
    expect(await page.evaluate(() => localStorage.getItem('dom.plannerToken'))).toBeNull();

    await page.getByLabel('Planner token').fill(PLANNER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see('Orders by state');
    expect(await page.evaluate(() => localStorage.getItem('dom.plannerToken'))).toBe(PLANNER);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');

    // orders by state: WEB-1 and WEB-3 released, WEB-2 partially allocated
    await expect.poll(() => page.locator('.tile[data-status="released"] b').textContent()).toBe('2');
    expect(await page.locator('.tile[data-status="partially_allocated"] b').textContent()).toBe('1');
    // the backorder and the DO the walk-in sale put at risk
    await page.locator('#backorders-table').getByRole('button', { name: 'WEB-2' }).waitFor();
    await page.locator('#atrisk-table').getByRole('button', { name: 'WEB-3' }).waitFor();
    // node sync health: S1 runs a node and is online; the others have none
    await expect.poll(() => page.locator('#nodes-table tr[data-node="S1"]').textContent()).toMatch(/online/);
    expect(await page.locator('#nodes-table tr[data-node="S3"]').textContent()).toMatch(/offline[\s\S]*never/);
  });

  it('finds an order and shows its lines, allocation and explanation', async () => {
    await page.getByLabel('Order id').fill('WEB-1');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('#order-status [data-status="released"]').waitFor();
    expect(await page.locator(`.alloc[data-do="${shipDo}"]`).textContent()).toMatch(/S1 · 2 ·.*released/);
    // S1 chosen with its distance and cost; S3 nearer in stock but excluded, and the reason why
    const chosen = page.locator('table.candidates tr[data-facility="S1"]');
    expect(await chosen.getAttribute('class')).toBe('chosen');
    expect(await chosen.textContent()).toMatch(/chosen/);
    expect(await page.locator('table.candidates tr[data-facility="S3"]').textContent()).toMatch(/excluded: .*ship from store/);
    expect(Number(await page.locator('#order-cost').textContent())).toBeGreaterThan(0);
  });

  it('searches a SKU across the network: on hand, available, in transit, on order, model stock', async () => {
    // a typed value with markup is shown as text, never run
    await page.getByLabel('SKU').fill(XSS);
    await page.getByRole('button', { name: 'Search' }).click();
    await see(`No item "${XSS}".`);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    await page.getByLabel('SKU').fill('TEE');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = async (f: string) =>
      (
        await page
          .locator('#sku-table tbody tr', { has: page.locator('td', { hasText: new RegExp(`^${f}$`) }) })
          .locator('td')
          .allTextContents()
      ).map((s) => s.trim());
    await page.locator('#sku-table').waitFor();
    // facility, on hand, reserved, available, in transit, on order, model stock
    expect(await row('S1')).toEqual(['S1', '3', '5', '0', '0', '0', '2–8']);
    expect(await row('S3')).toEqual(['S3', '100', '0', '100', '0', '0', '—']);
    expect(await row('DC1')).toEqual(['DC1', '0', '0', '0', '0', '12', '—']);
    expect((await row('Network')).slice(0, 6)).toEqual(['Network', '103', '5', '100', '0', '12']);
  });

  it('shows the order turning shipped, live, when the store ships its DO', async () => {
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const s1 = node.store;
    await s1.step(shipDo, 'ack', {});
    await s1.step(shipDo, 'pick', { lines: [{ line: 1, qty: 2 }] });
    await s1.step(shipDo, 'pack', {});
    await s1.step(shipDo, 'ship', { carrier: 'UPS', tracking: '1Z999' });
    await page.locator(`.alloc[data-do="${shipDo}"] [data-status="shipped"]`).waitFor({ timeout: 30_000 });
    await page.locator('#order-status [data-status="shipped"]').waitFor({ timeout: 30_000 });
    await see(new RegExp(`DO ${shipDo.replace(/\./g, '\\.')} at S1: shipped`));
    // no reload happened: the page followed the event stream
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await expect.poll(() => page.locator('.tile[data-status="shipped"] b').textContent()).toBe('1');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows a held order as held, an idle linked node as online, and keeps every card inside its own box', async () => {
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    expect((await post('/api/v1/orders', { ...order('HOLD-1', 'MUG', 1), hold: { reason: 'fraud_review', until } })).status).toBe(201);
    // as after minutes of quiet: nothing heard from S1 (its live pull still waiting at the hub)
    await waitFor('a quiet S1', async () => {
      hub.ctx.stats.get('S1').lastSeen = new Date(Date.now() - 10 * 60_000).toISOString();
      const n = (await api(hub.url, 'GET', '/api/v1/nodes')).body.find((x: any) => x.id === 'S1');
      return Date.parse(n.lastSeen) < Date.now() - 9 * 60_000;
    });
    await page.reload();
    await see('Orders by state');
    await expect.poll(() => page.locator('.tile[data-status="held"] b').textContent()).toBe('1');
    expect(await page.locator('#orders-table tr[data-order="HOLD-1"] [data-status]').getAttribute('data-status')).toBe('held');
    await expect.poll(() => page.locator('#nodes-table tr[data-node="S1"]').textContent()).toMatch(/online/);
    expect(await page.locator('#nodes-summary').textContent()).toBe('1 of 3 online');
    await page.getByLabel('Order id').fill('HOLD-1');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('#order-status [data-status="held"]').waitFor();
    expect(await page.locator('#order-hold').textContent()).toMatch(/fraud review until/);
    // the widest views filled in: an order's allocations and explanation, a SKU across the network
    await page.getByLabel('Order id').fill('WEB-1');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator(`.alloc[data-do="${shipDo}"]`).waitFor();
    await page.getByLabel('SKU').fill('TEE');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#sku-table').waitFor();
    for (const width of [1440, 1024, 800]) {
      await page.setViewportSize({ width, height: 1000 });
      const spill = await page.evaluate(() => {
        const out: string[] = [];
        const cards = [...document.querySelectorAll('main > section.card')] as HTMLElement[];
        const boxes = cards.map((c) => c.getBoundingClientRect());
        // no card over another
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!,
              b = boxes[j]!;
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
              out.push(`${cards[i]!.getAttribute('aria-labelledby')} overlaps ${cards[j]!.getAttribute('aria-labelledby')}`);
          }
        // nothing drawn past its card's edge (what scrolls inside its card is clipped by it)
        cards.forEach((card, i) => {
          for (const el of card.querySelectorAll('*')) {
            const r = (el as HTMLElement).getBoundingClientRect();
            if (!r.width) continue;
            let clipped = false;
            for (let p = el.parentElement; p && p !== card; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') clipped = true;
            if (!clipped && (r.right > boxes[i]!.right + 1 || r.left < boxes[i]!.left - 1))
              out.push(`${card.getAttribute('aria-labelledby')}: <${el.tagName.toLowerCase()} class="${(el as HTMLElement).className}"> runs past the card`);
          }
        });
        return out;
      });
      expect(spill, `at ${width} px`).toEqual([]);
    }
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  it('serves Swagger UI that renders the hub document from this machine', async () => {
    const docs = await browser.newPage();
    docs.on('pageerror', (e) => problems.pageErrors.push(String(e)));
    docs.on('request', (r) => {
      if (!r.url().startsWith(hub.url) && !r.url().startsWith('data:')) problems.foreignRequests.push(r.url());
    });
    await docs.goto(hub.url + '/docs');
    await docs.getByText('DOM hub').first().waitFor({ timeout: 15_000 });
    await docs.getByText('/api/v1/orders/{id}/cancel').first().waitFor();
    await docs.close();
  });

  it('ran without script errors, injected markup or requests leaving the hub, and saved a screenshot', () => {
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
    expect(problems.foreignRequests).toEqual([]);
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);
  });
});
