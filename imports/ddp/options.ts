/**
 * Every limit of the DDP server, with its default. The README's limits table
 * mirrors this object; the config module maps the environment onto it, and
 * tests pass short values explicitly.
 *
 * Why these defaults: each bound sits well above what a legitimate client
 * does (a Meteor app with dozens of subscriptions, a burst of reconnect
 * traffic, a browser tab behind a NAT shared by thousands) and well below
 * what lets one client hurt the process. Exceeding a per-client bound closes
 * that client only, with one log line.
 */
export interface DdpServerOptions {
  /**
   * Largest inbound DDP frame in bytes, enforced before the frame is
   * buffered, the same on /websocket (close 1009), SockJS WebSocket (close
   * 1009) and SockJS HTTP POST bodies (413). Range 1 KiB – 64 MiB.
   */
  maxFrameBytes: number;
  /** Silence after which the server sends `ping` (Meteor: 15 s). 0 disables heartbeats. */
  heartbeatIntervalMs: number;
  /** Further silence after that `ping` before the session is closed (Meteor: 15 s). */
  heartbeatTimeoutMs: number;
  /**
   * A socket that has not completed `connect` by then is closed. Meteor
   * allows 45 s; a real client sends `connect` in its first round trip.
   */
  connectDeadlineMs: number;
  /** A `pre1` session (no heartbeat in that DDP version) silent this long is closed. 0 never reaps. */
  pre1IdleTimeoutMs: number;
  /** Messages a session may have waiting behind a running method or sub; beyond that the session is closed. */
  maxQueuedMessagesPerSession: number;
  /** Inbound frame bytes a session may have waiting in its queue; beyond that the session is closed. */
  maxQueuedBytesPerSession: number;
  /** Methods received and not yet answered (queued or running after `unblock`); beyond that the session is closed. */
  maxPendingMethodsPerSession: number;
  /** Live subscriptions per session; a `sub` beyond that closes the session. */
  maxSubscriptionsPerSession: number;
  /**
   * An error reply echoes the offending message (as Meteor does) only when
   * its frame is at most this many bytes; larger ones are echoed as
   * `{msg, id}` alone, so bad input cannot make the server amplify it.
   */
  maxOffendingMessageBytes: number;
  /** Outgoing bytes a socket may have unsent (a client that stops reading), on every transport; beyond that it is closed. */
  maxBufferedBytesPerSocket: number;
  /**
   * Process-wide cap on open client sockets (TCP). 0 means automatic: the
   * process's open-file limit less `fileDescriptorHeadroom`. Beyond it, new
   * sockets get HTTP 503 and are closed, so the process never hits EMFILE.
   */
  maxSockets: number;
  /** File descriptors kept free for files, the broker and the store when `maxSockets` is automatic. */
  fileDescriptorHeadroom: number;
  /** Sockets per client address that have not yet completed DDP `connect`; beyond that new ones are refused. 0 disables. */
  maxPendingSocketsPerAddress: number;
  /** DDP sessions per client address (resolved through `httpForwardedCount`). 0 disables (the default: NATs and proxies share addresses). */
  maxSessionsPerAddress: number;
  /** A TCP connection that has not sent complete HTTP request headers by then is closed (Node's default is 60 s). */
  httpHeadersTimeoutMs: number;
  /** Proxies in front of the server; selects the client address from X-Forwarded-For (Meteor's HTTP_FORWARDED_COUNT). */
  httpForwardedCount: number;
  /**
   * How long SockJS keeps a session whose HTTP receiver went away (xhr
   * transports) before it counts as closed (Meteor: 60 s). Its timers keep
   * the process alive that long after the last client.
   */
  sockjsDisconnectDelayMs: number;
  /** Client mistakes (bad frames, malformed messages) are logged at most once per kind per this window, with a count of those suppressed. */
  clientErrorLogIntervalMs: number;
  /** Path prefix from ROOT_URL, e.g. "/app" serves `/app/websocket` and `/app/sockjs`. */
  pathPrefix: string;
}

export const defaultDdpServerOptions: Readonly<DdpServerOptions> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  heartbeatIntervalMs: 15_000,
  heartbeatTimeoutMs: 15_000,
  connectDeadlineMs: 10_000,
  pre1IdleTimeoutMs: 60_000,
  maxQueuedMessagesPerSession: 10_000,
  maxQueuedBytesPerSession: 8 * 1024 * 1024,
  maxPendingMethodsPerSession: 1_000,
  maxSubscriptionsPerSession: 500,
  maxOffendingMessageBytes: 4 * 1024,
  maxBufferedBytesPerSocket: 16 * 1024 * 1024,
  maxSockets: 0,
  fileDescriptorHeadroom: 512,
  maxPendingSocketsPerAddress: 100,
  maxSessionsPerAddress: 0,
  httpHeadersTimeoutMs: 10_000,
  httpForwardedCount: 0,
  sockjsDisconnectDelayMs: 60_000,
  clientErrorLogIntervalMs: 10_000,
  pathPrefix: '',
});

export function resolveDdpServerOptions(partial: Partial<DdpServerOptions> = {}): DdpServerOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...defaultDdpServerOptions, ...defined };
}
