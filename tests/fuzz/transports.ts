import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import WebSocket from 'ws';
import type { WireFrame } from './arbitraries';

/**
 * Raw drivers for the four ways a client reaches the DDP server, built for
 * the fuzzer: each sends frames exactly as given (no client library cleans
 * them up), and records every DDP message the server sends, flagging any
 * that breaks the wire contract:
 * - `/websocket` and `/sockjs/websocket`: one DDP message per text frame,
 *   which must be a JSON object with a string `msg`;
 * - SockJS session WebSocket (`/sockjs/<server>/<session>/websocket`) and
 *   xhr (`.../xhr` + `.../xhr_send`): SockJS framing (`o`, `h`, `a[...]`,
 *   `c[code,reason]`), where each string in `a[...]` is such a DDP message.
 *
 * Each channel can come from its own loopback address (127.x.y.z): the
 * server's per-address bounds (pending sockets, inbound bytes per second)
 * then meet one case's traffic, not the whole run's, and the health check's
 * fresh client, from an address of its own, stands for a bystander.
 *
 * Example: `const ch = await openChannel('websocket', url, '127.1.0.7'); await ch.sendFuzz(frame);`.
 * Caveat: the xhr driver long-polls; it polls only while waiting for an answer.
 */

export type TransportName = 'websocket' | 'sockjs-raw-websocket' | 'sockjs-session-websocket' | 'sockjs-xhr';
export const TRANSPORTS: readonly TransportName[] = ['websocket', 'sockjs-raw-websocket', 'sockjs-session-websocket', 'sockjs-xhr'];

export type ProbeOutcome = 'answered' | 'closed';

export interface FuzzChannel {
  readonly transport: TransportName;
  /** Every DDP message the server sent, parsed. */
  readonly messages: Array<Record<string, unknown>>;
  /** Wire-contract breaches seen so far (non-JSON frames, frames without a string `msg`, bad SockJS framing). */
  readonly violations: string[];
  /**
   * Server-side outcome once closed: a WebSocket close code, or an HTTP
   * status / SockJS close code. On WebSockets, known once the TCP
   * connection has ended (after `close()` at the latest).
   */
  readonly closeCode: number | null;
  readonly isClosed: boolean;
  /** Send a frame (or xhr_send body) as-is; a no-op once closed. */
  sendFuzz(frame: WireFrame): Promise<void>;
  /** Send one well-formed DDP message through this transport's framing. */
  sendDdp(msg: Record<string, unknown>): Promise<void>;
  /** Wait until a message matches, or the channel closes; rejects after `timeoutMs`. */
  waitFor(predicate: (msg: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<ProbeOutcome>;
  close(): Promise<void>;
}

/** Checks one DDP message text from the server; returns the parsed message or a violation. */
export function checkServerMessage(text: unknown): { msg: Record<string, unknown> } | { violation: string } {
  if (typeof text !== 'string') return { violation: `non-string DDP message ${JSON.stringify(text)}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { violation: `non-JSON frame ${JSON.stringify(text.slice(0, 200))}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { violation: `non-object frame ${text.slice(0, 200)}` };
  if (typeof (parsed as { msg?: unknown }).msg !== 'string') return { violation: `frame without a string msg ${text.slice(0, 200)}` };
  return { msg: parsed as Record<string, unknown> };
}

/** Base: message log, violation log, waiters. */
abstract class ChannelBase implements FuzzChannel {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly violations: string[] = [];
  closeCode: number | null = null;
  isClosed = false;
  private waiters = new Set<() => void>();

  constructor(readonly transport: TransportName) {}

  abstract sendFuzz(frame: WireFrame): Promise<void>;
  abstract sendDdp(msg: Record<string, unknown>): Promise<void>;
  abstract close(): Promise<void>;

  protected receiveDdpText(text: unknown): void {
    const checked = checkServerMessage(text);
    if ('violation' in checked) this.violations.push(checked.violation);
    else this.messages.push(checked.msg);
    this.wake();
  }

  protected markClosed(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeCode = code;
    this.wake();
  }

  protected wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves when woken (a message or close) or after `ms`. */
  protected nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Hook for transports that must ask for data (xhr polling). */
  protected async pump(_deadline: number): Promise<void> {
    await this.nap(Math.max(1, _deadline - Date.now()));
  }

  async waitFor(predicate: (msg: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<ProbeOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.messages.some(predicate)) return 'answered';
      if (this.isClosed) return 'closed';
      if (Date.now() >= deadline) {
        throw new Error(`${this.transport}: no ${what} within ${timeoutMs} ms, and the socket is still open (server hung?); got ${JSON.stringify(this.messages).slice(0, 500)}`);
      }
      await this.pump(deadline);
    }
  }
}

function wsPayload(frame: WireFrame): { data: string | Buffer; binary: boolean } {
  return frame.kind === 'text' ? { data: frame.text, binary: false } : { data: Buffer.from(frame.bytes), binary: frame.binary };
}

/** Create a `ws` client; listeners must be attached before it opens (a server may speak first). */
function createWebSocket(url: string, localAddress?: string): { ws: WebSocket; opened: Promise<void> } {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 2000, localAddress });
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`${url}: HTTP ${res.statusCode} instead of a WebSocket`));
      ws.terminate();
    });
  });
  return { ws, opened };
}

/** Shared by the three WebSocket transports; `decode` turns one server frame into DDP texts. */
class WebSocketChannel extends ChannelBase {
  constructor(
    transport: TransportName,
    private readonly ws: WebSocket,
    private readonly encodeDdp: (text: string) => string,
    decode: (frame: string, channel: WebSocketChannel) => void,
  ) {
    super(transport);
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.violations.push('binary frame from the server');
      decode(data.toString('utf8'), this);
    });
    ws.on('close', (code) => {
      this.markClosed(code);
      this.closeCode = code; // also when a close frame already marked it closed
    });
  }

  /**
   * A close frame from the server ends the conversation (readyState
   * CLOSING) even while the TCP connection lingers, e.g. until the server's
   * close-handshake timeout when it has paused reading this socket.
   */
  protected override async pump(deadline: number): Promise<void> {
    await this.nap(Math.max(1, Math.min(25, deadline - Date.now())));
    if (this.ws.readyState === WebSocket.CLOSING && !this.closing) this.markClosed(-1);
  }

  /** Whether we started the closing handshake ourselves. */
  private closing = false;

  /** @internal for decoders */
  deliver(text: unknown): void {
    this.receiveDdpText(text);
  }

  /** @internal for decoders */
  flag(violation: string): void {
    this.violations.push(violation);
  }

  async sendFuzz(frame: WireFrame): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const { data, binary } = wsPayload(frame);
    await new Promise<void>((resolve) => this.ws.send(data, { binary }, () => resolve()));
  }

  async sendDdp(msg: Record<string, unknown>): Promise<void> {
    await this.sendFuzz({ kind: 'text', text: this.encodeDdp(JSON.stringify(msg)) });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 1000);
    await closed;
    clearTimeout(timer);
  }
}

/** Parses SockJS framing: `o`, `h`, `a[...]`, `c[code,"reason"]`; returns the close code for `c`. */
function decodeSockJsFrame(frame: string, deliver: (text: unknown) => void, flag: (v: string) => void): number | null {
  if (frame === 'o' || frame === 'h') return null;
  const kind = frame[0];
  if (kind !== 'a' && kind !== 'c') {
    flag(`bad SockJS frame ${JSON.stringify(frame.slice(0, 200))}`);
    return null;
  }
  let body: unknown;
  try {
    body = JSON.parse(frame.slice(1));
  } catch {
    flag(`SockJS frame with broken JSON ${JSON.stringify(frame.slice(0, 200))}`);
    return null;
  }
  if (!Array.isArray(body)) {
    flag(`SockJS frame body is not an array ${JSON.stringify(frame.slice(0, 200))}`);
    return null;
  }
  if (kind === 'c') return typeof body[0] === 'number' ? body[0] : -1;
  for (const text of body) deliver(text);
  return null;
}

export function randomSockJsPath(): { server: string; session: string } {
  return { server: String(Math.floor(Math.random() * 1000)).padStart(3, '0'), session: randomBytes(4).toString('hex') };
}

async function openSessionWebSocket(baseUrl: string, localAddress?: string): Promise<FuzzChannel> {
  const { server, session } = randomSockJsPath();
  const { ws, opened: wsOpened } = createWebSocket(`${baseUrl.replace('http', 'ws')}/sockjs/${server}/${session}/websocket`, localAddress);
  let opened: () => void = () => {};
  const openFrame = new Promise<void>((resolve) => (opened = resolve));
  let first = true;
  const channel = new WebSocketChannel('sockjs-session-websocket', ws, (text) => JSON.stringify([text]), (frame, ch) => {
    if (first) {
      first = false;
      if (frame !== 'o') ch.flag(`first SockJS frame is not "o": ${JSON.stringify(frame.slice(0, 200))}`);
      opened();
      return;
    }
    decodeSockJsFrame(frame, (t) => ch.deliver(t), (v) => ch.flag(v));
  });
  ws.once('close', () => opened());
  await wsOpened;
  // The server speaks first ("o"); wait for it so the session exists before fuzzing.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    openFrame,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('SockJS session WebSocket: no "o" frame within 2 s')), 2000))),
  ]).finally(() => clearTimeout(timer));
  return channel;
}

/**
 * SockJS over xhr: `POST .../xhr` opens the session and then polls (one
 * response per request), `POST .../xhr_send` carries client payloads.
 */
class XhrChannel extends ChannelBase {
  private polling: Promise<void> | null = null;
  private readonly aborter = new AbortController();

  private constructor(
    private readonly base: string,
    private readonly localAddress: string | undefined,
  ) {
    super('sockjs-xhr');
  }

  static async open(baseUrl: string, localAddress?: string): Promise<XhrChannel> {
    const { server, session } = randomSockJsPath();
    const channel = new XhrChannel(`${baseUrl}/sockjs/${server}/${session}`, localAddress);
    const res = await post(`${channel.base}/xhr`, { localAddress, timeoutMs: 2000 });
    if (res.status !== 200 || res.body !== 'o\n') throw new Error(`SockJS xhr open: HTTP ${res.status} ${JSON.stringify(res.body.slice(0, 200))}`);
    return channel;
  }

  private handleBody(body: string): void {
    for (const line of body.split('\n')) {
      if (line === '') continue;
      const code = decodeSockJsFrame(line, (t) => this.receiveDdpText(t), (v) => this.violations.push(v));
      if (code !== null) this.markClosed(code);
    }
    this.wake();
  }

  private poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        const res = await post(`${this.base}/xhr`, { localAddress: this.localAddress, signal: this.aborter.signal });
        if (res.status !== 200) this.markClosed(res.status);
        else this.handleBody(res.body);
      } catch (error) {
        if (!this.aborter.signal.aborted) this.markClosed(-1);
        void error;
      } finally {
        this.polling = null;
        this.wake();
      }
    })();
    return this.polling;
  }

  protected override async pump(deadline: number): Promise<void> {
    void this.poll();
    await this.nap(Math.max(1, deadline - Date.now()));
  }

  async sendFuzz(frame: WireFrame): Promise<void> {
    if (this.isClosed) return;
    const body = frame.kind === 'text' ? frame.text : Buffer.from(frame.bytes);
    let res: { status: number; body: string };
    try {
      res = await post(`${this.base}/xhr_send`, {
        body,
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        localAddress: this.localAddress,
        timeoutMs: 2000,
      });
    } catch (error) {
      if (error instanceof XhrTimeout) throw error; // the server did not answer: a hang
      // A refused body can be cut off mid-send (the server destroys the
      // socket after its 413); a dead server shows in the health check.
      return this.markClosed(-2);
    }
    // 204 delivered; 500 is SockJS's answer to a malformed payload; 413 the
    // body limit; 404 a closed session; 429 the sender's inbound budget.
    if (![204, 500, 413, 404, 429].includes(res.status)) this.violations.push(`xhr_send answered HTTP ${res.status}`);
    if (res.status === 404 || res.status === 429) this.markClosed(res.status);
  }

  async sendDdp(msg: Record<string, unknown>): Promise<void> {
    await this.sendFuzz({ kind: 'text', text: JSON.stringify([JSON.stringify(msg)]) });
  }

  /**
   * SockJS has no client-side close for xhr: the server keeps an abandoned
   * session until `connectDeadlineMs` (not connected) or its heartbeat gives
   * up, and sessions not yet connected count against
   * `maxPendingSocketsPerAddress`. A `connect` the server must refuse makes it
   * close a session still waiting for one; a connected session just answers
   * "Already connected".
   */
  async close(): Promise<void> {
    if (!this.isClosed) await this.sendDdp({ msg: 'connect', version: 'fuzz-close', support: [] }).catch(() => {});
    this.aborter.abort();
    await this.polling;
    this.isClosed = true;
  }
}

class XhrTimeout extends Error {}

/** One HTTP POST on a connection of its own (so each can have its own source address). */
function post(
  url: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; localAddress?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: options.headers, localAddress: options.localAddress, signal: options.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new XhrTimeout(`${url}: no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function openChannel(transport: TransportName, baseUrl: string, localAddress?: string): Promise<FuzzChannel> {
  switch (transport) {
    case 'websocket':
    case 'sockjs-raw-websocket': {
      const path = transport === 'websocket' ? '/websocket' : '/sockjs/websocket';
      const { ws, opened } = createWebSocket(baseUrl.replace('http', 'ws') + path, localAddress);
      const channel = new WebSocketChannel(transport, ws, (t) => t, (frame, ch) => ch.deliver(frame));
      await opened;
      return channel;
    }
    case 'sockjs-session-websocket':
      return openSessionWebSocket(baseUrl, localAddress);
    case 'sockjs-xhr':
      return XhrChannel.open(baseUrl, localAddress);
  }
}

export const CONNECT_MESSAGE = { msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] } as const;

/** A loopback address for the n-th fuzz case: 127.1.0.1 and on, cycling (the bystander uses 127.0.0.2). */
export function caseSourceAddress(n: number): string {
  const host = (n % 65_534) + 1;
  return `127.1.${host >> 8}.${host & 255}`;
}
