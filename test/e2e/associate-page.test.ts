/**
 * The associate page in a real browser (headless Chromium from Debian's `chromium` package, driven
 * by playwright-core) against a real hub and node on loopback: sign in, pick by scanning, pack and
 * ship until the hub reports the order shipped; a pickup handed over after a refused name; a
 * receipt; a walk-in sale and a count; the offline banner while the hub is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openPage, type TestPage } from './browser.js';
import { ASSOCIATE, api, cleanupDirs, freePort, registerFacility, tempDir, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';
import { nodeDbName } from '../../shared/ids.js';

// into a temporary folder; `DOM_SCREENSHOT_DIR=docs npx vitest --run test/e2e` refreshes the ones in docs/
const SCREENSHOT = join(
  process.env.DOM_SCREENSHOT_DIR ? resolve(process.env.DOM_SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'dom-screens-')),
  'associate-page.png',
);
const ATL = { lat: 33.749, lon: -84.388 };
const TEE = { sku: 'TEE-RED-M', name: 'Red tee, medium', barcode: '0123456789012', substitutes: [] };
const MUG = { sku: 'MUG-01', name: 'Coffee mug', barcode: '0099887766', substitutes: [] };
// a catalogue name with markup in it must show as text, never run
const CAP = { sku: 'CAP-01', name: 'Cap <img src=x onerror="window.__xss=1"> & "co"', barcode: '555000', substitutes: [] };

describe('associate page in a browser', () => {
  let hub: Hub;
  let hubPort: number;
  let hubData: string;
  let node: DomNode;
  let browser: Browser;
  let page: Page;
  let problems: TestPage;

  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const order = async (id: string) => (await api(hub.url, 'GET', `/api/v1/orders/${id}`)).body;
  const until = (id: string, status: string) => waitFor(`${id} ${status}`, async () => ((await order(id)).status === status ? order(id) : null), 30_000);
  /** Place an order through the hub and wait for its DO to reach the node. */
  async function place(body: object): Promise<string> {
    const r = await post('/api/v1/orders', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const placed = await until((body as { id: string }).id, 'released');
    const doId: string = placed.lines[0].allocations[0].doId;
    await waitFor(`${doId} at the node`, () => node.store.dos.get(doId));
    return doId;
  }

  const see = (text: string | RegExp) => page.getByText(text).first().waitFor({ state: 'visible', timeout: 15_000 });
  const flashText = () => page.locator('#flash').textContent();
  const scan = async (code: string) => {
    const field = page.getByLabel('Scan barcode or SKU');
    await field.fill(code);
    await field.press('Enter');
  };
  const count = (line: number) => page.getByLabel(`Picked quantity, line ${line}`).inputValue();
  // a stock row: the SKU (its name beneath it) in the first cell
  const stockRow = (sku: string) => page.locator('tbody tr', { has: page.locator('td .mono', { hasText: new RegExp(`^${sku}$`) }) });
  const cells = async (sku: string) => {
    const row = stockRow(sku);
    const texts = (await row.locator('td').allTextContents()).map((s) => s.trim());
    return texts.length ? [(await row.locator('td .mono').first().textContent())!.trim(), ...texts.slice(1)] : [];
  };

  beforeAll(async () => {
    hubPort = await freePort();
    hubData = tempDir('hub');
    hub = await testHub(hubData, { port: hubPort, batchWindowMs: 100 });
    const token = await registerFacility(hub.url, { id: 'S1', name: 'Midtown store', lat: 33.78, lon: -84.38 });
    node = await testNode(hub.url, 'S1', token);
    expect((await post('/api/v1/items', [TEE, MUG, CAP])).status).toBe(201);
    const inv = await post('/api/v1/inventory', {
      facility: 'S1',
      positions: [
        { sku: TEE.sku, onHand: 10, safetyStock: 0 },
        { sku: MUG.sku, onHand: 5, safetyStock: 1 },
        { sku: CAP.sku, onHand: 3, safetyStock: 0 },
      ],
    });
    expect(inv.status).toBe(201);
    await waitFor('the count at the node', () => node.store.positions().find((p) => p.sku === MUG.sku)?.onHand === 5);
    // an expected delivery, written by the hub into the node's database as the planner would
    await hub.ctx.couch.db(nodeDbName('S1')).insert({
      _id: 'inbound:PO-77',
      type: 'inbound',
      inboundId: 'PO-77',
      kind: 'po',
      facility: 'S1',
      supplier: 'Acme Mugs',
      expectedAt: new Date(Date.now() + 86_400_000).toISOString(),
      lines: [{ sku: MUG.sku, qty: 6 }],
      createdAt: new Date().toISOString(),
    } as never);
    await waitFor('the inbound at the node', () => node.store.inbound.get('PO-77'));

    problems = await openPage(node.url, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
    ({ browser, page } = problems);
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('refuses a wrong token and signs in with the associate token', async () => {
    await page.goto(node.url + '/');
    expect(await page.title()).toBe('DOM · S1');
    await page.getByLabel('Associate token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see('The token was not accepted');
    expect(await page.evaluate(() => localStorage.getItem('dom.associateToken'))).toBeNull();

    await page.getByLabel('Associate token').fill(ASSOCIATE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // the list's heading, not "Loading tasks…" (shown while the sign-in's request is in flight)
    await page.getByRole('heading', { name: 'Tasks', exact: true }).waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.evaluate(() => localStorage.getItem('dom.associateToken'))).toBe(ASSOCIATE);
    // the sync status is shown once signed in
    await expect.poll(() => page.locator('#syncPill').textContent(), { timeout: 10_000 }).toMatch(/Synced|Online|Syncing/);
  });

  it('picks a ship order by scanning, packs and ships it, and the hub reports it shipped', async () => {
    const doId = await place({
      id: 'WEB-1001',
      channel: 'web',
      priority: 5,
      delivery: 'ship',
      shipTo: ATL,
      lines: [
        { line: 1, sku: TEE.sku, qty: 2 },
        { line: 2, sku: MUG.sku, qty: 1 },
      ],
    });
    // the task list refreshes by itself
    const card = page.locator(`a.task[data-do="${doId}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.textContent()).toMatch(/WEB-1001[\s\S]*Ship[\s\S]*2 lines · 3 units[\s\S]*New/);
    await card.click();

    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await see('Acknowledged.');
    await page.getByText('Acknowledged', { exact: true }).first().waitFor();

    await scan('NOPE-123');
    await see('Unknown code “NOPE-123”: not on this order.');
    expect([await count(1), await count(2)]).toEqual(['0', '0']);

    await scan(TEE.barcode);
    await expect.poll(() => count(1)).toBe('1');
    await scan(TEE.barcode);
    await expect.poll(() => count(1)).toBe('2');
    await scan('mug-01'); // the SKU typed by hand works too, in any case
    await expect.poll(() => count(2)).toBe('1');
    await see(`✓ ${MUG.name}: 1 of 1`);
    await page.getByRole('button', { name: 'Confirm pick (3/3)' }).waitFor();
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    await scan(MUG.barcode);
    await see(`Already have all 1 of ${MUG.name}`);
    expect(await count(2)).toBe('1');

    await page.getByRole('button', { name: 'Confirm pick (3/3)' }).click();
    await see('Picked all 3 units.');
    await page.getByRole('button', { name: 'Pack' }).click();
    await see('Packed. Add the label and ship.');
    await page.getByLabel('Carrier').fill('UPS');
    await page.getByLabel('Tracking number').fill('1Z999AA10123456784');
    await page.getByRole('button', { name: 'Ship', exact: true }).click();
    await see('Order WEB-1001 shipped with UPS, tracking 1Z999AA10123456784.');
    // back on the list, and the shipped task has left it
    await expect.poll(() => page.locator(`a.task[data-do="${doId}"]`).count()).toBe(0);

    const shipped = await until('WEB-1001', 'shipped');
    expect(shipped.lines.flatMap((l: any) => l.allocations).every((a: any) => a.doStatus === 'shipped')).toBe(true);
  });

  it("hands a pickup order over only to the named customer, showing the API's refusal", async () => {
    const doId = await place({
      id: 'PU-2001',
      channel: 'store',
      priority: 5,
      delivery: 'pickup',
      pickupFacility: 'S1',
      customerName: 'Ada Lovelace',
      lines: [{ line: 1, sku: CAP.sku, qty: 1 }],
    });
    await page.locator(`a.task[data-do="${doId}"]`).click({ timeout: 15_000 });
    await see('Ada Lovelace');
    await see(CAP.name); // shown literally
    expect(await page.locator('main img').count()).toBe(0);
    // a short pick needs a reason before it is sent
    await page.getByRole('button', { name: 'Confirm short pick (0/1)' }).click();
    await see('is short by 1: choose a reason');
    await page.getByRole('button', { name: 'One more of line 1' }).click();
    expect(await count(1)).toBe('1');
    await page.getByRole('button', { name: 'Confirm pick (1/1)' }).click();
    await see('Picked all 1 unit.');
    await page.getByRole('button', { name: 'Ready for pickup' }).click();
    await until('PU-2001', 'ready_for_pickup');

    await page.getByLabel('Customer’s name, as on their ID').fill('Someone Else');
    await page.getByRole('button', { name: 'Picked up' }).click();
    await see('the name given does not match the order');
    expect(await flashText()).toContain('does not match');
    await page.getByLabel('Customer’s name, as on their ID').fill('ada lovelace');
    await page.getByRole('button', { name: 'Picked up' }).click();
    await see('Order PU-2001 handed to ada lovelace.');
    await until('PU-2001', 'completed');
  });

  it('receives an expected delivery, reporting what came short', async () => {
    await page.getByRole('link', { name: 'Receive' }).click();
    await see('PO-77');
    await see('From Acme Mugs');
    const qty = page.getByLabel(`Received quantity of ${MUG.sku} on PO-77`);
    expect(await qty.inputValue()).toBe('6'); // prefilled with what is expected
    await qty.fill('5');
    await page.getByRole('button', { name: 'Receive PO-77' }).click();
    await see('Received 5 units on PO-77. MUG-01 short 1.');
    await waitFor('receipt in the ledger', () => node.store.positions().find((p) => p.sku === MUG.sku)?.onHand === 9);
  });

  it('shows stock, records a walk-in sale and a count adjustment', async () => {
    await page.getByRole('link', { name: 'Stock' }).click();
    // SKU, on hand, held, safety, available: mugs 5 − 1 shipped + 5 received, safety stock 1
    await expect.poll(() => cells(MUG.sku)).toEqual([MUG.sku, '9', '0', '1', '8']);
    // tees: 10 − 2 shipped; caps: 3 − 1 picked up
    expect(await cells(TEE.sku)).toEqual([TEE.sku, '8', '0', '0', '8']);
    expect(await cells(CAP.sku)).toEqual([CAP.sku, '2', '0', '0', '2']);

    await stockRow(TEE.sku).click(); // a tap on a row fills the SKU in the forms
    expect(await page.getByLabel('SKU').first().inputValue()).toBe(TEE.sku);
    await page.getByLabel('Qty').fill('2');
    await page.getByRole('button', { name: 'Sell' }).click();
    await see('Sold 2 × TEE-RED-M. Available now 6.');
    await expect.poll(() => cells(TEE.sku)).toEqual([TEE.sku, '6', '0', '0', '6']);

    await page.locator('#adjSku').fill(MUG.sku);
    await page.getByLabel('Counted on hand').fill('12');
    await page.getByLabel('Reason').fill('Cycle count');
    await page.getByRole('button', { name: 'Save count' }).click();
    await see('MUG-01 on hand set to 12 (available 11).');
    await expect.poll(() => cells(MUG.sku)).toEqual([MUG.sku, '12', '0', '1', '11']);
  });

  it('warns that the node is offline with changes waiting, and clears when the hub returns', async () => {
    const banner = page.locator('#banner');
    expect(await banner.isVisible()).toBe(false);
    await hub.stop();
    // work goes on: a sale while the hub is down
    await page.locator('#saleSku').fill(MUG.sku);
    await page.getByLabel('Qty').fill('1');
    await page.getByRole('button', { name: 'Sell' }).click();
    await see('Sold 1 × MUG-01.');
    await expect.poll(() => banner.textContent(), { timeout: 30_000 }).toMatch(/Offline — [1-9]\d* changes? waiting to sync/);
    expect(await page.locator('#syncPill').textContent()).toBe('Offline');

    hub = await testHub(hubData, { port: hubPort, batchWindowMs: 100 });
    await expect.poll(() => banner.isVisible(), { timeout: 30_000 }).toBe(false);
    await expect.poll(() => page.locator('#syncPill').textContent(), { timeout: 15_000 }).toMatch(/^Synced/);
    // the sale made offline reached the hub's view of the store
    await waitFor('the sale at the hub', async () => {
      const v = await api(hub.url, 'GET', `/api/v1/inventory/${MUG.sku}`);
      return v.body.facilities?.find((f: any) => f.facility === 'S1')?.onHand === 11;
    });
  });

  it('signs out, and a page reload keeps the associate signed in until then', async () => {
    await page.reload();
    await page.getByRole('link', { name: 'Tasks' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Associate token').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('dom.associateToken'))).toBeNull();
    expect(await page.getByRole('link', { name: 'Tasks' }).isVisible()).toBe(false);
  });

  it('ran without script errors, injected markup, blocked resources or requests leaving the node, and saved a phone-sized screenshot', async () => {
    expect(problems.pageErrors).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(problems.consoleErrors).toEqual([]);
    expect(problems.foreignRequests).toEqual([]);
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });
});
