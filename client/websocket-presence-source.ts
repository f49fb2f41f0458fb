import { PRESENCE_NAMES } from '../imports/app/wire-contract';
import type { BridgeStatusView, DocumentEvents, PresenceSource, PresenceSourceEvents, SourceParams } from './dashboard/presence-source';
import { DdpConnection, type DataFrame } from './ddp-connection';

/**
 * PresenceSource over the project's small DDP client (standalone mode).
 * Every new session starts from empty (`reset`): sessions are not resumed,
 * so the server sends every document again after a reconnect.
 *
 * Subscription order: the count, the stats and the people first, then the
 * list, so the cheap answers arrive before the long one. A new query stops the old list
 * subscription before starting the new one: the server then sends the old
 * window's `removed` frames before the new window's `added`, so the page
 * never shows the union of two windows.
 */
const COLLECTIONS = {
  list: PRESENCE_NAMES.collection,
  count: PRESENCE_NAMES.countCollection,
  stats: PRESENCE_NAMES.statsCollection,
  people: PRESENCE_NAMES.peopleCollection,
  bridge: PRESENCE_NAMES.bridgeStatusCollection,
} as const;

export class WebSocketPresenceSource implements PresenceSource {
  private connection: DdpConnection | null = null;
  private events: PresenceSourceEvents | null = null;
  private params: SourceParams = { list: { sort: 'newest', limit: 200 } };
  private listSubId: string | null = null;
  private tokenSubIds: string[] = [];
  private bridge: Record<string, unknown> | null = null;

  constructor(private readonly url: string) {}

  start(events: PresenceSourceEvents, params: SourceParams): void {
    this.events = events;
    this.params = params;
    this.connection = new DdpConnection({
      url: this.url,
      onStatus: (status) => {
        events.status(status);
        if (status !== 'connected') events.session(null);
      },
      onSession: (sessionId) => {
        events.reset();
        events.count(null);
        this.bridge = null;
        events.bridge(null);
        events.session(sessionId);
        this.connection!.subscribe(PRESENCE_NAMES.countPublication, [], {});
        this.subscribeTokenBound();
        this.subscribeList();
      },
      onData: (frame) => this.apply(frame),
    });
    this.connection.open();
  }

  setParams(params: SourceParams): void {
    const tokenChanged = params.token !== this.params.token;
    this.params = params;
    if (!this.connection) return;
    if (tokenChanged) {
      for (const id of this.tokenSubIds) this.connection.unsubscribe(id);
      this.subscribeTokenBound();
    }
    this.subscribeList();
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (!this.connection) return Promise.reject(new Error('not started'));
    return this.connection.call(method, ...args);
  }

  /** Monitors only (the people also for logged-in connections): for everyone else these are empty subscriptions. */
  private subscribeTokenBound(): void {
    const params = this.params.token ? [{ token: this.params.token }] : [];
    this.tokenSubIds = [
      this.connection!.subscribe(PRESENCE_NAMES.statsPublication, params, {}),
      this.connection!.subscribe(PRESENCE_NAMES.bridgeStatusPublication, params, {}),
      this.connection!.subscribe(PRESENCE_NAMES.peoplePublication, params, {}),
    ];
  }

  private subscribeList(): void {
    if (this.listSubId) this.connection!.unsubscribe(this.listSubId);
    const { search, instanceId, accountId, sort, limit } = this.params.list;
    const options = { token: this.params.token, search, instanceId, accountId, sort, limit };
    this.listSubId = this.connection!.subscribe(PRESENCE_NAMES.listPublication, [withoutUndefined(options)], {});
  }

  private apply(frame: DataFrame): void {
    const events = this.events;
    if (!events) return;
    switch (frame.collection) {
      case COLLECTIONS.list:
        return dispatch(events.connections, frame);
      case COLLECTIONS.stats:
        return dispatch(events.stats, frame);
      case COLLECTIONS.people:
        return dispatch(events.people, frame);
      case COLLECTIONS.count:
        if (frame.msg !== 'removed' && typeof frame.fields.count === 'number') events.count(frame.fields.count);
        return;
      case COLLECTIONS.bridge:
        if (frame.msg === 'removed') this.bridge = null;
        else {
          this.bridge = { ...(this.bridge ?? {}), ...frame.fields };
          if (frame.msg === 'changed') for (const key of frame.cleared) delete this.bridge[key];
        }
        events.bridge(this.bridge as BridgeStatusView | null);
        return;
    }
  }
}

function dispatch(target: DocumentEvents, frame: DataFrame): void {
  if (frame.msg === 'added') target.added(frame.id, frame.fields);
  else if (frame.msg === 'changed') target.changed(frame.id, frame.fields, frame.cleared);
  else target.removed(frame.id);
}

function withoutUndefined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}
