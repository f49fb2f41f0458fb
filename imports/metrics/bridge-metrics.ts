import { Counter, Gauge, type Registry } from 'prom-client';
import type { BridgeMessageDirection, BridgeMessageKind } from '../mqtt/bridge-message-counts';
import type { MqttBridge, RejectReason } from '../mqtt/mqtt-bridge';

const DIRECTIONS: BridgeMessageDirection[] = ['in', 'out'];
const KINDS: BridgeMessageKind[] = ['status', 'digest', 'record', 'sync'];

/**
 * The MQTT bridge's metrics, all read from the bridge when scraped: its
 * connection, the peers it sees online, PUBLISH packets by direction and
 * kind (bridge-message-counts.ts), and the messages it dropped, by reason
 * (`status().rejected`; reasons are the bridge's fixed RejectReason set).
 */
export function registerBridgeMetrics(registry: Registry, bridge: MqttBridge): void {
  const registers = [registry];
  new Gauge({
    name: 'mqtt_bridge_connected',
    help: '1 while the bridge is connected to the broker',
    registers,
    collect() {
      this.set(bridge.status().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mqtt_bridge_remote_instances',
    help: 'Other instances the bridge sees online',
    registers,
    collect() {
      this.set(bridge.status().remoteInstances);
    },
  });
  new Counter({
    name: 'mqtt_bridge_messages_total',
    help: 'MQTT PUBLISH packets, by direction and kind',
    labelNames: ['direction', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const direction of DIRECTIONS) for (const kind of KINDS) this.inc({ direction, kind }, bridge.messages.get(direction, kind));
    },
  });
  new Counter({
    name: 'mqtt_bridge_rejected_total',
    help: 'MQTT messages the bridge dropped, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(bridge.status().rejected) as Array<[RejectReason, number]>) {
        this.inc({ reason: reason.replace(/ /g, '_') }, n);
      }
    },
  });
}
