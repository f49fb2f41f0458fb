/**
 * What the dashboard needs from a DDP connection, whichever client provides
 * it: the project's small WebSocket client (standalone) or Meteor's own
 * client (Meteor mode). The dashboard code is written once against this.
 *
 * Documents arrive as DDP's own added / changed / removed events, never as a
 * copied list, so an update costs the size of the change, not of the list.
 */
import type { ConnectionDocument, PersonDocument } from '../../imports/app/wire-contract';

export type ConnectionStatus = 'connected' | 'reconnecting' | 'offline';

/** A connection record as the dashboard holds it: any field may be missing (non-monitors see fewer, an old server sends fewer). */
export type ConnectionRecord = Partial<Omit<ConnectionDocument, '_id'>> & { _id: string };

/** An online person (collection `onlineUsers`), fields as received. */
export type PersonRecord = Partial<Omit<PersonDocument, '_id'>> & { _id: string };

/** The MQTT bridge as monitors see it (publication presence.bridgeStatus). */
export interface BridgeStatusView {
  enabled: boolean;
  connected?: boolean;
  brokerUrl?: string;
  remoteInstances?: number;
}

/** A collection's documents as the merge box sends them; `cleared` lists fields that were removed. */
export interface DocumentEvents {
  added(id: string, fields: Record<string, unknown>): void;
  changed(id: string, fields: Record<string, unknown>, cleared: string[]): void;
  removed(id: string): void;
}

/**
 * The window of `list.connectedUsers` a monitor asks for (server side:
 * imports/app/list-options.ts). Non-monitors get their own record whatever
 * they ask.
 */
export interface ListQuery {
  search?: string;
  instanceId?: string;
  /** Only this account's connections (exact match); set from the people view. */
  accountId?: string;
  sort: 'newest' | 'oldest';
  limit: number;
}

export interface SourceParams {
  token?: string;
  list: ListQuery;
}

export interface PresenceSourceEvents {
  status(status: ConnectionStatus): void;
  /** A new DDP session began (first connect or reconnect); `sessionId` is from its `connected` frame. */
  session(sessionId: string | null): void;
  /** Forget every document: a new session sends them all again. */
  reset(): void;
  /** Collection `connectedUsers`: the window of `list.connectedUsers`. */
  connections: DocumentEvents;
  /** Collection `presence.stats` (monitors only). */
  stats: DocumentEvents;
  /** Collection `onlineUsers` of `list.onlineUsers` (monitors and logged-in connections). */
  people: DocumentEvents;
  count(count: number | null): void;
  /** null: not a monitor (or not known yet). */
  bridge(status: BridgeStatusView | null): void;
}

export interface PresenceSource {
  /** Subscribes the count, the stats and the people first, then the list: the cheap answers arrive first. */
  start(events: PresenceSourceEvents, params: SourceParams): void;
  /** Re-subscribe with other parameters: the list alone when only the query changed, everything token-bound when the token did. */
  setParams(params: SourceParams): void;
  call(method: string, ...args: unknown[]): Promise<unknown>;
}
