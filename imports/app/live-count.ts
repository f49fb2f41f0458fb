import type { Logger } from '../log/logger';
import type { HostPublishThis } from './host';

/**
 * One shared, live count of connection records, pushed to every count
 * subscriber. It counts the merged presence view (this instance's records and
 * other instances'), so it always matches what a monitor sees. One observer
 * serves all subscribers (not one per subscriber), and bursts of
 * connects/closes are coalesced into one `changed` per subscriber every
 * `coalesceMs`, so churn costs O(subscribers) per flush, not per event.
 */
export const COUNT_COLLECTION = 'connectedUsers.count';
export const COUNT_DOCUMENT_ID = 'total';

/** What the count follows: the PresenceView's observe, which reports current records before returning. */
export interface CountSource {
  observe(callbacks: { added(id: string): void; removed(id: string): void }): unknown;
}

export class LiveCount {
  private count = 0;
  private started = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly subscribers = new Map<HostPublishThis, number>();

  constructor(
    private readonly coalesceMs: number,
    private readonly log: Logger,
  ) {}

  get value(): number {
    return this.count;
  }

  start(source: CountSource): void {
    if (this.started) return;
    this.started = true;
    source.observe({
      added: () => this.bump(1),
      removed: () => this.bump(-1),
    });
  }

  /** Publish the count document to this subscription and keep it live. */
  serve(sub: HostPublishThis): void {
    this.subscribers.set(sub, this.count);
    sub.added(COUNT_COLLECTION, COUNT_DOCUMENT_ID, { count: this.count });
    sub.onStop(() => this.subscribers.delete(sub));
    sub.ready();
  }

  private bump(delta: number): void {
    this.count += delta;
    if (this.subscribers.size === 0 || this.flushTimer) return;
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
      } catch (error) {
        this.log.warn('Could not push the count to a subscriber', { session: sub.connection.id, error });
      }
    }
  }
}
