/**
 * Scenario "convergence" (issue 10's targets), part of the scale-out run:
 * 3 instances of (a) joined by a mosquitto with its default settings
 * (bench/mosquitto-process.ts: max_queued_messages 1000, max_inflight 20).
 *
 * 1. Burst: `perInstance` connections on instance 1, then every load worker
 *    drops all its sockets in one synchronous loop. Target: every view exact
 *    (empty) within 10 s.
 * 2. Broker restart: `perInstance` on each instance, mosquitto SIGKILLed and
 *    started again on the same port after `brokerDownMs` (retained messages
 *    are gone: no persistence). Target: every view exact (and its bridge
 *    connected) within 30 s, watched for 30 s at least. The restarted
 *    broker's retained records are counted (a late joiner's snapshot). Then
 *    every client drops at once (the teardown) and the views must empty.
 * After each: ghosts (records left in any view once every client is gone),
 * stale retained records on the broker (a QoS 0 probe, broker-probes.ts) and
 * mosquitto's `$SYS/broker/publish/messages/dropped` counter.
 *
 * "Exact" means the view's session ids equal the live connections' (digests,
 * convergence-watch.ts). Instances log at info without per-session lines, so
 * the report carries their bridge lines (resyncs, reconnects) and the
 * broker's own (drop notices).
 * Source addresses: 127.0.1.1 and up, `addressesPerWorker` per load worker
 * (the servers' inbound budget charges 4 KiB per new socket to its address,
 * 8 MiB burst), apart from the other sections' 127.0.0.x. Each load worker
 * holds at most `perInstance / workersPerInstance` sockets, each instance
 * `perInstance` (under the 20,000 open-file limit).
 */
import { retainedRecords, SysWatch } from './broker-probes';
import type { AfterScenarioChecks, ConvergenceResult, ConvergenceScenario, ConvergenceWindow } from './convergence-results-types';
import { sampleAll, watchConvergence, type WatchOptions } from './convergence-watch';
import { MOSQUITTO_BINARY, MosquittoProcess } from './mosquitto-process';
import { startServer, startWorkers, type IpcChild, type ServerUnderTest } from './processes';
import { ViewDigest, type ViewDigestValue } from './view-digest';

export interface ConvergencePlan {
  perInstance: number;
  workersPerInstance: number;
  /** Source addresses per load worker: each new socket costs its address 4 KiB of the server's 8 MiB inbound burst. */
  addressesPerWorker: number;
  pollMs: number;
  /** A view counts as converged once it stayed exact this long. */
  holdMs: number;
  rampObserveMs: number;
  burstObserveMs: number;
  restartObserveMs: number;
  /** After a broker restart, watch at least this long (the views look exact before the bridges even reconnect). */
  restartMinObserveMs: number;
  /** How long the probe of the restarted broker's retained records may take (it ends at its marker). */
  rebuiltProbeMs: number;
  teardownObserveMs: number;
  brokerDownMs: number;
  probeWindowMs: number;
  /** Quick mode: the stale-record probe ends when its own marker comes back, not after the whole window. */
  probeEndAtMarker: boolean;
  /** Full mode: wait (≤ 12 s) for a $SYS tick after each scenario, so the dropped counter is current. */
  waitForSysTick: boolean;
}

export const CONVERGENCE_PLANS: Record<'full' | 'quick', ConvergencePlan> = {
  full: {
    perInstance: 19_000, workersPerInstance: 2, addressesPerWorker: 6, pollMs: 100, holdMs: 2000, rampObserveMs: 120_000, burstObserveMs: 40_000,
    restartObserveMs: 90_000, restartMinObserveMs: 30_000, rebuiltProbeMs: 8_000, teardownObserveMs: 40_000, brokerDownMs: 1000, probeWindowMs: 3000, probeEndAtMarker: false, waitForSysTick: true,
  },
  // 2,000 per instance still exceeds mosquitto's ~1,020-message queue for a subscriber, so the drop path runs.
  quick: {
    perInstance: 2_000, workersPerInstance: 1, addressesPerWorker: 2, pollMs: 100, holdMs: 1000, rampObserveMs: 20_000, burstObserveMs: 12_000,
    restartObserveMs: 32_000, restartMinObserveMs: 8_000, rebuiltProbeMs: 5_000, teardownObserveMs: 12_000, brokerDownMs: 1000, probeWindowMs: 3000, probeEndAtMarker: true, waitForSysTick: false,
  },
};

export const CONVERGENCE_TARGETS = { burstMs: 10_000, brokerRestartMs: 30_000 };
const INSTANCES = 3;
/** Load workers' source addresses: 127.0.1.1 and up, apart from every other section's 127.0.0.x. */
const ADDRESS_SUBNET = '127.0.1.';
const TOKEN = 'bench-monitor-token';
const PREFIX = 'presence';
/** The live set every view should show, with how many of it each instance owns. */
type LiveSet = ViewDigestValue & { byOwner: Record<string, number> };
const EMPTY: LiveSet = { ...new ViewDigest().value(), byOwner: {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Log = (message: string) => void;

interface Context {
  plan: ConvergencePlan;
  log: Log;
  broker: MosquittoProcess;
  sys: SysWatch;
  servers: ServerUnderTest[];
  instanceLog: Array<{ at: number; instance: number; line: string }>;
  /** `$SYS/broker/retained messages/count` with no record retained (mosquitto's own topics, statuses, digests): set after the burst (full mode). */
  nonRecordRetained: number | null;
}

export async function runConvergenceScenario(plan: ConvergencePlan, log: Log): Promise<ConvergenceResult> {
  const started = Date.now();
  const result: ConvergenceResult = {
    instances: INSTANCES, perInstance: plan.perInstance, broker: 'mosquitto (defaults: listener, allow_anonymous true, persistence false)',
    targets: CONVERGENCE_TARGETS, scenarios: [], pass: false, durationSeconds: 0,
  };
  if (!MOSQUITTO_BINARY) return { ...result, skipped: 'mosquitto is not installed (apt-get install mosquitto)' };
  log(`convergence: ${INSTANCES} instances of (a), mosquitto with default settings, ${plan.perInstance} connections per instance`);
  const broker = await MosquittoProcess.start();
  const sys = new SysWatch(broker.url, () => broker.run);
  const instanceLog: Context['instanceLog'] = [];
  const servers: ServerUnderTest[] = [];
  const workers: IpcChild[] = [];
  try {
    // Each one is kept as soon as it is up, so a failure to start another still stops it.
    await Promise.all(
      Array.from({ length: INSTANCES }, async (_, i) => {
        const server = await startServer('app', {
          PRESENCE_MONITOR_TOKEN: TOKEN, MQTT_URL: broker.url, MQTT_KEEPALIVE: '10', PRESENCE_INSTANCE_ID: instanceId(i),
          LOG_LEVEL: 'info', BENCH_QUIET_SESSIONS: '1', BENCH_VIEW_DIGEST: '1',
          // These scenarios measure how every instance's held records converge; since issue 12 an
          // instance holds others' records only while a monitor looks, unless told to always hold them.
          MQTT_REMOTE_RECORDS: 'always',
        });
        servers[i] = server;
      }),
    );
    servers.forEach((server, i) => {
      captureLog(server, i + 1, instanceLog);
    });
    const ctx: Context = { plan, log, broker, sys, servers, instanceLog, nonRecordRetained: null };
    const wpi = plan.workersPerInstance;
    const apw = plan.addressesPerWorker;
    const addresses = (firstWorker: number) => (i: number) =>
      Array.from({ length: apw }, (_, a) => `${ADDRESS_SUBNET}${1 + (firstWorker + i) * apw + a}`);
    const burstWorkers = await startWorkers(wpi, 0, addresses(0));
    workers.push(...burstWorkers);
    result.scenarios.push(await burst(ctx, burstWorkers));
    await Promise.all(burstWorkers.map((w) => w.stop()));
    const restartWorkers = await startWorkers(INSTANCES * wpi, 0, addresses(wpi));
    workers.push(...restartWorkers);
    result.scenarios.push(await brokerRestart(ctx, restartWorkers));
  } catch (error) {
    result.error = (error as Error).message;
    log(`convergence: broke down: ${result.error}`);
    // The instances' last lines say why (admission refusals, bridge errors).
    result.errorLog = instanceLog.slice(-30).map(({ instance, line }) => ({ instance, line }));
    for (const { instance, line } of result.errorLog) log(`  instance ${instance}: ${line}`);
  } finally {
    sys.close();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(servers.filter(Boolean).map((s) => s.process.stop()));
    await broker.kill();
  }
  result.pass = !result.error && result.scenarios.length === 2 && result.scenarios.every((s) => s.pass);
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  return result;
}

async function burst(ctx: Context, workers: IpcChild[]): Promise<ConvergenceScenario> {
  const { plan, log, servers } = ctx;
  const startedAt = Date.now();
  log(`convergence/burst: opening ${plan.perInstance} on instance 1`);
  const ramp = await openOn(workers, servers[0]!, plan.perInstance);
  const rampConverged = await waitForLiveSet(ctx, workers, workers.map(() => instanceId(0)), ramp.ms);
  const before = await sampleAll(servers);
  log(`convergence/burst: ${plan.perInstance} sockets dropped at once`);
  const event = await watchConvergence(servers, EMPTY, before, watch(plan, plan.burstObserveMs, [1, 5, 10, 20, 30]),
    () => Promise.all(workers.map((w) => w.request({ type: 'destroyAll' }))));
  logWindow(log, 'burst', event);
  const after = await afterChecks(ctx, null);
  return finish(ctx, {
    name: 'burst',
    title: `${plan.perInstance} simultaneous disconnects on instance 1`,
    heldPerInstance: [ramp.opened, 0, 0], rampMs: Math.round(ramp.ms), rampConvergedMs: rampConverged, targetMs: CONVERGENCE_TARGETS.burstMs,
    event, after,
  }, startedAt);
}

async function brokerRestart(ctx: Context, workers: IpcChild[]): Promise<ConvergenceScenario> {
  const { plan, log, servers, broker, sys } = ctx;
  const startedAt = Date.now();
  const wpi = plan.workersPerInstance;
  log(`convergence/broker-restart: opening ${plan.perInstance} on each of ${INSTANCES} instances`);
  const rampStarted = performance.now();
  const ramps = await Promise.all(servers.map((server, i) => openOn(workers.slice(i * wpi, (i + 1) * wpi), server, plan.perInstance)));
  const rampMs = Math.round(performance.now() - rampStarted);
  const owners = workers.map((_, w) => instanceId(Math.floor(w / wpi)));
  const rampConverged = await waitForLiveSet(ctx, workers, owners, rampMs);
  if (plan.waitForSysTick) await sys.tickAfter(Date.now(), 12_000);
  const droppedBeforeKill = sys.droppedIn(broker.run)?.value ?? null;
  const expected = await liveSet(workers, owners);
  const before = await sampleAll(servers);
  log(`convergence/broker-restart: SIGKILL mosquitto, restart after ${plan.brokerDownMs} ms`);
  // Watched until the target at least: the views keep their records while the bridges are away,
  // so what counts is that they are exact once reconnected and resynced, and stay so.
  const event = await watchConvergence(
    servers, expected, before,
    { ...watch(plan, plan.restartObserveMs, [1, 5, 10, 20, 30, 60]), minObserveMs: plan.restartMinObserveMs, requireConnected: true },
    async () => {
      await broker.kill();
      await sleep(plan.brokerDownMs);
      await broker.launch();
    },
  );
  logWindow(log, 'broker-restart', event);
  // What a late-joining instance would get: the broker's retained records, rebuilt by the instances after the restart.
  // $SYS first: only counts published after the views converged say anything (quick mode does not wait for them),
  // and the probe's own lost messages must not be in the dropped counter.
  const sysRetainedCount = plan.waitForSysTick && (await sys.tickAfter(Date.now(), 12_000)) ? sys.retainedIn(broker.run)?.value ?? null : null;
  const droppedAfterRestart = sysRetainedCount !== null ? sys.droppedIn(broker.run)?.value ?? 0 : null;
  const rebuilt = await retainedRecords(broker.url, PREFIX, { windowMs: plan.rebuiltProbeMs, endAtMarker: true, maxRounds: 2 });
  const retainedAfterRestart = {
    probeRecords: rebuilt.count, probeRounds: rebuilt.rounds, probeComplete: rebuilt.complete, sysRetainedCount,
    sysRecords: sysRetainedCount !== null && ctx.nonRecordRetained !== null ? sysRetainedCount - ctx.nonRecordRetained : null,
    droppedCounter: droppedAfterRestart,
  };
  log(`convergence/broker-restart: the restarted broker holds ${retainedAfterRestart.sysRecords ?? '?'} retained records by $SYS (live: ${expected.count}); a QoS 0 probe received ${rebuilt.count} of them in ${rebuilt.rounds} round(s)`);
  log(`convergence/broker-restart: teardown, all ${expected.count} sockets dropped at once`);
  const beforeTeardown = await sampleAll(servers);
  const teardown = await watchConvergence(servers, EMPTY, beforeTeardown, watch(plan, plan.teardownObserveMs, [1, 5, 10]),
    () => Promise.all(workers.map((w) => w.request({ type: 'destroyAll' }))));
  logWindow(log, 'broker-restart teardown', teardown);
  const after = await afterChecks(ctx, droppedBeforeKill);
  return finish(ctx, {
    name: 'broker-restart',
    title: `mosquitto SIGKILLed and restarted after ${plan.brokerDownMs} ms, ${INSTANCES} × ${plan.perInstance} held`,
    heldPerInstance: ramps.map((r) => r.opened), rampMs, rampConvergedMs: rampConverged,
    targetMs: CONVERGENCE_TARGETS.brokerRestartMs, event, teardown, retainedAfterRestart, after,
  }, startedAt);
}

function watch(plan: ConvergencePlan, maxMs: number, marksSeconds: number[]): WatchOptions {
  return { maxMs, holdMs: plan.holdMs, pollMs: plan.pollMs, marksSeconds };
}

/** Open `count` connections on one server, spread over `workers`; a failure ends the scenario. */
async function openOn(workers: IpcChild[], server: ServerUnderTest, count: number) {
  const started = performance.now();
  const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
  const results = await Promise.all(
    workers.map((w, i) => w.request<{ opened: number; failed: number; firstError?: string }>({ type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: 50 })),
  );
  const opened = results.reduce((n, r) => n + r.opened, 0);
  const failure = results.find((r) => r.failed > 0)?.firstError;
  if (failure) throw new Error(`opening connections on ${server.url} failed after ${opened}: ${failure}`);
  return { opened, ms: performance.now() - started };
}

/** `owners[i]`: the instance worker i connects to. */
async function liveSet(workers: IpcChild[], owners: readonly string[]): Promise<LiveSet> {
  const digests = await Promise.all(workers.map((w) => w.request<ViewDigestValue>({ type: 'digest' })));
  const byOwner: Record<string, number> = {};
  digests.forEach((d, i) => {
    byOwner[owners[i]!] = (byOwner[owners[i]!] ?? 0) + d.count;
  });
  return { ...ViewDigest.combine(digests), byOwner };
}

const instanceId = (i: number) => `bench-${i + 1}`;

/** After a ramp: ms until every view held the live set exactly (null: not within `rampObserveMs`, which fails the scenario). */
async function waitForLiveSet(ctx: Context, workers: IpcChild[], owners: readonly string[], rampMs: number): Promise<number | null> {
  const expected = await liveSet(workers, owners);
  ctx.log(`convergence: holding ${expected.count} (opened in ${(rampMs / 1000).toFixed(1)} s); waiting for every view to show them`);
  const window = await watchConvergence(ctx.servers, expected, await sampleAll(ctx.servers), watch(ctx.plan, ctx.plan.rampObserveMs, []));
  if (window.convergedMs === null) {
    throw new Error(`after the ramp the views never showed the ${expected.count} live connections within ${ctx.plan.rampObserveMs} ms (counts ${window.timeline.at(-1)?.counts.join(', ')})`);
  }
  return window.convergedMs;
}

/** Once every client is gone: ghosts in the views, stale retained records on the broker, the dropped counter. */
async function afterChecks(ctx: Context, droppedBeforeKill: number | null): Promise<AfterScenarioChecks> {
  const { plan, broker, sys, servers } = ctx;
  const endedAt = Date.now();
  const ghosts = (await sampleAll(servers)).map((s) => s.records);
  const stale = await retainedRecords(broker.url, PREFIX, { windowMs: plan.probeWindowMs, endAtMarker: plan.probeEndAtMarker, maxRounds: 6 });
  const fresh = plan.waitForSysTick ? await sys.tickAfter(endedAt, 12_000) : false;
  const dropped = sys.droppedIn(broker.run);
  const sysRetainedCount = fresh ? sys.retainedIn(broker.run)?.value ?? null : null;
  if (stale.count === 0 && stale.complete && sysRetainedCount !== null) ctx.nonRecordRetained ??= sysRetainedCount;
  return {
    ghosts,
    staleRetained: stale.count,
    staleRetainedByInstance: stale.byInstance,
    staleRetainedExamples: stale.examples,
    staleProbeListenedMs: stale.listenedMs,
    staleProbeRounds: stale.rounds,
    staleProbeComplete: stale.complete,
    sysRetainedCount,
    droppedCounter: dropped?.value ?? null,
    droppedCounterFresh: fresh && dropped !== null,
    ...(droppedBeforeKill !== null || ctx.broker.run > 1 ? { droppedCounterBeforeKill: droppedBeforeKill } : {}),
  };
}

function finish(
  ctx: Context,
  partial: Omit<ConvergenceScenario, 'instanceLog' | 'instanceLogCounts' | 'brokerLog' | 'pass' | 'failures' | 'leaks'>,
  startedAt: number,
): ConvergenceScenario {
  const endedAt = Date.now();
  const lines = ctx.instanceLog.filter((l) => l.at >= startedAt && l.at <= endedAt);
  const instanceLogCounts = Array.from({ length: INSTANCES }, (_, i) => {
    const mine = lines.filter((l) => l.instance === i + 1);
    return {
      instance: i + 1,
      resyncLines: mine.filter((l) => l.line.includes('Resyncing a remote instance')).length,
      connectedLines: mine.filter((l) => l.line.includes('MQTT connected')).length,
      warnings: mine.filter((l) => / (WARN|ERROR) /.test(l.line)).length,
    };
  });
  // At most 40 lines per instance: the first 20 and the last 20.
  const instanceLog = Array.from({ length: INSTANCES }, (_, i) => {
    const mine = lines.filter((l) => l.instance === i + 1);
    return mine.length > 40 ? [...mine.slice(0, 20), ...mine.slice(-20)] : mine;
  }).flat().map(({ instance, line }) => ({ instance, line }));
  const brokerLog = ctx.broker.log
    .filter((l) => l.at >= startedAt && l.at <= endedAt && !/bench-(sys|probe)|New connection from|<unknown>/.test(l.line))
    .slice(0, 80)
    .map((l) => `[run ${l.run}] ${l.line}`);
  const failures: string[] = [];
  const leaks: string[] = [];
  const { event, teardown, after, targetMs, name } = partial;
  if (event.convergedMs === null) failures.push(`${name}: views not exact within ${event.observedMs} ms (target ${targetMs} ms)`);
  else if (event.convergedMs > targetMs) failures.push(`${name}: views exact after ${event.convergedMs} ms (target ${targetMs} ms)`);
  if (teardown && teardown.convergedMs === null) failures.push(`${name}: after the teardown the views were not empty within ${teardown.observedMs} ms`);
  const ghosts = after.ghosts.reduce((a, b) => a + b, 0);
  if (ghosts) leaks.push(`${name}: ${ghosts} ghost records (per instance ${after.ghosts.join(', ')})`);
  if (after.staleRetained) leaks.push(`${name}: ${after.staleRetained}${after.staleProbeComplete ? '' : ' or more'} stale retained records on the broker`);
  for (const message of [...failures, ...leaks]) ctx.log(`convergence: FAIL ${message}`);
  return { ...partial, instanceLog, instanceLogCounts, brokerLog, pass: !failures.length && !leaks.length, failures, leaks };
}

function captureLog(server: ServerUnderTest, instance: number, into: Context['instanceLog']): void {
  let rest = '';
  server.process.child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line && into.length < 20_000) into.push({ at: Date.now(), instance, line });
  });
}

function logWindow(log: Log, what: string, w: ConvergenceWindow): void {
  const at = w.countsAt.map((c) => `${c.atSecond}s: ${c.counts.join('/')}`).join('; ');
  log(`convergence/${what}: ${w.convergedMs === null ? `NOT exact after ${w.observedMs} ms` : `exact after ${w.convergedMs} ms`} (expected ${w.expected}; ${at}; max deviation ${w.maxDeviation}; resyncs ${w.resyncs.join('/')})`);
}
