import type { Logger } from '../log/logger';
import { remoteConnectionTotal, type FleetSummaries } from './fleet-summaries';
import type { HostPublishThis } from './host';
import type { PresenceFields } from './presence-view';
import { PRESENCE_NAMES } from './wire-contract';

/**
 * One shared, live count of connections, pushed to every count subscriber.
 *
 * What it counts:
 * - without fleet summaries (one instance, or several sharing one store):
 *   the presence view, so it always matches what a monitor sees;
 * - with them (instances joined by the MQTT bridge): this instance's own
 *   records in the view plus the other online instances' summaries. Other
 *   instances' per-connection records are then only held while a monitor
 *   looks (issue 12), and the count must not depend on them.
 *
 * One observer serves all subscribers (not one per subscriber), and bursts
 * of connects/closes are coalesced into one `changed` per subscriber every
 * `coalesceMs`, so churn costs O(subscribers) per flush, not per event.
 */
export const COUNT_COLLECTION = PRESENCE_NAMES.countCollection;
export const COUNT_DOCUMENT_ID = 'total';

/** What the count follows: the PresenceView's observe, which reports current records before returning. */
export interface CountSource {
  observe(callbacks: { added(id: string, fields: PresenceFields): void; removed(id: string, fields: PresenceFields): void }): unknown;
}

/** Count the fleet from summaries: this instance's own records, plus the others' summaries. */
export interface CountFromSummaries {
  ownInstanceId: string;
  summaries: FleetSummaries;
}

export class LiveCount {
  /** Records of the view that are counted (all of them, or this instance's own). */
  private local = 0;
  /** The other instances' connections, from their summaries. */
  private remote = 0;
  private count = 0;
  private started = false;
  private stopped = false;
  private flushTimer: NodeJS.Timeout | null = null;
  /** What `stop` undoes: the view observer and the summaries listener. */
  private readonly stops: Array<() => void> = [];
  private readonly subscribers = new Map<HostPublishThis, number>();
  /** Subscribers whose last push threw: retried every `coalesceMs` (logged once per failing stretch) until one succeeds or they stop. */
  private readonly failing = new Set<HostPublishThis>();

  constructor(
    private readonly coalesceMs: number,
    private readonly log: Logger,
  ) {}

  get value(): number {
    return this.count;
  }

  start(source: CountSource, fromSummaries?: CountFromSummaries): void {
    if (this.started) return;
    this.started = true;
    const own = fromSummaries?.ownInstanceId;
    const counted = (fields: PresenceFields) => own === undefined || fields.instanceId === own;
    // The view's handle has stop(); a source that returns none (a test's) is simply not stopped.
    const handle = source.observe({
      added: (_id, fields) => counted(fields) && this.set(this.local + 1, this.remote),
      removed: (_id, fields) => counted(fields) && this.set(this.local - 1, this.remote),
    });
    this.stops.push(() => (handle as { stop?(): void } | undefined)?.stop?.());
    if (!fromSummaries) return;
    const { summaries } = fromSummaries;
    this.stops.push(summaries.onChange(() => this.set(this.local, remoteConnectionTotal(summaries))));
    this.set(this.local, remoteConnectionTotal(summaries));
  }

  /** Stop following the view and the summaries; a pending push is dropped (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const stop of this.stops.splice(0)) stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Publish the count document to this subscription and keep it live. */
  serve(sub: HostPublishThis): void {
    this.subscribers.set(sub, this.count);
    sub.added(COUNT_COLLECTION, COUNT_DOCUMENT_ID, { count: this.count });
    sub.onStop(() => {
      this.subscribers.delete(sub);
      this.failing.delete(sub);
    });
    sub.ready();
  }

  private set(local: number, remote: number): void {
    this.local = local;
    this.remote = remote;
    this.count = local + remote;
    if (this.subscribers.size > 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => this.flush(), this.coalesceMs);
    this.flushTimer.unref?.();
  }

  private flush(): void {
    this.flushTimer = null;
    for (const [sub, sent] of this.subscribers) {
      if (sent === this.count) continue;
      try {
        sub.changed(COUNT_COLLECTION, COUNT_DOCUMENT_ID, { count: this.count });
        this.subscribers.set(sub, this.count);
        this.failing.delete(sub);
      } catch (error) {
        if (!this.failing.has(sub)) this.log.warn('Could not push the count to a subscriber; retrying', { session: sub.connection.id, error });
        this.failing.add(sub);
      }
    }
    // Without a retry, a failed subscriber would show a stale count until the next connect or close.
    if (this.failing.size > 0) this.scheduleFlush();
  }
}
