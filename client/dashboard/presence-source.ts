/**
 * What the dashboard needs from a DDP connection, whichever client provides
 * it: the project's small WebSocket client (standalone) or Meteor's own
 * client (Meteor mode). The dashboard code is written once against this.
 */
export type ConnectionStatus = 'connected' | 'reconnecting' | 'offline';

export interface ConnectionRecord {
  _id: string;
  connectedAt?: Date;
  clientAddress?: string;
  userAgent?: string;
  instanceId?: string;
}

/** The MQTT bridge as monitors see it (publication presence.bridgeStatus). */
export interface BridgeStatusView {
  enabled: boolean;
  connected?: boolean;
  brokerUrl?: string;
  remoteInstances?: number;
}

export interface PresenceSourceEvents {
  status(status: ConnectionStatus): void;
  /** A new DDP session began (first connect or reconnect); `sessionId` is from its `connected` frame. */
  session(sessionId: string | null): void;
  /** The whole list changed (added, changed, removed or reset). */
  records(records: ConnectionRecord[]): void;
  count(count: number | null): void;
  /** null: not a monitor (or not known yet). */
  bridge(status: BridgeStatusView | null): void;
}

export interface PresenceSource {
  start(events: PresenceSourceEvents, params: { token?: string }): void;
  /** Re-subscribe with other parameters (a new token). */
  setParams(params: { token?: string }): void;
  call(method: string, ...args: unknown[]): Promise<unknown>;
}
