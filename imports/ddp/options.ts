/**
 * Every limit of the DDP server, with its default. The README's
 * configuration table mirrors this object; the config module maps the
 * environment onto it, and tests pass short values explicitly.
 */
export interface DdpServerOptions {
  /** Largest inbound DDP frame in bytes; a larger one closes that socket only (WebSocket close 1009). */
  maxFrameBytes: number;
  /** Silence after which the server sends `ping` (Meteor: 15 s). 0 disables heartbeats. */
  heartbeatIntervalMs: number;
  /** Further silence after that `ping` before the session is closed (Meteor: 15 s). */
  heartbeatTimeoutMs: number;
  /** A socket that has not completed `connect` by then is closed (Meteor's pre-session socket timeout is 45 s). */
  connectDeadlineMs: number;
  /** Messages a session may have waiting behind a running method or sub; beyond that the session is closed. */
  maxQueuedMessagesPerSession: number;
  /** Outgoing bytes a WebSocket may have unsent (a client that stops reading); beyond that it is closed. */
  maxBufferedBytesPerSocket: number;
  /** Proxies in front of the server; selects the client address from X-Forwarded-For (Meteor's HTTP_FORWARDED_COUNT). */
  httpForwardedCount: number;
  /**
   * How long SockJS keeps a session whose HTTP receiver went away (xhr
   * transports) before it counts as closed (Meteor: 60 s). Its timers keep
   * the process alive that long after the last client.
   */
  sockjsDisconnectDelayMs: number;
  /** Path prefix from ROOT_URL, e.g. "/app" serves `/app/websocket` and `/app/sockjs`. */
  pathPrefix: string;
}

export const defaultDdpServerOptions: Readonly<DdpServerOptions> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  heartbeatIntervalMs: 15_000,
  heartbeatTimeoutMs: 15_000,
  connectDeadlineMs: 45_000,
  maxQueuedMessagesPerSession: 1000,
  maxBufferedBytesPerSocket: 16 * 1024 * 1024,
  httpForwardedCount: 0,
  sockjsDisconnectDelayMs: 60_000,
  pathPrefix: '',
});

export function resolveDdpServerOptions(partial: Partial<DdpServerOptions> = {}): DdpServerOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...defaultDdpServerOptions, ...defined };
}
