import type { PresenceHost } from '../app/host';
import type { PresencePolicy } from '../app/permission-policy';
import type { BridgeStatus } from '../mqtt/mqtt-bridge';
import { PRESENCE_NAMES } from '../app/wire-contract';

/**
 * Publication `presence.bridgeStatus`, monitors only: one document
 * `{_id: "mqtt", enabled, connected, brokerUrl, remoteInstances, rejected}` in
 * collection `presence.bridge`, live. Others get an empty, ready subscription.
 *
 * Why here: it is registered by the composition on either host (the real
 * `Meteor` or the standalone facade), so it depends only on the host's
 * `publish` and on the bridge's status surface, never on a concrete server.
 *
 * Example: `publishBridgeStatus(Meteor, policy, bridge)`; with `bridge` null
 * monitors see `{enabled: false, connected: false}` (the dashboard shows "off").
 */
export const BRIDGE_STATUS_PUBLICATION = PRESENCE_NAMES.bridgeStatusPublication;
const BRIDGE_STATUS_COLLECTION = PRESENCE_NAMES.bridgeStatusCollection;
const BRIDGE_STATUS_ID = 'mqtt';

/** The part of the MQTT bridge this publication reads. */
export interface BridgeStatusSource {
  status(): BridgeStatus;
  /** Returns the unsubscribe function. */
  onStatus(listener: (status: BridgeStatus) => void): () => void;
}

export function publishBridgeStatus(host: Pick<PresenceHost, 'publish'>, policy: PresencePolicy, bridge: BridgeStatusSource | null): void {
  host.publish(BRIDGE_STATUS_PUBLICATION, async function (...params: unknown[]) {
    const role = await policy({ connection: this.connection, userId: this.userId, params });
    if (role !== 'monitor') return void this.ready();
    if (!bridge) {
      this.added(BRIDGE_STATUS_COLLECTION, BRIDGE_STATUS_ID, { enabled: false, connected: false });
      return void this.ready();
    }
    this.added(BRIDGE_STATUS_COLLECTION, BRIDGE_STATUS_ID, { enabled: true, ...bridge.status() });
    const off = bridge.onStatus((status) => this.changed(BRIDGE_STATUS_COLLECTION, BRIDGE_STATUS_ID, { ...status }));
    this.onStop(off);
    this.ready();
  });
}
