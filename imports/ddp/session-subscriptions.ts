import type { Logger } from '../log/logger';
import type { ConnectionHandle } from './connection-handle';
import type { PublishHandler } from './contexts';
import { MergeBox, type Fields, type MergeBoxOutput } from './merge-box';
import { toClientError } from './meteor-error';
import { Subscription, type SubscriptionHost } from './subscription';

/** What the subscriptions need from their session. */
export interface SubscriptionsOwner {
  readonly id: string;
  readonly connection: ConnectionHandle;
  readonly isClosed: boolean;
  send(msg: Record<string, unknown>): void;
}

/**
 * A session's named subscriptions and the client's view of what they
 * publish: Meteor's Session `_namedSubs` and `collectionViews`, with its
 * `_isSending` / `_pendingReady` for userId reruns (user-id-change.ts).
 *
 * Why apart from session.ts: the session is the queue, heartbeat and methods;
 * this is the data side, allocated on first use (most presence clients never
 * subscribe).
 *
 * Example: `subs.add(handler, 'id1', [], 'items', userId).run()`.
 */
export class SessionSubscriptions implements SubscriptionHost, MergeBoxOutput {
  private readonly subs = new Map<string, Subscription>();
  private mergeBox: MergeBox | null = null;
  /**
   * Non-null while a userId change reruns the subscriptions (Meteor's
   * `_isSending` false, and its `_pendingReady`): collection messages are held
   * back (endRerun sends the diff instead) and `ready` ids are collected.
   */
  private rerunReady: string[] | null = null;

  constructor(
    private readonly session: SubscriptionsOwner,
    private readonly log: Logger,
  ) {}

  get connection(): ConnectionHandle {
    return this.session.connection;
  }

  get isClosed(): boolean {
    return this.session.isClosed;
  }

  get size(): number {
    return this.subs.size;
  }

  has(subId: string): boolean {
    return this.subs.has(subId);
  }

  *names(): IterableIterator<string> {
    for (const sub of this.subs.values()) yield sub.name;
  }

  /** Register a new named subscription; the caller runs it. */
  add(handler: PublishHandler, id: string, params: unknown[], name: string, userId: string | null): Subscription {
    const sub = new Subscription(this, handler, id, params, name, userId);
    this.subs.set(id, sub);
    return sub;
  }

  /** The session closed: the client is gone, so its view is dropped at once. */
  dropView(): void {
    this.mergeBox = null;
  }

  /** Meteor's _deactivateAllSubscriptions (on close): onStop callbacks run; nothing is sent. */
  deactivateAll(): void {
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const sub of subs) sub.deactivate();
  }

  // ---- userId rerun (user-id-change.ts steps 1 and 4) --------------------

  beginRerun(userId: string | null): { clientView: MergeBox | null; rerun: Subscription[] } {
    const old = [...this.subs.values()];
    for (const sub of old) sub.deactivate();
    this.rerunReady = [];
    const clientView = this.mergeBox;
    this.mergeBox = null;
    this.subs.clear();
    if (this.isClosed) return { clientView, rerun: [] };
    const rerun = old.map((sub) => sub.recreate(userId));
    for (const sub of rerun) this.subs.set(sub.id, sub);
    return { clientView, rerun };
  }

  endRerun(clientView: MergeBox | null): void {
    const ready = this.rerunReady ?? [];
    this.rerunReady = null;
    if (this.isClosed) return;
    // Meteor: the diff and the held `ready` go out in one synchronous step, so nothing interleaves.
    MergeBox.sendDiff(clientView, this.mergeBox, this);
    // A rerun sub that errored after `ready` already had its nosub: no `ready` for it now.
    const live = ready.filter((subId) => this.subs.has(subId));
    if (live.length) this.session.send({ msg: 'ready', subs: live });
  }

  // ---- MergeBoxOutput -----------------------------------------------------

  sendAdded(collection: string, id: string, fields: Fields): void {
    if (!this.rerunReady) this.session.send({ msg: 'added', collection, id, fields });
  }

  sendChanged(collection: string, id: string, fields: Fields): void {
    if (!this.rerunReady) this.session.send({ msg: 'changed', collection, id, fields });
  }

  sendRemoved(collection: string, id: string): void {
    if (!this.rerunReady) this.session.send({ msg: 'removed', collection, id });
  }

  // ---- SubscriptionHost ---------------------------------------------------

  added(handle: string, collection: string, id: string, fields: Fields): void {
    if (!this.isClosed) (this.mergeBox ??= new MergeBox(this)).added(handle, collection, id, fields);
  }

  changed(handle: string, collection: string, id: string, fields: Fields): void {
    if (!this.isClosed) (this.mergeBox ??= new MergeBox(this)).changed(handle, collection, id, fields);
  }

  removed(handle: string, collection: string, id: string): void {
    if (!this.isClosed) (this.mergeBox ??= new MergeBox(this)).removed(handle, collection, id);
  }

  sendReady(subId: string): void {
    if (this.rerunReady) this.rerunReady.push(subId);
    else this.session.send({ msg: 'ready', subs: [subId] });
  }

  /** Meteor's _stopSubscription: `removed` for its documents, then `nosub` (with the error, sanitised). */
  stopSubscription(subId: string, error?: unknown): void {
    const sub = typeof subId === 'string' ? this.subs.get(subId) : undefined;
    if (sub) {
      sub.removeAllDocuments();
      sub.deactivate();
      this.subs.delete(subId);
    }
    const response: Record<string, unknown> = { msg: 'nosub', id: subId };
    if (error) {
      const context = sub ? `from sub ${sub.name} id ${subId}` : `from sub id ${subId}`;
      response.error = toClientError(error, context, this.log, { session: this.session.id, sub: subId });
    }
    this.session.send(response);
  }

  logStopCallbackError(error: unknown, subId: string): void {
    this.log.error('onStop callback failed', { session: this.session.id, sub: subId, error });
  }
}
