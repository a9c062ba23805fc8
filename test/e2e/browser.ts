/**
 * Headless Chromium (Debian's `chromium`, driven by playwright-core) for the browser tests: one
 * page at the given size, recording script errors, console errors and any request that leaves
 * `origin` (a page of ours must load nothing from elsewhere).
 */
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestPage {
  browser: Browser;
  page: Page;
  pageErrors: string[];
  consoleErrors: string[];
  foreignRequests: string[];
}

export async function openPage(origin: string, context: BrowserContextOptions): Promise<TestPage> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // the flags this machine needs: no sandbox as root, and no background calls to a closed network
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await (await browser.newContext({ locale: 'en-US', ...context })).newPage();
  const t: TestPage = { browser, page, pageErrors: [], consoleErrors: [], foreignRequests: [] };
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => t.pageErrors.push(String(e)));
  page.on('console', (m) => {
    // the browser logs every 4xx answer as "Failed to load resource"; those are expected here
    if (m.type() === 'error' && !m.text().includes('Failed to load resource')) t.consoleErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) t.foreignRequests.push(r.url());
  });
  return t;
}
