import type { Logger } from '../log/logger';
import { RECORD_LIMITS, validateConnectedUser } from './connected-user-schema';
import type { ConnectedUser, HostConnection, PresenceCollection, PresenceHost } from './host';
import { LiveCount } from './live-count';
import type { PresencePolicy, ViewerRole } from './permission-policy';

/**
 * The app: track every DDP connection in ConnectedUsers, cheaply.
 *
 * - startup: remove this instance's stale records (only those with its
 *   instanceId: other instances sharing the store keep theirs);
 * - onConnection: insert a validated record; onClose: remove it;
 * - method `getSessionId`: the caller's DDP session id;
 * - method `presence.role`: what `list.connectedUsers` would show the caller;
 * - publication `list.connectedUsers`: monitors see every record, others
 *   only their own without clientAddress (the policy decides);
 * - publication `list.connectedUsers.count`: `{_id: "total", count}` in the
 *   client collection `connectedUsers.count`, for everyone.
 *
 * Example: `registerPresence(Meteor, ConnectedUsers, { instanceId, policy, log })`.
 * It writes nothing to the users collection and holds no per-connection
 * timers: one insert and one remove per connection.
 */
export const PRESENCE_NAMES = {
  listPublication: 'list.connectedUsers',
  countPublication: 'list.connectedUsers.count',
  getSessionIdMethod: 'getSessionId',
  roleMethod: 'presence.role',
} as const;

export interface PresenceOptions {
  instanceId: string;
  policy: PresencePolicy;
  log: Logger;
  /** Count updates to subscribers are batched over this window (default 50 ms). */
  countCoalesceMs?: number;
}

export interface PresenceApp {
  readonly liveCount: LiveCount;
  /** Resolves when the record writes started so far have settled (for tests and shutdown). */
  settled(): Promise<void>;
}

export function registerPresence(host: PresenceHost, collection: PresenceCollection, options: PresenceOptions): PresenceApp {
  const { instanceId, policy, log } = options;
  const liveCount = new LiveCount(options.countCoalesceMs ?? 50, log);
  /**
   * Inserts still in flight, by session (dropped once they land): a close
   * waits for its insert, so it never removes before the insert (no ghosts).
   */
  const pendingInserts = new Map<string, Promise<boolean>>();
  const removeOnClose = (sessionId: string) => {
    const pending = pendingInserts.get(sessionId);
    if (pending) void pending.then((ok) => (ok ? removeRecord(collection, sessionId, log) : undefined));
    else void removeRecord(collection, sessionId, log);
  };

  host.startup(async () => {
    await collection.removeAsync({ instanceId });
    log.info('Cleared this instance\'s stale connection records', { instanceId });
    await liveCount.start(collection.find({}));
  });

  host.onConnection((connection) => {
    const sessionId = connection.id;
    const inserted = insertRecord(collection, buildRecord(connection, instanceId), log);
    pendingInserts.set(sessionId, inserted);
    void inserted.finally(() => pendingInserts.delete(sessionId));
    // A bound function rather than a closure: a closure would keep this scope
    // and the settled promise for the connection's lifetime (~100 B each).
    connection.onClose(removeOnClose.bind(null, sessionId));
  });

  const roleOf = async (connection: HostConnection, userId: string | null, params: unknown[]): Promise<ViewerRole> =>
    (await policy({ connection, userId, params })) === 'monitor' ? 'monitor' : 'self';

  host.methods({
    [PRESENCE_NAMES.getSessionIdMethod]() {
      return this.connection?.id ?? null;
    },
    async [PRESENCE_NAMES.roleMethod](...params: unknown[]) {
      return this.connection ? roleOf(this.connection, null, params) : 'self';
    },
  });

  host.publish(PRESENCE_NAMES.listPublication, async function (...params: unknown[]) {
    const role = await roleOf(this.connection, this.userId, params);
    if (role === 'monitor') return collection.find({});
    return collection.find({ _id: this.connection.id }, { fields: { clientAddress: 0 } });
  });

  host.publish(PRESENCE_NAMES.countPublication, function () {
    liveCount.serve(this);
  });

  return {
    liveCount,
    async settled() {
      await Promise.all([...pendingInserts.values()]);
    },
  };
}

function buildRecord(connection: HostConnection, instanceId: string): ConnectedUser {
  const clientAddress = typeof connection.clientAddress === 'string' ? connection.clientAddress : undefined;
  const rawUserAgent = connection.httpHeaders?.['user-agent'];
  const userAgent = typeof rawUserAgent === 'string' && rawUserAgent ? rawUserAgent.slice(0, RECORD_LIMITS.maxUserAgentLength) : undefined;
  const _id = connection.id;
  const connectedAt = new Date();
  // One literal per shape (absent fields are left out, not set to undefined),
  // so each stored record is a compact object: this runs once per connection.
  if (clientAddress !== undefined && userAgent !== undefined) return { _id, userId: _id, connectedAt, clientAddress, userAgent, instanceId };
  if (clientAddress !== undefined) return { _id, userId: _id, connectedAt, clientAddress, instanceId };
  if (userAgent !== undefined) return { _id, userId: _id, connectedAt, userAgent, instanceId };
  return { _id, userId: _id, connectedAt, instanceId };
}

async function removeRecord(collection: PresenceCollection, sessionId: string, log: Logger): Promise<void> {
  try {
    // 0 when the insert had failed validation: nothing to remove, nothing to log.
    const removed = await collection.removeAsync({ _id: sessionId });
    if (removed !== 0) log.info('Client disconnected', { session: sessionId });
  } catch (error) {
    log.error('Could not remove connection record', { session: sessionId, error });
  }
}

async function insertRecord(collection: PresenceCollection, record: ConnectedUser, log: Logger): Promise<boolean> {
  try {
    validateConnectedUser(record);
  } catch (error) {
    log.warn('Connection record failed validation; not written', { session: record._id, error: (error as Error).message });
    return false;
  }
  try {
    await collection.insertAsync(record);
    log.info('Client connected', { session: record._id, clientAddress: record.clientAddress });
    return true;
  } catch (error) {
    log.error('Could not insert connection record', { session: record._id, error });
    return false;
  }
}
