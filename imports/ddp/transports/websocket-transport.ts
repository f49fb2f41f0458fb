import type { IncomingMessage } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../log/logger';
import { pickExposedHeaders } from '../connection-handle';
import type { DdpServerOptions } from '../options';
import { corkUntilNextTick } from './cork-until-next-tick';
import type { AcceptSocket, HttpTransport, TransportSocket, TransportSocketEvents } from './transport-socket';

/**
 * Raw WebSocket DDP endpoint at `<prefix>/websocket`, on `ws`.
 *
 * Frames over `maxFrameBytes` make ws close that socket with 1009; a client
 * that stops reading is cut off at `maxBufferedBytesPerSocket` so it cannot
 * grow the server's memory. Per-socket state is one small object and the
 * listeners are shared functions (no closures per connection): at tens of
 * thousands of sockets, each closure costs real memory.
 *
 * Frames sent in one run of JavaScript leave in one write (corkUntilNextTick):
 * ws writes every frame with its own writev, and 50 full-list monitors at
 * 19,000 connections (950,000 `added`) spent 13.5 s of 16.7 s in those
 * syscalls (issue 11). The bytes and their order are unchanged.
 */
const kSocket = Symbol('ddpTransportSocket');
type TaggedWebSocket = WebSocket & { [kSocket]: WebSocketTransportSocket };

class WebSocketTransportSocket implements TransportSocket {
  readonly transport = 'websocket' as const;
  events: TransportSocketEvents | null = null;
  /** Whether any frame went out; a DDP session's first is `connected`. */
  private sentAny = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string | null,
    readonly headers: Record<string, string>,
    private readonly maxBufferedBytes: number,
  ) {}

  send(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      this.events?.onNotReading(ws.bufferedAmount);
      ws.terminate();
      return;
    }
    this.sentAny = true;
    const tcp = (ws as unknown as { _socket?: Writable })._socket; // ws@8's own socket, as ws.bufferedAmount reads it
    if (tcp) corkUntilNextTick(tcp);
    ws.send(frame);
  }

  pauseReading(ms: number): void {
    const ws = this.ws;
    if (ws.isPaused || ws.readyState !== ws.OPEN) return;
    ws.pause();
    setTimeout(resumeReading, ms, ws).unref();
  }

  resumeReading(): void {
    resumeReading(this.ws);
  }

  close(): void {
    const ws = this.ws;
    // Never sent a frame, so never had a session (a silent socket at the
    // connect deadline, or one refused by admission control): drop it now.
    // ws.close() would hold it up to 30 s for a close frame such a peer never sends.
    if (!this.sentAny) ws.terminate();
    else if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      // A socket paused for backpressure would never read the peer's close frame (found by the fuzz suite: 5 s held).
      if (ws.isPaused) ws.resume();
      ws.close();
    }
  }
}

// DDP is text; a binary frame is read as UTF-8 like a text one.
function onMessage(this: WebSocket, data: RawData): void {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  (this as TaggedWebSocket)[kSocket].events?.onFrame(bytes.toString('utf8'));
}

function resumeReading(ws: WebSocket): void {
  if (ws.readyState === ws.OPEN) ws.resume();
}

function onClose(this: WebSocket): void {
  (this as TaggedWebSocket)[kSocket].events?.onClose();
}

export function createWebSocketTransport(accept: AcceptSocket, options: DdpServerOptions, log: Logger): HttpTransport {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
    closeTimeout: options.closeHandshakeTimeoutMs,
  } as ConstructorParameters<typeof WebSocketServer>[0]);
  const paths = new Set([`${options.pathPrefix}/websocket`, `${options.pathPrefix}/websocket/`]);
  // Shared by every socket (`this` is the socket): no closure per connection.
  function onError(this: WebSocket, error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') (this as TaggedWebSocket)[kSocket].events?.onFrameTooLarge();
    log.debug('WebSocket error', { error: error.message });
  }

  const bind = (ws: WebSocket, req: IncomingMessage) => {
    const socket = new WebSocketTransportSocket(
      ws,
      req.socket.remoteAddress ?? null,
      pickExposedHeaders(req.headers),
      options.maxBufferedBytesPerSocket,
    );
    (ws as TaggedWebSocket)[kSocket] = socket;
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    socket.events = accept(socket);
  };

  return {
    handleRequest: () => false,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const pathname = (req.url ?? '').split('?')[0]!;
      if (!paths.has(pathname)) return false;
      wss.handleUpgrade(req, socket, head, (ws) => bind(ws, req));
      return true;
    },
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
