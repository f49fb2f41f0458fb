import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * The monitor's list tools in headless Chromium against the real server:
 * the window (first 200, "Show more"), a DOM that holds only the visible
 * rows, search, sort, rows that survive churn, the stats and their history.
 * Load comes from raw DDP clients (250, more than one window).
 */
const TIMEOUT = 5000;
const LOAD = 250;

async function openMonitor(browser: Browser, url: string, height = 800) {
  const context = await browser.newContext({ viewport: { width: 1100, height } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?token=${MONITOR_TOKEN}`);
  await page.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: TIMEOUT });
  return { context, page, errors };
}

const rowIds = (page: Page) => page.$$eval('[data-testid="connection-row"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.sessionId!));
const countOf = (page: Page) => page.getByTestId('connection-count').getAttribute('data-count');

describe('dashboard list tools in headless Chromium', () => {
  let app: AppTestServer;
  let browser: Browser;
  /** Oldest first. */
  const load: Array<{ client: RawDdpClient; session: string }> = [];

  before(async () => {
    app = await startAppForTest();
    browser = await launchChromium();
    const url = app.url.replace('http', 'ws') + '/websocket';
    for (let i = 0; i < LOAD; i++) load.push(await RawDdpClient.connect(url, { 'user-agent': `load-client/${i}` }));
  });
  after(async () => {
    for (const { client } of load) client.ws.terminate();
    await browser?.close();
    await app?.close();
  });

  test('a window of 200 of 251, a DOM of visible rows only, and "Show more" for the rest', async () => {
    const { page, context, errors } = await openMonitor(browser, app.url);
    await waitFor(async () => (await countOf(page)) === String(LOAD + 1), TIMEOUT, 'count');
    await page.getByTestId('window-note').filter({ hasText: 'Showing the first 200 matches' }).waitFor({ timeout: TIMEOUT });
    const inDom = (await rowIds(page)).length;
    assert.ok(inDom > 5 && inDom < 60, `${inDom} rows in the DOM for 200 in the window`);
    // Newest first: the page's own session tops the list.
    const self = await page.getByTestId('session-id').textContent();
    assert.equal((await rowIds(page))[0], self);
    // The end of the window is reachable by scrolling; it stops at the 200th newest.
    await page.getByTestId('table-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    const window200 = [self!, ...load.map((l) => l.session).reverse()].slice(0, 200);
    await waitFor(async () => (await rowIds(page)).includes(window200.at(-1)!), TIMEOUT, 'last row of the window after scrolling');
    await page.getByTestId('show-more').click();
    await waitFor(async () => (await page.getByTestId('window-note').textContent()) === '', TIMEOUT, 'window holds all');
    await page.getByTestId('table-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await waitFor(async () => (await rowIds(page)).at(-1) === load[0]!.session, TIMEOUT, 'oldest connection last');
    assert.equal(await page.getByTestId('show-more').isVisible(), false);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('search by session id shows that row alone; by user agent, the matches; the raw user agent on demand', async () => {
    const { page, context } = await openMonitor(browser, app.url);
    const target = load[7]!.session;
    await page.getByTestId('search').fill(target);
    await waitFor(async () => JSON.stringify(await rowIds(page)) === JSON.stringify([target]), TIMEOUT, 'the searched row alone');
    await page.getByTestId('search').fill('LOAD-CLIENT/24'); // case-insensitive: 24 and 240..249
    await waitFor(async () => (await rowIds(page)).length === 11, TIMEOUT, '11 matches');
    await page.locator(`[data-session-id="${load[24]!.session}"]`).click();
    await page.getByTestId('details').filter({ hasText: 'load-client/24' }).waitFor({ timeout: TIMEOUT });
    await page.getByTestId('search').fill('');
    await waitFor(async () => (await rowIds(page)).length > 11, TIMEOUT, 'full window again');
    await context.close();
  });

  test('sort oldest first puts the first connection on top', async () => {
    const { page, context } = await openMonitor(browser, app.url);
    await page.getByTestId('sort').selectOption('oldest');
    await waitFor(async () => (await rowIds(page))[0] === load[0]!.session, TIMEOUT, 'oldest on top');
    await context.close();
  });

  test('rows are kept, not rebuilt, while others come and go: a selected session id stays selected', async () => {
    const { page, context } = await openMonitor(browser, app.url);
    await page.getByTestId('sort').selectOption('oldest');
    const kept = load[0]!.session;
    await waitFor(async () => (await rowIds(page))[0] === kept, TIMEOUT, 'oldest on top');
    await page.evaluate((id) => {
      const cell = document.querySelector(`[data-session-id="${id}"] td[data-label="Session"] span`)!;
      (cell as unknown as { marked: boolean }).marked = true;
      getSelection()!.selectAllChildren(cell.firstChild!.parentNode!);
    }, kept);
    // Churn: 20 leave, 20 arrive, and relative times tick (every 2 s).
    const url = app.url.replace('http', 'ws') + '/websocket';
    const leaving = load.splice(1, 20);
    for (const { client } of leaving) client.ws.close();
    for (let i = 0; i < 20; i++) load.push(await RawDdpClient.connect(url, { 'user-agent': `load-client/late-${i}` }));
    await waitFor(async () => (await countOf(page)) === String(LOAD + 1), TIMEOUT, 'count back to 251');
    await page.waitForTimeout(2500);
    const state = await page.evaluate((id) => {
      const cell = document.querySelector(`[data-session-id="${id}"] td[data-label="Session"] span`) as unknown as { marked?: boolean } | null;
      return { sameElement: cell?.marked === true, selection: getSelection()!.toString() };
    }, kept);
    assert.deepEqual(state, { sameElement: true, selection: kept });
    await context.close();
  });

  test('stats: totals per instance and a chart whose history is there at once after a reload; hidden from non-monitors', async () => {
    const { page, context } = await openMonitor(browser, app.url);
    const totals = page.getByTestId('instance-totals');
    await totals.locator('tr.total td[data-label="Connections"]').filter({ hasText: String(LOAD + 1) }).waitFor({ timeout: TIMEOUT });
    assert.equal(await totals.locator('tr').count(), 2, 'this instance and the total');
    await page.waitForTimeout(3000);
    await page.reload();
    await page.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: TIMEOUT });
    await waitFor(async () => Number(await page.getByTestId('stats-chart').getAttribute('data-samples')) >= 3, 1500, 'server-side history on load');
    assert.equal(await page.locator('[data-testid="stats-chart"] canvas').count(), 1);

    const plain = await context.newPage();
    await plain.goto(`${app.url}/`);
    await plain.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: TIMEOUT });
    await waitFor(async () => (await rowIds(plain)).length === 1, TIMEOUT, 'own row');
    assert.equal(await plain.getByTestId('stats-section').isVisible(), false);
    assert.equal(await plain.getByTestId('list-tools').isVisible(), false);
    await context.close();
  });
});
