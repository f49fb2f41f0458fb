import type { SessionCloseReason } from './session';
import type { TransportSocket } from './transports/transport-socket';

export type TransportName = TransportSocket['transport'];

/**
 * What the DDP server tells those who watch it (metrics, today): sessions
 * opening and closing, and how long each call of a *registered* method took.
 *
 * Why an observer and not counters here: ddp/ knows nothing of Prometheus
 * (operations live at the edge, ARCHITECTURE.md); whoever observes keeps its
 * own counts. Method names reach observers only once a handler exists, so a
 * client cannot mint new names by calling methods that do not exist.
 *
 * Example: `ddp.observers.add({ sessionClosed: (transport, reason) => ... })`.
 * Caveat: callbacks run inline on the hot path; keep them O(1) and non-throwing.
 */
export interface DdpServerObserver {
  sessionOpened?(transport: TransportName): void;
  sessionClosed?(transport: TransportName, reason: SessionCloseReason): void;
  methodFinished?(name: string, seconds: number): void;
}

export class DdpObservers {
  private readonly observers = new Set<DdpServerObserver>();

  add(observer: DdpServerObserver): { stop(): void } {
    this.observers.add(observer);
    return { stop: () => void this.observers.delete(observer) };
  }

  sessionOpened(transport: TransportName): void {
    for (const o of this.observers) o.sessionOpened?.(transport);
  }

  sessionClosed(transport: TransportName, reason: SessionCloseReason): void {
    for (const o of this.observers) o.sessionClosed?.(transport, reason);
  }

  methodFinished(name: string, seconds: number): void {
    for (const o of this.observers) o.methodFinished?.(name, seconds);
  }
}
