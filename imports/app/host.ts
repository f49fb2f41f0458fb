import type { ConnectionDocument } from './wire-contract';

/**
 * The narrow surface the presence app needs from its host. Both the real
 * `Meteor` (with a `Mongo.Collection`) and the standalone DDP server's
 * Meteor facade (with a store collection) satisfy it; `npm run typecheck`
 * proves the former against @types/meteor (server/main.ts).
 */
export interface HostConnection {
  id: string;
  clientAddress: string | null;
  httpHeaders: Record<string, string>;
  onClose(callback: () => void): void;
}

export interface HostMethodThis {
  connection: HostConnection | null;
  userId: string | null;
}

export interface HostPublishThis {
  connection: HostConnection;
  userId: string | null;
  added(collection: string, id: string, fields: Record<string, unknown>): void;
  changed(collection: string, id: string, fields: Record<string, unknown>): void;
  removed(collection: string, id: string): void;
  ready(): void;
  /** Stop the subscription with this error (`nosub` with it, for a client-safe Meteor.Error). */
  error(error: Error): void;
  onStop(callback: () => void): void;
}

export interface PresenceHost {
  startup(callback: () => unknown): void;
  onConnection(callback: (connection: HostConnection) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: Meteor.methods' own signature (@types/meteor), which Meteor must satisfy
  methods(methods: { [name: string]: (this: HostMethodThis, ...args: any[]) => any }): void;
  // biome-ignore lint/suspicious/noExplicitAny: Meteor.publish's own signature (@types/meteor)
  publish(name: string, handler: (this: HostPublishThis, ...args: any[]) => any): void;
  /** `Meteor.Error`: errors built with it reach clients as they are (others become 500). */
  Error: new (error: string | number, reason?: string, details?: string) => Error;
}

/** A connection record: the wire contract's ConnectionDocument (one definition for the server and its clients). */
export type ConnectedUser = ConnectionDocument;

/**
 * Who is logged in on which connection, from the host's accounts system:
 * Meteor's `Accounts.onLogin` / `onLogout` in Meteor mode, the standalone
 * server's userId changes (login, logout, token expiry) otherwise.
 * The app only reads these; it never writes to a users collection.
 */
export interface AccountEvents {
  /** `connectionId` is now logged in as `accountId` (a login, or a switch to another account). A host may wait for the returned promise (the record write). */
  onLogin(callback: (connectionId: string, accountId: string) => Promise<void>): unknown;
  /** `connectionId` is logged out. */
  onLogout(callback: (connectionId: string) => Promise<void>): unknown;
}

type Fields = Record<string, 0 | 1>;

export interface PresenceCursor {
  countAsync(): Promise<number>;
  fetchAsync(): Promise<ConnectedUser[]>;
  /** `nonMutatingCallbacks` (Meteor's option): the callbacks promise not to mutate `fields`, so the store may skip its copy. */
  observeChanges(
    callbacks: {
      added?(id: string, fields: Partial<ConnectedUser>): void;
      changed?(id: string, fields: Partial<ConnectedUser>): void;
      removed?(id: string): void;
    },
    options?: { nonMutatingCallbacks?: boolean },
  ): unknown;
}

export interface PresenceCollection {
  insertAsync(doc: ConnectedUser): Promise<unknown>;
  /** Only `$set` and `$unset` of the record's own fields, by `_id`; resolves the number of records updated. */
  updateAsync(selector: { _id: string }, modifier: { $set?: Partial<ConnectedUser>; $unset?: Partial<Record<keyof ConnectedUser, ''>> }): Promise<number>;
  removeAsync(selector: { _id: string } | { instanceId: string }): Promise<unknown>;
  find(selector?: { _id: string } | Record<string, never>, options?: { fields?: Fields }): PresenceCursor;
}
