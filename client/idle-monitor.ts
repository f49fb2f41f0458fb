/**
 * Is the person at this tab idle? Reports `true` after `idleAfterMs` without
 * input, or at once when the tab is hidden; `false` again on input or when
 * the tab is shown (showing a tab is a user action). Used by the dashboard
 * and by any Meteor client to call `presence.setIdle` (issue 14).
 *
 * - Only changes are reported, never the same state twice in a row.
 * - It starts as active without reporting (the server counts a new
 *   connection as active); a tab that starts hidden is reported idle at once.
 * - While the tab is hidden, input is ignored: the tab stays idle until shown.
 *
 * Why one timer and a timestamp: mousemove fires up to ~100 times a second;
 * each input only stores `now()`, and the single timer, when it fires,
 * re-arms itself for the time still left. So a busy pointer costs an
 * assignment per event, not a clearTimeout/setTimeout pair.
 *
 * Listeners are passive and in the capture phase, so scrolling inside any
 * element counts (`scroll` does not bubble, but it is captured).
 *
 * Example:
 *   const monitor = startIdleMonitor({ report: (idle) => Meteor.call('presence.setIdle', idle), document });
 *   monitor.stop();
 *
 * Caveat: pure with respect to its inputs; nothing is read from globals
 * except the defaults (`globalThis.document`, `Date.now`, the timer functions).
 */
export const IDLE_MONITOR_DEFAULTS = {
  /** konecty:user-presence's "away" after 60 s. */
  idleAfterMs: 60_000,
} as const;

/** Input that means someone is there. Pointer and mouse both: older browsers and some embedded views send only one. */
export const ACTIVITY_EVENTS = ['pointermove', 'pointerdown', 'mousemove', 'mousedown', 'keydown', 'wheel', 'touchstart', 'scroll'] as const;

/** The part of `Document` the monitor needs; a fake EventTarget with `visibilityState` serves in tests. */
export interface VisibilitySource extends EventTarget {
  readonly visibilityState: string;
}

export interface IdleTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface IdleMonitorOptions {
  report(idle: boolean): void;
  idleAfterMs?: number;
  /** Where input is listened for; default: `document`. */
  target?: EventTarget;
  /** Whose `visibilitychange` and `visibilityState` tell a hidden tab; default: `globalThis.document`. */
  document?: VisibilitySource;
  now?: () => number;
  timers?: IdleTimers;
}

export interface IdleMonitor {
  stop(): void;
}

export function startIdleMonitor(options: IdleMonitorOptions): IdleMonitor {
  const doc = options.document ?? (globalThis as { document?: VisibilitySource }).document;
  if (!doc) throw new Error('startIdleMonitor: no document to watch');
  const target = options.target ?? doc;
  const idleAfterMs = options.idleAfterMs ?? IDLE_MONITOR_DEFAULTS.idleAfterMs;
  const now = options.now ?? (() => Date.now());
  // Looked up at call time, so fake timers installed before start are used.
  const timers: IdleTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };

  let idle = false;
  let lastInputAt = now();
  let timer: unknown = null;
  let stopped = false;

  const set = (next: boolean) => {
    if (next === idle || stopped) return;
    idle = next;
    options.report(next);
  };
  const disarm = () => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  };
  const arm = (ms: number) => {
    timer = timers.setTimeout(check, ms);
  };
  function check(): void {
    timer = null;
    const left = lastInputAt + idleAfterMs - now();
    if (left > 0) arm(left);
    else set(true);
  }
  const hidden = () => doc.visibilityState === 'hidden';

  const onInput = () => {
    if (hidden()) return;
    lastInputAt = now();
    if (timer === null) arm(idleAfterMs);
    set(false);
  };
  const onVisibility = () => {
    if (hidden()) {
      disarm();
      set(true);
    } else onInput();
  };

  const listen = { capture: true, passive: true } as const;
  for (const type of ACTIVITY_EVENTS) target.addEventListener(type, onInput, listen);
  doc.addEventListener('visibilitychange', onVisibility);
  if (hidden()) set(true);
  else arm(idleAfterMs);

  return {
    stop() {
      stopped = true;
      disarm();
      for (const type of ACTIVITY_EVENTS) target.removeEventListener(type, onInput, listen);
      doc.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
