/**
 * The in-page measurements of the dashboard section, on a Playwright page:
 * navigation → count shown and → first rows, long tasks, search → row,
 * JS heap and DOM size.
 *
 * Times are the page's own `performance.now()` (0 = navigation start), taken
 * by a MutationObserver and a 'longtask' PerformanceObserver that an init
 * script installs before the dashboard's scripts run: nothing polls from
 * outside, so the figures carry no IPC round trip. "Shown" means in the DOM
 * (the mutation callback runs before the next paint, within a frame of it).
 *
 * Example:
 *   const page = await ProbedPage.open(browser, 'http://127.0.0.1:3000/?token=t', 1003);
 *   const load = await page.waitForLoad(60_000);
 * Caveat: functions passed to the page are serialized as source. Under tsx,
 * esbuild wraps every named inner function in `__name(...)`, which the page
 * does not have, so a no-op `__name` is installed first.
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import type { LongTaskSummary } from './dashboard-results-types';

export const SELECTORS = {
  count: '[data-testid="connection-count"]',
  row: '[data-testid="connection-row"]',
  search: '[data-testid="search"]',
} as const;

/** The state the init script keeps on `window.__dashboardProbe`. */
interface ProbeState {
  countAt: number | null;
  rowsAt: number | null;
  lastCount: string | null;
  /** [startTime, duration] of every long task since navigation. */
  longTasks: Array<[number, number]>;
  search?: Promise<number | null>;
}
type ProbeWindow = Window & { __dashboardProbe: ProbeState };

export interface LoadTimes {
  countMs: number | null;
  firstRowsMs: number | null;
  /** The count's text when the wait ended. */
  countShown: string | null;
}

export interface MainThreadMs {
  task: number;
  script: number;
  layout: number;
  style: number;
}

export interface SearchOutcome {
  /** The page has a search box. */
  box: boolean;
  ms: number | null;
  note?: string;
}

/** Runs in the page before any of its scripts. */
function installProbe(args: { expectedCount: number; count: string; row: string }): void {
  const state: ProbeState = { countAt: null, rowsAt: null, lastCount: null, longTasks: [] };
  (window as unknown as ProbeWindow).__dashboardProbe = state;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) state.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* no longtask support: the summaries stay empty */
  }
  const observer = new MutationObserver(() => {
    const now = performance.now();
    const shown = document.querySelector(args.count)?.textContent ?? null;
    state.lastCount = shown;
    // Digits only: the count may be shown with grouping ("19,003", "19 003").
    const digits = shown?.replace(/\D/g, '') ?? '';
    if (state.countAt === null && digits !== '' && Number(digits) === args.expectedCount) state.countAt = now;
    if (state.rowsAt === null && document.querySelector(args.row)) state.rowsAt = now;
    if (state.countAt !== null && state.rowsAt !== null) observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
}

/**
 * Arms the search watch: resolves with ms from the first input event to the
 * moment the row is in the DOM (mutations observed, and each frame checked in
 * case the row was there already), or null after `timeoutMs`.
 */
function armSearch(args: { search: string; row: string; timeoutMs: number }): 'absent' | 'visible' | 'armed' {
  const input = document.querySelector(args.search);
  if (!input) return 'absent';
  const state = (window as unknown as ProbeWindow).__dashboardProbe;
  const visibleBefore = document.querySelector(args.row) !== null;
  state.search = new Promise((resolve) => {
    let typedAt: number | null = null;
    let done = false;
    const finish = (ms: number | null) => {
      if (done) return;
      done = true;
      observer.disconnect();
      clearTimeout(timer);
      window.removeEventListener('input', onInput, true);
      resolve(ms);
    };
    const check = () => {
      if (typedAt !== null && document.querySelector(args.row)) finish(performance.now() - typedAt);
    };
    const everyFrame = () => {
      check();
      if (!done) requestAnimationFrame(everyFrame);
    };
    const onInput = () => {
      if (typedAt !== null) return;
      typedAt = performance.now();
      requestAnimationFrame(everyFrame);
    };
    // Capture on window: the time is taken before the dashboard's own input handler runs.
    window.addEventListener('input', onInput, true);
    const observer = new MutationObserver(check);
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-session-id'] });
    const timer = setTimeout(() => finish(null), args.timeoutMs);
  });
  return visibleBefore ? 'visible' : 'armed';
}

export class ProbedPage {
  private constructor(private readonly browser: Browser, private readonly context: BrowserContext, readonly page: Page, private readonly cdp: CDPSession) {}

  static async open(browser: Browser, url: string, expectedCount: number): Promise<ProbedPage> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' }); // see the module doc
    await page.addInitScript(installProbe, { expectedCount, count: SELECTORS.count, row: SELECTORS.row });
    const cdp = await context.newCDPSession(page);
    await page.goto(url, { waitUntil: 'commit' });
    return new ProbedPage(browser, context, page, cdp);
  }

  /** Waits until the count shows the expected total and a row is present, or `timeoutMs`. */
  async waitForLoad(timeoutMs: number, pollMs = 100): Promise<LoadTimes> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const state = await this.state();
      const over = performance.now() > deadline;
      if ((state.countAt !== null && state.rowsAt !== null) || over) {
        return { countMs: round(state.countAt), firstRowsMs: round(state.rowsAt), countShown: state.lastCount };
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** The page's clock, to bound a window of long tasks. */
  now(): Promise<number> {
    return this.page.evaluate(() => performance.now());
  }

  async longTasks(from: number, to: number): Promise<LongTaskSummary> {
    const tasks = (await this.state()).longTasks.filter(([start]) => start >= from && start < to);
    return { count: tasks.length, maxMs: tasks.length ? round(Math.max(...tasks.map(([, d]) => d))) : null };
  }

  /**
   * Types a session id into the search box (one input event, as a paste) and
   * times its row; null when there is no search box. Of `candidates`, the
   * first whose row is not in the DOM yet is searched (which end of the list
   * the window shows is the dashboard's choice).
   */
  async search(candidates: string[], timeoutMs: number): Promise<SearchOutcome> {
    const rowOf = (id: string) => `${SELECTORS.row}[data-session-id="${id}"]`;
    const shown = await this.page.evaluate((selectors) => selectors.map((s) => document.querySelector(s) !== null), candidates.map(rowOf));
    const sessionId = candidates[Math.max(0, shown.indexOf(false))]!;
    const row = rowOf(sessionId);
    const armed = await this.page.evaluate(armSearch, { search: SELECTORS.search, row, timeoutMs });
    if (armed === 'absent') return { box: false, ms: null, note: `no ${SELECTORS.search} on the page` };
    await this.page.fill(SELECTORS.search, sessionId);
    const ms = await this.page.evaluate(() => (window as unknown as ProbeWindow).__dashboardProbe.search!);
    const note = armed === 'visible' ? 'the row was in the DOM before typing' : ms === null ? `row not shown within ${timeoutMs} ms` : undefined;
    return { box: true, ms: round(ms), ...(note ? { note } : {}) };
  }

  /** JS heap after a forced GC (CDP), and the number of elements. */
  async sample(): Promise<{ heapMb: number | null; domElements: number }> {
    let heapMb: number | null = null;
    try {
      await this.cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await this.cdp.send('Runtime.getHeapUsage');
      heapMb = round(usedSize / 1024 / 1024);
    } catch {
      heapMb = await this.page.evaluate(() => {
        const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
        return memory ? memory.usedJSHeapSize / 1024 / 1024 : null;
      });
      heapMb = round(heapMb);
    }
    const domElements = await this.page.evaluate(() => document.getElementsByTagName('*').length);
    return { heapMb, domElements };
  }

  /**
   * The page's main-thread time so far, in ms, by kind (CDP Performance
   * metrics; wall time of its tasks, so a starved thread inflates them all
   * alike): over a window, where the page's work goes.
   */
  async mainThreadMs(): Promise<MainThreadMs | null> {
    try {
      await this.cdp.send('Performance.enable');
      const { metrics } = await this.cdp.send('Performance.getMetrics');
      const ms = (name: string) => Math.round((metrics.find((m) => m.name === name)?.value ?? 0) * 1000);
      return { task: ms('TaskDuration'), script: ms('ScriptDuration'), layout: ms('LayoutDuration'), style: ms('RecalcStyleDuration') };
    } catch {
      return null;
    }
  }

  /**
   * CPU time used so far by Chromium's renderer processes, in ms (null if
   * CDP will not tell): over a window, it says whether long tasks were the
   * page's own work or a starved main thread on a busy machine.
   */
  async rendererCpuMs(): Promise<number | null> {
    try {
      const session = await this.browser.newBrowserCDPSession();
      const { processInfo } = await session.send('SystemInfo.getProcessInfo');
      await session.detach();
      return Math.round(processInfo.filter((p) => p.type === 'renderer').reduce((n, p) => n + p.cpuTime, 0) * 1000);
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  private state(): Promise<ProbeState> {
    return this.page.evaluate(() => {
      const s = (window as unknown as ProbeWindow).__dashboardProbe;
      return { countAt: s.countAt, rowsAt: s.rowsAt, lastCount: s.lastCount, longTasks: s.longTasks };
    });
  }
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
