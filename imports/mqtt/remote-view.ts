import type { Logger } from '../log/logger';
import type { Document, StoreCollection } from '../store/collection';
import type { InstanceStatus } from './status-message';

/**
 * Other instances' records, merged into the local ConnectedUsers view.
 *
 * The broker's retained messages are mirrored per instance; records are in
 * the view only while their instance is known `online`, so the retained
 * leftovers of a dead instance (its Will turned it `offline`) never show.
 * Writes to the collection run one at a time, in message order.
 *
 * After a broker reconnect, `beginResync()` marks everything unconfirmed;
 * retained messages re-confirm what still exists; `endResync()` drops the rest.
 */
interface RemoteInstance {
  online: boolean;
  epoch: number;
  records: Map<string, Document>;
  confirmed: boolean;
  confirmedRecords: Set<string>;
}

export class RemoteView {
  private readonly instances = new Map<string, RemoteInstance>();
  private readonly inView = new Set<string>();
  private writes: Promise<void> = Promise.resolve();
  private resyncing = false;

  constructor(
    private readonly collection: StoreCollection<Document>,
    private readonly log: Logger,
  ) {}

  /** Instances currently online, other than this one. */
  get onlineInstanceCount(): number {
    let n = 0;
    for (const instance of this.instances.values()) if (instance.online) n++;
    return n;
  }

  /** Resolves when every queued write to the view has been applied. */
  flushed(): Promise<void> {
    return this.writes;
  }

  status(instanceId: string, status: InstanceStatus): void {
    const instance = this.instance(instanceId);
    instance.confirmed = true;
    if (status.epoch < instance.epoch) return; // a stale message from an earlier run
    if (status.state === 'online') {
      if (instance.epoch && status.epoch > instance.epoch) {
        // A new run of the same instance: whatever we held came from the old one.
        this.hide(instance);
        instance.records.clear();
      }
      instance.epoch = status.epoch;
      instance.online = true;
      for (const record of instance.records.values()) this.show(record);
    } else {
      instance.epoch = status.epoch;
      instance.online = false;
      this.hide(instance);
      this.log.info('Remote instance went offline', { instanceId, reason: status.reason ?? 'unknown' });
    }
  }

  record(instanceId: string, sessionId: string, record: Document | null): void {
    const instance = this.instance(instanceId);
    if (record === null) {
      instance.records.delete(sessionId);
      instance.confirmedRecords.delete(sessionId);
      this.unshow(sessionId);
      return;
    }
    instance.records.set(sessionId, record);
    instance.confirmedRecords.add(sessionId);
    if (instance.online) this.show(record);
  }

  beginResync(): void {
    this.resyncing = true;
    for (const instance of this.instances.values()) {
      instance.confirmed = false;
      instance.confirmedRecords.clear();
    }
  }

  endResync(): void {
    if (!this.resyncing) return;
    this.resyncing = false;
    for (const [instanceId, instance] of this.instances) {
      if (!instance.confirmed) {
        this.hide(instance);
        this.instances.delete(instanceId);
        continue;
      }
      for (const sessionId of [...instance.records.keys()]) {
        if (instance.confirmedRecords.has(sessionId)) continue;
        instance.records.delete(sessionId);
        this.unshow(sessionId);
      }
    }
  }

  /** Remove every remote record from the view (bridge stopping). */
  clear(): void {
    for (const instance of this.instances.values()) this.hide(instance);
    this.instances.clear();
  }

  private instance(instanceId: string): RemoteInstance {
    let instance = this.instances.get(instanceId);
    if (!instance) {
      instance = { online: false, epoch: 0, records: new Map(), confirmed: true, confirmedRecords: new Set() };
      this.instances.set(instanceId, instance);
    }
    return instance;
  }

  private hide(instance: RemoteInstance): void {
    for (const sessionId of instance.records.keys()) this.unshow(sessionId);
  }

  private show(record: Document): void {
    const id = record._id;
    this.enqueue(async () => {
      const existing = await this.collection.findOneAsync({ _id: id });
      if (existing && existing.instanceId !== record.instanceId) {
        this.log.warn('Ignoring a remote record that would replace another instance\'s record', { session: id });
        return;
      }
      if (existing) {
        const { _id, ...fields } = record;
        await this.collection.updateAsync({ _id: id }, { $set: fields });
      } else {
        await this.collection.insertAsync(record);
      }
      this.inView.add(id);
    });
  }

  private unshow(sessionId: string): void {
    this.enqueue(async () => {
      if (!this.inView.delete(sessionId)) return;
      await this.collection.removeAsync({ _id: sessionId });
    });
  }

  private enqueue(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((error) => this.log.error('Remote view write failed', { error }));
  }
}
