/**
 * The what-if page in a real browser (headless Chromium, playwright-core) against a real hub: sign
 * in, run a simulation over the window of real orders with a store disabled, follow the progress
 * bar to the comparison (table, charts, changed orders with both explanations and a link to each
 * order), download the CSV, apply the candidate (the store is disabled live) and roll it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openPage, type TestPage } from './browser.js';
import { PLANNER, api, cleanupDirs, registerFacility, testHub, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';

const SCREENSHOT = join(
  process.env.DOM_SCREENSHOT_DIR ? resolve(process.env.DOM_SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'dom-screens-')),
  'simulation.png',
);
const ATL = { lat: 33.749, lon: -84.388 };

describe('what-if page in a browser', () => {
  let hub: Hub;
  let browser: Browser;
  let page: Page;
  let problems: TestPage;
  let from = '';
  let to = '';
  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    await registerFacility(hub.url, { id: 'S1', name: 'Midtown', lat: 33.75, lon: -84.39, pickup: false });
    await registerFacility(hub.url, { id: 'S2', name: 'Decatur', lat: 33.77, lon: -84.3 });
    expect((await post('/api/v1/items', [{ sku: 'TEE', name: 'Tee', substitutes: [] }])).status).toBe(201);
    for (const [facility, onHand] of [
      ['S1', 10],
      ['S2', 10],
    ] as const) {
      expect((await post('/api/v1/inventory', { facility, positions: [{ sku: 'TEE', onHand, safetyStock: 0 }] })).status).toBe(201);
    }
    // whole seconds: the page's time inputs hold seconds
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    from = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    for (let i = 1; i <= 4; i++) {
      expect(
        (await post('/api/v1/orders', { id: `WEB-${i}`, channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'TEE', qty: 2 }] })).status,
      ).toBe(201);
      await waitFor(`WEB-${i} allocated`, async () => (await api(hub.url, 'GET', `/api/v1/orders/WEB-${i}`)).body.status === 'released');
    }
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    to = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(to) - Date.now()) + 5));
    problems = await openPage(hub.url, { viewport: { width: 1440, height: 1100 }, timezoneId: 'UTC' });
    ({ browser, page } = problems);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    await cleanupDirs();
  });

  it('runs a simulation and shows the comparison as a table and charts, with the changed orders linked', async () => {
    await page.goto(`${hub.url}/simulation`);
    await page.fill('#token', PLANNER);
    await page.click('#signin-form button[type=submit]');
    await page.locator('#sim').waitFor({ state: 'visible' });
    await page.getByText(/live configuration v0/).waitFor();
    await page.fill('#from', from.slice(0, 19));
    await page.fill('#to', to.slice(0, 19));
    await page.fill('#candidates', JSON.stringify([{ name: 'no S1', facilities: [{ id: 'S1', enabled: false }] }]));
    await page.click('#run');
    await page.locator('#results').waitFor({ state: 'visible' });
    // the progress bar ends full
    await waitFor('the progress bar full', () =>
      page.evaluate(() => {
        const p = document.getElementById('progress') as HTMLProgressElement;
        return p.max > 0 && p.value === p.max;
      }),
    );
    const rows = await page.locator('#summary tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t')[0])).toEqual(['current', 'no S1']);
    await page.getByText('4 of 4 orders sourced exactly as live (faithful)', { exact: false }).waitFor();
    // cost and fill per configuration, and load per facility, as SVG bars
    expect(await page.locator('#chart-cost rect.bar-cost').count()).toBe(2);
    expect(await page.locator('#chart-load rect[data-facility="S1"]').count()).toBe(2);
    // the orders S1 served live now go elsewhere: each row links to the order, with both explanations
    const changed = page.locator('#changed tbody tr[data-order]');
    expect(await changed.count()).toBeGreaterThan(0);
    const first = changed.first();
    const id = await first.getAttribute('data-order');
    expect(await first.locator('a').getAttribute('href')).toBe(`/#order=${id}`);
    expect(await first.locator('td').nth(2).innerText()).toContain('S1');
    expect(await first.locator('td').nth(3).innerText()).not.toContain('S1');
    // the link shows the order as it stands live
    await first.locator('a').click();
    await page.locator('#order-panel').waitFor({ state: 'visible' });
    expect(await page.locator('#order-id').innerText()).toBe(id);
    expect(await page.locator('#order-lines tbody').innerText()).toMatch(/S1 TEE×2 \(released\)/);
    await first.locator('summary').click();
    expect(await first.locator('pre').innerText()).toMatch(/current:[\s\S]*"strategy"[\s\S]*no S1:[\s\S]*"strategy"/);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // the CSV download
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'summary' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^simulation-[0-9a-f]+-summary\.csv$/);
  }, 60_000);

  it('applies the candidate as the live configuration and rolls it back', async () => {
    await page.click('[data-apply="no S1"]');
    await page.getByText('enter your name in "Applied by" first').waitFor();
    await page.fill('#by', 'Dana Planner');
    await page.click('[data-apply="no S1"]');
    await page.getByText('applied "no S1" as live configuration v1').waitFor();
    expect((await api(hub.url, 'GET', '/api/v1/facilities/S1')).body.enabled).toBe(false);
    await page.getByText(/live configuration v1, applied by Dana Planner/).waitFor();
    await page.click('#rollback');
    await page.getByText('rolled back: live configuration v2').waitFor();
    expect((await api(hub.url, 'GET', '/api/v1/facilities/S1')).body.enabled).toBe(true);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
    expect(problems.foreignRequests).toEqual([]);
  }, 60_000);
});
