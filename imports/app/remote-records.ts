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
 * - the same session id is never `added` twice without a `removed` between.
 */
export interface RemoteRecordsCallbacks {
  added(record: ConnectedUser): void;
  removed(instanceId: string, sessionId: string): void;
}

export interface RemoteRecords {
  observe(callbacks: RemoteRecordsCallbacks): { stop(): void };
}
