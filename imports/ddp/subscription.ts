import type { ConnectionHandle } from './connection-handle';
import { isPublishableCursor, type PublishContext, type PublishHandler } from './contexts';
import { idStringify } from './id-stringify';
import type { Fields } from './merge-box';
import { callSafely } from '../common/call-safely';
import { ejsonClone } from '../common/ejson-values';

/** What a subscription needs from its session. */
export interface SubscriptionHost {
  readonly connection: ConnectionHandle;
  readonly isClosed: boolean;
  added(handle: string, collection: string, id: string, fields: Fields): void;
  changed(handle: string, collection: string, id: string, fields: Fields): void;
  removed(handle: string, collection: string, id: string): void;
  sendReady(subId: string): void;
  stopSubscription(subId: string, error?: unknown): void;
  logStopCallbackError(error: unknown, subId: string): void;
}

/**
 * One named subscription: the `this` of a publish function. Mirrors Meteor's
 * Subscription: it remembers which documents it published so `unsub` can
 * send `removed` for them, and ignores everything once deactivated.
 */
export class Subscription implements PublishContext {
  readonly handle: string;
  unblock: () => void = () => {};
  private deactivated = false;
  private isReady = false;
  /** Who waits for `readyOrStopped` (a userId change's rerun); null when nobody does. */
  private settledWaiters: Array<() => void> | null = null;
  private stopCallbacks: Array<() => void> = [];
  private readonly documents = new Map<string, Set<string>>();

  constructor(
    private readonly host: SubscriptionHost,
    private readonly handler: PublishHandler,
    readonly id: string,
    private readonly params: unknown[],
    readonly name: string,
    /** Fixed per run: a userId change reruns the handler in a new Subscription (`recreate`). */
    readonly userId: string | null,
  ) {
    this.handle = 'N' + id;
  }

  /**
   * Meteor's _recreate: the same id, name, handler and params, for the new
   * user; not a clone (no documents, callbacks or stopped state).
   */
  recreate(userId: string | null): Subscription {
    return new Subscription(this.host, this.handler, this.id, this.params, this.name, userId);
  }

  get connection(): ConnectionHandle {
    return this.host.connection;
  }

  /** Stopped, deactivated (unsub, close, a userId rerun) or its session closed: it publishes nothing more. */
  get inactive(): boolean {
    return this.deactivated || this.host.isClosed;
  }

  /** Run the publish function and publish what it returns (Meteor's _runHandler). */
  async run(): Promise<void> {
    let result: unknown;
    try {
      result = this.handler.apply(this, ejsonClone(this.params) as unknown[]);
      if (result instanceof Promise) result = await result;
    } catch (error) {
      this.error(error);
      return;
    }
    if (this.inactive) return;
    try {
      await this.publishResult(result);
    } catch (error) {
      this.error(error);
    }
  }

  private async publishResult(result: unknown): Promise<void> {
    if (isPublishableCursor(result)) {
      await result._publishCursor(this);
      this.ready();
    } else if (Array.isArray(result)) {
      if (!result.every(isPublishableCursor)) throw new Error('Publish function returned an array of non-Cursors');
      const names = result.map((c) => c._getCollectionName());
      const duplicate = names.find((n, i) => names.indexOf(n) !== i);
      if (duplicate) throw new Error(`Publish function returned multiple cursors for collection ${duplicate}`);
      await Promise.all(result.map((c) => c._publishCursor(this)));
      this.ready();
    } else if (result) {
      throw new Error('Publish function can only return a Cursor or an array of Cursors');
    }
  }

  added(collection: string, id: unknown, fields: Fields): void {
    if (this.inactive) return;
    const strId = idStringify(id);
    let ids = this.documents.get(collection);
    if (!ids) this.documents.set(collection, (ids = new Set()));
    ids.add(strId);
    this.host.added(this.handle, collection, strId, fields);
  }

  changed(collection: string, id: unknown, fields: Fields): void {
    if (this.inactive) return;
    this.host.changed(this.handle, collection, idStringify(id), fields);
  }

  removed(collection: string, id: unknown): void {
    if (this.inactive) return;
    const strId = idStringify(id);
    this.documents.get(collection)?.delete(strId);
    this.host.removed(this.handle, collection, strId);
  }

  ready(): void {
    if (this.inactive || this.isReady) return;
    this.isReady = true;
    this.host.sendReady(this.id);
    this.settle();
  }

  /**
   * Resolves once this run is ready or stopped, or after `timeoutMs`: a
   * userId change waits for it before it sends the diff (user-id-change.ts).
   */
  readyOrStopped(timeoutMs: number): Promise<void> {
    if (this.isReady || this.inactive) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      timer = setTimeout(done, timeoutMs);
      (this.settledWaiters ??= []).push(done);
    });
  }

  private settle(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = null;
    if (waiters) for (const done of waiters) done();
  }

  error(error: unknown): void {
    if (this.inactive) return;
    this.host.stopSubscription(this.id, error);
  }

  stop(): void {
    if (this.inactive) return;
    this.host.stopSubscription(this.id);
  }

  onStop(callback: () => void): void {
    if (this.inactive) this.runStopCallback(callback);
    else this.stopCallbacks.push(callback);
  }

  /** Send `removed` for everything this subscription published (before `nosub`). */
  removeAllDocuments(): void {
    for (const [collection, ids] of this.documents) {
      for (const id of [...ids]) this.host.removed(this.handle, collection, id);
    }
    this.documents.clear();
  }

  deactivate(): void {
    if (this.deactivated) return;
    this.deactivated = true;
    const callbacks = this.stopCallbacks;
    this.stopCallbacks = [];
    for (const callback of callbacks) this.runStopCallback(callback);
    this.settle();
  }

  private runStopCallback(callback: () => void): void {
    callSafely(() => callback.call(this), (error) => this.host.logStopCallbackError(error, this.id));
  }
}
