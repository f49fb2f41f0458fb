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
    this.records.clear();
    this.events?.records([]);
    this.subscribeList();
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (!this.connection) return Promise.reject(new Error('not started'));
    return this.connection.call(method, ...args);
  }

  private subscribeList(): void {
    const params = this.params.token ? [{ token: this.params.token }] : [];
    this.listSubId = this.connection!.subscribe('list.connectedUsers', params, {});
  }

  private apply(frame: DataFrame): void {
    if (frame.collection === 'connectedUsers.count') {
      if (frame.msg !== 'removed' && typeof frame.fields.count === 'number') this.events?.count(frame.fields.count);
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
