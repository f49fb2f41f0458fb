/**
 * Section "people" (issue 14's benchmark: "login plus presence must keep
 * connect throughput within 10% of anonymous connects"). One instance of (a)
 * with JWT login on (PRESENCE_JWT_SECRET) and presence on: a monitor holds
 * `list.onlineUsers` (with the monitor token) and another
 * `list.connectedUsers.count` for the whole section, so the people view is
 * live and published. Then, alternated to cancel drift on a noisy machine:
 * 1. anonymous: a ramp of `connections` (connect → `connected`), all closed;
 * 2. method: the same, each calling `getSessionId` right after its `connect`
 *    frame (informative: what any one request costs over a bare connect);
 * 3. login: a ramp of `connections`, each sending `login` with `[{ jwt }]`
 *    right after its `connect` frame (as Meteor's client does on a reconnect
 *    with its resume token), counted when the login's `result` arrives;
 *    `connections / 2` accounts, two connections (tabs) each, so the people
 *    aggregation does real work. All closed.
 * After each close the section waits until the server's records and the
 * monitor's people are gone (records and people left must be 0); after each
 * login ramp, until the monitor sees `connections / 2` people.
 * The tokens are signed in the load workers once, before any ramp (untimed).
 * Ratio: median login rate ÷ median anonymous rate, target ≥ 0.90; also
 * login ÷ method, with no target.
 * Source addresses: 127.0.6.x (load workers .1 and up, the monitors .250).
 * Profiling: BENCH_PEOPLE_CPU_PROF=<dir> starts the server with the inspector
 * on (NODE_OPTIONS=--inspect=127.0.0.1:0; Node refuses --cpu-prof there) and
 * writes a CPU profile of each timed ramp, `<dir>/people-<kind>-<pair>.cpuprofile`
 * (open in Chrome DevTools); the rates of such a run are not comparable.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { PRESENCE_NAMES, type PersonDocument } from '../imports/app/wire-contract';
import type { PeopleResult, PeopleRunFigure, PeopleRunKind, PeopleTargets } from './people-results-types';
import { startServer, startWorkers, type IpcChild, type ServerUnderTest } from './processes';
import { ServerProfiler } from './server-profiler';
import type { ServerSample } from './servers/ipc';
import { round } from './stats';

export interface PeoplePlan {
  /** Connections per ramp (even: two per account in the login ramps). */
  connections: number;
  /** Anonymous-then-login pairs. */
  pairs: number;
  loadWorkers: number;
  /** Connections in each of the two untimed warm-up ramps. */
  warmup: number;
  /** How long to wait for the people count after a login ramp, and for the records and people to go after a close. */
  settleTimeoutMs: number;
  /** A pause after each settled close, so the next ramp does not start in the previous one's GC. */
  pauseMs: number;
}

export const PEOPLE_PLANS: Record<'full' | 'quick', PeoplePlan> = {
  full: { connections: 5_000, pairs: 3, loadWorkers: 4, warmup: 1_000, settleTimeoutMs: 20_000, pauseMs: 1000 },
  quick: { connections: 1_000, pairs: 1, loadWorkers: 2, warmup: 200, settleTimeoutMs: 10_000, pauseMs: 500 },
};

export const PEOPLE_TARGETS: PeopleTargets = { minRatio: 0.9 };
const CONCURRENCY = 50;
const ADDRESS_SUBNET = '127.0.6.';
const MONITOR_ADDRESS = `${ADDRESS_SUBNET}250`;
const MONITOR_TOKEN = 'bench-people-monitor-token';
/** The two monitor connections hold presence records of their own. */
const MONITOR_CONNECTIONS = 2;
const TOKEN_LIFETIME_SECONDS = 3 * 3600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Log = (message: string) => void;

export async function runPeopleScenario(plan: PeoplePlan, log: Log): Promise<PeopleResult> {
  const started = Date.now();
  const accounts = Math.floor(plan.connections / 2);
  const result: PeopleResult = {
    connections: plan.connections, accounts, pairs: plan.pairs, loadWorkers: plan.loadWorkers, concurrency: CONCURRENCY,
    targets: PEOPLE_TARGETS, loadAverage: loadavg().map((x) => round(x, 2)!), warmupConnections: plan.warmup, signMs: null, runs: [],
    medianAnonymousPerSecond: null, medianLoginPerSecond: null, ratio: null, medianAnonymousCpuMsPer1000: null, medianLoginCpuMsPer1000: null,
    medianMethodPerSecond: null, medianMethodCpuMsPer1000: null, ratioToMethod: null,
    serverLog: [], pass: false, failures: [], durationSeconds: 0,
  };
  const profileDir = process.env.BENCH_PEOPLE_CPU_PROF;
  const jwtSecret = randomBytes(32).toString('hex');
  const server = await startServer('app', {
    PRESENCE_JWT_SECRET: jwtSecret,
    PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN,
    ...(profileDir ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {}),
  });
  let profiler: ServerProfiler | null = null;
  const workers: IpcChild[] = [];
  let monitor: PeopleMonitor | null = null;
  try {
    workers.push(...(await startWorkers(plan.loadWorkers, 0, (i) => [`${ADDRESS_SUBNET}${1 + i}`])));
    const shares = split(plan.connections, workers.length);
    const signStarted = performance.now();
    let first = 0;
    await Promise.all(workers.map((w, i) => {
      // Connection c logs in as person floor(c / 2): two tabs each, opened side by side by two lanes.
      const accountIds = Array.from({ length: shares[i]! }, (_, k) => `bench-person-${Math.floor((first + k) / 2)}`);
      first += shares[i]!;
      return w.request({ type: 'signLogins', secret: jwtSecret, accountIds, expiresInSeconds: TOKEN_LIFETIME_SECONDS });
    }));
    result.signMs = round(performance.now() - signStarted, 0);
    if (profileDir) profiler = await ServerProfiler.attach(server, profileDir);
    monitor = await PeopleMonitor.open(server.url, MONITOR_ADDRESS, MONITOR_TOKEN);
    log(`people: ${plan.connections} connections per ramp, ${accounts} accounts; ${plan.pairs} pairs after a warm-up of ${plan.warmup} (load average ${result.loadAverage.join(' ')})`);

    for (const kind of ['anonymous', 'method', 'login'] as const) {
      const warm = await ramp(workers, server, monitor, plan, kind, 0, plan.warmup);
      log(`people: warm-up ${kind}: ${warm.opened} in ${warm.rampMs} ms${warm.firstFailure ? `; first failure: ${warm.firstFailure}` : ''}`);
    }
    pairs: for (let pair = 1; pair <= plan.pairs; pair++) {
      for (const kind of ['anonymous', 'method', 'login'] as const) {
        const run = await ramp(workers, server, monitor, plan, kind, pair, plan.connections, profiler);
        result.runs.push(run);
        log(
          `people: ${kind} ${pair}: ${run.opened}/${run.target} at ${run.connectsPerSecond}/s, CPU ${run.cpuMsPer1000Connects ?? '–'} ms per 1,000` +
            (kind === 'login' ? `, people seen ${run.peopleSeen} (${run.peopleWithTwoConnections} with 2 tabs) after ${run.peopleSettledMs ?? '–'} ms` : '') +
            `; left: ${run.recordsLeft} records, ${run.peopleLeft} people${run.firstFailure ? `; first failure: ${run.firstFailure}` : ''}`,
        );
        if (run.opened < run.target) break pairs;
      }
    }
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    monitor?.close();
    profiler?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await server.process.stop();
    result.serverLog = server.process.output.slice(-10);
  }
  summarize(result);
  result.failures = failures(result);
  result.pass = result.failures.length === 0;
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  return result;
}

/** One timed ramp of `count` (`pair` 0: the untimed warm-up), then every connection closed and the view settled. */
async function ramp(
  workers: IpcChild[], server: ServerUnderTest, monitor: PeopleMonitor, plan: PeoplePlan, kind: PeopleRunKind, pair: number, count: number,
  profiler: ServerProfiler | null = null,
): Promise<PeopleRunFigure> {
  const shares = split(count, workers.length);
  await profiler?.start();
  const before = await cpuSample(server);
  const t0 = performance.now();
  const opens = await Promise.all(
    workers.map((w, i) =>
      w.request<{ opened: number; failed: number; firstError?: string }>({
        type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: CONCURRENCY, login: kind === 'login',
        call: kind === 'method' ? PRESENCE_NAMES.getSessionIdMethod : undefined,
      }),
    ),
  );
  const rampMs = performance.now() - t0;
  const after = await cpuSample(server);
  await profiler?.stop(`people-${kind}-${pair}`);
  const opened = opens.reduce((n, o) => n + o.opened, 0);
  const run: PeopleRunFigure = {
    kind, pair, target: count, opened, rampMs: round(rampMs, 0)!, connectsPerSecond: Math.round(opened / (rampMs / 1000)),
    cpuMsPer1000Connects: cpuPer1000(before, after, opened), cpuMsPer1000Closes: null,
    peopleSeen: null, peopleWithTwoConnections: null, peopleSettledMs: null, recordsLeft: null, peopleLeft: null,
  };
  const firstFailure = opens.find((o) => o.firstError)?.firstError;
  if (firstFailure) run.firstFailure = firstFailure;
  if (kind === 'login') {
    // Connection c is person floor(c / 2): a complete ramp is count / 2 people of two connections each.
    const expected = opened === count ? Math.floor(count / 2) : null;
    const t1 = performance.now();
    const settled = await until(() => (expected === null ? monitor.people.size > 0 : monitor.people.size === expected), plan.settleTimeoutMs);
    run.peopleSettledMs = settled && expected !== null ? round(performance.now() - t1, 0) : null;
    run.peopleSeen = monitor.people.size;
    run.peopleWithTwoConnections = [...monitor.people.values()].filter((n) => n === 2).length;
  }
  const closeBefore = await cpuSample(server);
  await Promise.all(workers.map((w) => w.request({ type: 'closeAll' })));
  await until(async () => (await cpuSample(server)).records <= MONITOR_CONNECTIONS && monitor.people.size === 0, plan.settleTimeoutMs);
  const closeAfter = await cpuSample(server);
  run.cpuMsPer1000Closes = cpuPer1000(closeBefore, closeAfter, opened);
  const end = await server.sample();
  run.recordsLeft = end.records - MONITOR_CONNECTIONS;
  run.peopleLeft = monitor.people.size;
  await sleep(plan.pauseMs);
  return run;
}

/** A sample without the forced GC (the CPU figures should count the ramp, not two full collections). */
const cpuSample = (server: ServerUnderTest) => server.process.request<ServerSample>({ type: 'sample', gc: false });

function cpuPer1000(before: ServerSample, after: ServerSample, events: number): number | null {
  if (!Number.isFinite(before.cpuMicros) || !Number.isFinite(after.cpuMicros) || events === 0) return null;
  return round(((after.cpuMicros - before.cpuMicros) / 1000 / events) * 1000, 0);
}

async function until(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function split(count: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(count / parts) + (i < count % parts ? 1 : 0));
}

function summarize(r: PeopleResult): void {
  const complete = (kind: PeopleRunKind) => r.runs.filter((x) => x.kind === kind && x.opened === x.target);
  // The median of an even count is the mean of the middle two (percentile() would pick the lower one).
  const median = (xs: number[]) => {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const anonymous = complete('anonymous');
  const login = complete('login');
  r.medianAnonymousPerSecond = round(median(anonymous.map((x) => x.connectsPerSecond)), 0);
  r.medianLoginPerSecond = round(median(login.map((x) => x.connectsPerSecond)), 0);
  r.ratio = r.medianAnonymousPerSecond && r.medianLoginPerSecond !== null ? round(r.medianLoginPerSecond / r.medianAnonymousPerSecond, 3) : null;
  const cpu = (runs: PeopleRunFigure[]) => runs.map((x) => x.cpuMsPer1000Connects).filter((x): x is number => x !== null);
  r.medianAnonymousCpuMsPer1000 = round(median(cpu(anonymous)), 0);
  r.medianLoginCpuMsPer1000 = round(median(cpu(login)), 0);
  const method = complete('method');
  r.medianMethodPerSecond = round(median(method.map((x) => x.connectsPerSecond)), 0);
  r.medianMethodCpuMsPer1000 = round(median(cpu(method)), 0);
  r.ratioToMethod = r.medianMethodPerSecond && r.medianLoginPerSecond !== null ? round(r.medianLoginPerSecond / r.medianMethodPerSecond, 3) : null;
}

function failures(r: PeopleResult): string[] {
  const out: string[] = [];
  if (r.error) out.push(r.error);
  for (const run of r.runs) {
    const name = `${run.kind} run ${run.pair}`;
    if (run.opened < run.target) out.push(`${name}: ${run.opened} of ${run.target} connections${run.firstFailure ? ` (first failure: ${run.firstFailure})` : ''}`);
    if (run.kind === 'login' && run.opened === run.target && run.peopleSeen !== r.accounts) out.push(`${name}: the monitor saw ${run.peopleSeen} people, not ${r.accounts}`);
    if (run.recordsLeft) out.push(`${name}: ${run.recordsLeft} records left after every client had gone`);
    if (run.peopleLeft) out.push(`${name}: ${run.peopleLeft} people left after every client had gone`);
  }
  const expectedRuns = r.pairs * 3;
  if (!r.error && r.runs.length < expectedRuns && r.runs.every((x) => x.opened === x.target)) out.push(`${r.runs.length} of ${expectedRuns} runs`);
  if (r.ratio === null) out.push('no ratio: a run of each kind must complete');
  else if (r.ratio < r.targets.minRatio) out.push(`login ÷ anonymous connect rate ${r.ratio} < ${r.targets.minRatio}`);
  return out;
}

/** Leftovers after a close: they fail any run, not only `--only people` (records left behind are a bug). */
export function peopleLeftovers(r: PeopleResult): string[] {
  return r.failures.filter((f) => f.includes(' left after every client had gone'));
}

/**
 * The section's monitor: one raw-ws DDP connection subscribed to
 * `list.onlineUsers` with the monitor token, keeping each person's
 * `connections`, and one to `list.connectedUsers.count`, as a dashboard does.
 */
class PeopleMonitor {
  /** Account id → connections, as the publication shows them. */
  readonly people = new Map<string, number>();
  count: number | null = null;

  private constructor(private readonly sockets: WebSocket[]) {}

  static async open(url: string, localAddress: string, token: string): Promise<PeopleMonitor> {
    const monitor = new PeopleMonitor([]);
    const people = await monitor.connect(url, localAddress, PRESENCE_NAMES.peoplePublication, [{ token }]);
    const count = await monitor.connect(url, localAddress, PRESENCE_NAMES.countPublication, []);
    monitor.sockets.push(people, count);
    return monitor;
  }

  private connect(url: string, localAddress: string, name: string, params: unknown[]): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
      const timer = setTimeout(() => reject(new Error(`monitor ${name}: no ready within 10 s`)), 10_000);
      ws.on('error', (error) => (clearTimeout(timer), reject(error)));
      ws.once('open', () => {
        ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
        ws.send(JSON.stringify({ msg: 'sub', id: 's', name, params }));
      });
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { msg: string; collection?: string; id?: string; fields?: Partial<PersonDocument> & { count?: number }; subs?: string[]; error?: unknown };
        if (frame.msg === 'ping') return void ws.send('{"msg":"pong"}');
        if (frame.msg === 'ready') {
          clearTimeout(timer);
          return resolve(ws);
        }
        if (frame.msg === 'nosub') {
          clearTimeout(timer);
          return reject(new Error(`monitor ${name}: nosub ${JSON.stringify(frame.error)}`));
        }
        if (frame.collection === PRESENCE_NAMES.countCollection && typeof frame.fields?.count === 'number') this.count = frame.fields.count;
        if (frame.collection !== PRESENCE_NAMES.peopleCollection) return;
        if (frame.msg === 'added') this.people.set(frame.id!, frame.fields?.connections ?? 0);
        else if (frame.msg === 'changed' && typeof frame.fields?.connections === 'number') this.people.set(frame.id!, frame.fields.connections);
        else if (frame.msg === 'removed') this.people.delete(frame.id!);
      });
    });
  }

  close(): void {
    for (const ws of this.sockets) ws.close();
  }
}
