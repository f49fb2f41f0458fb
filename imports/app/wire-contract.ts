/**
 * The wire contract of the presence app: every collection, publication and
 * method name a client uses, and the shapes of the documents it receives.
 * Servers (both entry points), both dashboard clients and the benchmark
 * import these instead of retyping strings. Imports nothing, so the browser
 * bundle can take it as it is.
 */
export const PRESENCE_NAMES = {
  /** The collection the records live in, on the server and in every client. */
  collection: 'connectedUsers',
  listPublication: 'list.connectedUsers',
  countPublication: 'list.connectedUsers.count',
  /** `{_id: 'total', count}` documents of the count publication. */
  countCollection: 'connectedUsers.count',
  /** Monitors only; documents in collection `presence.stats` (live-stats.ts). */
  statsPublication: 'presence.stats',
  statsCollection: 'presence.stats',
  /**
   * Monitors only; registered by the composition (it reads the MQTT bridge:
   * imports/composition/bridge-status-publication.ts). Named here so the
   * app's rate limits can cover it without app/ importing composition/.
   */
  bridgeStatusPublication: 'presence.bridgeStatus',
  /** `{_id: 'mqtt', enabled, connected, brokerUrl, …}` documents of the bridge-status publication. */
  bridgeStatusCollection: 'presence.bridge',
  getSessionIdMethod: 'getSessionId',
  roleMethod: 'presence.role',
  /** One document per online person (PersonDocument), for whom the policy allows (issue 14). */
  peoplePublication: 'list.onlineUsers',
  peopleCollection: 'onlineUsers',
  /** `presence.setIdle(idle: boolean)`: this connection is idle (true) or active again (false). */
  setIdleMethod: 'presence.setIdle',
  /** Meteor's accounts method names (standalone implements them: imports/accounts). */
  loginMethod: 'login',
  logoutMethod: 'logout',
} as const;

/**
 * A connection record as clients receive it (collection `connectedUsers`),
 * and as the server stores it (host.ts ConnectedUser is this type). A type
 * alias, not an interface, so it fits stores typed over Record<string, unknown>.
 */
export type ConnectionDocument = {
  _id: string;
  /** The session id again (the recipe this project started from). */
  userId: string;
  connectedAt: Date;
  clientAddress?: string;
  userAgent?: string;
  instanceId: string;
  /** The logged-in account; absent while anonymous. */
  accountId?: string;
  /** When this connection logged in as `accountId`. */
  loggedInAt?: Date;
  /** True while the client reports itself idle (`presence.setIdle`); absent while active. */
  idle?: boolean;
  /** The last activity report: the login or the last idle/active change. */
  lastActivity?: Date;
};

export type PersonStatus = 'online' | 'idle';

/** One online person (collection `onlineUsers`), aggregated over their connections on every instance. */
export interface PersonDocument {
  /** The account id. */
  _id: string;
  /** 'idle' when every one of the person's connections is idle. */
  status: PersonStatus;
  /** The person's connections, on every instance. */
  connections: number;
  /** When the person came online: the earliest login among their current connections. */
  since: Date;
  /** The latest activity report among their connections (login, or an idle/active change). */
  lastActivity: Date;
}
