/**
 * A load-generator process. Several run side by side, each bound to its own
 * 127.0.0.x source address (so no single address runs out of ephemeral
 * ports) and each under the per-process open-file limit. Driven over IPC:
 *   open     open `count` more connections, `concurrency` at a time; with `login: true`, each
 *            logs in right after its `connect` frame with the next token `signLogins` prepared;
 *            with `call: '<method>'`, each calls that method (no params) right after it instead
 *   signLogins sign one HS256 JWT per entry of `accountIds` (`sub` = the entry), kept for the
 *            next `open`s with `login: true` (each of those starts again at the first token);
 *            signed here, before any timed ramp, so the ramp times the server, not the signing
 *   closeAll close every held connection
 *   destroyAll drop every held socket in one synchronous loop (a burst of disconnects)
 *   digest   count and hash of the held session ids (bench/view-digest.ts)
 *   probe    monitors + churn: close→removal latency as the monitors see it
 *   monitors open `count` monitors that subscribe at once; answer when all are ready (load/monitors.ts)
 *   closeMonitors close them
 *   closeTimes wait (up to `timeoutMs`) until every held connection has closed, whoever closed it;
 *            answer each one's close time in ms after `sinceEpochMs` (Date.now(); the drain section)
 */
import { SignJWT } from 'jose';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import { ViewDigest } from '../view-digest';
import { openConnection, type HeldConnection, type Protocol } from './clients';
import { MonitorGroup } from './monitors';

type Command =
  | { id: number; type: 'open'; protocol: Protocol; url: string; count: number; concurrency: number; login?: boolean; call?: string }
  | { id: number; type: 'signLogins'; secret: string; accountIds: string[]; expiresInSeconds: number }
  | { id: number; type: 'closeAll' }
  | { id: number; type: 'destroyAll' }
  | { id: number; type: 'digest' }
  | { id: number; type: 'probe'; protocol: Protocol; url: string; monitors: number; token: string; ratePerSecond: number; seconds: number }
  | { id: number; type: 'monitors'; url: string; count: number; params: unknown[]; readyTimeoutMs: number }
  | { id: number; type: 'closeMonitors' }
  | { id: number; type: 'closeTimes'; sinceEpochMs: number; timeoutMs: number };

/** The `closeTimes` answer: close times in ms after `sinceEpochMs`, and the connections still open at the timeout. */
export interface CloseTimesReport {
  closedAfterMs: number[];
  stillOpen: number;
}

// One address, or a comma-separated list used round-robin by `open` (probes use the first).
const localAddresses = (process.env.BENCH_LOCAL_ADDRESS ?? '127.0.0.1').split(',');
const localAddress = localAddresses[0]!;
let nextAddress = 0;
const held: HeldConnection[] = [];
/** When each held connection closed (Date.now()), recorded from the moment it opened, so no close escapes a late `closeTimes`. */
const closedAt = new WeakMap<HeldConnection, number>();
let monitors: MonitorGroup | null = null;
/** From `signLogins`: the JWT for the i-th connection of an `open` with `login: true`. */
let loginTokens: string[] = [];

process.on('message', async (command: Command) => {
  try {
    const result = await handle(command);
    process.send!({ id: command.id, result });
  } catch (error) {
    process.send!({ id: command.id, error: (error as Error).message });
  }
});
process.send!({ type: 'ready' });

async function handle(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'open':
      return openMany(command.protocol, command.url, command.count, command.concurrency, command.login === true, command.call);
    case 'signLogins':
      return signLogins(command.secret, command.accountIds, command.expiresInSeconds);
    case 'closeAll': {
      const all = held.splice(0);
      await Promise.all(all.map((c) => c.close()));
      return { closed: all.length };
    }
    case 'destroyAll': {
      const all = held.splice(0);
      for (const c of all) c.destroy();
      return { destroyed: all.length };
    }
    case 'digest': {
      const digest = new ViewDigest();
      for (const c of held) digest.add(c.id);
      return digest.value();
    }
    case 'probe':
      return probe(command);
    case 'monitors':
      if (monitors) throw new Error('monitors already open: closeMonitors first');
      monitors = new MonitorGroup(command.url, localAddress);
      return monitors.open(command.count, command.params, command.readyTimeoutMs);
    case 'closeMonitors': {
      const closing = monitors;
      monitors = null;
      return closing ? closing.close() : { closed: 0 };
    }
    case 'closeTimes':
      return closeTimes(command.sinceEpochMs, command.timeoutMs);
  }
}

async function signLogins(secret: string, accountIds: string[], expiresInSeconds: number) {
  const started = performance.now();
  const key = new TextEncoder().encode(secret);
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  loginTokens = await Promise.all(
    accountIds.map((sub) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(exp).sign(key)),
  );
  return { signed: loginTokens.length, ms: performance.now() - started };
}

async function openMany(protocol: Protocol, url: string, count: number, concurrency: number, login = false, call?: string) {
  if (login && loginTokens.length < count) throw new Error(`open with login: ${count} connections but ${loginTokens.length} tokens signed (signLogins first)`);
  const started = performance.now();
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const lane = async () => {
    while (next < count && failed === 0) {
      const index = next++;
      try {
        const address = localAddresses[nextAddress++ % localAddresses.length]!;
        const firstCall = login
          ? { method: PRESENCE_NAMES.loginMethod, params: [{ jwt: loginTokens[index]! }] }
          : call ? { method: call, params: [] } : undefined;
        const connection = await openConnection(protocol, url, address, undefined, firstCall);
        void connection.closed.then(() => closedAt.set(connection, Date.now()));
        held.push(connection);
        opened++;
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message ?? String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { opened, failed, firstError, ms: performance.now() - started, held: held.length };
}

async function closeTimes(sinceEpochMs: number, timeoutMs: number): Promise<CloseTimesReport> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(held.map((c) => c.closed)),
    new Promise((r) => (timer = setTimeout(r, timeoutMs))),
  ]);
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r)); // the `closedAt` callbacks chained after each `closed`
  const closedAfterMs: number[] = [];
  let stillOpen = 0;
  for (const c of held) {
    const at = closedAt.get(c);
    if (at === undefined) stillOpen++;
    else closedAfterMs.push(at - sinceEpochMs);
  }
  return { closedAfterMs, stillOpen };
}

/**
 * `monitors` watchers subscribe to the list; then connections are opened at
 * `ratePerSecond`, each closed as soon as every monitor has seen it, and the
 * time from close() to each monitor's removal is recorded.
 */
async function probe(command: Extract<Command, { type: 'probe' }>) {
  const closedAt = new Map<string, number>();
  const addedBy = new Map<string, number>();
  const waitingForAdd = new Map<string, () => void>();
  const latencies: number[] = [];
  const watchers = await Promise.all(
    Array.from({ length: command.monitors }, () =>
      openConnection(command.protocol, command.url, localAddress, {
        token: command.token,
        events: {
          onAdded: (id) => {
            const n = (addedBy.get(id) ?? 0) + 1;
            addedBy.set(id, n);
            if (n === command.monitors) waitingForAdd.get(id)?.();
          },
          onRemoved: (id) => {
            const t0 = closedAt.get(id);
            if (t0 !== undefined) latencies.push(performance.now() - t0);
          },
        },
      }),
    ),
  );
  await new Promise((r) => setTimeout(r, 300)); // let the initial lists arrive
  const churnOne = async () => {
    const conn = await openConnection(command.protocol, command.url, localAddress);
    if (command.monitors > 0 && (addedBy.get(conn.id) ?? 0) < command.monitors) {
      await Promise.race([
        new Promise<void>((r) => waitingForAdd.set(conn.id, r)),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
      waitingForAdd.delete(conn.id);
    }
    closedAt.set(conn.id, performance.now());
    await conn.close();
  };
  const total = Math.round(command.ratePerSecond * command.seconds);
  const intervalMs = 1000 / command.ratePerSecond;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  let errors = 0;
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(churnOne().catch(() => void errors++));
  }
  await Promise.all(inFlight);
  const expected = closedAt.size * command.monitors;
  const deadline = performance.now() + 5000;
  while (latencies.length < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await Promise.all(watchers.map((w) => w.close()));
  return {
    churned: closedAt.size,
    errors,
    achievedRate: closedAt.size / ((performance.now() - started) / 1000),
    latencies,
    missing: expected - latencies.length,
  };
}
