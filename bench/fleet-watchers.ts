/**
 * The fleet section's own DDP clients, raw `ws` in the bench process (not in
 * a load worker, so their timestamps and the probe's share one clock):
 * - FleetWatcher: a session subscribed to `list.connectedUsers.count`; with
 *   `window`, also to `list.connectedUsers` as a monitor with a live window
 *   (`{ token, limit, sort }`). It remembers when its count last changed, and,
 *   while recording, when each id entered or left its window. It reads the
 *   instance's `presence.bridgeStatus` on demand (a fresh subscription each
 *   time: the bridge pushes its status on events, not on every record, so a
 *   long-lived one would show a stale `remoteRecords`).
 * - ProbeConnection: one plain session whose `connect` frame and close are timed.
 * - countsExact: when each watcher showed an expected count for good.
 *
 * Why not tests/helpers/raw-ddp-client.ts: it keeps every frame, and the
 * monitor receives two per connection of the ramp (100,000 × 2).
 * Example: `const w = await FleetWatcher.open(url, '127.0.8.200'); await countsExact([w], 7, performance.now(), 1000, 5000)`.
 */
import WebSocket from 'ws';
import { PRESENCE_NAMES } from '../imports/app/wire-contract';

const CONNECT = JSON.stringify({ msg: 'connect', version: '1', support: ['1'] });
const COUNT_COLLECTION = PRESENCE_NAMES.countCollection;
const LIST_COLLECTION = PRESENCE_NAMES.collection;
const BRIDGE_COLLECTION = PRESENCE_NAMES.bridgeStatusCollection;

export interface WindowParams {
  token: string;
  limit: number;
  sort: 'newest' | 'oldest';
}

export interface BridgeStatusDoc {
  enabled?: boolean;
  connected?: boolean;
  holdsRecords?: boolean;
  remoteRecords?: number;
  remoteInstances?: number;
}

interface Frame {
  msg: string;
  id?: string;
  session?: string;
  collection?: string;
  fields?: Record<string, unknown>;
  subs?: string[];
  error?: { reason?: string };
}

export class FleetWatcher {
  count: number | null = null;
  /** performance.now() of the last change of `count`. */
  countChangedAt = 0;
  /** Ids in the window now (monitor only). */
  readonly window = new Set<string>();
  private events: Map<string, { added?: number; removed?: number }> | null = null;
  private bridgeDoc: BridgeStatusDoc | null = null;
  private readonly readyWaiters = new Map<string, (error?: string) => void>();
  private nextSub = 0;

  private constructor(private readonly ws: WebSocket, readonly session: string) {}

  static open(url: string, localAddress: string, window?: WindowParams, readyTimeoutMs = 60_000): Promise<FleetWatcher> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: 10_000 });
      let watcher: FleetWatcher | null = null;
      ws.once('error', (error) => (watcher ? undefined : reject(error)));
      ws.once('open', () => ws.send(CONNECT));
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as Frame;
        if (frame.msg === 'ping') return void ws.send('{"msg":"pong"}');
        if (frame.msg === 'connected' && !watcher) {
          const w = new FleetWatcher(ws, frame.session!);
          watcher = w;
          w.subscribe(PRESENCE_NAMES.countPublication, [])
            .then(() => (window ? w.subscribe(PRESENCE_NAMES.listPublication, [window]) : undefined))
            .then(() => resolve(w), reject);
          setTimeout(() => reject(new Error(`watcher on ${url}: not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs).unref();
          return;
        }
        watcher?.onFrame(frame);
      });
    });
  }

  /** From now on, remember when each id enters or leaves the window (the latency probes). */
  startRecording(): void {
    this.events = new Map();
  }

  stopRecording(): void {
    this.events = null;
  }

  /** performance.now() when `id` entered (or left) the window; null if not within `timeoutMs`. */
  async windowEvent(id: string, kind: 'added' | 'removed', timeoutMs: number): Promise<number | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = this.events?.get(id)?.[kind];
      if (at !== undefined) return at;
      if (performance.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The instance's `presence.bridgeStatus` document now (null: not a monitor, or no answer). */
  async bridgeStatus(token: string, timeoutMs = 5000): Promise<BridgeStatusDoc | null> {
    this.bridgeDoc = null;
    const id = await this.subscribe(PRESENCE_NAMES.bridgeStatusPublication, [{ token }], timeoutMs).catch(() => null);
    const doc = this.bridgeDoc as BridgeStatusDoc | null;
    if (id) this.ws.send(JSON.stringify({ msg: 'unsub', id }));
    return doc;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((r) => this.ws.once('close', () => r()));
    this.ws.close();
    return closed;
  }

  private subscribe(name: string, params: unknown[], timeoutMs = 60_000): Promise<string> {
    const id = `s${this.nextSub++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters.delete(id);
        reject(new Error(`${name}: no ready within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiters.set(id, (error) => {
        clearTimeout(timer);
        if (error) reject(new Error(`${name}: ${error}`));
        else resolve(id);
      });
      this.ws.send(JSON.stringify({ msg: 'sub', id, name, params }));
    });
  }

  private onFrame(frame: Frame): void {
    const now = performance.now();
    switch (frame.msg) {
      case 'ready':
        for (const id of frame.subs ?? []) {
          this.readyWaiters.get(id)?.();
          this.readyWaiters.delete(id);
        }
        return;
      case 'nosub':
        if (frame.id && frame.error) this.readyWaiters.get(frame.id)?.(frame.error.reason ?? 'nosub');
        if (frame.id) this.readyWaiters.delete(frame.id);
        return;
      case 'added':
      case 'changed':
        if (frame.collection === COUNT_COLLECTION && typeof frame.fields?.count === 'number' && frame.fields.count !== this.count) {
          this.count = frame.fields.count;
          this.countChangedAt = now;
        } else if (frame.collection === LIST_COLLECTION && frame.msg === 'added') {
          this.window.add(frame.id!);
          this.note(frame.id!, 'added', now);
        } else if (frame.collection === BRIDGE_COLLECTION) {
          this.bridgeDoc = { ...(this.bridgeDoc ?? {}), ...(frame.fields as BridgeStatusDoc) };
        }
        return;
      case 'removed':
        if (frame.collection === LIST_COLLECTION) {
          this.window.delete(frame.id!);
          this.note(frame.id!, 'removed', now);
        }
        return;
    }
  }

  private note(id: string, kind: 'added' | 'removed', at: number): void {
    if (!this.events) return;
    const entry = this.events.get(id) ?? {};
    entry[kind] ??= at;
    this.events.set(id, entry);
  }
}

/** One plain session; `connectSentAt` is when its `connect` frame left (the server cannot record it earlier). */
export class ProbeConnection {
  private constructor(private readonly ws: WebSocket, readonly session: string, readonly connectSentAt: number) {}

  static open(url: string, localAddress: string, timeoutMs = 10_000): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs });
      let sentAt = 0;
      const timer = setTimeout(() => (ws.terminate(), reject(new Error('probe: no DDP session in time'))), timeoutMs);
      ws.once('error', (error) => (clearTimeout(timer), reject(error)));
      ws.once('open', () => {
        sentAt = performance.now();
        ws.send(CONNECT);
      });
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('{"msg":"ping"')) return void ws.send('{"msg":"pong"}');
        const frame = JSON.parse(text) as Frame;
        if (frame.msg === 'connected') {
          clearTimeout(timer);
          resolve(new ProbeConnection(ws, frame.session!, sentAt));
        }
      });
    });
  }

  /** Starts the closing handshake; returns when it started (performance.now()). */
  close(): number {
    const at = performance.now();
    this.ws.close();
    return at;
  }
}

/**
 * Per watcher: ms after `since` from which its count equalled `expected` and
 * stayed so for `holdMs` (0 if it already did at `since`); null if it did not
 * by `maxMs`. Returns once every watcher has, or at `maxMs`.
 */
export async function countsExact(watchers: readonly FleetWatcher[], expected: number, since: number, holdMs: number, maxMs: number) {
  const exactFrom = () => watchers.map((w) => (w.count === expected ? Math.max(0, w.countChangedAt - since) : null));
  for (;;) {
    const elapsed = performance.now() - since;
    const from = exactFrom();
    if (from.every((t) => t !== null && elapsed - t >= holdMs)) break;
    if (elapsed >= maxMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    perInstanceMs: exactFrom().map((t) => (t === null ? null : Math.round(t))),
    finalCounts: watchers.map((w) => w.count),
    observedMs: Math.round(performance.now() - since),
  };
}
