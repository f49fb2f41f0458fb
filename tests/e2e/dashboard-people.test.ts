import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import { ARTIFACTS_DIR, launchChromium } from '../helpers/browser';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * The dashboard's people view (issue 14) in headless Chromium against the
 * real standalone app with JWT login on: raw DDP clients log in with a
 * token signed here (`sub` = account id), two tabs as alice, one as bob.
 * The monitor page sees one row per person with their connection count and
 * status; idle when all of a person's connections are; the row goes when
 * the last connection does. Choosing a person filters the connections view.
 * The page also reports its own idleness (idle-reporter.ts).
 */
const TIMEOUT = 5000;
const SECRET = 'dashboard-people-test-secret-of-at-least-32-bytes';
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

function signFor(accountId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(accountId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

let nextCallId = 1;
async function call(client: RawDdpClient, method: string, ...params: unknown[]): Promise<unknown> {
  const id = `c${nextCallId++}`;
  client.send({ msg: 'method', id, method, params });
  const result = await client.until((f) => f.msg === 'result' && f.id === id, TIMEOUT);
  if (result.error) throw new Error(`${method}: ${JSON.stringify(result.error)}`);
  return result.result;
}

/** One "tab" of a person: a raw DDP connection logged in with a JWT. */
async function tabOf(app: AppTestServer, accountId: string): Promise<{ client: RawDdpClient; session: string }> {
  const tab = await RawDdpClient.connect(app.wsUrl, { 'user-agent': `people-test/${accountId}` });
  const result = (await call(tab.client, PRESENCE_NAMES.loginMethod, { jwt: await signFor(accountId) })) as { id?: string };
  assert.equal(result.id, accountId, 'login answers with the account id');
  return tab;
}

async function openMonitor(browser: Browser, url: string) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?token=${MONITOR_TOKEN}`);
  await page.getByTestId('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: TIMEOUT });
  await page.getByTestId('access').filter({ hasText: /Monitor view/ }).waitFor({ timeout: TIMEOUT });
  return { context, page, errors };
}

const personRow = (page: Page, accountId: string) => page.locator(`[data-testid="person-row"][data-account-id="${accountId}"]`);
const personIds = (page: Page) => page.$$eval('[data-testid="person-row"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.accountId!));
const connectionRows = (page: Page) =>
  page.$$eval('[data-testid="connection-row"]', (rows) =>
    rows.map((r) => ({ session: (r as HTMLElement).dataset.sessionId!, account: (r as HTMLElement).dataset.accountId ?? null })),
  );

async function waitForText(page: Page, selector: string, text: string, what: string): Promise<void> {
  await waitFor(async () => (await page.locator(selector).first().textContent().catch(() => null))?.trim() === text, TIMEOUT, what);
}

describe('dashboard people view in headless Chromium', () => {
  let app: AppTestServer;
  let browser: Browser;

  before(async () => {
    app = await startAppForTest({ PRESENCE_JWT_SECRET: SECRET });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  test('two tabs of alice and one of bob: one row each with counts and status; idle, fewer tabs, gone; bob filters the connections', async () => {
    const { page, context, errors } = await openMonitor(browser, app.url);
    const alice1 = await tabOf(app, 'alice');
    const alice2 = await tabOf(app, 'alice');
    const bob = await tabOf(app, 'bob');

    await page.getByTestId('people-tab').click();
    assert.equal(await page.getByTestId('people-tab').getAttribute('aria-selected'), 'true');
    assert.equal(await page.getByTestId('people-view').isVisible(), true);
    assert.equal(await page.getByTestId('table-scroll').isVisible(), false, 'the connections view is hidden meanwhile');
    const alice = `[data-testid="person-row"][data-account-id="alice"]`;
    const bobRow = `[data-testid="person-row"][data-account-id="bob"]`;
    await waitForText(page, `${alice} [data-testid="person-connections"]`, '2', 'alice with 2 connections');
    await waitForText(page, `${bobRow} [data-testid="person-connections"]`, '1', 'bob with 1 connection');
    assert.deepEqual(await personIds(page), ['alice', 'bob'], 'the monitor itself is anonymous: not a person');
    assert.equal((await personRow(page, 'alice').getByTestId('person-status').textContent())?.trim(), 'online');
    assert.equal((await personRow(page, 'bob').getByTestId('person-status').textContent())?.trim(), 'online');
    assert.match((await page.getByTestId('people-note').textContent())!, /2 people online, 0 idle/);
    assert.equal((await page.getByTestId('people-count').textContent())?.trim(), '(2)');

    // One idle tab is not enough; both are.
    await call(alice1.client, PRESENCE_NAMES.setIdleMethod, true);
    await page.waitForTimeout(300);
    assert.equal((await personRow(page, 'alice').getByTestId('person-status').textContent())?.trim(), 'online', 'one tab still active');
    await call(alice2.client, PRESENCE_NAMES.setIdleMethod, true);
    await waitForText(page, `${alice} [data-testid="person-status"]`, 'idle', 'alice idle');
    assert.equal((await personRow(page, 'bob').getByTestId('person-status').textContent())?.trim(), 'online');
    assert.deepEqual(await personIds(page), ['bob', 'alice'], 'online before idle');
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-people.png'), fullPage: true });

    // Choosing alice shows her two connections, both with an idle badge.
    await personRow(page, 'alice').getByRole('button', { name: 'Show connections of alice' }).click();
    assert.equal(await page.getByTestId('connections-tab').getAttribute('aria-selected'), 'true');
    await page.getByTestId('account-filter').filter({ hasText: 'alice' }).waitFor({ timeout: TIMEOUT });
    await waitFor(async () => JSON.stringify((await connectionRows(page)).map((r) => r.session).sort()) === JSON.stringify([alice1.session, alice2.session].sort()), TIMEOUT, "alice's connections only");
    assert.equal(await page.locator('[data-testid="connection-row"] [data-testid="connection-idle"]').count(), 2);
    assert.equal((await page.locator(`[data-session-id="${alice1.session}"] td[data-label="Account"]`).textContent())?.replace(/\s+/g, ' ').trim(), 'alice idle');

    // One of alice's tabs closes: still there, with 1; the last closes: gone.
    await page.getByTestId('people-tab').click();
    alice1.client.close();
    await waitForText(page, `${alice} [data-testid="person-connections"]`, '1', 'alice with 1 connection');
    assert.equal((await personRow(page, 'alice').getByTestId('person-status').textContent())?.trim(), 'idle');
    alice2.client.close();
    await waitFor(async () => JSON.stringify(await personIds(page)) === JSON.stringify(['bob']), TIMEOUT, "alice's row gone");

    // A click anywhere on bob's row filters the connections view to his one connection.
    await personRow(page, 'bob').locator('td[data-label="Since"]').click();
    await page.getByTestId('account-filter').filter({ hasText: 'bob' }).waitFor({ timeout: TIMEOUT });
    await waitFor(async () => JSON.stringify(await connectionRows(page)) === JSON.stringify([{ session: bob.session, account: 'bob' }]), TIMEOUT, "bob's connection only");
    assert.equal(await page.getByTestId('table-scroll').isVisible(), true);

    // Clearing the filter brings everyone back, the monitor's own connection as anonymous.
    await page.getByTestId('account-filter').getByRole('button', { name: 'Clear filter' }).click();
    assert.equal(await page.getByTestId('account-filter').isVisible(), false);
    const self = (await page.getByTestId('session-id').textContent())!;
    await waitFor(async () => (await connectionRows(page)).some((r) => r.session === self), TIMEOUT, 'the full list again');
    assert.equal((await page.locator(`[data-session-id="${self}"] td[data-label="Account"]`).textContent())?.trim(), 'anonymous');

    // Back to the people view: its rows are there on the first frame, not a frame after a resize.
    await page.getByTestId('people-tab').click();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    assert.deepEqual(await personIds(page), ['bob']);
    bob.client.close();
    await waitFor(async () => (await personIds(page)).length === 0, TIMEOUT, 'nobody online');
    assert.equal(await page.getByTestId('people-empty').isVisible(), true);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the tabs are keyboard operable (arrows, one tab stop) and axe finds no serious violations in the people view', async () => {
    const { page, context } = await openMonitor(browser, app.url);
    const carol = await tabOf(app, 'carol');
    await page.getByTestId('connections-tab').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByTestId('people-tab').getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'people-tab');
    assert.equal(await page.getByTestId('connections-tab').getAttribute('tabindex'), '-1');
    await personRow(page, 'carol').waitFor({ timeout: TIMEOUT });
    await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], JSON.stringify(violations));
    // At 375 px the rows become cards and nothing scrolls sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(100);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow} px at 375 px`);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard-people-375px.png'), fullPage: true });
    // Enter on the account button (a real button) filters, as a click does.
    await personRow(page, 'carol').getByRole('button').focus();
    await page.keyboard.press('Enter');
    await waitFor(async () => JSON.stringify(await connectionRows(page)) === JSON.stringify([{ session: carol.session, account: 'carol' }]), TIMEOUT, "carol's connection only");
    carol.client.close();
    await context.close();
  });

  test("the page reports its own idleness: a hidden tab shows idle on the page's own row, visible again is active", async () => {
    const { page, context } = await openMonitor(browser, app.url);
    const self = (await page.getByTestId('session-id').textContent())!;
    const badge = page.locator(`[data-session-id="${self}"] [data-testid="connection-idle"]`);
    await page.locator(`[data-session-id="${self}"]`).waitFor({ timeout: TIMEOUT });
    assert.equal(await badge.count(), 0);
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate((value) => {
        // A value, not a getter: tsx would wrap a getter in a helper the page does not have.
        Object.defineProperty(document, 'visibilityState', { configurable: true, value });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await badge.waitFor({ timeout: TIMEOUT });
    await setVisibility('visible');
    await badge.waitFor({ state: 'detached', timeout: TIMEOUT });
    await context.close();
  });
});
