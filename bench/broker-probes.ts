/**
 * Two views of the broker for the convergence scenario, from plain MQTT
 * clients of our own (mqtt.js), never through the app:
 * - SysWatch follows `$SYS/#` (mosquitto publishes it every `sys_interval`,
 *   10 s by default, and a counter only when it changed): the
 *   `publish/messages/dropped` counter per broker run, and the time of each
 *   $SYS tick. It reconnects after a broker restart.
 * - staleRetainedRecords subscribes at QoS 0 to every instance's records
 *   and counts the non-empty retained messages the broker sends. QoS 0 on
 *   purpose: mosquitto caps what it queues for a QoS 1 subscriber at ~1,020
 *   messages, but sends a QoS 0 subscriber its whole retained set.
 */
import mqtt, { type MqttClient } from 'mqtt';

export class SysWatch {
  private readonly dropped = new Map<number, { at: number; value: number }>();
  private lastTick = 0;
  private readonly client: MqttClient;

  constructor(url: string, private readonly currentRun: () => number) {
    this.client = mqtt.connect(url, { clientId: `bench-sys-${process.pid}`, clean: true, reconnectPeriod: 250, connectTimeout: 5000 });
    this.client.on('connect', () => this.client.subscribe('$SYS/#', { qos: 0 }));
    this.client.on('error', () => {});
    this.client.on('message', (topic, payload) => {
      const at = Date.now();
      this.lastTick = at;
      const value = Number(payload.toString());
      if (topic === '$SYS/broker/publish/messages/dropped' && Number.isFinite(value)) this.dropped.set(this.currentRun(), { at, value });
    });
  }

  /** The latest dropped counter of one broker run (null: never published, e.g. $SYS is off). */
  droppedIn(run: number): { at: number; value: number } | null {
    return this.dropped.get(run) ?? null;
  }

  /** Wait for a $SYS publication that started after `after` (ms since epoch); false on timeout. */
  async tickAfter(after: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastTick <= after + 50) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 200)); // the rest of that tick's burst of topics
    return true;
  }

  close(): void {
    this.client.end(true);
  }
}

export interface StaleRetained {
  /** Non-empty retained records received. */
  count: number;
  byInstance: Record<string, number>;
  /** A few of their topics, for the report. */
  examples: string[];
  /** How long the probe listened after its SUBACK. */
  listenedMs: number;
}

/**
 * Subscribe to `<prefix>/instances/+/connections/+` at QoS 0 and count the
 * non-empty retained messages within `windowMs` of the SUBACK. With
 * `endAtMarker`, stop early once a message the probe published to itself
 * after the SUBACK comes back (the broker queued it behind the retained set).
 */
export async function staleRetainedRecords(url: string, prefix: string, windowMs: number, endAtMarker: boolean): Promise<StaleRetained> {
  const client = mqtt.connect(url, { clientId: `bench-probe-${process.pid}-${Date.now().toString(36)}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const marker = `bench/probe/${process.pid}/${Date.now().toString(36)}`;
    const result: StaleRetained = { count: 0, byInstance: {}, examples: [], listenedMs: 0 };
    let markerSeen: () => void = () => {};
    const markerArrived = new Promise<void>((r) => (markerSeen = r));
    const topicPrefix = `${prefix}/instances/`;
    client.on('message', (topic, payload, packet) => {
      if (topic === marker) return markerSeen();
      if (!packet.retain || payload.length === 0 || !topic.startsWith(topicPrefix)) return;
      result.count++;
      const instance = topic.slice(topicPrefix.length).split('/')[0]!;
      result.byInstance[instance] = (result.byInstance[instance] ?? 0) + 1;
      if (result.examples.length < 5) result.examples.push(topic);
    });
    await client.subscribeAsync({ [`${prefix}/instances/+/connections/+`]: { qos: 0 }, [marker]: { qos: 0 } });
    const subacked = performance.now();
    client.publish(marker, 'end', { qos: 0 });
    const window = new Promise((r) => setTimeout(r, windowMs));
    await (endAtMarker ? Promise.race([markerArrived.then(() => new Promise((r) => setTimeout(r, 200))), window]) : window);
    result.listenedMs = Math.round(performance.now() - subacked);
    return result;
  } finally {
    client.end(true);
  }
}
