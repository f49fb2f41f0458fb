import { PRESENCE_NAMES } from '../imports/app/wire-contract';
import { startIdleMonitor, type IdleMonitorOptions } from './idle-monitor';

/**
 * Tells the server this connection's idleness: `presence.setIdle(idle)` on
 * every change the idle monitor reports, and `setIdle(true)` again on a new
 * DDP session while idle, because the server's record of a new session
 * starts active (sessions are not resumed).
 *
 * `call` is whatever the client has: PresenceSource.call in the dashboard
 * (the small WebSocket client or Meteor.call), `Meteor.callAsync` elsewhere.
 * A failed call is dropped: the connection is gone, and the next session
 * gets the state again through `session()`.
 *
 * Example:
 *   const idleness = reportIdleness({ call: (m, ...a) => source.call(m, ...a), document });
 *   // from the source's session event:
 *   idleness.session(sessionId);
 *   // or, in a Meteor app (any id works: after a null, the next one is a new session):
 *   Tracker.autorun(() => idleness.session(Meteor.status().connected ? 'connected' : null));
 */
export interface IdleReporterOptions extends Omit<IdleMonitorOptions, 'report'> {
  call(method: string, ...args: unknown[]): Promise<unknown>;
}

export interface IdleReporter {
  /** A DDP session began (or, with null, ended). */
  session(sessionId: string | null): void;
  readonly idle: boolean;
  stop(): void;
}

export function reportIdleness(options: IdleReporterOptions): IdleReporter {
  const { call, ...monitorOptions } = options;
  let idle = false;
  let sessionId: string | null = null;
  const send = (value: boolean) => void call(PRESENCE_NAMES.setIdleMethod, value).catch(() => {});
  const monitor = startIdleMonitor({
    ...monitorOptions,
    report: (value) => {
      idle = value;
      send(value);
    },
  });
  return {
    session(next) {
      // Any session after a disconnect is new, even under the same id: Meteor's
      // client may still hold the previous id when its status turns connected.
      // The same id again without a disconnect (a status re-run) is not new.
      if (next === null || next === sessionId) {
        if (next === null) sessionId = null;
        return;
      }
      sessionId = next;
      if (idle) send(true);
    },
    get idle() {
      return idle;
    },
    stop: () => monitor.stop(),
  };
}
