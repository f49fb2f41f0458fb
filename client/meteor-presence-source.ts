import { Meteor } from 'meteor/meteor';
import { Mongo } from 'meteor/mongo';
import { Tracker } from 'meteor/tracker';
import type { BridgeStatusView, ConnectionRecord, PresenceSource, PresenceSourceEvents } from './dashboard/presence-source';

/** PresenceSource over Meteor's client (Meteor mode): Meteor.status, minimongo, Meteor.subscribe. */
const ConnectedUsers = new Mongo.Collection<ConnectionRecord>('connectedUsers');
const Counts = new Mongo.Collection<{ _id: string; count: number }>('connectedUsers.count');
const Bridge = new Mongo.Collection<BridgeStatusView & { _id: string }>('presence.bridge');

export class MeteorPresenceSource implements PresenceSource {
  private listHandle: Meteor.SubscriptionHandle | null = null;
  private bridgeHandle: Meteor.SubscriptionHandle | null = null;

  start(events: PresenceSourceEvents, params: { token?: string }): void {
    Tracker.autorun(() => {
      const { connected, status } = Meteor.status();
      events.status(connected ? 'connected' : status === 'offline' || status === 'failed' ? 'offline' : 'reconnecting');
      // Meteor keeps the `connected` frame's session id on Meteor.connection (not in @types/meteor).
      const connection = (Meteor as unknown as { connection?: { _lastSessionId?: string | null } }).connection;
      const sessionId = connection?._lastSessionId ?? null;
      events.session(connected ? sessionId : null);
    });
    Tracker.autorun(() => events.records(ConnectedUsers.find().fetch()));
    Tracker.autorun(() => events.count(Counts.findOne('total')?.count ?? null));
    Tracker.autorun(() => events.bridge(Bridge.findOne('mqtt') ?? null));
    Meteor.subscribe('list.connectedUsers.count');
    this.setParams(params);
  }

  setParams(params: { token?: string }): void {
    this.listHandle?.stop();
    this.bridgeHandle?.stop();
    const args = params.token ? [{ token: params.token }] : [];
    this.listHandle = Meteor.subscribe('list.connectedUsers', ...args);
    this.bridgeHandle = Meteor.subscribe('presence.bridgeStatus', ...args);
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => Meteor.call(method, ...args, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))));
  }
}
