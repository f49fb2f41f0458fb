import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../log/logger';
import { pickExposedHeaders } from '../connection-handle';
import type { DdpServerOptions } from '../options';
import type { AcceptSocket, HttpTransport, TransportSocket } from './transport-socket';

/**
 * Raw WebSocket DDP endpoint at `<prefix>/websocket`, on `ws`.
 *
 * Frames over `maxFrameBytes` make ws close that socket with 1009; a client
 * that stops reading is cut off at `maxBufferedBytesPerSocket` so it cannot
 * grow the server's memory.
 */
export function createWebSocketTransport(
  accept: AcceptSocket,
  options: DdpServerOptions,
  log: Logger,
): HttpTransport {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false });
  const paths = new Set([`${options.pathPrefix}/websocket`, `${options.pathPrefix}/websocket/`]);


  const bind = (ws: WebSocket, req: IncomingMessage) => {
    const socket: TransportSocket = {
      transport: 'websocket',
      remoteAddress: req.socket.remoteAddress ?? null,
      headers: pickExposedHeaders(req.headers),
      send(frame) {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > options.maxBufferedBytesPerSocket) {
          log.warn('Client is not reading; closing its socket', { bufferedBytes: ws.bufferedAmount });
          ws.terminate();
          return;
        }
        ws.send(frame);
      },
      close() {
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
      },
    };
    const events = accept(socket);
    // DDP is text; a binary frame is read as UTF-8 like a text one.
    ws.on('message', (data) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      events.onFrame(bytes.toString('utf8'));
    });
    ws.on('error', (error) => log.debug('WebSocket error', { error: error.message }));
    ws.on('close', () => events.onClose());
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
