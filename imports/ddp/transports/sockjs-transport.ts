import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import sockjs from 'sockjs';
import type { Logger } from '../../log/logger';
import { pickExposedHeaders } from '../connection-handle';
import type { DdpServerOptions } from '../options';
import type { AcceptSocket, HttpTransport, TransportSocket } from './transport-socket';

/**
 * SockJS DDP endpoint under `<prefix>/sockjs`, on sockjs@0.3.24 with the
 * options Meteor uses, so Meteor's browser client and `sockjs-client` connect.
 *
 * sockjs itself has no size limit: frames are checked here, and HTTP POST
 * bodies (xhr_send and friends) over `maxFrameBytes` are refused with 413.
 */
export function createSockJsTransport(
  accept: AcceptSocket,
  options: DdpServerOptions,
  log: Logger,
): HttpTransport {
  const prefix = `${options.pathPrefix}/sockjs`;
  const server = sockjs.createServer({
    prefix,
    log: () => {},
    heartbeat_delay: 45_000,
    disconnect_delay: options.sockjsDisconnectDelayMs,
  } as sockjs.ServerOptions);
  const open = new Set<sockjs.Connection>();

  server.on('connection', (conn) => {
    if (!conn) return; // sockjs emits a null connection for aborted handshakes
    open.add(conn);
    const socket: TransportSocket = {
      transport: 'sockjs',
      remoteAddress: conn.remoteAddress ?? null,
      headers: pickExposedHeaders(conn.headers ?? {}),
      send: (frame) => void conn.write(frame),
      close: () => conn.close(),
    };
    const events = accept(socket);
    conn.on('data', (frame: string) => {
      if (Buffer.byteLength(frame, 'utf8') > options.maxFrameBytes) {
        log.warn('SockJS frame over maxFrameBytes; closing that socket', { bytes: Buffer.byteLength(frame, 'utf8') });
        conn.close(1009 as never, 'Message too big');
        return;
      }
      events.onFrame(frame);
    });
    conn.on('close', () => {
      open.delete(conn);
      events.onClose();
    });
  });

  // middleware() is the handler installHandlers would register; the server
  // routes to it so that the body limit below runs first.
  const sockjsHandler = (server as unknown as { middleware(): unknown }).middleware() as (req: IncomingMessage, resOrSocket: unknown, head?: unknown) => boolean;
  const underPrefix = (req: IncomingMessage) => (req.url ?? '').startsWith(prefix + '/') || (req.url ?? '') === prefix;

  return {
    handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
      if (!underPrefix(req)) return false;
      if (req.method === 'POST' && !withinBodyLimit(req, res, options.maxFrameBytes)) return true;
      return sockjsHandler(req, res) === true;
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      if (!underPrefix(req)) return false;
      return sockjsHandler(req, socket, head) === true;
    },
    close() {
      for (const conn of open) conn.close();
    },
  };
}

/**
 * Refuse (413) a declared Content-Length over the limit at once, and cut off
 * a body that streams past it; sockjs itself would buffer any size.
 */
function withinBodyLimit(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  const refuse = () => {
    if (!res.headersSent) res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' });
    res.end('Payload too large');
    req.socket.destroy();
  };
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    refuse();
    return false;
  }
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) refuse();
  });
  return true;
}
