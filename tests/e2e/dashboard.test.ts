import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS_DIR, launchChromium } from '../helpers/browser';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { startAedes } from '../helpers/brokers';

const TIMEOUT = 5000;
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

async function openPage(browser: Browser, url: string, options: { userAgent?: string; width?: number } = {}) {
  const context = await browser.newContext({ userAgent: options.userAgent, viewport: { width: options.width ?? 1100, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => /^[A-Za-z0-9]{17}$/.test(document.querySelector('[data-testid="session-id"]')?.textContent ?? ''));
  return { context, page, errors };
}

const sessionIdOf = (page: Page) => page.getByTestId('session-id').textContent() as Promise<string>;
const rowIds = (page: Page) =>
  page.$$eval('[data-testid="connection-row"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.sessionId!).sort());

describe('dashboard in headless Chromium', () => {
  let app: AppTestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    app = await startAppForTest();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('3 plain pages and 1 monitor page: the monitor shows every row, each plain page only itself', async () => {
    const plain = await Promise.all([1, 2, 3].map(() => openPage(browser, app.url + '/')));
    const monitor = await openPage(browser, `${app.url}/?token=${MONITOR_TOKEN}`);
    contexts.push(...plain.map((p) => p.context), monitor.context);
    const ids = await Promise.all([...plain, monitor].map((p) => sessionIdOf(p.page)));

    await waitFor(async () => (await rowIds(monitor.page)).length === 4, TIMEOUT, 'four rows at the monitor');
    assert.deepEqual(await rowIds(monitor.page), [...ids].sort());
    await monitor.page.getByTestId('connection-count').filter({ hasText: /^4$/ }).waitFor({ timeout: TIMEOUT });
    assert.match((await monitor.page.getByTestId('access').textContent())!, /Monitor view/);
    await monitor.page.getByTestId('bridge-status').filter({ hasText: /no MQTT bridge configured/ }).waitFor({ timeout: TIMEOUT });
    // The monitor's own row is highlighted; the address is visible to it.
    const self = monitor.page.locator(`[data-testid="connection-row"][data-session-id="${ids[3]}"]`);
    assert.equal(await self.getAttribute('aria-current'), 'true');
    assert.match((await self.locator('td[data-label="Address"]').textContent())!, /127\.0\.0\.1/);

    for (const [i, p] of plain.entries()) {
      await waitFor(async () => (await rowIds(p.page)).length === 1, TIMEOUT, 'own row');
      assert.deepEqual(await rowIds(p.page), [ids[i]]);
      assert.equal(await p.page.locator('td[data-label="Address"]').textContent(), '–', 'no address for non-monitors');
      assert.equal(await p.page.getByTestId('bridge-status').isVisible(), false, 'no bridge status for non-monitors');
      await p.page.getByTestId('connection-count').filter({ hasText: /^4$/ }).waitFor({ timeout: TIMEOUT });
      assert.deepEqual(p.errors, []);
    }
    await monitor.page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-monitor.png'), fullPage: true });

    // The token left the address bar and stayed in sessionStorage.
    assert.equal(new URL(monitor.page.url()).searchParams.get('token'), null);
    assert.equal(await monitor.page.evaluate(() => sessionStorage.getItem('connectedUsers.monitorToken')), MONITOR_TOKEN);

    // Closing a page removes its row from the monitor within 2 s.
    const closedId = ids[0]!;
    const closedAt = Date.now();
    await plain[0]!.context.close();
    await waitFor(async () => !(await rowIds(monitor.page)).includes(closedId), 2000, 'closed page row removed');
    const removalMs = Date.now() - closedAt;
    assert.ok(removalMs < 2000, `removed after ${removalMs} ms`);
    for (const c of contexts) await c.close().catch(() => {});
    contexts.length = 0;
  });

  test('accessibility: axe-core finds no serious or critical violations (contrast, labels, roles)', async () => {
    const p = await openPage(browser, `${app.url}/?token=${MONITOR_TOKEN}`);
    await waitFor(async () => (await rowIds(p.page)).length >= 1, TIMEOUT);
    // The page's CSP (script-src 'self') blocks injected script tags; evaluate axe's source instead.
    await p.page.evaluate(readFileSync(AXE_PATH, 'utf8'));
    const violations = await p.page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], JSON.stringify(violations));
    await p.context.close();
  });

  test('a wrong token: the non-monitor view, and the page says the token was not accepted', async () => {
    const p = await openPage(browser, `${app.url}/?token=wrong-token`);
    await p.page.getByTestId('access').filter({ hasText: /not accepted/ }).waitFor({ timeout: TIMEOUT });
    await waitFor(async () => (await rowIds(p.page)).length === 1, TIMEOUT);
    assert.deepEqual(await rowIds(p.page), [await sessionIdOf(p.page)]);
    // Entering the right token in the form switches to the monitor view.
    await p.page.getByLabel('Monitor token').fill(MONITOR_TOKEN);
    await p.page.getByRole('button', { name: 'Use token' }).click();
    await p.page.getByTestId('access').filter({ hasText: /Monitor view/ }).waitFor({ timeout: TIMEOUT });
    await p.context.close();
  });

  test('HTML in a field is shown as text, never run; a very long one does not break the layout at 375 px', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">' + 'A'.repeat(400);
    const victim = await openPage(browser, app.url + '/', { userAgent: evil });
    const monitor = await openPage(browser, `${app.url}/?token=${MONITOR_TOKEN}`, { width: 375 });
    const victimId = await sessionIdOf(victim.page);
    const cell = monitor.page.locator(`[data-session-id="${victimId}"] td[data-label="User agent"]`);
    await cell.waitFor({ timeout: TIMEOUT });
    assert.equal(await cell.textContent(), evil);
    assert.equal(await monitor.page.locator('tbody img').count(), 0);
    assert.equal(await monitor.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    const overflow = await monitor.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow} px at 375 px`);
    await monitor.page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-375px.png'), fullPage: true });
    await victim.context.close();
    await monitor.context.close();
  });

  test('with the MQTT bridge on, a monitor sees its status and the other instance\'s rows', async () => {
    const broker = await startAedes();
    const env = { MQTT_URL: broker.url, MQTT_KEEPALIVE: '2' };
    const first = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'page-inst-1' });
    const second = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'page-inst-2' });
    try {
      const elsewhere = await openPage(browser, second.url + '/');
      const monitor = await openPage(browser, `${first.url}/?token=${MONITOR_TOKEN}`);
      await monitor.page.getByTestId('bridge-status').filter({ hasText: /connected to mqtt:\/\/127\.0\.0\.1:\d+; 1 other instance/ }).waitFor({ timeout: TIMEOUT });
      const remoteId = await sessionIdOf(elsewhere.page);
      const row = monitor.page.locator(`[data-session-id="${remoteId}"] td[data-label="Instance"]`);
      await row.filter({ hasText: 'page-inst-2' }).waitFor({ timeout: TIMEOUT });
      // Per-instance totals, and the instance filter narrows the list to the other instance's rows.
      const remoteTotals = monitor.page.locator('[data-testid="instance-row"][data-instance-id="page-inst-2"]');
      await remoteTotals.locator('td[data-label="Status"]').filter({ hasText: /^online$/ }).waitFor({ timeout: TIMEOUT });
      assert.equal(await remoteTotals.locator('td[data-label="Connections"]').textContent(), '1');
      await monitor.page.getByTestId('instance-filter').selectOption('page-inst-2');
      await waitFor(async () => JSON.stringify(await rowIds(monitor.page)) === JSON.stringify([remoteId]), TIMEOUT, 'only the remote row');
      await monitor.page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-two-instances.png'), fullPage: true });
      await elsewhere.context.close();
      await monitor.context.close();
    } finally {
      await second.close();
      await first.close();
      await broker.stop();
    }
  });

  test('server restart: pages show offline/reconnecting, then reconnect with new ids and a right list', async () => {
    const plain = await openPage(browser, app.url + '/');
    const monitor = await openPage(browser, `${app.url}/?token=${MONITOR_TOKEN}`);
    const before = [await sessionIdOf(plain.page), await sessionIdOf(monitor.page)];
    const port = app.port;
    await app.close();
    await monitor.page.getByTestId('status').filter({ hasText: /^(offline|reconnecting)$/ }).waitFor({ timeout: TIMEOUT });
    await monitor.page.getByTestId('status').filter({ hasText: /^offline$/ }).waitFor({ timeout: TIMEOUT });
    await monitor.page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-offline.png') });
    app = await startAppForTest({ PORT: String(port) });
    for (const p of [plain, monitor]) {
      await p.page.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
    }
    await waitFor(async () => !before.includes(await sessionIdOf(monitor.page)) && !before.includes(await sessionIdOf(plain.page)), TIMEOUT, 'new ids');
    const after = [await sessionIdOf(plain.page), await sessionIdOf(monitor.page)];
    await waitFor(async () => JSON.stringify(await rowIds(monitor.page)) === JSON.stringify([...after].sort()), TIMEOUT, 'monitor list right again');
    await waitFor(async () => JSON.stringify(await rowIds(plain.page)) === JSON.stringify([after[0]]), TIMEOUT, 'plain list right again');
    await monitor.page.getByTestId('connection-count').filter({ hasText: /^2$/ }).waitFor({ timeout: TIMEOUT });
    await plain.context.close();
    await monitor.context.close();
  });
});
