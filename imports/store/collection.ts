import type { PublishableCursor } from '../ddp/contexts';

/**
 * The collection interface every store implements (memory, mongo): the part
 * of Meteor 3's async `Mongo.Collection` API the app uses. A cursor is also
 * publishable: returned from a publish function, it publishes itself live.
 */
export type Document = { _id: string } & Record<string, unknown>;
export type Selector = Record<string, unknown>;
/** Top-level projection, Meteor's `fields` option: `{a: 1}` keeps, `{a: 0}` drops. */
export type Projection = Record<string, 0 | 1 | boolean>;

export interface FindOptions {
  fields?: Projection;
  projection?: Projection;
}

export interface ObserveChangesCallbacks {
  added?(id: string, fields: Record<string, unknown>): void;
  changed?(id: string, fields: Record<string, unknown>): void;
  removed?(id: string): void;
}

/**
 * Meteor's observeChanges options (Meteor ≥ 2.3, `nonMutatingCallbacks`):
 * with it, the callbacks promise never to mutate the `fields` they are
 * handed, so the store may hand over values it shares (with its stored
 * documents, with other observers) instead of a deep copy per call. Without
 * it every call gets a copy of its own.
 */
export interface ObserveChangesOptions {
  nonMutatingCallbacks?: boolean;
}

export interface ObserveHandle {
  stop(): void;
}

export interface LiveCursor<T extends Document> extends PublishableCursor {
  fetchAsync(): Promise<T[]>;
  countAsync(): Promise<number>;
  /** Calls `added` for the current matches before returning, then reports every change synchronously with each write. */
  observeChanges(callbacks: ObserveChangesCallbacks, options?: ObserveChangesOptions): ObserveHandle;
}

export interface StoreCollection<T extends Document> {
  readonly name: string;
  insertAsync(doc: T): Promise<string>;
  updateAsync(selector: Selector, modifier: Record<string, unknown>): Promise<number>;
  removeAsync(selector: Selector): Promise<number>;
  find(selector?: Selector, options?: FindOptions): LiveCursor<T>;
  findOneAsync(selector?: Selector, options?: FindOptions): Promise<T | undefined>;
}
