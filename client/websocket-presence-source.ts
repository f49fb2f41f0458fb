import type { ConnectionRecord, PresenceSource, PresenceSourceEvents } from './dashboard/presence-source';
import { DdpConnection, type DataFrame } from './ddp-connection';

/**
 * PresenceSource over the project's small DDP client (standalone mode).
 * Every new session starts from an empty list: sessions are not resumed, so
 * the server sends the whole set again after a reconnect.
 */
export class WebSocketPresenceSource implements PresenceSource {
  private readonly records = new Map<string, ConnectionRecord>();
  private connection: DdpConnection | null = null;
  private events: PresenceSourceEvents | null = null;
  private params: { token?: string } = {};
  private listSubId: string | null = null;
  private bridgeSubId: string | null = null;
  private bridge: Record<string, unknown> | null = null;

  constructor(private readonly url: string) {}

  start(events: PresenceSourceEvents, params: { token?: string }): void {
    this.events = events;
    this.params = params;
    this.connection = new DdpConnection({
      url: this.url,
      onStatus: (status) => {
        events.status(status);
        if (status !== 'connected') events.session(null);
      },
      onSession: (sessionId) => {
        this.records.clear();
        events.records([]);
        events.count(null);
        this.bridge = null;
        events.bridge(null);
        events.session(sessionId);
        this.subscribeList();
        this.connection!.subscribe('list.connectedUsers.count', [], {});
      },
      onData: (frame) => this.apply(frame),
    });
    this.connection.open();
  }

  setParams(params: { token?: string }): void {
    this.params = params;
    if (this.listSubId) this.connection?.unsubscribe(this.listSubId);
    if (this.bridgeSubId) this.connection?.unsubscribe(this.bridgeSubId);
    this.records.clear();
    this.events?.records([]);
    this.bridge = null;
    this.events?.bridge(null);
    this.subscribeList();
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (!this.connection) return Promise.reject(new Error('not started'));
    return this.connection.call(method, ...args);
  }

  private subscribeList(): void {
    const params = this.params.token ? [{ token: this.params.token }] : [];
    this.listSubId = this.connection!.subscribe('list.connectedUsers', params, {});
    // Monitors only; for everyone else it is an empty subscription.
    this.bridgeSubId = this.connection!.subscribe('presence.bridgeStatus', params, {});
  }

  private apply(frame: DataFrame): void {
    if (frame.collection === 'connectedUsers.count') {
      if (frame.msg !== 'removed' && typeof frame.fields.count === 'number') this.events?.count(frame.fields.count);
      return;
    }
    if (frame.collection === 'presence.bridge') {
      if (frame.msg === 'removed') this.bridge = null;
      else {
        this.bridge = { ...(this.bridge ?? {}), ...frame.fields };
        if (frame.msg === 'changed') for (const key of frame.cleared) delete this.bridge[key];
      }
      this.events?.bridge(this.bridge as never);
      return;
    }
    if (frame.collection !== 'connectedUsers') return;
    if (frame.msg === 'removed') this.records.delete(frame.id);
    else {
      const next = { ...(this.records.get(frame.id) ?? { _id: frame.id }), ...frame.fields } as ConnectionRecord & Record<string, unknown>;
      if (frame.msg === 'changed') for (const key of frame.cleared) delete next[key];
      this.records.set(frame.id, next);
    }
    this.events?.records([...this.records.values()]);
  }
}
