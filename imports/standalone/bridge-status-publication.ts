import type { PresencePolicy } from '../app/permission-policy';
import type { MeteorFacade } from '../ddp/meteor-facade';
import type { MqttBridge } from '../mqtt/mqtt-bridge';

/**
 * Publication `presence.bridgeStatus`, monitors only: one document
 * `{_id: "mqtt", enabled, connected, brokerUrl, remoteInstances, rejected}` in
 * collection `presence.bridge`, live. Others get an empty, ready subscription.
 */
export const BRIDGE_STATUS_PUBLICATION = 'presence.bridgeStatus';
export const BRIDGE_STATUS_COLLECTION = 'presence.bridge';

export function publishBridgeStatus(meteor: MeteorFacade, policy: PresencePolicy, bridge: MqttBridge | null): void {
  meteor.publish(BRIDGE_STATUS_PUBLICATION, async function (...params: unknown[]) {
    const role = await policy({ connection: this.connection, userId: this.userId, params });
    if (role !== 'monitor') return void this.ready();
    if (!bridge) {
      this.added(BRIDGE_STATUS_COLLECTION, 'mqtt', { enabled: false, connected: false });
      return void this.ready();
    }
    this.added(BRIDGE_STATUS_COLLECTION, 'mqtt', { enabled: true, ...bridge.status() });
    const off = bridge.onStatus((status) => this.changed(BRIDGE_STATUS_COLLECTION, 'mqtt', { ...status }));
    this.onStop(off);
    this.ready();
  });
}
