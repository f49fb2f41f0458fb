/**
 * Section "fleet" (issue 12, item 4): what a fleet costs when counts come from
 * summaries and per-connection records travel only to an instance that
 * serves a monitor. `instances` instances of (a) joined by one mosquitto
 * (tests/helpers/brokers.ts, default settings) hold `total` connections
 * between them; at the same time a lone standalone instance (no MQTT) holds
 * one instance's share, the baseline for memory.
 *
 * On the fleet: instance 1 serves a monitor (a windowed `list.connectedUsers`,
 * `{ token, limit, sort: 'newest' }`, plus the count), so it alone holds the
 * others' records; every instance (and the lone one) has a plain count
 * subscriber (bench/fleet-watchers.ts). In order:
 * 1. ramp every instance at once; mosquitto's CPU and message rate meanwhile
 *    (bench/broker-load.ts); the monitor's count must be exact ≤ 5 s after
 *    the ramp ends (every instance's is reported too);
 * 2. steady state: mosquitto again, with nothing happening;
 * 3. each instance's RSS and JS heap (forced GCs, once RSS stopped moving),
 *    minus its own before the ramp, per own connection: an instance without
 *    a monitor must stay ≤ 1.1× the lone instance's;
 * 4. connect and close latency at the monitor: a probe session on another
 *    instance, from its `connect` frame to its `added` in the monitor's
 *    window, and from its close to the `removed`;
 * 5. a burst: one load worker of instance 3 drops its sockets at once; once
 *    instance 3 has processed them (its own records reach the new number:
 *    quiescence), every count subscriber must be exact within 1 s;
 * 6. everyone leaves: records left in any view and retained on the broker (0).
 *
 * Profiling: BENCH_FLEET_CPU_PROF=<dir> runs the monitor's instance with the
 * inspector on and writes `<dir>/fleet-everyone-leaves.cpuprofile`, its CPU
 * profile from "everyone leaves" until its view is empty (or the deadline).
 *
 * Source addresses: 127.0.8.x (load workers from .1, the bench's watchers
 * .240, probes .250), apart from the other sections'. Each load worker holds
 * at most `total / instances / workersPerInstance` sockets, each server one
 * share plus its watchers, all under the 20,000 open-file limit. The
 * per-address inbound budget is off, as in every capacity run.
 */
import { startMosquitto, MOSQUITTO_PATH, type TestBroker } from '../tests/helpers/brokers';
import { retainedRecords } from './broker-probes';
import { BrokerLoad } from './broker-load';
import type { CountConvergence, FleetInstanceFigure, FleetLatency, FleetResult, FleetTargets } from './fleet-results-types';
import { countsExact, FleetWatcher, ProbeConnection } from './fleet-watchers';
import { startServer, startWorkers, type IpcChild, type ServerUnderTest } from './processes';
import { ServerProfiler } from './server-profiler';
import type { ServerSample } from './servers/ipc';
import { percentile, round } from './stats';

export interface FleetPlan {
  instances: number;
  /** Connections over the whole fleet; the lone instance holds one instance's share. */
  total: number;
  workersPerInstance: number;
  addressesPerWorker: number;
  /** The monitor's window (`limit`, newest first). */
  windowLimit: number;
  /** A count is exact once it stayed so this long. */
  holdMs: number;
  /** How long the counts may take after the ramp before they count as never exact. */
  rampConvergeMaxMs: number;
  /** Mosquitto's steady state is watched this long (≥ 2 $SYS ticks, ~10.9 s apart: ≥ 23 s). */
  steadyMs: number;
  /** RSS: sample every `settleMs` until it moves less than `settleToleranceMb`, at most `settleSamples` times. */
  settleMs: number;
  settleToleranceMb: number;
  settleSamples: number;
  latencySamples: number;
  latencyGapMs: number;
  latencyTimeoutMs: number;
  burstConvergeMaxMs: number;
  /** The owner's own records are polled this often to tell when the burst has been processed. */
  quiescencePollMs: number;
  teardownMaxMs: number;
}

export const FLEET_PLANS: Record<'full' | 'quick', FleetPlan> = {
  full: {
    instances: 6, total: 100_000, workersPerInstance: 2, addressesPerWorker: 3, windowLimit: 100, holdMs: 1000, rampConvergeMaxMs: 60_000,
    steadyMs: 35_000, settleMs: 2000, settleToleranceMb: 1, settleSamples: 8, latencySamples: 50, latencyGapMs: 100, latencyTimeoutMs: 10_000,
    burstConvergeMaxMs: 20_000, quiescencePollMs: 25, teardownMaxMs: 90_000,
  },
  quick: {
    instances: 6, total: 3_000, workersPerInstance: 1, addressesPerWorker: 2, windowLimit: 100, holdMs: 1000, rampConvergeMaxMs: 20_000,
    steadyMs: 24_000, settleMs: 1000, settleToleranceMb: 1, settleSamples: 4, latencySamples: 20, latencyGapMs: 100, latencyTimeoutMs: 5_000,
    burstConvergeMaxMs: 10_000, quiescencePollMs: 25, teardownMaxMs: 20_000,
  },
};

export const FLEET_TARGETS: FleetTargets = { rssPerOwnConnectionRatio: 1.1, monitorCountAfterRampMs: 5000, countAfterQuiescenceMs: 1000, recordsLeft: 0 };
const ADDRESS_SUBNET = '127.0.8.';
const WATCHER_ADDRESS = `${ADDRESS_SUBNET}240`;
const PROBE_ADDRESS = `${ADDRESS_SUBNET}250`;
const TOKEN = 'bench-monitor-token';
const PREFIX = 'presence';
/** The instance that serves the monitor, and the one whose load worker drops its sockets (both 0-based). */
const MONITOR_INSTANCE = 0;
const PROFILE_DIR = process.env.BENCH_FLEET_CPU_PROF;
const BURST_INSTANCE = 2;
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Log = (message: string) => void;

interface Fleet {
  plan: FleetPlan;
  log: Log;
  broker: TestBroker;
  load: BrokerLoad;
  /** The fleet's instances, then the lone one last. */
  servers: ServerUnderTest[];
  /** Worker w holds load for server floor(w / workersPerInstance). */
  workers: IpcChild[];
  /** One count subscriber per server, same order. */
  counters: FleetWatcher[];
  monitor: FleetWatcher;
  /** Per server: connections its load workers hold. */
  held: number[];
}

export async function runFleetScenario(plan: FleetPlan, log: Log): Promise<FleetResult> {
  const started = Date.now();
  const result: FleetResult = {
    instances: plan.instances, perInstance: Math.ceil(plan.total / plan.instances), target: plan.total, held: 0, loneHeld: 0,
    broker: 'mosquitto (defaults: listener, allow_anonymous true, persistence false)', remoteRecordsMode: 'on-demand (default)',
    window: { limit: plan.windowLimit, sort: 'newest' }, targets: FLEET_TARGETS, rampMs: null, perInstanceFigures: [], rssRatioMean: null, rssRatioMax: null,
    monitorCountAfterRampMs: null, afterRamp: null, burst: null, connectLatency: null, closeLatency: null, brokerRamp: null, brokerSteady: null,
    marginalRssRatioMean: null, marginalRssRatioMax: null, recordsLeft: null, instanceWarnings: [], pass: false, failures: [], durationSeconds: 0,
  };
  if (!MOSQUITTO_PATH) return { ...result, skipped: 'mosquitto is not installed (apt-get install mosquitto)' };
  log(`fleet: ${plan.instances} instances of (a) through mosquitto, ${plan.total} connections, plus a lone instance with ${result.perInstance}`);
  const broker = await startMosquitto();
  const servers: ServerUnderTest[] = [];
  const workers: IpcChild[] = [];
  const watchers: FleetWatcher[] = [];
  let load: BrokerLoad | null = null;
  try {
    load = await BrokerLoad.start(broker.url, broker.port);
    if (load.pid === null) log('fleet: mosquitto\'s pid not found; its CPU is not reported');
    // Each one is kept as soon as it is up, so a failure to start another still stops it.
    await Promise.all(
      Array.from({ length: plan.instances + 1 }, async (_, i) => {
        const lone = i === plan.instances;
        servers[i] = await startServer('app', {
          PRESENCE_MONITOR_TOKEN: TOKEN, PRESENCE_INSTANCE_ID: lone ? 'lone' : instanceId(i), DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '0',
          ...(lone ? {} : { MQTT_URL: broker.url, MQTT_KEEPALIVE: '10' }),
          // The monitor's instance logs its bridge's info lines (fetches, resyncs, releases), not one per client.
          ...(i === MONITOR_INSTANCE ? { LOG_LEVEL: 'info', BENCH_QUIET_SESSIONS: '1', ...(PROFILE_DIR ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {}) } : {}),
        });
      }),
    );
    const counters = await Promise.all(servers.map((s) => FleetWatcher.open(s.url, WATCHER_ADDRESS)));
    watchers.push(...counters);
    const monitor = await FleetWatcher.open(servers[MONITOR_INSTANCE]!.url, WATCHER_ADDRESS, { token: TOKEN, limit: plan.windowLimit, sort: 'newest' });
    watchers.push(monitor);
    const wpi = plan.workersPerInstance;
    workers.push(...(await startWorkers(servers.length * wpi, 0, (w) =>
      Array.from({ length: plan.addressesPerWorker }, (_, a) => `${ADDRESS_SUBNET}${1 + w * plan.addressesPerWorker + a}`))));
    const fleet: Fleet = { plan, log, broker, load, servers, workers, counters, monitor, held: [] };
    await measure(fleet, result);
    result.recordsLeft = await everyoneLeaves(fleet, watchers);
  } catch (error) {
    result.error = (error as Error).message;
    log(`fleet: broke down: ${result.error}`);
  } finally {
    result.instanceWarnings = servers.filter(Boolean).flatMap((s, i) =>
      s.process.output.filter((line) => / (WARN|ERROR) /.test(line)).slice(0, 5).map((line) => ({ instance: serverName(i, plan), line })));
    await Promise.all(watchers.map((w) => w.close()));
    load?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(servers.filter(Boolean).map((s) => s.process.stop()));
    await broker.stop();
  }
  result.failures = failures(result);
  result.pass = result.failures.length === 0;
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  log(`fleet: ${result.pass ? 'pass' : `missed: ${result.failures.join('; ')}`}`);
  return result;
}

async function measure(fleet: Fleet, result: FleetResult): Promise<void> {
  const { plan, log, servers, load, counters, monitor } = fleet;
  const n = plan.instances;
  const baseline = await settledSamples(servers, plan);

  // 1. The ramp, every instance at once.
  log(`fleet: ramp to ${plan.total} on the fleet and ${result.perInstance} on the lone instance`);
  const rampStart = load.mark();
  const rampStarted = performance.now();
  const shares = servers.map((_, i) => (i === n ? result.perInstance : Math.floor(plan.total / n) + (i < plan.total % n ? 1 : 0)));
  const ramps = servers.map((server, i) => openOn(workersOf(fleet, i), server, shares[i]!));
  const fleetRamp = await Promise.all(ramps.slice(0, n));
  const rampEnded = performance.now();
  const rampEnd = load.mark();
  const loneRamp = await ramps[n]!;
  fleet.held = [...fleetRamp, loneRamp].map((r) => r.opened);
  result.rampMs = Math.round(rampEnded - rampStarted);
  result.held = fleetRamp.reduce((sum, r) => sum + r.opened, 0);
  result.loneHeld = loneRamp.opened;
  result.firstFailure = [...fleetRamp, loneRamp].find((r) => r.failure)?.failure;
  result.brokerRamp = load.between(rampStart, rampEnd);
  log(`fleet: holding ${result.held} (+${result.loneHeld} lone) after ${(result.rampMs / 1000).toFixed(1)} s${result.firstFailure ? `; first failure: ${result.firstFailure}` : ''}; ` +
    `mosquitto ${result.brokerRamp.cpuPercent ?? '–'}% CPU, ${result.brokerRamp.receivedPerSecond ?? '–'} msgs/s in, ${result.brokerRamp.sentPerSecond ?? '–'} out`);

  // The bench's own sessions count too: a count subscriber on every instance, and the monitor.
  const expected = result.held + n + 1;
  const afterRamp = await countsExact([monitor, ...counters.slice(0, n)], expected, rampEnded, plan.holdMs, plan.rampConvergeMaxMs);
  result.monitorCountAfterRampMs = afterRamp.perInstanceMs[0]!;
  result.afterRamp = { expected, perInstanceMs: afterRamp.perInstanceMs.slice(1), finalCounts: afterRamp.finalCounts.slice(1), observedMs: afterRamp.observedMs };
  log(`fleet: monitor's count exact ${ms(result.monitorCountAfterRampMs)} after the ramp (expected ${expected}, shows ${monitor.count}); ` +
    `every instance's: ${result.afterRamp.perInstanceMs.map(ms).join(' / ')}`);

  // 2. Steady state.
  const steadyStart = load.mark();
  await sleep(plan.steadyMs);
  result.brokerSteady = load.between(steadyStart, load.mark());
  log(`fleet: steady state: mosquitto ${result.brokerSteady.cpuPercent ?? '–'}% CPU, ${result.brokerSteady.receivedPerSecond ?? '–'} msgs/s in, ${result.brokerSteady.sentPerSecond ?? '–'} out`);

  // 3. Memory, and what each bridge holds.
  const top = await settledSamples(servers, plan);
  const bridges = await Promise.all(counters.map((c, i) => (i < n ? c.bridgeStatus(TOKEN) : Promise.resolve(null))));
  result.perInstanceFigures = servers.map((_, i) => instanceFigure(fleet, i, baseline[i]!, top[i]!, bridges[i] ?? null, result));
  const lone = result.perInstanceFigures[n]!;
  for (const f of result.perInstanceFigures) {
    if (f.role === 'lone') continue;
    f.ratioToLone = round(ratio(f.rssBytesPerOwnConnection, lone.rssBytesPerOwnConnection), 3);
    f.marginalRatioToLone = round(ratio(f.marginalRssBytesPerOwnConnection, lone.marginalRssBytesPerOwnConnection), 3);
  }
  const plain = result.perInstanceFigures.filter((f) => f.role === 'plain');
  [result.rssRatioMean, result.rssRatioMax] = meanAndMax(plain.map((f) => f.ratioToLone));
  [result.marginalRssRatioMean, result.marginalRssRatioMax] = meanAndMax(plain.map((f) => f.marginalRatioToLone));
  for (const f of result.perInstanceFigures) {
    log(`fleet: ${f.instance} (${f.role}): ${f.held} held, RSS ${f.rssBaselineMb} → ${f.rssMb} MB, ${kb(f.rssBytesPerOwnConnection)} per own connection` +
      `${f.ratioToLone !== null ? ` (${f.ratioToLone}× lone)` : ''}, ${kb(f.marginalRssBytesPerOwnConnection)} added by each${f.marginalRatioToLone !== null ? ` (${f.marginalRatioToLone}×)` : ''}${f.bridge ? `; holds records: ${f.bridge.holdsRecords}, ${f.bridge.remoteRecords} remote` : ''}`);
  }

  // 4. Connect and close latency at the monitor.
  const latency = await probeLatency(fleet);
  result.connectLatency = latency.connect;
  result.closeLatency = latency.close;
  log(`fleet: connect → in the monitor's window p50 ${result.connectLatency.p50} ms, p99 ${result.connectLatency.p99} ms; ` +
    `close → removed p50 ${result.closeLatency.p50} ms, p99 ${result.closeLatency.p99} ms (${result.connectLatency.samples} samples)`);

  // 5. A burst of closes on one instance without a monitor.
  result.burst = await burst(fleet, expected);
  for (const f of result.perInstanceFigures) if (f.role !== 'lone') f.countAfterBurstMs = result.burst.counts.perInstanceMs[fleetIndex(f.instance)] ?? null;
  log(`fleet: burst of ${result.burst.closed} closes on ${result.burst.instance}: processed after ${ms(result.burst.quiescentAfterMs)}; ` +
    `every count exact ${result.burst.counts.perInstanceMs.map(ms).join(' / ')} after that`);
}

function instanceFigure(fleet: Fleet, i: number, before: ServerSample, after: ServerSample, bridge: Awaited<ReturnType<FleetWatcher['bridgeStatus']>>, result: FleetResult): FleetInstanceFigure {
  const held = fleet.held[i]!;
  const role = i === fleet.plan.instances ? 'lone' : i === MONITOR_INSTANCE ? 'monitor' : 'plain';
  return {
    instance: serverName(i, fleet.plan), role, held, sessions: after.sockets,
    rssBaselineMb: round(before.rss / MB), rssMb: round(after.rss / MB), heapUsedMb: round(after.heapUsed / MB),
    rssBytesPerOwnConnection: held ? Math.round(after.rss / held) : null,
    marginalRssBytesPerOwnConnection: held ? Math.round((after.rss - before.rss) / held) : null,
    heapBytesPerOwnConnection: held ? Math.round((after.heapUsed - before.heapUsed) / held) : null,
    ratioToLone: null, marginalRatioToLone: null, viewRecords: after.records,
    bridge: bridge ? { connected: bridge.connected ?? false, holdsRecords: bridge.holdsRecords ?? false, remoteRecords: bridge.remoteRecords ?? 0, remoteInstances: bridge.remoteInstances ?? 0 } : null,
    countAfterRampMs: role === 'lone' ? null : result.afterRamp?.perInstanceMs[i] ?? null,
    countAfterBurstMs: null,
  };
}

/** Probes take turns on the instances without the monitor; each is opened, seen, closed, seen gone, one at a time. */
async function probeLatency(fleet: Fleet): Promise<{ connect: FleetLatency; close: FleetLatency }> {
  const { plan, servers, monitor } = fleet;
  const connects: number[] = [];
  const closes: number[] = [];
  let missingAdded = 0;
  let missingRemoved = 0;
  const others = servers.slice(0, plan.instances).filter((_, i) => i !== MONITOR_INSTANCE);
  monitor.startRecording();
  try {
    for (let s = 0; s < plan.latencySamples; s++) {
      const probe = await ProbeConnection.open(others[s % others.length]!.url, PROBE_ADDRESS);
      const added = await monitor.windowEvent(probe.session, 'added', plan.latencyTimeoutMs);
      if (added === null) missingAdded++;
      else connects.push(added - probe.connectSentAt);
      const closedAt = probe.close();
      const removed = await monitor.windowEvent(probe.session, 'removed', plan.latencyTimeoutMs);
      if (removed === null) missingRemoved++;
      else closes.push(removed - closedAt);
      await sleep(plan.latencyGapMs);
    }
  } finally {
    monitor.stopRecording();
  }
  return { connect: latencyFigure(connects, missingAdded), close: latencyFigure(closes, missingRemoved) };
}

function latencyFigure(values: number[], missing: number): FleetLatency {
  return { p50: round(percentile(values, 50), 1), p99: round(percentile(values, 99), 1), max: round(percentile(values, 100), 1), samples: values.length, missing };
}

async function burst(fleet: Fleet, expectedBefore: number): Promise<NonNullable<FleetResult['burst']>> {
  const { plan, servers, counters, monitor } = fleet;
  const n = plan.instances;
  const owner = servers[BURST_INSTANCE]!;
  const worker = workersOf(fleet, BURST_INSTANCE)[0]!;
  await sleep(plan.settleMs); // the latency probes' last removals
  const ownBefore = (await owner.process.request<ServerSample>({ type: 'sample', gc: false })).records;
  const sent = performance.now();
  const { destroyed } = await worker.request<{ destroyed: number }>({ type: 'destroyAll' });
  fleet.held[BURST_INSTANCE]! -= destroyed;
  const ownAfter = ownBefore - destroyed;
  // Quiescence: the owner has processed every close (its own records, all it holds without a monitor, reach the new number).
  let quiescentAt: number | null = null;
  while (performance.now() - sent < plan.burstConvergeMaxMs) {
    const sample = await owner.process.request<ServerSample>({ type: 'sample', gc: false });
    if (sample.records === ownAfter) {
      quiescentAt = performance.now();
      break;
    }
    await sleep(plan.quiescencePollMs);
  }
  const expected = expectedBefore - destroyed;
  const from = quiescentAt ?? sent;
  const exact = await countsExact([...counters.slice(0, n), monitor], expected, from, plan.holdMs, plan.burstConvergeMaxMs);
  const counts: CountConvergence = { expected, perInstanceMs: exact.perInstanceMs.slice(0, n), finalCounts: exact.finalCounts.slice(0, n), observedMs: exact.observedMs };
  const offset = from - sent;
  return {
    instance: instanceId(BURST_INSTANCE), closed: destroyed, quiescentAfterMs: quiescentAt === null ? null : Math.round(quiescentAt - sent), counts,
    fromBurstMs: counts.perInstanceMs.map((t) => (t === null ? null : Math.round(t + offset))),
  };
}

/** Everyone leaves: then no view may hold a record, and the broker no retained record. */
async function everyoneLeaves(fleet: Fleet, watchers: FleetWatcher[]): Promise<NonNullable<FleetResult['recordsLeft']>> {
  const { plan, log, servers, workers, broker } = fleet;
  const profiler = PROFILE_DIR ? await ServerProfiler.attach(servers[MONITOR_INSTANCE]!, PROFILE_DIR) : null;
  await profiler?.start();
  log('fleet: everyone leaves');
  await Promise.all([...workers.map((w) => w.request({ type: 'closeAll' })), ...watchers.map((w) => w.close())]);
  const started = performance.now();
  let views = servers.map(() => -1);
  let reportedAt = started;
  while (performance.now() - started < plan.teardownMaxMs) {
    views = (await Promise.all(servers.map((s) => s.process.request<ServerSample>({ type: 'sample', gc: false })))).map((s) => s.records);
    if (views.every((v) => v === 0)) break;
    if (performance.now() - reportedAt >= 10_000) {
      reportedAt = performance.now();
      log(`fleet: after ${Math.round((reportedAt - started) / 1000)} s, views ${views.join(' / ')}`);
    }
    await sleep(250);
  }
  log(`fleet: ${views.every((v) => v === 0) ? 'views empty' : 'gave up'} after ${Math.round(performance.now() - started)} ms`);
  if (profiler) {
    await profiler.stop('fleet-everyone-leaves');
    profiler.close();
  }
  // What a view with leftovers was doing: its bridge's state and its last log lines (the monitor's instance logs at info).
  for (const [i, server] of servers.entries()) {
    if (views[i] === 0 && i !== MONITOR_INSTANCE) continue;
    const { bridge } = await server.process.request<ServerSample>({ type: 'sample', gc: false });
    log(`fleet: ${serverName(i, plan)} shows ${views[i]} records; bridge ${JSON.stringify(bridge)}; last log lines:`);
    for (const line of server.process.output.slice(-25)) log(`  ${line}`);
  }
  const retained = await retainedRecords(broker.url, PREFIX, { windowMs: 3000, endAtMarker: true, maxRounds: 3 });
  const total = views.reduce((a, b) => a + b, 0) + retained.count;
  log(`fleet: records left: views ${views.join(' / ')}, retained on the broker ${retained.count}${retained.complete ? '' : ' or more'}`);
  return { views, retainedOnBroker: retained.count, retainedProbeComplete: retained.complete, total };
}

/** Open `count` connections on one server, spread over `workers`; a failure is reported, not thrown. */
async function openOn(workers: IpcChild[], server: ServerUnderTest, count: number): Promise<{ opened: number; failure?: string }> {
  const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
  const results = await Promise.all(
    workers.map((w, i) => w.request<{ opened: number; firstError?: string }>({ type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: 50 })),
  );
  return { opened: results.reduce((sum, r) => sum + r.opened, 0), failure: results.find((r) => r.firstError)?.firstError };
}

/** One sample per server (forced GCs), repeated until no server's RSS moves more than the tolerance. */
async function settledSamples(servers: ServerUnderTest[], plan: FleetPlan): Promise<ServerSample[]> {
  await sleep(plan.settleMs);
  let last = await Promise.all(servers.map((s) => s.sample()));
  for (let i = 1; i < plan.settleSamples; i++) {
    await sleep(plan.settleMs);
    const next = await Promise.all(servers.map((s) => s.sample()));
    const moved = Math.max(...next.map((s, j) => Math.abs(s.rss - last[j]!.rss)));
    last = next;
    if (moved <= plan.settleToleranceMb * MB) break;
  }
  return last;
}

function failures(r: FleetResult): string[] {
  const out: string[] = [];
  const t = r.targets;
  if (r.skipped) return out;
  if (r.error) out.push(r.error);
  if (r.held < r.target) out.push(`the fleet held ${r.held} of ${r.target} connections${r.firstFailure ? ` (first failure: ${r.firstFailure})` : ''}`);
  if (r.rssRatioMean === null) out.push('no RSS per own connection ratio');
  else if (r.rssRatioMean > t.rssPerOwnConnectionRatio) out.push(`RSS per own connection on instances without a monitor ${r.rssRatioMean}× the lone instance's (target ≤ ${t.rssPerOwnConnectionRatio}×)`);
  if (r.monitorCountAfterRampMs === null) out.push(`the monitor's count was not exact within ${r.afterRamp?.observedMs ?? '?'} ms of the ramp's end`);
  else if (r.monitorCountAfterRampMs > t.monitorCountAfterRampMs) out.push(`the monitor's count exact ${r.monitorCountAfterRampMs} ms after the ramp (target ≤ ${t.monitorCountAfterRampMs} ms)`);
  const b = r.burst;
  if (b) {
    if (b.quiescentAfterMs === null) out.push(`${b.instance} did not process the burst within the watch`);
    const slow = b.counts.perInstanceMs.map((v, i) => ({ v, i })).filter(({ v }) => v === null || v > t.countAfterQuiescenceMs);
    if (slow.length) out.push(`counts after the burst: ${slow.map(({ v, i }) => `${instanceId(i)} ${v === null ? `not exact (shows ${b.counts.finalCounts[i]}, expected ${b.counts.expected})` : `${v} ms`}`).join(', ')} (target ≤ ${t.countAfterQuiescenceMs} ms)`);
  }
  for (const [what, l] of [['connect', r.connectLatency], ['close', r.closeLatency]] as const) if (l?.missing) out.push(`${l.missing} probe ${what}s never reached the monitor`);
  if (r.recordsLeft && r.recordsLeft.total > t.recordsLeft) out.push(`${r.recordsLeft.total} records left after everyone left (views ${r.recordsLeft.views.join(' / ')}, retained ${r.recordsLeft.retainedOnBroker})`);
  return out;
}

const instanceId = (i: number) => `bench-${i + 1}`;
const fleetIndex = (id: string) => Number(id.slice('bench-'.length)) - 1;
const serverName = (i: number, plan: FleetPlan) => (i === plan.instances ? 'lone' : instanceId(i));
const workersOf = (fleet: Fleet, i: number) => fleet.workers.slice(i * fleet.plan.workersPerInstance, (i + 1) * fleet.plan.workersPerInstance);
const ratio = (x: number | null, y: number | null) => (x !== null && y ? x / y : NaN);
function meanAndMax(values: Array<number | null>): [number | null, number | null] {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? [round(known.reduce((a, b) => a + b, 0) / known.length, 3), Math.max(...known)] : [null, null];
}
const ms = (x: number | null) => (x === null ? 'never' : `${x} ms`);
const kb = (bytes: number | null) => (bytes === null ? '–' : `${(bytes / 1024).toFixed(1)} KB`);
