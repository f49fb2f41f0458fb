import type { ConnectedUser } from './host';

/**
 * Other instances' connection records, held in memory by whatever joins the
 * instances (the MQTT bridge). The app merges them with its own store's
 * records into one presence view; it never writes them to its collection.
 *
 * Contract:
 * - `observe` calls `added` for every record held now, synchronously, before
 *   it returns; afterwards every change is reported as it happens;
 * - a record's `instanceId` names the instance that owns it, and
 *   `removed(instanceId, sessionId)` only ever concerns that instance's record;
 * - a session id `added` again by the same instance without a `removed`
 *   between is a new version of that record: an update (a login, an idle
 *   change), which the view reports as `changed`.
 *
 * Records are handed over as the source holds them (compactly, in the
 * bridge: imports/mqtt/compact-record.ts) and kept as they are: a record
 * object never changes (a new version is a new object, `added` again), so
 * the view holds it instead of a copy, and asks it for a document only when a
 * reader needs one.
 */
export interface RemoteRecord {
  /** The session id. */
  readonly _id: string;
  readonly instanceId: string;
  /** Its fields without `_id`, as a fresh object the caller may keep (nobody mutates it). */
  toFields(): Partial<Omit<ConnectedUser, '_id'>>;
}

export interface RemoteRecordsCallbacks {
  added(record: RemoteRecord): void;
  removed(instanceId: string, sessionId: string): void;
}

export interface RemoteRecords {
  observe(callbacks: RemoteRecordsCallbacks): { stop(): void };
}
