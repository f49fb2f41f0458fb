/**
 * Closes this instance's DDP sessions spread evenly over `drainMs`, in small
 * batches every `tickMs`, as @meteorjs/ddp-graceful-shutdown does.
 *
 * Why: closing thousands of sessions at once sends them all to the other
 * instances in one reconnect storm, and every monitor sees this instance's
 * rows vanish in one burst. Spread out, the load moves smoothly and the
 * rows leave gradually.
 *
 * The schedule is by the clock, not by counting ticks: at time t the first
 * ceil(total × t / drainMs) sessions are closed, so a late timer catches up
 * instead of pushing the tail past `drainMs`. Sessions that leave on their
 * own only make the batches smaller.
 *
 * Example: `await drainSessions(ddp, { drainMs: 10_000, tickMs: 100 })`.
 * Caveat: the target must refuse new sessions first (DdpServer.stopAccepting),
 * or new ones would be counted in no batch and closed only at the end.
 */
export interface DrainTarget {
  readonly sessionCount: number;
  /** Close up to `count` sessions; returns how many were closed. */
  closeSessions(count: number): number;
}

export interface SessionDrainOptions {
  /** Spread the closes over this long (DRAIN_MS, default 10 s; 0 closes all at once). */
  drainMs: number;
  /** One batch every this many ms (default 100: a tenth of the drain holds ten batches at the 10 s default). */
  tickMs: number;
}

export const defaultSessionDrainOptions: SessionDrainOptions = { drainMs: 10_000, tickMs: 100 };

export interface DrainResult {
  /** Sessions open when the drain began. */
  total: number;
  /** Sessions this drain closed (the rest left on their own). */
  closed: number;
  elapsedMs: number;
}

export function drainSessions(target: DrainTarget, options: SessionDrainOptions, now: () => number = Date.now): Promise<DrainResult> {
  const startedAt = now();
  const total = target.sessionCount;
  let closed = 0;
  if (total === 0 || options.drainMs <= 0) {
    closed = target.closeSessions(Number.POSITIVE_INFINITY);
    return Promise.resolve({ total, closed, elapsedMs: now() - startedAt });
  }
  return new Promise((resolve) => {
    const tick = () => {
      const elapsed = now() - startedAt;
      const due = elapsed >= options.drainMs ? Number.POSITIVE_INFINITY : Math.ceil((total * elapsed) / options.drainMs);
      if (due > closed) closed += target.closeSessions(due - closed);
      if (elapsed >= options.drainMs || target.sessionCount === 0) {
        clearInterval(timer);
        resolve({ total, closed, elapsedMs: elapsed });
      }
    };
    const timer = setInterval(tick, Math.max(1, options.tickMs));
  });
}
