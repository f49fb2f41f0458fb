import type { MqttClient } from 'mqtt';
import type { PresenceTopics } from './topics';

/** What a bridge message is about, from its topic (topics.ts); `record` is a connection record or its removal. */
export type BridgeMessageKind = 'status' | 'digest' | 'record' | 'sync';
export type BridgeMessageDirection = 'in' | 'out';

/**
 * PUBLISH packets the bridge sent and received, by kind, for metrics.
 *
 * Why at the packet level: the bridge publishes from a dozen places (birth,
 * guard, records, digest, sync, goodbye); mqtt.js's `packetsend` and
 * `packetreceive` see each exactly once, retransmissions included, without a
 * counter next to every `publish`. Topics outside our scheme are not
 * counted here (they show in the rejections).
 *
 * Example: `counts.watch(client); counts.get('in', 'digest')`.
 */
export class BridgeMessageCounts {
  private readonly counts: Record<BridgeMessageDirection, Record<BridgeMessageKind, number>> = {
    in: { status: 0, digest: 0, record: 0, sync: 0 },
    out: { status: 0, digest: 0, record: 0, sync: 0 },
  };

  constructor(private readonly topics: PresenceTopics) {}

  watch(client: MqttClient): void {
    client.on('packetsend', (packet) => {
      if (packet.cmd === 'publish') this.count('out', packet.topic);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') this.count('in', packet.topic);
    });
  }

  get(direction: BridgeMessageDirection, kind: BridgeMessageKind): number {
    return this.counts[direction][kind];
  }

  private count(direction: BridgeMessageDirection, topic: string): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    this.counts[direction][parsed.kind === 'connection' ? 'record' : parsed.kind]++;
  }
}
