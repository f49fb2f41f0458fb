import type { Logger } from '../log/logger';

/**
 * SIGTERM / SIGINT handling for `npm start`: the first signal drains
 * (standalone-app.ts `drain()`: /readyz 503, bridge announces draining, new
 * sockets refused, sessions closed over DRAIN_MS, bridge stopped) and exits 0;
 * a second signal exits at once (1). A hard timer exits (1) after
 * `drainMs + hardExitSlackMs` (2.5 s) whatever hangs, so the process always leaves
 * before Kubernetes' SIGKILL (30 s by default).
 *
 * Example: `handleShutdownSignals(app, { drainMs: config.drainMs, log: app.log })`.
 */
export interface ShutdownOptions {
  drainMs: number;
  /**
   * Time past `drainMs` before the hard exit (default 2.5 s): the bridge's
   * goodbye is itself bounded at 2 s (stopTimeoutMs), and a frozen broker must
   * meet that bound, not this one, so the process still exits 0 and says why.
   */
  hardExitSlackMs?: number;
  log: Logger;
  signals?: readonly NodeJS.Signals[];
  /** process.exit, injected for tests. */
  exit?: (code: number) => void;
}

const DEFAULT_HARD_EXIT_SLACK_MS = 2_500;

/** Returns a function that removes the signal handlers (tests). */
export function handleShutdownSignals(app: { drain(): Promise<void> }, options: ShutdownOptions): () => void {
  const { log, drainMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const slackMs = options.hardExitSlackMs ?? DEFAULT_HARD_EXIT_SLACK_MS;
  let draining = false;
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn('Second signal: exiting now', { signal });
      return exit(1);
    }
    draining = true;
    log.info('Shutting down: draining', { signal, drainMs });
    const startedAt = Date.now();
    // Not unref'd: it is the guarantee that the process leaves even if a handle keeps the loop alive.
    const hardExit = setTimeout(() => {
      log.error('Drain did not finish in time; exiting anyway', { limitMs: drainMs + slackMs });
      exit(1);
    }, drainMs + slackMs);
    app.drain().then(
      () => {
        clearTimeout(hardExit);
        log.info('Drained; exiting', { elapsedMs: Date.now() - startedAt });
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(hardExit);
        log.error('Drain failed; exiting', { error });
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
