import type { ConnectionHandle } from './connection-handle';
import type { Fields } from './merge-box';

/** `this` inside a method, as in Meteor (a subset: no accounts package). */
export interface MethodContext {
  readonly connection: ConnectionHandle;
  /** The session's current user: after `setUserId` it reads the new value. */
  readonly userId: string | null;
  readonly isSimulation: false;
  readonly randomSeed: string | null;
  unblock(): void;
  /**
   * Meteor's `this.setUserId`: set the session's user and rerun its
   * subscriptions (user-id-change.ts). Throws at once, not as a rejection,
   * after `unblock()` or for a non-string, non-null id (Meteor's messages).
   * The method's `updated` waits for the rerun even if this is not awaited.
   */
  setUserId(userId: string | null): Promise<void>;
}

/** `this` inside a publish function, as in Meteor. */
export interface PublishContext {
  readonly connection: ConnectionHandle;
  /** The session's userId when this run of the publish function started (a userId change reruns it). */
  readonly userId: string | null;
  added(collection: string, id: string, fields: Fields): void;
  changed(collection: string, id: string, fields: Fields): void;
  removed(collection: string, id: string): void;
  ready(): void;
  error(error: unknown): void;
  stop(): void;
  onStop(callback: () => void): void;
  unblock(): void;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers declare their own parameter types, as in Meteor; the wire gives EJSON values
export type MethodHandler = (this: MethodContext, ...args: any[]) => unknown;
// biome-ignore lint/suspicious/noExplicitAny: as MethodHandler
export type PublishHandler = (this: PublishContext, ...args: any[]) => unknown;

/**
 * What a publish function may return to be published for it: Meteor's
 * cursor protocol (`_publishCursor`, `_getCollectionName`).
 */
export interface PublishableCursor {
  _publishCursor(sub: PublishContext): Promise<void> | void;
  _getCollectionName(): string;
}

export function isPublishableCursor(value: unknown): value is PublishableCursor {
  return typeof value === 'object' && value !== null && typeof (value as PublishableCursor)._publishCursor === 'function';
}
