/**
 * Watches every instance's presence view after an event (a burst of
 * disconnects, a broker restart) until each one is exactly the live set and
 * stays so for `holdMs`, or `maxMs` passes. "Exact" compares digests (count
 * and XOR hash of session ids, bench/view-digest.ts): the servers' over their
 * views, the load workers' over the connections they hold. A count that is
 * right by luck (one ghost, one missing) is therefore not exact.
 * Polls go over the servers' IPC channel without a forced GC, every `pollMs`;
 * a sample's time is when the last answer arrived, so times are upper bounds.
 */
import type { ConvergenceSample, ConvergenceWindow } from './convergence-results-types';
import type { ServerUnderTest } from './processes';
import type { ServerSample } from './servers/ipc';
import type { ViewDigestValue } from './view-digest';

export interface WatchOptions {
  maxMs: number;
  holdMs: number;
  pollMs: number;
  /** Keep watching at least this long even when converged (a broker restart: the views look exact before the bridges even reconnect). */
  minObserveMs?: number;
  /** A view counts as exact only while its bridge is connected. */
  requireConnected?: boolean;
  /** Seconds after the event whose counts the report shows. */
  marksSeconds: number[];
}

export function sampleAll(servers: readonly ServerUnderTest[]): Promise<ServerSample[]> {
  return Promise.all(servers.map((s) => s.process.request<ServerSample>({ type: 'sample', gc: false })));
}

/**
 * Starts `event` (the burst, the broker kill) and polls from that moment on, while it runs;
 * `before` are samples taken just before it (for the resync counts).
 */
export async function watchConvergence(
  servers: readonly ServerUnderTest[],
  expected: ViewDigestValue & { byOwner: Record<string, number> },
  before: readonly ServerSample[],
  options: WatchOptions,
  event: () => Promise<unknown> = async () => {},
): Promise<ConvergenceWindow> {
  const n = servers.length;
  const t0 = performance.now();
  const eventDone = event();
  eventDone.catch(() => {}); // awaited below
  const minObserveMs = options.minObserveMs ?? 0;
  const samples: ConvergenceSample[] = [];
  const streakStart: Array<number | null> = Array(n).fill(null);
  const maxDeviationPerInstance: number[] = Array(n).fill(0);
  let allExactSince: number | null = null;
  let last: ServerSample[] = [...before];
  let t = 0;
  for (;;) {
    const polledAt = performance.now();
    last = await sampleAll(servers);
    t = Math.round(performance.now() - t0);
    const counts = last.map((s) => s.records);
    const exact = last.map((s) =>
      s.view !== undefined && s.view.count === expected.count && s.view.hash === expected.hash && (!options.requireConnected || s.bridge?.connected === true));
    samples.push({ t, counts, exact });
    for (let i = 0; i < n; i++) {
      maxDeviationPerInstance[i] = Math.max(maxDeviationPerInstance[i]!, Math.abs(counts[i]! - expected.count));
      if (!exact[i]) streakStart[i] = null;
      else streakStart[i] ??= t;
    }
    if (exact.every(Boolean)) allExactSince ??= t;
    else allExactSince = null;
    if (allExactSince !== null && t - allExactSince >= options.holdMs && t >= minObserveMs) break;
    if (t >= options.maxMs) break;
    const wait = polledAt + options.pollMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await eventDone;
  const convergedMs = allExactSince !== null && t - allExactSince >= options.holdMs ? allExactSince : null;
  return {
    expected: expected.count,
    convergedMs,
    perInstanceMs: streakStart,
    countsAt: countsAt(samples, options.marksSeconds),
    maxDeviation: Math.max(...maxDeviationPerInstance),
    maxDeviationPerInstance,
    observedMs: t,
    holdMs: options.holdMs,
    resyncs: last.map((s, i) => (s.bridge && before[i]?.bridge ? s.bridge.resyncs - before[i]!.bridge!.resyncs : null)),
    timeline: thin(samples, 500),
    final: last.map((s) => ({ byOwner: s.viewByOwner ?? {}, bridge: s.bridge ?? null })),
    expectedByOwner: expected.byOwner,
  };
}

/** The sample nearest each mark within the watch. */
function countsAt(samples: ConvergenceSample[], marks: number[]): ConvergenceWindow['countsAt'] {
  const end = samples.at(-1);
  if (!end) return [];
  const out: ConvergenceWindow['countsAt'] = [];
  for (const atSecond of marks) {
    const at = atSecond * 1000;
    if (at > end.t + 250) continue; // not watched that long
    let best = samples[0]!;
    for (const s of samples) if (Math.abs(s.t - at) < Math.abs(best.t - at)) best = s;
    out.push({ atSecond, counts: best.counts });
  }
  return out;
}

/** About one sample per `everyMs`, plus every sample where some view turned exact or inexact, plus the last. */
function thin(samples: ConvergenceSample[], everyMs: number): ConvergenceSample[] {
  const kept: ConvergenceSample[] = [];
  for (const [i, s] of samples.entries()) {
    const prev = kept.at(-1);
    const flipped = i > 0 && s.exact.some((e, j) => e !== samples[i - 1]!.exact[j]);
    if (!prev || s.t - prev.t >= everyMs || flipped || i === samples.length - 1) kept.push(s);
  }
  return kept;
}
