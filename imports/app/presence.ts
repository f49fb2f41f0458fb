import type { Logger } from '../log/logger';
import { RECORD_LIMITS, validateConnectedUser } from './connected-user-schema';
import { AccountRecords } from './account-records';
import type { AccountEvents, ConnectedUser, HostConnection, PresenceCollection, PresenceHost } from './host';
import { OnlinePeople } from './online-people';
import { parsePeopleOptions, publishPeople } from './people-publication';
import { PersonHooks, type AccountHooks } from './person-hooks';
import { parseListOptions } from './list-options';
import type { FleetSummaries } from './fleet-summaries';
import { LiveCount } from './live-count';
import { LiveStats } from './live-stats';
import { PRESENCE_NAMES } from './wire-contract';
import { publishMonitorList } from './monitor-list-publication';
import { defaultPeoplePolicy, type PeoplePolicy, type PresencePolicy, type ViewerRole } from './permission-policy';
import { PresenceView } from './presence-view';
import type { RemoteRecords } from './remote-records';

/**
 * The app: track every DDP connection in ConnectedUsers, cheaply.
 *
 * - startup: remove this instance's stale records (only those with its
 *   instanceId: other instances sharing the store keep theirs);
 * - onConnection: insert a validated record; onClose: remove it;
 * - method `getSessionId`: the caller's DDP session id;
 * - method `presence.role`: what `list.connectedUsers` would show the caller;
 * - publication `list.connectedUsers`: monitors see the merged presence view
 *   (this instance's records and, given `remoteRecords`, other instances'),
 *   all of it or, with `{search, instanceId, sort, limit}` next to the token,
 *   a filtered list or a live window (list-options.ts, monitor-list-publication.ts),
 *   sent in batches that yield; others only their own record without
 *   clientAddress, whatever options they pass (the policy decides);
 * - publication `list.connectedUsers.count`: `{_id: "total", count}` in the
 *   client collection `connectedUsers.count`, for everyone, counting the view;
 * - publication `presence.stats`: per-instance and total connections, rates
 *   and 15 minutes of history, monitors only (live-stats.ts);
 * - people (issue 14): with `accounts`, a record carries the connection's
 *   `accountId` while it is logged in (account-records.ts); method
 *   `presence.setIdle(boolean)`; publication `list.onlineUsers`, one document
 *   per online person over every instance (online-people.ts,
 *   people-publication.ts), for whom `peoplePolicy` allows; and the hooks
 *   `onAccountOnline/Offline/Idle/Active` (person-hooks.ts).
 *
 * Example: `registerPresence(Meteor, ConnectedUsers, { instanceId, policy, log })`.
 * It writes nothing to the users collection and holds no per-connection
 * timers: one insert and one remove per connection. It writes only this
 * instance's records; other instances' records are read, never stored.
 * Caveat: the collection must be named `PRESENCE_NAMES.collection`, since
 * monitors get the view published under that name.
 */
export { PRESENCE_NAMES } from './wire-contract';

export interface PresenceOptions {
  instanceId: string;
  policy: PresencePolicy;
  log: Logger;
  /** The per-connection "Client connected"/"Client disconnected" info lines (LOG_CONNECTIONS; default true): one line per client is noise at 100,000 clients. */
  logConnections?: boolean;
  /** Count updates to subscribers are batched over this window (default 50 ms). */
  countCoalesceMs?: number;
  /** Documents all monitors' initial sets may send per event-loop turn together (default DEFAULT_PUBLISH_DOCUMENTS_PER_TURN, 500; batched-publisher.ts). */
  publishBatchSize?: number;
  /**
   * Other instances' records (the MQTT bridge's). Given, the view takes only
   * this instance's records from the store; absent, the whole store is the
   * view (one instance, or several sharing one store without a bridge).
   */
  remoteRecords?: RemoteRecords;
  /**
   * Whether another instance is up (the MQTT bridge's statuses), for the
   * `online` flag of its `presence.stats` document; absent, a remote instance
   * counts as online while it has records.
   */
  isRemoteOnline?: (instanceId: string) => boolean;
  /**
   * Other instances' summaries (the MQTT bridge's). Given, the count and
   * `presence.stats` count other instances from these, not from records.
   */
  summaries?: FleetSummaries;
  /**
   * Told how many readers need every instance's records here, whenever that
   * changes: monitors of `list.connectedUsers`, subscribers of
   * `list.onlineUsers`, and 1 once an account hook is registered. The bridge
   * holds other instances' records only while this is above 0.
   */
  onRecordReadersChanged?: (readers: number) => void | Promise<void>;
  /**
   * Logins and logouts of connections (Meteor's Accounts, or the standalone
   * server's userId changes). Absent: records never carry an account.
   */
  accounts?: AccountEvents;
  /** Who may see `list.onlineUsers` (default: monitors and logged-in connections). */
  peoplePolicy?: PeoplePolicy;
  /** The other online instances' ids, for the hooks' choice of who speaks for a gone instance (person-hooks.ts). */
  onlineInstanceIds?: () => Iterable<string>;
}

export interface PresenceApp extends AccountHooks {
  readonly liveCount: LiveCount;
  /** One document per online person, over every instance; live once `started` resolves. */
  readonly people: OnlinePeople;
  /** Per-instance and total connections and rates with history; sampling once `started` resolves. */
  readonly liveStats: LiveStats;
  /** What monitors see and the count counts; live once `started` resolves. */
  readonly view: PresenceView;
  /** Resolves once startup has cleared this instance's stale records and the view is live; rejects if that failed. */
  readonly started: Promise<void>;
  /** Resolves when the record writes started so far have settled (for tests and shutdown). */
  settled(): Promise<void>;
  /** Subscriptions to `list.connectedUsers` with monitor rights on this instance now (metrics). */
  readonly monitors: number;
  /**
   * Told, for each record removed after its connection closed, the seconds
   * from the connection's onClose to the store's removal (metrics).
   */
  onRecordRemoved(callback: (closeToRemovalSeconds: number) => void): { stop(): void };
}

export function registerPresence(host: PresenceHost, collection: PresenceCollection, options: PresenceOptions): PresenceApp {
  const { instanceId, policy, log } = options;
  // The record writes' only info lines are "Client connected/disconnected"; their warnings and errors always log.
  const recordLog: Logger = options.logConnections === false
    ? { debug: (m, c) => log.debug(m, c), info: () => {}, warn: (m, c) => log.warn(m, c), error: (m, c) => log.error(m, c) }
    : log;
  const liveCount = new LiveCount(options.countCoalesceMs ?? 50, log);
  const view = new PresenceView({ instanceId, log, remote: options.remoteRecords });
  const liveStats = new LiveStats({ ownInstanceId: instanceId, log, isOnline: options.isRemoteOnline, summaries: options.summaries });
  let monitors = 0;
  /** Readers that need every instance's records: monitors, people subscribers, and the hooks (as one). */
  let recordReaders = 0;
  /** Resolves when whatever the new reader count needs is in place (others' records, for a first reader). */
  const recordReadersChanged = async (delta: 1 | -1) => {
    recordReaders += delta;
    await options.onRecordReadersChanged?.(recordReaders);
  };
  const monitorsChanged = async (delta: 1 | -1) => {
    monitors += delta;
    await recordReadersChanged(delta);
  };
  const people = new OnlinePeople(log);
  const hooks = new PersonHooks({
    ownInstanceId: instanceId,
    log,
    isRemoteOnline: options.isRemoteOnline,
    onlineInstanceIds: options.onlineInstanceIds,
    // Hooks see transitions of every instance's people, so they need every record from now on.
    onFirstHook: () => void recordReadersChanged(1),
  });
  people.observe(hooks.callbacks);
  const peoplePolicy = options.peoplePolicy ?? defaultPeoplePolicy;
  let markStarted!: { resolve(): void; reject(error: unknown): void };
  const started = new Promise<void>((resolve, reject) => (markStarted = { resolve, reject }));
  started.catch(() => {}); // the startup callback's own failure is reported by the host; this only informs waiters
  /**
   * Inserts still in flight, by session (dropped once they land): a close
   * waits for its insert, so it never removes before the insert (no ghosts).
   */
  const pendingInserts = new Map<string, Promise<boolean>>();
  const removalObservers = new Set<(seconds: number) => void>();
  const removeOnClose = (sessionId: string) => {
    const closedAt = performance.now();
    const pending = pendingInserts.get(sessionId);
    const removal = pending
      ? pending.then((ok) => (ok ? removeRecord(collection, sessionId, recordLog) : false))
      : removeRecord(collection, sessionId, recordLog);
    if (removalObservers.size === 0) return;
    void removal.then((removed) => {
      if (!removed) return;
      const seconds = (performance.now() - closedAt) / 1000;
      for (const observer of removalObservers) observer(seconds);
    });
  };

  host.startup(async () => {
    try {
      await collection.removeAsync({ instanceId });
      log.info('Cleared this instance\'s stale connection records', { instanceId });
      // After the cleanup, so nothing stale is ever in the view.
      await view.start(collection.find({}));
      liveCount.start(view, options.summaries ? { ownInstanceId: instanceId, summaries: options.summaries } : undefined);
      liveStats.start(view);
      view.observe(people.viewCallbacks((id) => view.get(id)));
      markStarted.resolve();
    } catch (error) {
      markStarted.reject(error);
      throw error;
    }
  });

  host.onConnection((connection) => {
    const sessionId = connection.id;
    const inserted = insertRecord(collection, buildRecord(connection, instanceId), recordLog);
    pendingInserts.set(sessionId, inserted);
    void inserted.finally(() => pendingInserts.delete(sessionId));
    // A bound function rather than a closure: a closure would keep this scope
    // and the settled promise for the connection's lifetime (~100 B each).
    connection.onClose(removeOnClose.bind(null, sessionId));
  });

  const accountRecords = new AccountRecords(collection, (sessionId) => pendingInserts.get(sessionId) ?? Promise.resolve(), recordLog);
  options.accounts?.onLogin((sessionId, accountId) => accountRecords.login(sessionId, accountId));
  options.accounts?.onLogout((sessionId) => accountRecords.logout(sessionId));

  const roleOf = async (connection: HostConnection, userId: string | null, params: unknown[]): Promise<ViewerRole> =>
    (await policy({ connection, userId, params })) === 'monitor' ? 'monitor' : 'self';

  host.methods({
    [PRESENCE_NAMES.getSessionIdMethod]() {
      return this.connection?.id ?? null;
    },
    async [PRESENCE_NAMES.roleMethod](...params: unknown[]) {
      return this.connection ? roleOf(this.connection, this.userId, params) : 'self';
    },
    async [PRESENCE_NAMES.setIdleMethod](idle: unknown) {
      if (typeof idle !== 'boolean') throw new host.Error(400, 'idle must be a boolean');
      if (!this.connection) return;
      const record = view.get(this.connection.id);
      if (record) await accountRecords.setIdle(this.connection.id, idle, record.idle === true);
    },
  });

  host.publish(PRESENCE_NAMES.peoplePublication, async function (...params: unknown[]) {
    const role = await roleOf(this.connection, this.userId, params);
    // Others get an empty, ready subscription (as presence.stats does).
    if (!(await peoplePolicy({ connection: this.connection, userId: this.userId, params, role }))) return void this.ready();
    const parsed = parsePeopleOptions(params[0]);
    if (!parsed.ok) return void this.error(new host.Error(400, parsed.reason));
    // Every instance's people come from every instance's records: wait for them, so `ready` means everyone.
    const recordsHere = recordReadersChanged(1);
    this.onStop(() => void recordReadersChanged(-1));
    await recordsHere;
    publishPeople(this, people, parsed.options, PRESENCE_NAMES.peopleCollection, options.publishBatchSize);
  });

  host.publish(PRESENCE_NAMES.listPublication, async function (...params: unknown[]) {
    const role = await roleOf(this.connection, this.userId, params);
    if (role === 'monitor') {
      // Validated before anything is published; only monitors' options are read (others get their own record regardless).
      const parsed = parseListOptions(params[0]);
      if (!parsed.ok) return void this.error(new host.Error(400, parsed.reason));
      // Others' records are held only while a monitor looks: wait for them, so `ready` means the whole list.
      // (Counted before onStop is registered: onStop runs at once for a subscription that already stopped.)
      const recordsHere = monitorsChanged(1);
      this.onStop(() => void monitorsChanged(-1));
      await recordsHere;
      return void publishMonitorList(this, view, parsed.options, PRESENCE_NAMES.collection, options.publishBatchSize);
    }
    // Only its own record, which only this instance's store holds: the store's cursor is the cheapest way.
    return collection.find({ _id: this.connection.id }, { fields: { clientAddress: 0 } });
  });

  host.publish(PRESENCE_NAMES.countPublication, function () {
    liveCount.serve(this);
  });

  host.publish(PRESENCE_NAMES.statsPublication, async function (...params: unknown[]) {
    // Others get an empty, ready subscription (as presence.bridgeStatus does).
    if ((await roleOf(this.connection, this.userId, params)) !== 'monitor') return void this.ready();
    liveStats.serve(this);
  });

  return {
    liveCount,
    liveStats,
    view,
    people,
    started,
    onAccountOnline: (hook) => hooks.onAccountOnline(hook),
    onAccountOffline: (hook) => hooks.onAccountOffline(hook),
    onAccountIdle: (hook) => hooks.onAccountIdle(hook),
    onAccountActive: (hook) => hooks.onAccountActive(hook),
    async settled() {
      await Promise.all([...pendingInserts.values()]);
    },
    get monitors() {
      return monitors;
    },
    onRecordRemoved(callback) {
      removalObservers.add(callback);
      return { stop: () => void removalObservers.delete(callback) };
    },
  };
}

function buildRecord(connection: HostConnection, instanceId: string): ConnectedUser {
  // Cut like the user agent: an address from a forwarded header can be anything, and a record that fails validation would leave the client invisible.
  const clientAddress = typeof connection.clientAddress === 'string' ? connection.clientAddress.slice(0, RECORD_LIMITS.maxClientAddressLength) : undefined;
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

/** Resolves true when a record was removed. */
async function removeRecord(collection: PresenceCollection, sessionId: string, log: Logger): Promise<boolean> {
  try {
    // 0 when the insert had failed validation: nothing to remove, nothing to log.
    const removed = await collection.removeAsync({ _id: sessionId });
    if (removed !== 0) log.info('Client disconnected', { session: sessionId });
    return removed !== 0;
  } catch (error) {
    log.error('Could not remove connection record', { session: sessionId, error });
    return false;
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
