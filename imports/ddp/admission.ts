import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from '../log/logger';
import { resolveClientAddress } from './connection-handle';
import { automaticMaxSockets, readOpenFileLimit, type OpenFileLimit } from './open-file-limit';
import type { DdpServerOptions } from './options';
import type { TransportSocket } from './transports/transport-socket';

/**
 * Admission control: which sockets the DDP server takes on at all, so that
 * sockets that never speak cannot exhaust the process (issue 9).
 *
 * - Process-wide: at most `maxSockets` TCP sockets (0: the open-file limit
 *   less `fileDescriptorHeadroom`). The next one is answered with a raw
 *   `503` and closed, so neither `accept()` nor any `open()` meets EMFILE;
 *   an accept error that still happens is logged, never thrown.
 * - Per socket: complete HTTP request headers within `httpHeadersTimeoutMs`
 *   (timed here from accept, to the millisecond; Node's own `headersTimeout`
 *   is only checked every 30 s and is kept for later keep-alive requests).
 * - Per client address: at most `maxPendingSocketsPerAddress` sockets that
 *   have not completed DDP `connect`, and optionally `maxSessionsPerAddress`
 *   sessions. A socket is pending from accept until its first request
 *   headers (only when `httpForwardedCount` is 0: behind a proxy the TCP
 *   peer is the proxy), and again from the transport's accept (/websocket,
 *   SockJS) until `connect` opens a session or the socket closes.
 *
 * The address is the session's `clientAddress` (resolved through
 * `httpForwardedCount`, see connection-handle.ts); when X-Forwarded-For has
 * too few entries to resolve it, the TCP peer's address is used instead.
 * Refusals are counted by reason (`stats`) and logged once per address per
 * `clientErrorLogIntervalMs`, never once per socket.
 *
 * Example: `const admission = new AdmissionControl(options, log); admission.attach(httpServer);`
 * then the DDP server asks `admitUpgrade`, `admitTransportSocket` and
 * `admitSession`, and reports `releasePending` and `sessionClosed`.
 *
 * Caveats: many users behind one NAT or proxy share an address (so the
 * session cap is off by default and the pending cap is generous: a socket
 * is pending for about one round trip); IPv6 addresses are compared whole,
 * not by /64. On a TLS server only the process-wide cap and Node's coarse
 * headers timeout apply.
 */
export type AdmissionRefusal = 'socket cap' | 'pending per address' | 'sessions per address' | 'draining';

export interface AdmissionStats {
  /** The process-wide socket cap in force (Infinity if the open-file limit is unlimited). */
  readonly maxSockets: number;
  /** TCP sockets open on the HTTP server. */
  readonly socketsOpen: number;
  /** TCP sockets that have not yet sent complete request headers. */
  readonly awaitingHeaders: number;
  /** Transport sockets (/websocket, SockJS) that have not completed DDP `connect`. */
  readonly awaitingConnect: number;
  readonly refused: Readonly<Record<AdmissionRefusal, number>>;
  /** Sockets closed because they sent no complete request headers within `httpHeadersTimeoutMs`. */
  readonly headersTimedOut: number;
  /** `accept()` failures (EMFILE, ENFILE) reported by the HTTP server. */
  readonly acceptErrors: number;
}

// Meteor's clients ignore Retry-After (they back off on their own); it is a hint for others.
const SERVICE_UNAVAILABLE =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n' +
  'Content-Type: text/plain\r\nContent-Length: 20\r\n\r\nService Unavailable\n';
// Node's own reply when its headersTimeout fires.
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

const REFUSAL_MESSAGES: Record<AdmissionRefusal, string> = {
  'socket cap': 'Socket cap reached; new sockets get 503',
  'pending per address': 'Too many sockets from one address have not completed DDP connect; refusing more',
  'sessions per address': 'Too many DDP sessions from one address; refusing more',
  draining: 'Draining for shutdown; new sockets get 503',
};

interface HeadersWait {
  readonly address: string | null;
  readonly timer: NodeJS.Timeout | null;
}

export class AdmissionControl {
  readonly maxSockets: number;
  /** net.Server's own count of open sockets, or null when this Node lacks it (then `ownSocketCount` counts). */
  private server: NetServerCount | null = null;
  private ownSocketCount = 0;
  private headersTimedOutCount = 0;
  private acceptErrorCount = 0;
  private readonly refused: Record<AdmissionRefusal, number> = {
    'socket cap': 0,
    'pending per address': 0,
    'sessions per address': 0,
    draining: 0,
  };
  /** Set once by `stopAdmitting` (graceful drain): from then on no new WebSocket or transport socket is taken on. */
  private draining = false;
  private trackHeaders = true;
  private readonly awaitingHeaders = new Map<Socket, HeadersWait>();
  private readonly awaitingConnect = new Map<TransportSocket, string>();
  private readonly pendingByAddress = new Map<string, number>();
  /** Only filled when `maxSessionsPerAddress` is on. */
  private readonly sessionAddresses = new Map<string, string>();
  private readonly sessionsByAddress = new Map<string, number>();
  private readonly logOnce: OncePerWindowLog;
  /**
   * One listener shared by every socket (a closure per socket costs memory
   * at scale), and only until its request headers arrive: a 'close'
   * listener kept for the socket's life costs ~130 B of heap per connection.
   */
  private readonly onSocketClose: (this: Socket) => void;

  constructor(
    private readonly options: DdpServerOptions,
    private readonly log: Logger,
    openFileLimit: () => OpenFileLimit = readOpenFileLimit,
  ) {
    this.logOnce = new OncePerWindowLog(log, options.clientErrorLogIntervalMs);
    if (options.maxSockets > 0) {
      this.maxSockets = options.maxSockets;
    } else {
      const { limit, source, reason } = openFileLimit();
      this.maxSockets = automaticMaxSockets(limit, options.fileDescriptorHeadroom);
      const context = {
        openFileLimit: Number.isFinite(limit) ? limit : 'unlimited',
        fileDescriptorHeadroom: options.fileDescriptorHeadroom,
        maxSockets: Number.isFinite(this.maxSockets) ? this.maxSockets : 'unlimited',
      };
      if (source === 'proc') log.info('Socket cap from the open-file limit in /proc/self/limits', context);
      else log.warn('Open-file limit unreadable; socket cap from an assumed limit', { ...context, reason });
    }
    const admission = this;
    this.onSocketClose = function (this: Socket) {
      admission.socketClosed(this);
    };
  }

  get stats(): AdmissionStats {
    return {
      maxSockets: this.maxSockets,
      socketsOpen: this.socketsOpen(),
      awaitingHeaders: this.awaitingHeaders.size,
      awaitingConnect: this.awaitingConnect.size,
      refused: { ...this.refused },
      headersTimedOut: this.headersTimedOutCount,
      acceptErrors: this.acceptErrorCount,
    };
  }

  /** Register before any other listener of the server's `request` and `upgrade`. */
  attach(httpServer: HttpServer): void {
    const headersTimeoutMs = this.options.httpHeadersTimeoutMs;
    if (headersTimeoutMs > 0) {
      httpServer.headersTimeout = headersTimeoutMs;
      // Node expects requestTimeout (whole request, default 300 s) >= headersTimeout.
      if (httpServer.requestTimeout > 0 && httpServer.requestTimeout < headersTimeoutMs) httpServer.requestTimeout = headersTimeoutMs;
    }
    // On TLS, 'request' carries the TLS socket, not the TCP one seen at 'connection'.
    this.trackHeaders = !((httpServer as unknown) instanceof TlsServer);
    const server = httpServer as unknown as NetServerCount;
    this.server = typeof server._connections === 'number' ? server : null;
    httpServer.on('connection', (socket: Socket) => this.admitConnection(socket));
    httpServer.on('request', (req: IncomingMessage) => this.headersReceived(req.socket));
    httpServer.on('error', (error: NodeJS.ErrnoException) => this.serverError(httpServer, error));
  }

  /**
   * Graceful drain: refuse every new WebSocket (503) and transport socket
   * from now on, so clients reconnect to another instance. Not undone: a
   * draining process only exits.
   */
  stopAdmitting(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Before the WebSocket handshake: a client already at its pending cap gets 503 instead of a 101. */
  admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    this.headersReceived(req.socket);
    if (this.draining) {
      this.refuse('draining', null);
      refuseWith503(socket);
      return false;
    }
    const address = this.addressOf(req.socket.remoteAddress ?? null, req.headers as Record<string, string>);
    if (!this.pendingFull(address)) return true;
    this.refuse('pending per address', address);
    refuseWith503(socket);
    return false;
  }

  /** A transport socket is pending until `admitSession` or `releasePending`; false: close it. */
  admitTransportSocket(socket: TransportSocket): boolean {
    if (this.draining) {
      this.refuse('draining', null);
      return false;
    }
    const address = this.addressOf(socket.remoteAddress, socket.headers);
    if (this.pendingFull(address)) {
      this.refuse('pending per address', address);
      return false;
    }
    this.awaitingConnect.set(socket, address);
    this.addPending(address);
    return true;
  }

  /** The socket closed before (or without) a session. Idempotent. */
  releasePending(socket: TransportSocket): void {
    const address = this.awaitingConnect.get(socket);
    if (address === undefined) return;
    this.awaitingConnect.delete(socket);
    this.removePending(address);
  }

  /** After a successful `connect` negotiation; false: refuse (the socket stays pending until it closes). */
  admitSession(socket: TransportSocket, sessionId: string, clientAddress: string | null): boolean {
    if (this.draining) {
      this.refuse('draining', null);
      return false;
    }
    const cap = this.options.maxSessionsPerAddress;
    if (cap > 0) {
      const address = clientAddress ?? socket.remoteAddress ?? '';
      const sessions = this.sessionsByAddress.get(address) ?? 0;
      if (sessions >= cap) {
        this.refuse('sessions per address', address);
        return false;
      }
      this.sessionsByAddress.set(address, sessions + 1);
      this.sessionAddresses.set(sessionId, address);
    }
    this.releasePending(socket);
    return true;
  }

  sessionClosed(sessionId: string): void {
    const address = this.sessionAddresses.get(sessionId);
    if (address === undefined) return;
    this.sessionAddresses.delete(sessionId);
    decrement(this.sessionsByAddress, address);
  }

  /** Drop sockets that have not sent a request yet; the rest belong to the transports and the HTTP server. */
  close(): void {
    for (const socket of [...this.awaitingHeaders.keys()]) socket.destroy();
  }

  private admitConnection(socket: Socket): void {
    // This socket is already in net.Server's count.
    if ((this.server ? this.server._connections : this.ownSocketCount + 1) > this.maxSockets) {
      this.refuse('socket cap', null);
      return refuseWith503(socket);
    }
    const address = this.options.httpForwardedCount === 0 && this.trackHeaders ? (socket.remoteAddress ?? null) : null;
    if (address !== null && this.pendingFull(address)) {
      this.refuse('pending per address', address);
      return refuseWith503(socket);
    }
    if (!this.server) this.ownSocketCount++;
    // on(), not once(): once's wrapper would cost ~150 B more per socket.
    if (!this.server || this.trackHeaders) socket.on('close', this.onSocketClose);
    if (!this.trackHeaders) return;
    const timeoutMs = this.options.httpHeadersTimeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(headersTimedOut, timeoutMs, this, socket).unref() : null;
    if (address !== null) this.addPending(address);
    this.awaitingHeaders.set(socket, { address, timer });
  }

  /** @internal the socket sent no complete request headers in time */
  headersTimedOut(socket: Socket): void {
    if (!this.awaitingHeaders.has(socket)) return;
    this.headersTimedOutCount++;
    this.logOnce.note('debug', 'headers timeout', 'Closed sockets that sent no complete HTTP request headers in time', {
      httpHeadersTimeoutMs: this.options.httpHeadersTimeoutMs,
    });
    socket.write(REQUEST_TIMEOUT);
    socket.destroy();
  }

  private headersReceived(socket: Socket): void {
    const wait = this.awaitingHeaders.get(socket);
    if (!wait) return;
    this.awaitingHeaders.delete(socket);
    if (this.server) socket.removeListener('close', this.onSocketClose);
    if (wait.timer) clearTimeout(wait.timer);
    if (wait.address !== null) this.removePending(wait.address);
  }

  private socketClosed(socket: Socket): void {
    if (!this.server) this.ownSocketCount--;
    this.headersReceived(socket);
  }

  private socketsOpen(): number {
    return this.server ? this.server._connections : this.ownSocketCount;
  }

  private serverError(httpServer: HttpServer, error: NodeJS.ErrnoException): void {
    if (error.syscall === 'accept') {
      this.acceptErrorCount++;
      this.logOnce.note('warn', 'accept', 'Could not accept a connection; is maxSockets above the open-file limit?', {
        code: error.code,
        socketsOpen: this.socketsOpen(),
        maxSockets: this.maxSockets,
      });
      return;
    }
    // Not an accept error (say EADDRINUSE from listen): keep Node's default,
    // a throw, unless the server's owner listens for errors too.
    if (httpServer.listenerCount('error') <= 1) throw error;
    this.log.debug('HTTP server error', { code: error.code, syscall: error.syscall, error: error.message });
  }

  private addressOf(remoteAddress: string | null, headers: Record<string, string>): string {
    return resolveClientAddress(remoteAddress, headers, this.options.httpForwardedCount) ?? remoteAddress ?? '';
  }

  private pendingFull(address: string): boolean {
    const cap = this.options.maxPendingSocketsPerAddress;
    return cap > 0 && (this.pendingByAddress.get(address) ?? 0) >= cap;
  }

  private addPending(address: string): void {
    this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
  }

  private removePending(address: string): void {
    decrement(this.pendingByAddress, address);
  }

  private refuse(reason: AdmissionRefusal, address: string | null): void {
    this.refused[reason]++;
    const limit =
      reason === 'socket cap' || reason === 'draining'
        ? { maxSockets: this.maxSockets, socketsOpen: this.socketsOpen() }
        : reason === 'pending per address'
          ? { maxPendingSocketsPerAddress: this.options.maxPendingSocketsPerAddress }
          : { maxSessionsPerAddress: this.options.maxSessionsPerAddress };
    // Refusing during a drain is the plan, not a problem.
    this.logOnce.note(reason === 'draining' ? 'debug' : 'warn', `${reason} ${address ?? ''}`, REFUSAL_MESSAGES[reason], address === null ? limit : { address, ...limit });
  }
}

/**
 * net.Server's count of its open sockets: what `maxConnections` and
 * `getConnections()` read, incremented before 'connection' and decremented
 * when a socket is destroyed. Not public API, hence the fallback.
 */
interface NetServerCount {
  _connections: number;
}

function headersTimedOut(admission: AdmissionControl, socket: Socket): void {
  admission.headersTimedOut(socket);
}

/**
 * Answer without reading the request and close at once, so the descriptor is
 * free again right away. The reply is written before any request bytes are
 * read; a client that has sent its request by then still reads the 503.
 */
function refuseWith503(socket: Duplex): void {
  socket.write(SERVICE_UNAVAILABLE);
  socket.destroy();
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 0) - 1;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}

/**
 * At most one line per key (a reason and an address) per window; what was
 * left out is summed up in one line when the next window starts. At most
 * 100 keys per window, so an attacker with many addresses cannot grow it.
 */
class OncePerWindowLog {
  private windowStartedAt = Number.NEGATIVE_INFINITY;
  private readonly seen = new Map<string, number>();
  private overflow = 0;

  constructor(
    private readonly log: Logger,
    private readonly windowMs: number,
    private readonly maxKeys = 100,
  ) {}

  note(level: 'debug' | 'warn', key: string, message: string, context: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.windowStartedAt >= this.windowMs) this.startWindow(now);
    const suppressed = this.seen.get(key);
    if (suppressed !== undefined) {
      this.seen.set(key, suppressed + 1);
    } else if (this.seen.size >= this.maxKeys) {
      this.overflow++;
    } else {
      this.seen.set(key, 0);
      this.log[level](message, context);
    }
  }

  private startWindow(now: number): void {
    let suppressed = this.overflow;
    for (const count of this.seen.values()) suppressed += count;
    if (suppressed > 0) this.log.info('Admission events not logged in the last window', { suppressed, windowMs: this.windowMs });
    this.seen.clear();
    this.overflow = 0;
    this.windowStartedAt = now;
  }
}
