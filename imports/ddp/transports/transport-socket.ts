/**
 * The one shape both transports (raw WebSocket, SockJS) present to the DDP
 * layer: text frames in, text frames out, and who is on the other end.
 */
export interface TransportSocket {
  readonly transport: 'websocket' | 'sockjs';
  readonly remoteAddress: string | null;
  /** True when the transport charges inbound bytes to the sender's budget itself (SockJS over HTTP). */
  readonly inboundMeteredByTransport?: boolean;
  /** Already reduced to the exposed whitelist. */
  readonly headers: Record<string, string>;
  send(frame: string): void;
  close(): void;
  /** Stop reading from the client for this long (TCP backpressure); a no-op where the transport cannot (SockJS xhr). */
  pauseReading(ms: number): void;
  /** Read again now (before a pause's time is up). */
  resumeReading(): void;
}

export interface TransportSocketEvents {
  onFrame(frame: string): void;
  /** A transport that parses its own framing (SockJS) received a value that is not a string. */
  onNonStringFrame(): void;
  /** A transport that parses its own framing (SockJS over WebSocket) received a raw frame of this many bytes, whatever it holds. */
  onRawFrame(bytes: number): void;
  /** The transport refused a frame over `maxFrameBytes` before buffering it, and closes the socket. */
  onFrameTooLarge(): void;
  /** The client left more than `maxBufferedBytes` unread; the transport closes the socket right after. */
  onNotReading(bufferedBytes: number): void;
  /** Called once per socket. */
  onClose(): void;
}

/** Called by a transport for each new socket; returns where its events go. */
export type AcceptSocket = (socket: TransportSocket) => TransportSocketEvents;

/** A transport as the HTTP server sees it: it claims the requests it serves. */
export interface HttpTransport {
  handleRequest(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): boolean;
  handleUpgrade(req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): boolean;
  close(): void;
}
