import { Meteor } from 'meteor/meteor';
import { Mongo } from 'meteor/mongo';
import { Tracker } from 'meteor/tracker';
import { PRESENCE_NAMES } from '../imports/app/wire-contract';
import type { BridgeStatusView, ConnectionRecord, DocumentEvents, PersonRecord, PresenceSource, PresenceSourceEvents, SourceParams } from './dashboard/presence-source';

/**
 * PresenceSource over Meteor's client (Meteor mode): Meteor.status,
 * minimongo, Meteor.subscribe. Documents reach the dashboard through
 * observeChanges, so a change costs its own size, not a fetch of the list.
 * Minimongo keeps the documents across reconnects, so `reset` is never needed.
 */
const ConnectedUsers = new Mongo.Collection<ConnectionRecord>(PRESENCE_NAMES.collection);
const Counts = new Mongo.Collection<{ _id: string; count: number }>(PRESENCE_NAMES.countCollection);
const Stats = new Mongo.Collection<{ _id: string }>(PRESENCE_NAMES.statsCollection);
const People = new Mongo.Collection<PersonRecord>(PRESENCE_NAMES.peopleCollection);
const Bridge = new Mongo.Collection<BridgeStatusView & { _id: string }>(PRESENCE_NAMES.bridgeStatusCollection);

export class MeteorPresenceSource implements PresenceSource {
  private listHandle: Meteor.SubscriptionHandle | null = null;
  private tokenHandles: Meteor.SubscriptionHandle[] = [];
  private token: string | undefined;

  start(events: PresenceSourceEvents, params: SourceParams): void {
    Tracker.autorun(() => {
      const { connected, status } = Meteor.status();
      events.status(connected ? 'connected' : status === 'offline' || status === 'failed' ? 'offline' : 'reconnecting');
      // Meteor keeps the `connected` frame's session id on Meteor.connection (not in @types/meteor).
      const connection = (Meteor as unknown as { connection?: { _lastSessionId?: string | null } }).connection;
      const sessionId = connection?._lastSessionId ?? null;
      events.session(connected ? sessionId : null);
    });
    Tracker.autorun(() => events.count(Counts.findOne('total')?.count ?? null));
    Tracker.autorun(() => events.bridge(Bridge.findOne('mqtt') ?? null));
    observeInto(ConnectedUsers, events.connections);
    observeInto(Stats, events.stats);
    observeInto(People, events.people);
    Meteor.subscribe(PRESENCE_NAMES.countPublication);
    this.subscribeTokenBound(params.token);
    this.subscribeList(params);
  }

  setParams(params: SourceParams): void {
    if (params.token !== this.token) this.subscribeTokenBound(params.token);
    this.subscribeList(params);
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => Meteor.call(method, ...args, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))));
  }

  private subscribeTokenBound(token: string | undefined): void {
    this.token = token;
    for (const handle of this.tokenHandles) handle.stop();
    const args = token ? [{ token }] : [];
    this.tokenHandles = [
      Meteor.subscribe(PRESENCE_NAMES.statsPublication, ...args),
      Meteor.subscribe(PRESENCE_NAMES.bridgeStatusPublication, ...args),
      // Monitors and logged-in connections; the dashboard itself is a monitor through its token.
      Meteor.subscribe(PRESENCE_NAMES.peoplePublication, ...args),
    ];
  }

  private subscribeList({ token, list }: SourceParams): void {
    this.listHandle?.stop();
    const options = Object.fromEntries(Object.entries({ token, ...list }).filter(([, value]) => value !== undefined));
    this.listHandle = Meteor.subscribe(PRESENCE_NAMES.listPublication, options);
  }
}

/** Minimongo's observeChanges reports a removed field as `undefined`; DocumentEvents wants it in `cleared`. */
function observeInto<T extends { _id: string }>(collection: Mongo.Collection<T>, target: DocumentEvents): void {
  collection.find().observeChanges({
    added: (id, fields) => target.added(String(id), fields as Record<string, unknown>),
    changed: (id, fields) => {
      const entries = Object.entries(fields as Record<string, unknown>);
      target.changed(String(id), Object.fromEntries(entries.filter(([, v]) => v !== undefined)), entries.filter(([, v]) => v === undefined).map(([k]) => k));
    },
    removed: (id) => target.removed(String(id)),
  });
}
