/**
 * Section "monitors" (issue 11's server-side figures): one instance of (a)
 * holds `held` connections, then, one after the other, on the same server:
 * 1. `windowedMonitors` monitors subscribe to `list.connectedUsers` with
 *    `{ token, limit: windowLimit, sort: 'newest' }`: server RSS per monitor
 *    (target ≤ 0.5 MB, whatever the number of connections);
 * 2. `fullListMonitors` monitors subscribe with `{ token }`: the same figure,
 *    for comparison (no target: it is O(connections) by design);
 * 3. a bystander pings every `pingIntervalMs` while `burstMonitors` full-list
 *    monitors subscribe at the same moment: ping p50/p99/max until every one
 *    is ready plus `afterReadyMs` (target p99 ≤ 50 ms), and how long that took.
 * RSS per monitor: (RSS after every monitor is ready − RSS before they
 * connected) / monitors, each sample once RSS stopped moving (forced GCs), after
 * a few warm-up monitors of each kind; so it includes the monitor's DDP
 * session, a few KB.
 *
 * Processes: the monitors come from one load worker (bench/load/monitors.ts),
 * the bystander is the attack scenario's (attack-worker.ts, attack-bystander.ts),
 * each in its own process. Source addresses: 127.0.3.x (load workers .1 and
 * up, monitors .10, bystander .20), apart from the other sections'. The
 * per-address inbound budget stays off (startServer's default), as in every
 * capacity run: the load packs thousands of clients onto each address.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../scripts/build-server';
import type { BystanderReport } from './attack-bystander';
import type { MonitorGroupReport } from './load/monitors';
import type { MonitorBurstFigure, MonitorRssFigure, MonitorsResult, MonitorsTargets } from './monitors-results-types';
import { IpcChild, startServer, startWorkers, type ServerUnderTest } from './processes';
import type { ServerSample } from './servers/ipc';
import { PeakRssWatch, rssBytes } from './server-rss';
import { percentile, round } from './stats';

export interface MonitorsPlan {
  held: number;
  loadWorkers: number;
  windowedMonitors: number;
  windowLimit: number;
  fullListMonitors: number;
  burstMonitors: number;
  /**
   * Monitors of each kind opened and closed before anything is measured: the
   * first subscriptions pay once for compiling their code paths and growing the
   * heap's spaces, which is no one monitor's cost.
   */
  warmupMonitors: number;
  /** Wait before each RSS sample, so the ramp's (or the initial sets') garbage is gone. */
  settleMs: number;
  /**
   * Then sample (each a forced GC) every `settleMs` until RSS moves less than
   * this between two samples, at most `settleSamples` times: V8 hands freed
   * pages back for seconds after a 19,000-connection ramp, and a falling
   * baseline made 20 windowed monitors look like −0.1 MB each.
   */
  settleToleranceMb: number;
  settleSamples: number;
  pingIntervalMs: number;
  /** The bystander keeps pinging this long after the last burst monitor's `ready`. */
  afterReadyMs: number;
  /** A monitor not ready by then counts as never ready. */
  readyTimeoutMs: number;
}

export const MONITORS_PLANS: Record<'full' | 'quick', MonitorsPlan> = {
  full: {
    held: 19_000, loadWorkers: 4, windowedMonitors: 50, windowLimit: 100, fullListMonitors: 10, burstMonitors: 50, warmupMonitors: 2,
    settleMs: 2000, settleToleranceMb: 0.5, settleSamples: 8, pingIntervalMs: 10, afterReadyMs: 2000, readyTimeoutMs: 120_000,
  },
  quick: {
    held: 1_000, loadWorkers: 2, windowedMonitors: 50, windowLimit: 100, fullListMonitors: 10, burstMonitors: 50, warmupMonitors: 2,
    settleMs: 2000, settleToleranceMb: 0.5, settleSamples: 8, pingIntervalMs: 10, afterReadyMs: 2000, readyTimeoutMs: 30_000,
  },
};

export const MONITORS_TARGETS: MonitorsTargets = { windowedRssPerMonitorMb: 0.5, pingP99Ms: 50 };
const ADDRESS_SUBNET = '127.0.3.';
const TOKEN = 'bench-monitor-token';
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Log = (message: string) => void;

export async function runMonitorsScenario(plan: MonitorsPlan, log: Log): Promise<MonitorsResult> {
  const started = Date.now();
  const result: MonitorsResult = {
    target: plan.held, held: 0, targets: MONITORS_TARGETS, windowed: null, fullList: null, burst: null, pass: false, failures: [], durationSeconds: 0,
  };
  await buildServer({ 'attack-worker': 'bench/attack-worker.ts' }, 'bench/dist');
  const server = await startServer('app', { PRESENCE_MONITOR_TOKEN: TOKEN });
  const processes: IpcChild[] = [];
  try {
    const workers = await startWorkers(plan.loadWorkers, 0, (i) => [`${ADDRESS_SUBNET}${1 + i}`]);
    processes.push(...workers);
    const [monitors] = await startWorkers(1, 0, () => [`${ADDRESS_SUBNET}10`]);
    processes.push(monitors!);
    const bystander = await startBystanderProcess(`${ADDRESS_SUBNET}20`);
    processes.push(bystander);

    log(`monitors: opening ${plan.held} connections`);
    const ramp = await openHeld(workers, server, plan.held);
    result.held = ramp.opened;
    if (ramp.firstError) result.firstFailure = ramp.firstError;
    const windowParams = { limit: plan.windowLimit, sort: 'newest' };
    for (const params of [windowParams, {}]) {
      await openMonitors(monitors!, server, plan.warmupMonitors, params, plan);
      await monitors!.request({ type: 'closeMonitors' });
    }
    result.windowed = await measureRss(server, monitors!, plan, 'windowed', windowParams, plan.windowedMonitors);
    log(`monitors: ${plan.windowedMonitors} windowed at ${result.held}: ${result.windowed.rssPerMonitorMb} MB RSS each`);
    result.fullList = await measureRss(server, monitors!, plan, 'full-list', {}, plan.fullListMonitors);
    log(`monitors: ${plan.fullListMonitors} full-list at ${result.held}: ${result.fullList.rssPerMonitorMb} MB RSS each`);
    result.burst = await burst(server, monitors!, bystander, plan);
    log(`monitors: burst of ${plan.burstMonitors} full-list: ping p99 ${result.burst.ping.p99} ms, all ready after ${round(result.burst.group.allReadyMs ?? NaN, 0)} ms`);
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await server.process.stop();
  }
  result.failures = failures(result);
  result.pass = result.failures.length === 0;
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  return result;
}

/** The attack scenario's bystander process (bench/attack-worker.ts), on its own source address. */
async function startBystanderProcess(address: string): Promise<IpcChild> {
  const child = fork(fileURLToPath(new URL('./dist/attack-worker.mjs', import.meta.url)), [], {
    env: { ...process.env, BENCH_LOCAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const ipc = new IpcChild(child, 'bystander');
  await ipc.ready;
  return ipc;
}

async function openHeld(workers: IpcChild[], server: ServerUnderTest, count: number): Promise<{ opened: number; firstError?: string }> {
  const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
  const results = await Promise.all(
    workers.map((w, i) => w.request<{ opened: number; firstError?: string }>({ type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: 50 })),
  );
  return { opened: results.reduce((n, r) => n + r.opened, 0), firstError: results.find((r) => r.firstError)?.firstError };
}

function openMonitors(worker: IpcChild, server: ServerUnderTest, count: number, params: object, plan: MonitorsPlan): Promise<MonitorGroupReport> {
  return worker.request<MonitorGroupReport>({ type: 'monitors', url: server.url, count, params: [{ token: TOKEN, ...params }], readyTimeoutMs: plan.readyTimeoutMs });
}

async function measureRss(
  server: ServerUnderTest, worker: IpcChild, plan: MonitorsPlan, kind: MonitorRssFigure['kind'], params: object, count: number,
): Promise<MonitorRssFigure> {
  const before = await settledSample(server, plan);
  const group = await openMonitors(worker, server, count, params, plan);
  const after = await settledSample(server, plan);
  await worker.request({ type: 'closeMonitors' });
  const per = (bytes: number) => round(bytes / count / MB, 3);
  return {
    kind, params: JSON.stringify(params), monitors: count, group,
    rssBeforeMb: round(before.rss / MB), rssAfterMb: round(after.rss / MB),
    rssPerMonitorMb: per(after.rss - before.rss), heapPerMonitorMb: per(after.heapUsed - before.heapUsed),
  };
}

async function settledSample(server: ServerUnderTest, plan: MonitorsPlan): Promise<ServerSample> {
  await sleep(plan.settleMs);
  let last = await server.sample();
  for (let i = 1; i < plan.settleSamples; i++) {
    await sleep(plan.settleMs);
    const next = await server.sample();
    const moved = Math.abs(next.rss - last.rss);
    last = next;
    if (moved <= plan.settleToleranceMb * MB) break;
  }
  return last;
}

async function burst(server: ServerUnderTest, worker: IpcChild, bystander: IpcChild, plan: MonitorsPlan): Promise<MonitorBurstFigure> {
  await sleep(plan.settleMs);
  await server.sample(); // a GC, so the peak is not the earlier steps' garbage
  const pid = server.process.child.pid!;
  const before = rssBytes(pid);
  const watch = new PeakRssWatch(pid);
  await bystander.request({ type: 'bystander-start', url: server.url, intervalMs: plan.pingIntervalMs });
  watch.start();
  const group = await openMonitors(worker, server, plan.burstMonitors, {}, plan);
  await sleep(plan.afterReadyMs);
  const pings = await bystander.request<BystanderReport>({ type: 'bystander-stop', graceMs: 1000 });
  const peak = watch.stop();
  await worker.request({ type: 'closeMonitors' });
  return {
    monitors: plan.burstMonitors, group, pingIntervalMs: plan.pingIntervalMs, ping: pingFigures(pings),
    rssPeakGrowthMb: before !== null && peak !== null ? round(Math.max(0, peak - before) / MB) : null,
  };
}

function pingFigures(report: BystanderReport): MonitorBurstFigure['ping'] {
  // As in the attack scenario: a lost ping is infinitely slow, so p99 is null past 1% lost, max once any is.
  const all = [...report.rttsMs, ...Array.from({ length: report.lost }, () => Infinity)];
  return {
    p50: round(percentile(all, 50), 2), p99: round(percentile(all, 99), 2), max: round(percentile(all, 100), 2),
    samples: report.rttsMs.length, lost: report.lost, ...(report.closed ? { closed: report.closed } : {}),
  };
}

function failures(r: MonitorsResult): string[] {
  const out: string[] = [];
  if (r.error) out.push(r.error);
  if (r.held < r.target) out.push(`held ${r.held} of ${r.target} connections${r.firstFailure ? ` (first failure: ${r.firstFailure})` : ''}`);
  for (const figure of [r.windowed, r.fullList, r.burst]) {
    if (figure && figure.group.ready < figure.monitors) {
      const name = 'kind' in figure ? figure.kind : 'burst';
      out.push(`${name}: ${figure.group.ready} of ${figure.monitors} monitors ready${figure.group.firstError ? ` (${figure.group.firstError})` : ''}`);
    }
  }
  const perWindow = r.windowed?.rssPerMonitorMb;
  if (perWindow !== null && perWindow !== undefined && perWindow > r.targets.windowedRssPerMonitorMb) {
    out.push(`windowed monitor RSS ${perWindow} MB > ${r.targets.windowedRssPerMonitorMb} MB`);
  }
  const ping = r.burst?.ping;
  if (ping && ping.p99 === null) out.push(`bystander lost ${ping.lost} of ${ping.samples + ping.lost} pings during the burst`);
  else if (ping && ping.p99 !== null && ping.p99 > r.targets.pingP99Ms) out.push(`burst ping p99 ${ping.p99} ms > ${r.targets.pingP99Ms} ms`);
  return out;
}
