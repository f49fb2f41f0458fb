/**
 * Section "drain" (issue 13's "Done when" figures): one instance of (a),
 * started with METRICS_TOKEN, DRAIN_MS and its SIGTERM handled as `npm start`
 * does (BENCH_GRACEFUL_SHUTDOWN=1, bench/servers/ddp.ts), holds `held`
 * connections; then
 * 1. `GET /metrics` with the bearer token: `ddp_sessions` summed over its
 *    transports must equal the connections held; the scrape's time is reported;
 * 2. SIGTERM: the load workers record when each of their connections closes
 *    (worker command `closeTimes`); the closes are bucketed into tenths of
 *    DRAIN_MS after the signal (target: no tenth over 20%), and the process
 *    must exit within DRAIN_MS + 2 s with code 0.
 * Clocks: the signal's time and the workers' close times are all Date.now()
 * on this one machine, so they compare to the millisecond.
 * Source addresses: 127.0.5.x (load workers .1 and up), apart from the other
 * sections'. The per-address inbound budget stays off, as in every capacity run.
 */
import { loadavg } from 'node:os';
import type { DrainClosesFigure, DrainExitFigure, DrainResult, DrainTargets, MetricsScrapeFigure } from './drain-results-types';
import type { CloseTimesReport } from './load/worker';
import { startServer, startWorkers, type IpcChild, type ServerUnderTest } from './processes';
import { round } from './stats';

export interface DrainPlan {
  held: number;
  loadWorkers: number;
  drainMs: number;
  /** Wait after the ramp before scraping, so the ramp's last handshakes are settled. */
  settleMs: number;
}

export const DRAIN_PLANS: Record<'full' | 'quick', DrainPlan> = {
  full: { held: 19_000, loadWorkers: 4, drainMs: 10_000, settleMs: 2000 },
  quick: { held: 1_000, loadWorkers: 2, drainMs: 2_000, settleMs: 1000 },
};

export const DRAIN_TARGETS: DrainTargets = { maxTenthShare: 0.2, exitSlackMs: 2000, exitCode: 0 };
const ADDRESS_SUBNET = '127.0.5.';
const METRICS_TOKEN = 'bench-metrics-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Log = (message: string) => void;

export async function runDrainScenario(plan: DrainPlan, log: Log): Promise<DrainResult> {
  const started = Date.now();
  const result: DrainResult = {
    target: plan.held, held: 0, drainMs: plan.drainMs, targets: DRAIN_TARGETS, loadAverage: loadavg().map((x) => round(x, 2)!),
    metrics: null, closes: null, exit: null, serverLog: [], pass: false, failures: [], durationSeconds: 0,
  };
  const server = await startServer('app', {
    METRICS_TOKEN,
    DRAIN_MS: String(plan.drainMs),
    DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '0',
    BENCH_GRACEFUL_SHUTDOWN: '1',
  });
  const workers: IpcChild[] = [];
  try {
    workers.push(...(await startWorkers(plan.loadWorkers, 0, (i) => [`${ADDRESS_SUBNET}${1 + i}`])));
    log(`drain: opening ${plan.held} connections (load average ${result.loadAverage.join(' ')})`);
    const ramp = await openHeld(workers, server, plan.held);
    result.held = ramp.opened;
    if (ramp.firstError) result.firstFailure = ramp.firstError;
    await sleep(plan.settleMs);
    result.metrics = await scrapeMetrics(server);
    log(`drain: /metrics ddp_sessions ${result.metrics.ddpSessions} (held ${result.held}), scraped in ${result.metrics.scrapeMs} ms`);

    const exited = new Promise<{ at: number; code: number | null; signal: string | null }>((resolve) =>
      server.process.child.once('exit', (code, signal) => resolve({ at: Date.now(), code, signal })),
    );
    const signalAt = Date.now();
    server.process.child.kill('SIGTERM');
    const closeTimeoutMs = plan.drainMs + DRAIN_TARGETS.exitSlackMs + 5000;
    const reports = await Promise.all(
      workers.map((w) => w.request<CloseTimesReport>({ type: 'closeTimes', sinceEpochMs: signalAt, timeoutMs: closeTimeoutMs })),
    );
    result.closes = bucket(reports, result.held, plan.drainMs);
    const exit = await Promise.race([exited, sleep(plan.drainMs + 10_000).then(() => null)]);
    result.exit = exit ? { ms: exit.at - signalAt, code: exit.code, signal: exit.signal } : { ms: null, code: null, signal: null };
    log(`drain: closes per tenth ${result.closes.tenths.map((t) => `${(t.share * 100).toFixed(1)}%`).join(' ')}; exit after ${result.exit.ms} ms, code ${result.exit.code}`);
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.process.stop();
    result.serverLog = server.process.output.slice(-10);
  }
  result.failures = failures(result);
  result.pass = result.failures.length === 0;
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  return result;
}

async function openHeld(workers: IpcChild[], server: ServerUnderTest, count: number): Promise<{ opened: number; firstError?: string }> {
  const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
  const results = await Promise.all(
    workers.map((w, i) => w.request<{ opened: number; firstError?: string }>({ type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: 50 })),
  );
  return { opened: results.reduce((n, r) => n + r.opened, 0), firstError: results.find((r) => r.firstError)?.firstError };
}

/** One `GET /metrics` with the bearer token; `ddp_sessions` summed over its transport series. */
export async function scrapeMetrics(server: ServerUnderTest): Promise<MetricsScrapeFigure> {
  const t0 = performance.now();
  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  const body = await response.text();
  const scrapeMs = round(performance.now() - t0, 1)!;
  const byTransport: Record<string, number> = {};
  let found = false;
  for (const line of body.split('\n')) {
    const match = /^ddp_sessions\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    found = true;
    const transport = /transport="([^"]*)"/.exec(match[1]!)?.[1] ?? '?';
    byTransport[transport] = (byTransport[transport] ?? 0) + Number(match[2]);
  }
  const ddpSessions = found ? Object.values(byTransport).reduce((a, b) => a + b, 0) : null;
  return { status: response.status, scrapeMs, ddpSessions, byTransport, bodyBytes: Buffer.byteLength(body) };
}

/** Close times after SIGTERM into tenths of DRAIN_MS; shares are of the connections held at the signal. */
export function bucket(reports: CloseTimesReport[], held: number, drainMs: number): DrainClosesFigure {
  const times = reports.flatMap((r) => r.closedAfterMs);
  const tenthMs = drainMs / 10;
  const counts = Array.from({ length: 10 }, () => 0);
  let beforeSignal = 0;
  let afterDrainMs = 0;
  let firstMs: number | null = null;
  let lastMs: number | null = null;
  for (const t of times) {
    firstMs = firstMs === null ? t : Math.min(firstMs, t);
    lastMs = lastMs === null ? t : Math.max(lastMs, t);
    if (t < 0) beforeSignal++;
    else if (t >= drainMs) afterDrainMs++;
    else counts[Math.floor(t / tenthMs)]!++;
  }
  const total = Math.max(1, held);
  return {
    held,
    closed: times.length,
    beforeSignal,
    tenths: counts.map((closes, i) => ({ tenth: i + 1, fromMs: round(i * tenthMs, 0)!, toMs: round((i + 1) * tenthMs, 0)!, closes, share: round(closes / total, 4)! })),
    afterDrainMs,
    stillOpen: reports.reduce((n, r) => n + r.stillOpen, 0),
    firstMs,
    lastMs,
  };
}

function failures(r: DrainResult): string[] {
  const out: string[] = [];
  if (r.error) out.push(r.error);
  if (r.held < r.target) out.push(`held ${r.held} of ${r.target} connections${r.firstFailure ? ` (first failure: ${r.firstFailure})` : ''}`);
  const m = r.metrics;
  if (m && m.status !== 200) out.push(`/metrics answered ${m.status}`);
  else if (m && m.ddpSessions !== r.held) out.push(`ddp_sessions ${m.ddpSessions ?? 'missing'} ≠ ${r.held} held`);
  const c = r.closes;
  if (c) {
    for (const t of c.tenths) {
      if (t.share > r.targets.maxTenthShare) out.push(`${(t.share * 100).toFixed(1)}% of closes in tenth ${t.tenth} (${t.fromMs}–${t.toMs} ms) > ${r.targets.maxTenthShare * 100}%`);
    }
    if (c.held > 0 && c.afterDrainMs / c.held > r.targets.maxTenthShare) out.push(`${c.afterDrainMs} closes after DRAIN_MS (${((c.afterDrainMs / c.held) * 100).toFixed(1)}%)`);
    if (c.beforeSignal) out.push(`${c.beforeSignal} connections closed before SIGTERM`);
    if (c.stillOpen) out.push(`${c.stillOpen} connections still open ${r.drainMs + r.targets.exitSlackMs + 5000} ms after SIGTERM`);
  }
  const e: DrainExitFigure | null = r.exit;
  if (e) {
    if (e.ms === null) out.push(`no exit within ${r.drainMs + 10_000} ms of SIGTERM`);
    else if (e.ms > r.drainMs + r.targets.exitSlackMs) out.push(`exit ${e.ms} ms after SIGTERM > DRAIN_MS + ${r.targets.exitSlackMs} ms`);
    if (e.ms !== null && e.code !== r.targets.exitCode) out.push(`exit code ${e.code ?? e.signal}, not ${r.targets.exitCode}`);
  }
  return out;
}
