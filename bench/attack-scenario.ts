/**
 * Scenario "under attack": server (a) holds `held` legitimate DDP
 * connections while one attacker process runs one attack for `seconds`;
 * a bystander process times DDP pings throughout. Per attack: is the process
 * alive, bystander ping p50/p99, RSS growth (peak during minus before), and
 * can a fresh client connect and call `getSessionId` afterwards.
 *
 * Every attack gets a fresh server and fresh held connections, so one
 * attack's damage (leaked descriptors, a grown heap, a crash) is not charged
 * to the next. Targets: alive, ping p99 ≤ 100 ms, RSS growth ≤ 64 MB, fresh
 * client served; the legit-client check must also not be cut off.
 *
 * Source addresses: attack i uses 127.0.0.(120 + 10 i) .. +6 (load workers,
 * bystander +4, attacker +5, fresh client +6), apart from the other sections'.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../scripts/build-server';
import { freshClientCheck } from './attack-fresh-client';
import type { AttackResult, AttackScenarioResult } from './attack-results-types';
import type { BystanderReport } from './attack-bystander';
import { ATTACKS } from './attacks/registry';
import type { AttackDefinition, AttackName, AttackReport, AttackSizes } from './attacks/types';
import { IpcChild, startServer, startWorkers, type ServerUnderTest } from './processes';
import { PeakRssWatch, rssBytes } from './server-rss';
import { percentile, round } from './stats';

export interface AttackPlan {
  held: number;
  seconds: number;
  loadWorkers: number;
  settleMs: number;
  sizes: AttackSizes;
}

export const ATTACK_PLANS: Record<'full' | 'quick', AttackPlan> = {
  full: { held: 10_000, seconds: 20, loadWorkers: 4, settleMs: 1000, sizes: { preconnectSockets: 10_000, subscriptions: 20_000, pipelinedMethods: 5_000 } },
  quick: { held: 1_000, seconds: 3, loadWorkers: 2, settleMs: 300, sizes: { preconnectSockets: 2_000, subscriptions: 20_000, pipelinedMethods: 5_000 } },
};

export const ATTACK_TARGETS = { pingP99Ms: 100, rssGrowthMb: 64 };
const PING_INTERVAL_MS = 50;
const MB = 1024 * 1024;
const TOKEN = 'bench-monitor-token';

type Log = (message: string) => void;

export async function runAttackScenario(plan: AttackPlan, only: readonly AttackName[] | undefined, log: Log): Promise<AttackScenarioResult> {
  const started = Date.now();
  await buildServer({ 'attack-worker': 'bench/attack-worker.ts' }, 'bench/dist');
  const attacks: AttackResult[] = [];
  let controlGrowthMb: number | null = null;
  for (const [i, attack] of ATTACKS.entries()) {
    // The control always runs when anything does: every RSS figure is read against it.
    if (only && !only.includes(attack.name) && attack.kind !== 'control') continue;
    log(`attack ${attack.name}: ${plan.held} held, ${plan.seconds} s`);
    const result = await runOne(attack, plan, 120 + i * 10);
    if (attack.kind === 'control') controlGrowthMb = result.rss.growthMb;
    else if (controlGrowthMb !== null && result.rss.growthMb !== null) {
      result.rss.overControlMb = round(Math.max(0, result.rss.growthMb - controlGrowthMb));
      result.failures = failures(result);
      result.pass = result.failures.length === 0;
    }
    log(`attack ${attack.name}: ${result.pass ? 'pass' : `FAIL (${result.failures.join('; ')})`}`);
    attacks.push(result);
  }
  return { held: plan.held, secondsPerAttack: plan.seconds, targets: ATTACK_TARGETS, attacks, durationSeconds: Math.round((Date.now() - started) / 1000) };
}

function startAttackProcess(address: string, name: string): Promise<IpcChild> {
  const child = fork(fileURLToPath(new URL('./dist/attack-worker.mjs', import.meta.url)), [], {
    env: { ...process.env, BENCH_LOCAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const ipc = new IpcChild(child, name);
  return ipc.ready.then(() => ipc);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise.catch(() => fallback), new Promise<F>((r) => (timer = setTimeout(r, ms, fallback)))]).finally(() => clearTimeout(timer));
}

async function openHeld(workers: IpcChild[], server: ServerUnderTest, count: number): Promise<number> {
  const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
  const results = await Promise.all(
    workers.map((w, i) => w.request<{ opened: number }>({ type: 'open', protocol: 'ddp', url: server.url, count: shares[i], concurrency: 50 })),
  );
  return results.reduce((n, r) => n + r.opened, 0);
}

async function runOne(attack: AttackDefinition, plan: AttackPlan, firstAddress: number): Promise<AttackResult> {
  const result: AttackResult = {
    name: attack.name, title: attack.title, kind: attack.kind, seconds: 0, held: 0, alive: false,
    ping: { p50: null, p99: null, samples: 0, lost: 0 }, rss: { beforeMb: null, peakMb: null, growthMb: null },
    freshClient: { ok: false, detail: 'not run' }, sessionsAfter: null, attacker: null, pass: false, failures: [],
  };
  let server: ServerUnderTest;
  try {
    server = await startServer('app', { PRESENCE_MONITOR_TOKEN: TOKEN, DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '' });
  } catch (error) {
    result.error = `server did not start: ${(error as Error).message}`;
    result.failures = failures(result);
    return result;
  }
  const child = server.process.child;
  const died = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exited (${signal ?? code}): ${lastWords(server.process.output)}`)));
  let death: string | undefined;
  let stopping = false; // our own SIGKILL at the end is not a death
  void died.then((d) => void (stopping || (death = d)));
  const processes: IpcChild[] = [];
  try {
    // The held load comes from many addresses (8 per worker, in 127.<10+worker>.<attack>.x), as real
    // clients do: the server's per-address budget is on here, and it is the attacker's address it must slow.
    const workers = await startWorkers(plan.loadWorkers, firstAddress, (worker) =>
      Array.from({ length: 8 }, (_, j) => `127.${10 + worker}.${firstAddress}.${j + 1}`),
    );
    processes.push(...workers);
    const bystander = await startAttackProcess(`127.0.0.${firstAddress + 4}`, 'bystander');
    const attacker = await startAttackProcess(`127.0.0.${firstAddress + 5}`, 'attacker');
    processes.push(bystander, attacker);

    result.held = await openHeld(workers, server, plan.held);
    await sleep(plan.settleMs);
    await within(server.sample(), 10_000, null); // a GC, so the baseline is not the ramp's garbage
    const before = rssBytes(child.pid!);
    await bystander.request({ type: 'bystander-start', url: server.url, intervalMs: PING_INTERVAL_MS });
    const watch = new PeakRssWatch(child.pid!);
    watch.start();

    const startedAt = performance.now();
    const churn = attack.churnPerSecond
      ? workers[0]!.request({ type: 'probe', protocol: 'ddp', url: server.url, monitors: 0, token: TOKEN, ratePerSecond: attack.churnPerSecond, seconds: plan.seconds }).catch(() => null)
      : null;
    const report = attacker.request<AttackReport>({ type: 'attack', name: attack.name, host: '127.0.0.1', port: server.port, seconds: plan.seconds, sizes: plan.sizes });
    const first = await within(
      Promise.race([report.then(() => 'done' as const, () => 'done' as const), died.then(() => 'died' as const)]),
      plan.seconds * 1000 + 10_000,
      'overdue' as const,
    );
    if (first !== 'done') void attacker.request({ type: 'stop' }).catch(() => {});
    const attackerReport = await within(report.catch((e: Error) => e), 15_000, new Error('attacker gave no report within 15 s of the deadline'));
    result.seconds = round((performance.now() - startedAt) / 1000, 1) ?? 0;
    const peak = watch.stop();
    if (attackerReport instanceof Error) result.error = attackerReport.message;
    else result.attacker = attackerReport;

    const pings = await within(bystander.request<BystanderReport>({ type: 'bystander-stop', graceMs: 1000 }), 5000, null);
    if (pings) result.ping = pingFigures(pings);
    if (churn) await within(churn, 10_000, null);
    await attacker.stop(); // its sockets go with it
    await sleep(500);

    result.alive = death === undefined && child.exitCode === null && child.signalCode === null;
    result.rss = {
      beforeMb: before === null ? null : round(before / MB),
      peakMb: peak === null ? null : round(peak / MB),
      growthMb: before !== null && peak !== null ? round(Math.max(0, peak - before) / MB) : null,
    };
    if (result.alive) {
      result.sessionsAfter = (await within(server.sample(), 10_000, null))?.sockets ?? null;
      result.freshClient = await freshClientCheck(server.url, `127.0.0.${firstAddress + 6}`, 5000);
    } else result.freshClient = { ok: false, detail: 'server not running' };
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    stopping = true;
    await server.process.stop();
  }
  if (death) result.death = death;
  result.failures = failures(result);
  result.pass = result.failures.length === 0;
  return result;
}

/** The error line of a crash (Node prints the stack after it) and the output's last line. */
function lastWords(output: string[]): string {
  const tail = output.slice(-60);
  const error = tail.find((line) => /^\s*(\w*(Error|Exception)\b|Uncaught)/.test(line));
  return [error, tail.at(-1)].filter(Boolean).join(' … ').slice(0, 400);
}

function pingFigures(report: BystanderReport): AttackResult['ping'] {
  // Lost pings count as infinitely slow: once more than 1% are lost, p99 is unmeasurable (null).
  const all = [...report.rttsMs, ...Array.from({ length: report.lost }, () => Infinity)];
  return { p50: round(percentile(all, 50), 2), p99: round(percentile(all, 99), 2), samples: report.rttsMs.length, lost: report.lost, ...(report.closed ? { closed: report.closed } : {}) };
}

function failures(r: AttackResult): string[] {
  const out: string[] = [];
  if (r.error) out.push(r.error);
  if (!r.alive) out.push('server died');
  if (r.ping.p99 === null) out.push(`bystander lost ${r.ping.lost} of ${r.ping.samples + r.ping.lost} pings`);
  else if (r.ping.p99 > ATTACK_TARGETS.pingP99Ms) out.push(`ping p99 ${r.ping.p99} ms > ${ATTACK_TARGETS.pingP99Ms} ms`);
  const rssGrowth = r.rss.overControlMb ?? r.rss.growthMb;
  if (rssGrowth !== null && rssGrowth !== undefined && rssGrowth > ATTACK_TARGETS.rssGrowthMb) {
    out.push(`RSS +${rssGrowth} MB${r.rss.overControlMb !== undefined ? ' over the control run' : ''} > ${ATTACK_TARGETS.rssGrowthMb} MB`);
  }
  if (r.alive && !r.freshClient.ok) out.push(`fresh client: ${r.freshClient.detail}`);
  if (r.kind === 'legit-check' && r.attacker && !r.attacker.legitOk) out.push(`legit client: ${r.attacker.detail}`);
  return out;
}
