import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import sockjs from 'sockjs';
import type { Logger } from '../../log/logger';
import { pickExposedHeaders } from '../connection-handle';
import type { DdpServerOptions } from '../options';
import { corkUntilNextTick } from './cork-until-next-tick';
import type { AcceptSocket, HttpTransport, TransportSocket, TransportSocketEvents } from './transport-socket';

/**
 * SockJS DDP endpoint under `<prefix>/sockjs`, on sockjs@0.3.24 with the
 * options Meteor uses, so Meteor's browser client and `sockjs-client` connect.
 *
 * Bounds, the same as on /websocket:
 * - inbound: WebSocket frames over `maxFrameBytes` are refused by
 *   faye-websocket before they are buffered (close 1009); HTTP POST bodies
 *   (xhr_send and friends) over it get 413;
 * - outbound: a session whose unsent bytes pass `maxBufferedBytesPerSocket`
 *   (an xhr client that stopped polling, a WebSocket that stopped reading)
 *   is closed and its queued frames dropped.
 * sockjs emits every parsed JSON value as `data`, whatever its type; a value
 * that is not a string is answered as DDP answers any non-object frame.
 * Only RFC 6455 WebSockets are accepted (not the draft-75/76 handshakes
 * faye-websocket would also speak).
 * Frames sent in one run of JavaScript leave in one TCP write, as on
 * /websocket (cork-until-next-tick.ts): the receiver's socket is corked
 * under sockjs, whose framing (one `a[...]` per message) is unchanged.
 */
/** The sender's inbound budget (inbound-budget.ts), by request. */
export interface InboundMeter {
  /** How many ms the sender must wait before it may send more; 0: go ahead. */
  waitFor(req: IncomingMessage): number;
  charge(req: IncomingMessage, bytes: number): void;
}

const UNMETERED: InboundMeter = { waitFor: () => 0, charge: () => {} };

export function createSockJsTransport(accept: AcceptSocket, options: DdpServerOptions, log: Logger, meter: InboundMeter = UNMETERED): HttpTransport {
  const prefix = `${options.pathPrefix}/sockjs`;
  const server = sockjs.createServer({
    prefix,
    log: () => {},
    heartbeat_delay: 45_000,
    disconnect_delay: options.sockjsDisconnectDelayMs,
    faye_server_options: { maxLength: options.maxFrameBytes },
  } as sockjs.ServerOptions);
  const open = new Set<SockJsTransportSocket>();

  server.on('connection', (conn: sockjs.Connection | null) => {
    if (!conn) return; // sockjs emits a null connection for aborted handshakes
    const socket = new SockJsTransportSocket(conn, options.maxBufferedBytesPerSocket, log);
    open.add(socket);
    socket.events = accept(socket);
    conn.on('data', (frame: unknown) => socket.received(frame));
    // faye-websocket refuses a frame over maxLength with close code 1009; the DDP layer counts those bytes too.
    const faye = socket.fayeSocket();
    faye?.on('close', (event: { code?: number }) => {
      if (event.code === 1009) socket.events?.onFrameTooLarge();
    });
    // Every WebSocket frame counts, here: sockjs turns `[]` into no message at all, which the DDP layer never sees.
    faye?.on('message', (event: { data?: { length?: number } }) => socket.events?.onRawFrame(event.data?.length ?? 0));
    conn.on('close', () => {
      open.delete(socket);
      socket.closed();
    });
  });

  // middleware() is the handler installHandlers would register; the server
  // routes to it so that the checks below run first.
  const sockjsHandler = (server as unknown as { middleware(): unknown }).middleware() as (req: IncomingMessage, resOrSocket: unknown, head?: unknown) => boolean;
  const underPrefix = (req: IncomingMessage) => (req.url ?? '').startsWith(prefix + '/') || (req.url ?? '') === prefix;

  return {
    handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
      if (!underPrefix(req)) return false;
      if (req.method === 'POST') {
        const waitMs = meter.waitFor(req);
        if (waitMs > 0) {
          res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(Math.ceil(waitMs / 1000)), connection: 'close' });
          res.end('Too many bytes from this address; slow down');
          req.socket.destroy();
          return true;
        }
        // Every body byte counts, here: sockjs also parses posts to a session that is already closing, which never reach the DDP layer.
        meter.charge(req, options.frameCostBytes);
        if (!withinBodyLimit(req, res, options.maxFrameBytes, (bytes) => meter.charge(req, bytes))) return true;
      }
      return sockjsHandler(req, res) === true;
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      if (!underPrefix(req)) return false;
      if (!isRfc6455(req)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      return sockjsHandler(req, socket, head) === true;
    },
    close() {
      for (const socket of open) socket.close();
    },
  };
}

interface FayeSocket {
  on(event: 'close', listener: (event: { code?: number }) => void): void;
  on(event: 'message', listener: (event: { data?: { length?: number } }) => void): void;
}

/** The private parts of sockjs@0.3.24's session this transport reads to bound its buffer (the version is pinned). */
interface SockJsSessionInternals {
  send_buffer?: string[];
  /** The faye-websocket of a raw /sockjs/websocket session. */
  ws?: FayeSocket;
  recv?: {
    protocol?: string;
    ws?: FayeSocket;
    /** The TCP socket of a WebSocket receiver. */
    connection?: { writableLength?: number; destroy?(): void; pause?(): void; resume?(): void } & Partial<Writable>;
    /** The HTTP response of a streaming or polling receiver (xhr-streaming, eventsource, …). */
    response?: { connection?: (Partial<Writable> & object) | null };
  } | null;
}

class SockJsTransportSocket implements TransportSocket {
  readonly transport = 'sockjs' as const;
  readonly remoteAddress: string | null;
  /** HTTP transports' bodies are metered as they arrive (see handleRequest); WebSocket frames by the DDP layer. */
  readonly inboundMeteredByTransport: boolean;
  readonly headers: Record<string, string>;
  events: TransportSocketEvents | null = null;
  /** Bytes written since sockjs's send buffer was last seen empty: what an xhr client has not fetched yet. */
  private unfetchedBytes = 0;
  private isClosed = false;
  private sentAny = false;

  constructor(
    private readonly conn: sockjs.Connection,
    private readonly maxBufferedBytes: number,
    private readonly log: Logger,
  ) {
    this.remoteAddress = conn.remoteAddress ?? null;
    this.inboundMeteredByTransport = true; // HTTP bodies in handleRequest, WebSocket frames by their faye 'message'
    this.headers = pickExposedHeaders(conn.headers ?? {});
  }

  received(frame: unknown): void {
    // Raw /sockjs/websocket delivers binary frames as Buffers; read them as UTF-8 text, as on /websocket.
    if (Buffer.isBuffer(frame)) frame = frame.toString('utf8');
    if (typeof frame === 'string') this.events?.onFrame(frame);
    else this.events?.onNonStringFrame();
  }

  send(frame: string): void {
    if (this.isClosed) return;
    const session = this.session;
    if (session.send_buffer && session.send_buffer.length === 0) this.unfetchedBytes = 0;
    const unsent = this.unfetchedBytes + (session.recv?.connection?.writableLength ?? 0);
    if (unsent > this.maxBufferedBytes) {
      this.events?.onNotReading(unsent);
      session.send_buffer = []; // free what it never fetched now, not after sockjs's disconnect delay
      this.close();
      return;
    }
    const tcp = session.recv?.connection ?? session.recv?.response?.connection;
    if (tcp && typeof tcp.cork === 'function') corkUntilNextTick(tcp as Writable);
    this.conn.write(frame);
    this.sentAny = true;
    if (session.send_buffer && session.send_buffer.length > 0) this.unfetchedBytes += frame.length;
  }

  pauseReading(ms: number): void {
    const tcp = this.session.recv?.protocol?.startsWith('websocket') ? this.session.recv.connection : undefined;
    if (!tcp?.pause || !tcp.resume) return; // xhr: the next POST is refused with 429 instead
    tcp.pause();
    setTimeout(() => tcp.resume!(), ms).unref();
  }

  resumeReading(): void {
    const tcp = this.session.recv?.protocol?.startsWith('websocket') ? this.session.recv.connection : undefined;
    tcp?.resume?.();
  }

  close(): void {
    if (this.isClosed) return;
    // Not now: sockjs may be inside its loop over one frame's messages, and
    // closing the session under it nulls what the loop reads next (a crash
    // found by the fuzz suite: `["{\"msg\":\"connect\"}","{}"]`).
    setImmediate(closeSockJsSession, this.conn, this.session.recv, this.sentAny, this.log);
    // An xhr session without a receiver reports its close only after the
    // disconnect delay; the DDP session ends now.
    this.closed();
  }

  /** @internal sockjs reported the close, or we closed it: tell the DDP layer once. */
  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.events?.onClose();
  }

  /** The faye-websocket under this session, when it is a WebSocket one. */
  fayeSocket(): FayeSocket | undefined {
    return this.session.ws ?? this.session.recv?.ws;
  }

  private get session(): SockJsSessionInternals {
    return (this.conn as unknown as { _session: SockJsSessionInternals })._session;
  }
}

function closeSockJsSession(conn: sockjs.Connection, recv: SockJsSessionInternals['recv'], sentAny: boolean, log: Logger): void {
  try {
    // A WebSocket that never got a DDP frame has no session to say goodbye
    // to: drop its TCP socket now rather than wait ~30 s for a close frame.
    if (!sentAny && recv?.protocol?.startsWith('websocket')) recv.connection?.destroy?.();
    recv?.connection?.resume?.(); // paused for backpressure, it would never read the close reply
    conn.close();
  } catch (error) {
    log.debug('SockJS close failed', { error: (error as Error).message });
  }
}

function isRfc6455(req: IncomingMessage): boolean {
  const version = req.headers['sec-websocket-version'];
  return version === '13' || version === '8';
}

/**
 * Refuse (413) a declared Content-Length over the limit at once, and cut off
 * a body that streams past it; sockjs itself would buffer any size.
 */
function withinBodyLimit(req: IncomingMessage, res: ServerResponse, limit: number, received: (bytes: number) => void): boolean {
  const refuse = () => {
    if (!res.headersSent) res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' });
    res.end('Payload too large');
    req.socket.destroy();
  };
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    refuse();
    return false;
  }
  let receivedBytes = 0;
  req.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
    received(chunk.length);
    if (receivedBytes > limit) refuse();
  });
  return true;
}
