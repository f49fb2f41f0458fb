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
   * A socket (/websocket or SockJS) that has not completed `connect` by then
   * is closed. Meteor allows 45 s; a real client sends `connect` in its first
   * round trip. A /websocket socket that was never sent a frame is dropped
   * at once, without waiting for a close handshake.
   */
  connectDeadlineMs: number;
  /**
   * A `pre1` session (no heartbeat in that DDP version) that receives no
   * message for this long is closed ('idle timeout'). 0 never reaps.
   */
  pre1IdleTimeoutMs: number;
  /** Messages a session may have waiting behind a running method or sub; beyond that the session is closed. */
  maxQueuedMessagesPerSession: number;
  /**
   * Queued messages at which the session's socket stops being read (TCP
   * backpressure) until the queue is down to half; the hard caps below still
   * close a client whose single TCP read holds more.
   */
  queueHighWaterMessages: number;
  /** Messages one session's queue runs in a row before it yields to the event loop, so one burst cannot starve other sessions. */
  messagesPerTurn: number;
  /** Inbound frame bytes a session may have waiting in its queue; beyond that the session is closed. */
  maxQueuedBytesPerSession: number;
  /**
   * Methods running at once on one session (started, not yet answered: more
   * than one only when methods call `unblock()`); beyond that the session is
   * closed. Methods waiting their turn are bounded by the queue options.
   */
  maxPendingMethodsPerSession: number;
  /**
   * Parameters per method call or subscription; more get a 400 error. A
   * JavaScript call cannot spread much more than ~100,000 arguments at all.
   */
  maxParams: number;
  /** Live subscriptions per session; a `sub` beyond that closes the session. */
  maxSubscriptionsPerSession: number;
  /**
   * An error reply echoes the offending message (as Meteor does) only when
   * its frame is at most this many bytes; larger ones are echoed as
   * `{msg, id}` alone, so bad input cannot make the server amplify it.
   */
  maxOffendingMessageBytes: number;
  /** How long a closing WebSocket waits for the peer's close frame before its TCP socket is destroyed (ws's default: 30 s). */
  closeHandshakeTimeoutMs: number;
  /** Outgoing bytes a socket may have unsent (a client that stops reading), on every transport; beyond that it is closed. */
  maxBufferedBytesPerSocket: number;
  /**
   * Process-wide cap on open client sockets (TCP). 0 means automatic: the
   * process's open-file limit (the soft limit, read from /proc/self/limits
   * at startup; 1024 assumed where unreadable) less `fileDescriptorHeadroom`,
   * but never below half that limit. Beyond it, new sockets get a raw
   * HTTP 503 (Retry-After) and are closed, so the process never hits EMFILE.
   */
  maxSockets: number;
  /** File descriptors kept free for files, the broker and the store when `maxSockets` is automatic. */
  fileDescriptorHeadroom: number;
  /**
   * Sockets per client address that have not yet completed DDP `connect`:
   * from the transport's accept (/websocket, SockJS) until `connect`, and,
   * when `httpForwardedCount` is 0, from TCP accept until the first request
   * headers as well. Beyond it new ones get HTTP 503 (a /websocket upgrade
   * before its handshake) or are closed at once. 0 disables.
   */
  maxPendingSocketsPerAddress: number;
  /**
   * DDP sessions per client address (resolved through `httpForwardedCount`).
   * A `connect` beyond it gets no reply; its socket is closed. 0 disables
   * (the default: NATs and proxies share addresses).
   */
  maxSessionsPerAddress: number;
  /**
   * Inbound bytes per second one client address may send, over all its
   * sockets (inbound-budget.ts); over it, its WebSockets are paused (not
   * closed), new ones get 503 and SockJS posts 429. 0 disables.
   */
  maxInboundBytesPerSecondPerAddress: number;
  /** What an address may send at once before `maxInboundBytesPerSecondPerAddress` applies; at least `maxFrameBytes`. */
  inboundBurstBytesPerAddress: number;
  /**
   * Each new DDP socket counts as this many bytes against its address's
   * inbound budget: a handshake costs the server about what a few KB of
   * frames do, so an address opening sockets in a loop is slowed like one
   * sending bytes. 0: sockets are free.
   */
  socketCostBytes: number;
  /**
   * Each inbound frame counts as this many bytes on top of its payload: the
   * work per frame (parse, reply) does not shrink with its size, so a flood
   * of empty frames is slowed like one of large frames.
   */
  frameCostBytes: number;
  /**
   * A TCP connection that has not sent complete HTTP request headers this
   * long after accept gets 408 and is closed (Node's default is 60 s, checked
   * only every 30 s). Also Node's `headersTimeout` for later requests on a
   * keep-alive connection. 0 leaves Node's defaults.
   */
  httpHeadersTimeoutMs: number;
  /**
   * Browser origins (`scheme://host[:port]`, lower case) allowed to open DDP
   * connections; a request with another `Origin` header gets 403. Empty (the
   * default, as Meteor) allows every origin. See origin-policy.ts.
   */
  allowedOrigins: readonly string[];
  /** Proxies in front of the server; selects the client address from X-Forwarded-For (Meteor's HTTP_FORWARDED_COUNT). */
  httpForwardedCount: number;
  /**
   * How long SockJS keeps a session whose HTTP receiver went away (xhr
   * transports) before it counts as closed (Meteor: 60 s). Its timers keep
   * the process alive that long after the last client.
   */
  sockjsDisconnectDelayMs: number;
  /**
   * When a method changes the session's userId, its `updated` waits until
   * every rerun subscription is ready or stopped, at most this long (a
   * publication that sends its documents over later turns, and calls `ready`
   * after them, is then complete before the diff is sent: no removed-then-
   * added flash). Meteor waits for the handlers only; a publication that
   * never calls `ready` costs a change this long.
   */
  userIdRerunReadyTimeoutMs: number;
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
  queueHighWaterMessages: 1_000,
  messagesPerTurn: 32,
  maxQueuedBytesPerSession: 8 * 1024 * 1024,
  maxPendingMethodsPerSession: 1_000,
  maxParams: 1_000,
  maxSubscriptionsPerSession: 500,
  maxOffendingMessageBytes: 4 * 1024,
  closeHandshakeTimeoutMs: 5_000,
  maxBufferedBytesPerSocket: 16 * 1024 * 1024,
  maxSockets: 0,
  fileDescriptorHeadroom: 512,
  maxPendingSocketsPerAddress: 100,
  maxSessionsPerAddress: 0,
  maxInboundBytesPerSecondPerAddress: 1024 * 1024,
  inboundBurstBytesPerAddress: 8 * 1024 * 1024,
  socketCostBytes: 8 * 1024,
  frameCostBytes: 64,
  httpHeadersTimeoutMs: 10_000,
  allowedOrigins: [],
  httpForwardedCount: 0,
  sockjsDisconnectDelayMs: 60_000,
  clientErrorLogIntervalMs: 10_000,
  userIdRerunReadyTimeoutMs: 5_000,
  pathPrefix: '',
});

export function resolveDdpServerOptions(partial: Partial<DdpServerOptions> = {}): DdpServerOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...defaultDdpServerOptions, ...defined };
}
