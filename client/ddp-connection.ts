import type { ConnectionStatus } from './dashboard/presence-source';

/**
 * A small typed DDP client for the browser: one WebSocket, the `connect`
 * handshake, pong replies, method calls and subscriptions, and reconnection
 * with exponential backoff (0.5 s doubling to 10 s, with jitter).
 *
 * Why our own: the maintained DDP clients outside Meteor (simpleddp, ddp.js)
 * reconnect at a fixed interval and do not expose the `connected` frame's
 * session id, both of which the dashboard needs; this is ~150 lines.
 * Caveat: EJSON is decoded for `$date` only, the one type the app sends.
 */
// biome-ignore lint/suspicious/noExplicitAny: frames are untyped JSON from the server; each handler checks what it reads
type Frame = Record<string, any>;

export interface SubscriptionCallbacks {
  ready?(): void;
  nosub?(error: unknown): void;
}

/** Data frames of the session's merge box: one document per collection and id, whichever subscription sent it. */
export type DataFrame =
  | { msg: 'added'; collection: string; id: string; fields: Record<string, unknown> }
  | { msg: 'changed'; collection: string; id: string; fields: Record<string, unknown>; cleared: string[] }
  | { msg: 'removed'; collection: string; id: string };

export interface DdpConnectionOptions {
  url: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onStatus(status: ConnectionStatus): void;
  /** Called after every successful handshake: resubscribe here. */
  onSession(sessionId: string): void;
  onData(frame: DataFrame): void;
}

export class DdpConnection {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private attempt = 0;
  private readonly pendingCalls = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly subs = new Map<string, SubscriptionCallbacks>();

  constructor(private readonly options: DdpConnectionOptions) {}

  open(): void {
    const ws = new WebSocket(this.options.url);
    this.ws = ws;
    let established = false;
    ws.onopen = () => ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] }));
    ws.onmessage = (event) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (frame.msg === 'connected') {
        established = true;
        this.attempt = 0;
        this.options.onStatus('connected');
        this.options.onSession(String(frame.session));
        return;
      }
      this.handle(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const call of this.pendingCalls.values()) call.reject(new Error('connection lost'));
      this.pendingCalls.clear();
      this.subs.clear();
      // A drop after a working session is "reconnecting"; a failed attempt means the server is away.
      this.options.onStatus(established ? 'reconnecting' : 'offline');
      const base = Math.min(this.options.maxBackoffMs ?? 10_000, (this.options.minBackoffMs ?? 500) * 2 ** this.attempt++);
      setTimeout(() => this.open(), base * (0.75 + Math.random() * 0.5));
    };
  }

  call(method: string, ...params: unknown[]): Promise<unknown> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      if (!this.send({ msg: 'method', id, method, params })) return reject(new Error('not connected'));
      this.pendingCalls.set(id, { resolve, reject });
    });
  }

  subscribe(name: string, params: unknown[], callbacks: SubscriptionCallbacks): string {
    const id = String(this.nextId++);
    this.subs.set(id, callbacks);
    this.send({ msg: 'sub', id, name, params });
    return id;
  }

  unsubscribe(id: string): void {
    this.send({ msg: 'unsub', id });
  }

  private send(frame: Frame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private handle(frame: Frame): void {
    switch (frame.msg) {
      case 'ping':
        this.send(frame.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: frame.id });
        return;
      case 'result': {
        const call = this.pendingCalls.get(frame.id);
        this.pendingCalls.delete(frame.id);
        if (frame.error) call?.reject(frame.error);
        else call?.resolve(decodeDates(frame.result));
        return;
      }
      case 'added':
      case 'changed':
      case 'removed':
        this.options.onData({
          msg: frame.msg,
          collection: String(frame.collection),
          id: String(frame.id),
          fields: decodeDates(frame.fields ?? {}) as Record<string, unknown>,
          cleared: Array.isArray(frame.cleared) ? frame.cleared : [],
        });
        return;
      case 'ready':
        for (const id of frame.subs ?? []) this.subs.get(id)?.ready?.();
        return;
      case 'nosub':
        this.subs.get(frame.id)?.nosub?.(frame.error);
        this.subs.delete(frame.id);
        return;
    }
  }
}

function decodeDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeDates);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === '$date' && typeof obj.$date === 'number') return new Date(obj.$date);
    return Object.fromEntries(keys.map((k) => [k, decodeDates(obj[k])]));
  }
  return value;
}
