import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ClientMistakeLog } from '../log/client-mistake-log';
import type { Logger } from '../log/logger';
import { AdmissionControl, type AdmissionStats } from './admission';
import { resolveClientAddress, type ConnectionHandle } from './connection-handle';
import type { MethodHandler, PublishHandler } from './contexts';
import { resolveDdpServerOptions, type DdpServerOptions } from './options';
import { randomId } from './random-id';
import { isOriginAllowed } from './origin-policy';
import { InboundBudget } from './inbound-budget';
import { DdpRateLimiter } from './rate-limiter';
import { DdpObservers } from './server-observers';
import { Session, type SessionCloseReason, type SessionRegistry } from './session';
import { createSockJsTransport } from './transports/sockjs-transport';
import type { HttpTransport, TransportSocket, TransportSocketEvents } from './transports/transport-socket';
import { createWebSocketTransport } from './transports/websocket-transport';
import { SocketGate, type SessionOpener } from './socket-gate';
import { checkUserId } from './user-id-change';
import { negotiateVersion, stringifyDdp, type DdpMessage } from './wire';
import { callSafely } from '../common/call-safely';

export type FallbackRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Told a session's new userId (see DdpServer.onUserIdChange); may return a promise the change waits for. */
export type UserIdChangeCallback = (connection: ConnectionHandle, userId: string | null, previous: string | null) => unknown;

/**
 * The standalone, Meteor-compatible DDP server: registries of methods and
 * publications, the sessions, and the socket-level part of the protocol
 * (parse, `connect` negotiation, errors before a session exists).
 *
 * Example:
 *   const ddp = new DdpServer({ heartbeatIntervalMs: 500 }, log);
 *   ddp.methods({ hello() { return 'hi'; } });
 *   ddp.attach(httpServer);
 * It knows nothing about presence; the app registers on it through the
 * Meteor-shaped facade (meteor-facade.ts).
 */
export class DdpServer implements SessionRegistry, SessionOpener {
  readonly options: DdpServerOptions;
  readonly methodHandlers = new Map<string, MethodHandler>();
  readonly publishHandlers = new Map<string, PublishHandler>();
  private readonly sessions = new Map<string, Session>();
  /** What clients got wrong, logged without stacks and at most once per kind per `clientErrorLogIntervalMs`. */
  readonly mistakes: ClientMistakeLog;
  private readonly connectionHooks = new Set<(connection: ConnectionHandle) => unknown>();
  private readonly userIdHooks = new Set<UserIdChangeCallback>();
  /** Meteor's DDPRateLimiter for this server (one per server, not per process); sessions consult it. */
  readonly rateLimiter: DdpRateLimiter;
  /** Who watches sessions and method durations (metrics); server-observers.ts. */
  readonly observers = new DdpObservers();
  /** Which sockets and sessions are taken on at all (admission.ts). */
  private readonly admission: AdmissionControl;
  /** Bytes per second each client address may send (inbound-budget.ts). */
  private readonly inbound: InboundBudget;
  private transports: HttpTransport[] = [];
  private fallback: FallbackRequestHandler = (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not found');
  };

  constructor(options: Partial<DdpServerOptions>, private readonly log: Logger) {
    this.options = resolveDdpServerOptions(options);
    this.mistakes = new ClientMistakeLog(log, this.options.clientErrorLogIntervalMs);
    this.rateLimiter = new DdpRateLimiter({ log });
    this.admission = new AdmissionControl(this.options, log);
    const { maxInboundBytesPerSecondPerAddress: rate, inboundBurstBytesPerAddress: burst, maxFrameBytes } = this.options;
    this.inbound = new InboundBudget(rate, Math.max(burst, maxFrameBytes));
  }

  /** Serve DDP (WebSocket and SockJS) on this HTTP server; other requests go to `fallback`. */
  attach(httpServer: HttpServer, fallback?: FallbackRequestHandler): void {
    if (fallback) this.fallback = fallback;
    this.admission.attach(httpServer); // first, so it sees every socket and request before the transports
    const accept = (socket: TransportSocket) => this.acceptSocket(socket);
    this.transports = [
      createWebSocketTransport(accept, this.options, this.log),
      createSockJsTransport(accept, this.options, this.log, {
        waitFor: (req) => this.inbound.waitFor(this.requestAddress(req)),
        charge: (req, bytes) => void this.inbound.charge(this.requestAddress(req), bytes),
      }),
    ];
    httpServer.on('request', (req, res) => {
      if (isDdpPath(req, this.options.pathPrefix) && !isOriginAllowed(req, this.options.allowedOrigins)) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('Origin not allowed');
        return;
      }
      // Draining: a SockJS client starts at /info, so it is told 503 there and tries elsewhere;
      // requests of sessions already open still pass, so their close frames reach them.
      if (this.admission.isDraining && isSockJsInfo(req, this.options.pathPrefix)) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5', connection: 'close' });
        res.end('Service Unavailable');
        return;
      }
      for (const transport of this.transports) if (transport.handleRequest(req, res)) return;
      this.fallback(req, res);
    });
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A named function, not a closure: a closure here would share this
      // scope and keep `req` and `head` (a slice of an 8 KiB pool slab)
      // alive for the socket's lifetime, ~10 KB per connection.
      socket.on('error', destroyOnError);
      if (!isOriginAllowed(req, this.options.allowedOrigins)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const waitMs = this.inbound.waitFor(this.requestAddress(req));
      if (waitMs > 0) {
        socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${Math.ceil(waitMs / 1000)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      if (!this.admission.admitUpgrade(req, socket)) return;
      for (const transport of this.transports) if (transport.handleUpgrade(req, socket, head)) return;
      socket.destroy();
    });
  }

  methods(handlers: Record<string, MethodHandler>): void {
    for (const [name, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') throw new Error(`Method '${name}' must be a function`);
      if (this.methodHandlers.has(name)) throw new Error(`A method named '${name}' is already defined`);
      this.methodHandlers.set(name, handler);
    }
  }

  publish(name: string, handler: PublishHandler): void {
    if (this.publishHandlers.has(name)) this.log.warn('Ignoring duplicate publish named', { name });
    else this.publishHandlers.set(name, handler);
  }

  onConnection(callback: (connection: ConnectionHandle) => unknown): { stop(): void } {
    this.connectionHooks.add(callback);
    return { stop: () => void this.connectionHooks.delete(callback) };
  }

  /**
   * Told after a session's userId really changed (not when set to the same
   * value), before its subscriptions rerun. A returned promise is awaited
   * first, so a write it makes is visible before the method's `updated`; a
   * throw or rejection is logged and never fails the change. Callbacks run one
   * after another, in registration order. Caveat: one must not await
   * setUserIdOf for the same session (it would wait behind this change).
   */
  onUserIdChange(callback: UserIdChangeCallback): { stop(): void } {
    this.userIdHooks.add(callback);
    return { stop: () => void this.userIdHooks.delete(callback) };
  }

  /**
   * A server-initiated userId change (a logout when a login token expires):
   * queued behind the session's messages, so it runs after a method running
   * now, never in its middle; then the subscriptions rerun as for
   * `this.setUserId`. Resolves false if there is no such open session or it
   * closed before the change ran, true once the change and its rerun are done.
   * Rejects for an id that is neither a string nor null.
   */
  async setUserIdOf(sessionId: string, userId: string | null): Promise<boolean> {
    checkUserId(userId);
    const session = this.sessions.get(sessionId);
    return session ? session.setUserIdInTurn(userId) : false;
  }

  async userIdChanged(connection: ConnectionHandle, userId: string | null, previous: string | null): Promise<void> {
    for (const hook of [...this.userIdHooks]) {
      try {
        await hook(connection, userId, previous);
      } catch (error) {
        this.log.error('onUserIdChange callback failed', { session: connection.id, error });
      }
    }
  }

  /** Method calls and subs refused by a rate limit, by type and name (for metrics). */
  get rateLimitedCount(): DdpRateLimiter['rateLimitedCount'] {
    return this.rateLimiter.rateLimitedCount;
  }

  /** Sockets open and refused by reason, for metrics (admission.ts). */
  get admissionStats(): AdmissionStats {
    return this.admission.stats;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The open sessions, for gauges computed at scrape time; read, never kept. */
  get openSessions(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Graceful drain, step one: no new WebSocket, SockJS session or DDP session from now on (admission.ts). */
  stopAccepting(): void {
    this.admission.stopAdmitting();
  }

  get isDraining(): boolean {
    return this.admission.isDraining;
  }

  /** Graceful drain, step two (called in batches): close up to `count` sessions, oldest first; returns how many. */
  closeSessions(count: number): number {
    let closed = 0;
    // A Map iterates in insertion order; closing deletes the current entry, which the iterator tolerates.
    for (const session of this.sessions.values()) {
      if (closed >= count) break;
      session.close('server shutdown');
      closed++;
    }
    return closed;
  }

  /** Close every session and socket; the HTTP server itself is the caller's. */
  close(): void {
    for (const session of [...this.sessions.values()]) session.close('server shutdown');
    for (const transport of this.transports) transport.close();
    this.admission.close();
  }

  sessionClosed(session: Session, reason: SessionCloseReason): void {
    this.sessions.delete(session.id);
    this.admission.sessionClosed(session.id);
    this.observers.sessionClosed(session.transport, reason);
    this.log.debug('DDP session closed', { session: session.id, reason });
  }

  private clientAddressOf(socket: TransportSocket): string {
    return resolveClientAddress(socket.remoteAddress, socket.headers, this.options.httpForwardedCount) ?? socket.remoteAddress ?? '';
  }

  chargeInbound(address: string, bytes: number): number {
    return this.inbound.charge(address, bytes);
  }

  private requestAddress(req: IncomingMessage): string {
    const remote = req.socket.remoteAddress ?? null;
    return resolveClientAddress(remote, req.headers as Record<string, string>, this.options.httpForwardedCount) ?? remote ?? '';
  }

  socketClosed(socket: TransportSocket): void {
    this.admission.releasePending(socket);
  }

  private acceptSocket(socket: TransportSocket): TransportSocketEvents {
    const address = this.clientAddressOf(socket);
    this.inbound.charge(address, this.options.socketCostBytes);
    if (!this.admission.admitTransportSocket(socket)) {
      socket.close();
      return REFUSED_SOCKET_EVENTS;
    }
    return new SocketGate(socket, this, address, this.options.connectDeadlineMs, this.log);
  }

  /** DDP.md "connect": negotiate, then answer `connected` or `failed` + close. */
  openSession(socket: TransportSocket, msg: DdpMessage): Session | null {
    const { version, support } = msg;
    const fail = (suggested: string) => {
      socket.send(stringifyDdp({ msg: 'failed', version: suggested }));
      socket.close();
      return null;
    };
    if (
      typeof version !== 'string' ||
      !Array.isArray(support) ||
      !support.every((v): v is string => typeof v === 'string') ||
      !support.includes(version)
    ) {
      return fail(negotiateVersion([]));
    }
    const agreed = negotiateVersion(support);
    if (agreed !== version) return fail(agreed);

    const id = randomId();
    const clientAddress = resolveClientAddress(socket.remoteAddress, socket.headers, this.options.httpForwardedCount);
    // Over maxSessionsPerAddress: closed without a frame. DDP has no word for
    // it (Meteor has no such cap); clients reconnect with their usual backoff.
    if (!this.admission.admitSession(socket, id, clientAddress)) {
      socket.close();
      return null;
    }
    const session = new Session(id, version, socket, this, this.options, clientAddress, this.log);
    this.sessions.set(id, session);
    this.observers.sessionOpened(socket.transport);
    this.log.debug('DDP session opened', { session: id, transport: socket.transport, version });
    for (const hook of this.connectionHooks) {
      if (session.isClosed) break;
      callSafely(() => hook(session.connection), (error) => this.log.error('onConnection callback failed', { session: id, error }));
    }
    return session;
  }
}

/** A socket refused by admission control: whatever it still sends is dropped. */
const REFUSED_SOCKET_EVENTS: TransportSocketEvents = { onFrame() {}, onNonStringFrame() {}, onRawFrame() {}, onFrameTooLarge() {}, onNotReading() {}, onClose() {} };

/** Requests the transports serve (the origin policy guards these, not the dashboard's static files). */
function isDdpPath(req: IncomingMessage, pathPrefix: string): boolean {
  const url = req.url ?? '';
  return url.startsWith(`${pathPrefix}/sockjs`) || url.startsWith(`${pathPrefix}/websocket`);
}

function isSockJsInfo(req: IncomingMessage, pathPrefix: string): boolean {
  return (req.url ?? '').split('?')[0] === `${pathPrefix}/sockjs/info`;
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
