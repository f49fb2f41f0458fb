/**
 * A group of monitors for the `monitors` bench section: raw-`ws` DDP clients
 * that each subscribe to `list.connectedUsers` with the same params. `open`
 * completes every DDP handshake first and only then sends every `sub` in one
 * synchronous loop, so the server sees the subscriptions arrive together (the
 * burst issue 11 is about), and times each until its `ready`.
 *
 * Why frames are matched by prefix, not parsed: a full-list monitor receives
 * one `added` per held connection (19,000 × 50 in the ping test); parsing
 * them all would spend the CPU the server under test shares.
 *
 * Example: `const group = new MonitorGroup(url, '127.0.3.10'); await group.open(20, [{ token, limit: 100 }], 60_000);`
 * Caveat: one group per worker process; `close()` before the next `open`.
 */
import WebSocket from 'ws';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';

export interface MonitorGroupReport {
  opened: number;
  ready: number;
  /** From the `sub` loop to the last `ready` (null if some never came). */
  allReadyMs: number | null;
  /** `added` frames of the list's collection each ready monitor had received by its `ready`. */
  docsMin: number | null;
  docsMax: number | null;
  firstError?: string;
}

const CONNECT = JSON.stringify({ msg: 'connect', version: '1', support: ['1'] });
const PONG = '{"msg":"pong"}';
const SUB_ID = 'm';
/** Enough of a frame to tell its `msg` (and an `added`'s collection) apart. */
const head = (data: Buffer) => data.toString('utf8', 0, 64);

interface Monitor {
  ws: WebSocket;
  docs: number;
  readyAt: number | null;
  docsAtReady: number;
  /** Every frame after `connected` but pings: set by `open`. */
  onFrame?: (head: string, data: Buffer) => void;
}

export class MonitorGroup {
  private monitors: Monitor[] = [];

  constructor(private readonly url: string, private readonly localAddress: string) {}

  async open(count: number, params: unknown[], readyTimeoutMs: number, collection: string = PRESENCE_NAMES.collection): Promise<MonitorGroupReport> {
    const errors: string[] = [];
    const settled = await Promise.allSettled(Array.from({ length: count }, () => this.connect()));
    for (const s of settled) {
      if (s.status === 'fulfilled') this.monitors.push(s.value);
      else errors.push((s.reason as Error).message);
    }
    const addedPrefix = `{"msg":"added","collection":"${collection}"`;
    const sub = JSON.stringify({ msg: 'sub', id: SUB_ID, name: PRESENCE_NAMES.listPublication, params });
    let resolveAll!: () => void;
    const allReady = new Promise<void>((r) => (resolveAll = r));
    let pending = this.monitors.length;
    const started = performance.now();
    for (const m of this.monitors) {
      m.onFrame = (text, data) => {
        if (text.startsWith(addedPrefix)) return void m.docs++;
        if (text.startsWith('{"msg":"ready"') && m.readyAt === null) {
          m.readyAt = performance.now();
          m.docsAtReady = m.docs;
          if (--pending === 0) resolveAll();
        } else if (text.startsWith('{"msg":"nosub"')) errors.push(`nosub: ${data.toString().slice(0, 160)}`);
      };
      m.ws.send(sub);
    }
    if (pending === 0) resolveAll();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allReady, new Promise((r) => (timer = setTimeout(r, readyTimeoutMs)))]);
    clearTimeout(timer);
    const ready = this.monitors.filter((m) => m.readyAt !== null);
    const docs = ready.map((m) => m.docsAtReady);
    return {
      opened: this.monitors.length,
      ready: ready.length,
      allReadyMs: ready.length === count ? Math.max(...ready.map((m) => m.readyAt! - started)) : null,
      docsMin: docs.length ? Math.min(...docs) : null,
      docsMax: docs.length ? Math.max(...docs) : null,
      ...(errors.length ? { firstError: errors[0] } : {}),
    };
  }

  async close(): Promise<{ closed: number }> {
    const all = this.monitors.splice(0);
    await Promise.all(all.map((m) => new Promise<void>((r) => (m.ws.readyState === WebSocket.CLOSED ? r() : (m.ws.once('close', () => r()), m.ws.close())))));
    return { closed: all.length };
  }

  /** A DDP session, answering the server's heartbeat pings; subscribed later, by `open`. */
  private connect(): Promise<Monitor> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { localAddress: this.localAddress, perMessageDeflate: false, handshakeTimeout: 10_000 });
      const monitor: Monitor = { ws, docs: 0, readyAt: null, docsAtReady: 0 };
      ws.on('error', reject); // a no-op once connected: the open report is about subscribing
      ws.once('open', () => ws.send(CONNECT));
      ws.on('message', (data: Buffer) => {
        const text = head(data);
        if (text.startsWith('{"msg":"ping"')) return void ws.send(PONG);
        if (monitor.onFrame) monitor.onFrame(text, data);
        else if (text.startsWith('{"msg":"connected"')) resolve(monitor);
        else if (text.startsWith('{"msg":"failed"')) reject(new Error(`monitor handshake: ${text}`));
      });
    });
  }
}
