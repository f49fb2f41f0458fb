import type { HeldRecord } from './compact-record';

/**
 * The remote records the bridge shows, as a live feed the app's presence view
 * observes (it implements imports/app/remote-records.ts structurally: mqtt/
 * does not import app/). Observers get every shown record at once, then each
 * `show` and `hide` the bridge's RemoteState decides. The records are the
 * ones RemoteState holds (compact-record.ts), handed over as they are: an
 * observer keeps the object rather than a copy, and asks it for a document
 * when it needs one.
 */
type RemoteRecord = HeldRecord;

export interface RemoteFeedCallbacks {
  added(record: RemoteRecord): void;
  removed(instanceId: string, sessionId: string): void;
}

export class RemoteRecordsFeed {
  private readonly observers = new Set<RemoteFeedCallbacks>();

  constructor(private readonly current: () => Iterable<RemoteRecord>) {}

  observe(callbacks: RemoteFeedCallbacks): { stop(): void } {
    for (const record of this.current()) callbacks.added(record);
    this.observers.add(callbacks);
    return { stop: () => void this.observers.delete(callbacks) };
  }

  shown(record: RemoteRecord): void {
    for (const observer of this.observers) observer.added(record);
  }

  hidden(instanceId: string, sessionId: string): void {
    for (const observer of this.observers) observer.removed(instanceId, sessionId);
  }
}
