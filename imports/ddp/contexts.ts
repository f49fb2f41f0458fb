import type { ConnectionHandle } from './connection-handle';
import type { Fields } from './merge-box';

/** `this` inside a method, as in Meteor (a subset: no setUserId, no accounts). */
export interface MethodContext {
  readonly connection: ConnectionHandle;
  readonly userId: null;
  readonly isSimulation: false;
  readonly randomSeed: string | null;
  unblock(): void;
}

/** `this` inside a publish function, as in Meteor. */
export interface PublishContext {
  readonly connection: ConnectionHandle;
  readonly userId: null;
  added(collection: string, id: string, fields: Fields): void;
  changed(collection: string, id: string, fields: Fields): void;
  removed(collection: string, id: string): void;
  ready(): void;
  error(error: unknown): void;
  stop(): void;
  onStop(callback: () => void): void;
  unblock(): void;
}

export type MethodHandler = (this: MethodContext, ...args: any[]) => unknown;
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
