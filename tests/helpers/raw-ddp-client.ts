import WebSocket from 'ws';

/**
 * A raw WebSocket DDP client for exact wire checks: every frame the server
 * sends is kept, in order, and `next()` waits for the next one.
 */
export class RawDdpClient {
  readonly frames: Array<Record<string, unknown>> = [];
  readonly rawFrames: string[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.rawFrames.push(text);
      this.frames.push(JSON.parse(text));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      for (const w of this.waiters.splice(0)) w();
      resolve({ code, reason: reason.toString() });
    }));
    ws.on('error', () => {});
  }

  static async open(url: string, headers: Record<string, string> = {}, options: { localAddress?: string } = {}): Promise<RawDdpClient> {
    const ws = new WebSocket(url, { headers, ...options });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawDdpClient(ws);
  }

  /** Open and complete the DDP handshake; returns the session id. */
  static async connect(
    url: string,
    headers: Record<string, string> = {},
    options: { localAddress?: string } = {},
  ): Promise<{ client: RawDdpClient; session: string }> {
    const client = await RawDdpClient.open(url, headers, options);
    client.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    const connected = await client.next();
    if (connected.msg !== 'connected') throw new Error(`expected connected, got ${JSON.stringify(connected)}`);
    return { client, session: connected.session as string };
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** The next frame not yet consumed, skipping server pings unless asked for. */
  async next(timeoutMs = 2000, { skipPings = true } = {}): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++]!;
        if (skipPings && frame.msg === 'ping') continue;
        return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for a frame matching `predicate`, consuming the ones before it. */
  async until(predicate: (f: Record<string, unknown>) => boolean, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      if (predicate(frame)) return frame;
    }
  }

  /** Resolve if no frame arrives for `ms` (pings excluded), else reject. */
  async expectSilence(ms = 150): Promise<void> {
    const before = this.frames.filter((f) => f.msg !== 'ping').length;
    await new Promise((r) => setTimeout(r, ms));
    const after = this.frames.filter((f) => f.msg !== 'ping');
    if (after.length !== before) throw new Error(`unexpected frame ${JSON.stringify(after.at(-1))}`);
  }

  close(): void {
    this.ws.close();
  }

  private nextCallId = 0;

  /** Call a method; resolves with its `result` frame (whether it carries a result or an error). */
  async call(method: string, ...params: unknown[]): Promise<Record<string, unknown>> {
    const id = `call-${++this.nextCallId}`;
    this.send({ msg: 'method', id, method, params });
    return this.until((f) => f.msg === 'result' && f.id === id, 8000);
  }

  /** A ping's round trip in ms: the server answers pings outside the session queue, so this measures its event loop. */
  async pingRoundTrip(timeoutMs = 8000): Promise<number> {
    const id = `ping-${++this.nextCallId}`;
    const started = performance.now();
    this.send({ msg: 'ping', id });
    await this.until((f) => f.msg === 'pong' && f.id === id, timeoutMs);
    return performance.now() - started;
  }
}

/** The documents a raw client holds in `collection` (replaying its added/changed/removed frames), by id. */
export function liveRecords(client: RawDdpClient, collection = 'connectedUsers'): Map<string, Record<string, unknown>> {
  const records = new Map<string, Record<string, unknown>>();
  for (const f of client.frames) {
    if (f.collection !== collection) continue;
    if (f.msg === 'added') records.set(f.id as string, { ...(f.fields as object) });
    if (f.msg === 'changed') {
      const doc = records.get(f.id as string) ?? {};
      Object.assign(doc, f.fields);
      for (const key of (f.cleared as string[] | undefined) ?? []) delete doc[key];
    }
    if (f.msg === 'removed') records.delete(f.id as string);
  }
  return records;
}
