/**
 * The few WebSocket moves the attacks share, on `ws`: open from a source
 * address, wait for the next matching message, and write pre-built frames
 * in one socket write (ws itself writes each `send` separately).
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Deadline } from './deadline';

/**
 * A server that speaks first (SockJS's `o`) can have its frame arrive with
 * the 101 response, parsed before `open`'s awaiter runs; so the first
 * message is caught from the start.
 */
const firstMessages = new WeakMap<WebSocket, Promise<Received>>();

/** Resolves once open; rejects with the refusal (HTTP status, reset, refused). */
export function openWebSocket(url: string, localAddress: string, deadline: Deadline): Promise<WebSocket> {
  const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: 10_000 });
  firstMessages.set(ws, new Promise((resolve) => {
    ws.once('message', (data) => resolve({ text: data.toString() }));
    ws.once('close', () => resolve({ closed: true }));
  }));
  const opened = new Promise<WebSocket>((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
  ws.on('error', () => {}); // errors after open surface as 'close'
  return deadline.race(opened.catch((error: Error) => error), null).then((open) => {
    if (open instanceof Error) throw open;
    if (open) return open;
    ws.terminate();
    throw new Error('deadline before open');
  });
}

export type Received = { text: string } | { closed: true } | { timeout: true };

/** The next message that matches, the socket closing, or a timeout (capMs or the deadline). */
export function nextMessage(ws: WebSocket, matches: (text: string) => boolean, deadline: Deadline, capMs: number): Promise<Received> {
  if (ws.readyState !== WebSocket.OPEN) return Promise.resolve({ closed: true });
  let cleanup = () => {};
  const received = new Promise<Received>((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const text = data.toString();
      if (text.startsWith('{"msg":"ping"')) ws.send('{"msg":"pong"}');
      if (matches(text)) resolve({ text });
    };
    const onClose = () => resolve({ closed: true });
    ws.on('message', onMessage);
    ws.once('close', onClose);
    cleanup = () => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
  });
  return deadline.race(received, { timeout: true } as const, capMs).finally(() => cleanup());
}

/** The first message the server sent on a socket from openWebSocket, even if it came with the handshake. */
export function firstMessage(ws: WebSocket, deadline: Deadline, capMs: number): Promise<Received> {
  return deadline.race(firstMessages.get(ws)!, { timeout: true } as const, capMs);
}

/**
 * Client-to-server text frames (RFC 6455 §5.2), masked with an all-zero key
 * so the payload bytes stay as they are, concatenated into one buffer.
 */
export function maskedTextFrames(texts: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of texts) {
    const payload = Buffer.from(text, 'utf8');
    const n = payload.length;
    const header = n < 126 ? Buffer.alloc(2) : n < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
    header[0] = 0x81; // FIN + text
    if (n < 126) header[1] = 0x80 | n;
    else if (n < 65_536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(n, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    parts.push(header, Buffer.alloc(4), payload);
  }
  return Buffer.concat(parts);
}

/** The TCP socket under a `ws` client (a private field ws has always had). */
export function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

export const DDP_CONNECT = JSON.stringify({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });

/** A DDP session over /websocket: resolves after `connected`. */
export async function openDdpSession(target: { host: string; port: number; localAddress: string }, deadline: Deadline): Promise<WebSocket> {
  const ws = await openWebSocket(`ws://${target.host}:${target.port}/websocket`, target.localAddress, deadline);
  ws.send(DDP_CONNECT);
  const first = await nextMessage(ws, () => true, deadline, 10_000);
  if (!('text' in first) || !first.text.startsWith('{"msg":"connected"')) {
    ws.terminate();
    throw new Error(`DDP connect: ${'text' in first ? first.text.slice(0, 80) : 'closed' in first ? 'closed' : 'timeout'}`);
  }
  return ws;
}
