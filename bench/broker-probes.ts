/**
 * Two views of the broker for the convergence scenario, from plain MQTT
 * clients of our own (mqtt.js), never through the app:
 * - SysWatch follows `$SYS/#` (mosquitto publishes it every `sys_interval`,
 *   10 s by default, and a counter only when it changed): the
 *   `publish/messages/dropped` counter and `retained messages/count` per
 *   broker run, and the time of each $SYS tick. It reconnects after a broker restart.
 * - retainedRecords subscribes at QoS 0 to every instance's records and
 *   counts the non-empty retained messages the broker sends, in rounds.
 *   QoS 0 on purpose: mosquitto caps what it queues for a QoS 1 subscriber
 *   at ~1,020 messages; a QoS 0 subscriber usually gets the whole set, but
 *   not always (hence the rounds).
 */
import mqtt, { type MqttClient } from 'mqtt';

export class SysWatch {
  private readonly dropped = new Map<number, { at: number; value: number }>();
  private readonly retained = new Map<number, { at: number; value: number }>();
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
      if (topic === '$SYS/broker/retained messages/count' && Number.isFinite(value)) this.retained.set(this.currentRun(), { at, value });
    });
  }

  /** The latest dropped counter of one broker run (null: never published, e.g. $SYS is off). */
  droppedIn(run: number): { at: number; value: number } | null {
    return this.dropped.get(run) ?? null;
  }

  /** The latest `retained messages/count` of one broker run: every retained topic, mosquitto's own $SYS ones included. */
  retainedIn(run: number): { at: number; value: number } | null {
    return this.retained.get(run) ?? null;
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

export interface RetainedRecords {
  /** Distinct topics with a non-empty retained record, over all rounds. */
  count: number;
  byInstance: Record<string, number>;
  /** A few of their topics, for the report. */
  examples: string[];
  rounds: number;
  /** Too few records for mosquitto to have dropped any (false: `count` is a lower bound; compare `$SYS/broker/retained messages/count`). */
  complete: boolean;
  /** How long the first round listened after its SUBACK. */
  listenedMs: number;
}

/**
 * The non-empty retained records under `<prefix>/instances/+/connections/+`,
 * from a QoS 0 subscription. Each round connects, subscribes and listens
 * `windowMs` after the SUBACK, or, with `endAtMarker`, until a message the
 * probe sent itself after the SUBACK comes back (the broker queued it behind
 * the retained set). Mosquitto drops part of a large retained set even for a
 * QoS 0 subscriber whose socket backs up (57,000 records: 23,372 arrived in
 * one try, all in the next; 28,366 twice in a row in another), so past 500
 * records the union of `maxRounds` rounds is only a lower bound. Under 500,
 * one round is complete (mosquitto drops only past ~1,000 queued messages).
 */
export async function retainedRecords(url: string, prefix: string, options: { windowMs: number; endAtMarker: boolean; maxRounds: number }): Promise<RetainedRecords> {
  const filter = `${prefix}/instances/+/connections/+`;
  const topicPrefix = `${prefix}/instances/`;
  const seen = new Set<string>();
  const result: RetainedRecords = { count: 0, byInstance: {}, examples: [], rounds: 0, complete: false, listenedMs: 0 };
  // A fresh connection per round: mosquitto tends to drop the same part of the set again on a re-subscribe.
  while (result.rounds < options.maxRounds) {
    result.rounds++;
    const listened = await probeRound(url, filter, topicPrefix, seen, options);
    if (result.rounds === 1) result.listenedMs = listened;
    // Complete only when too few for mosquitto to have dropped any (it drops past ~1,000 messages queued for one client).
    if (seen.size < 500) {
      result.complete = true;
      break;
    }
  }
  result.count = seen.size;
  for (const topic of seen) {
    const instance = topic.slice(topicPrefix.length).split('/')[0]!;
    result.byInstance[instance] = (result.byInstance[instance] ?? 0) + 1;
    if (result.examples.length < 5) result.examples.push(topic);
  }
  return result;
}

/** One subscription: adds the non-empty retained records' topics to `seen`; returns how long it listened after the SUBACK. */
async function probeRound(url: string, filter: string, topicPrefix: string, seen: Set<string>, options: { windowMs: number; endAtMarker: boolean }): Promise<number> {
  const client = mqtt.connect(url, { clientId: `bench-probe-${process.pid}-${Date.now().toString(36)}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const markerTopic = `bench/probe/${process.pid}/${Date.now().toString(36)}`;
    let markerSeen: () => void = () => {};
    const markerArrived = new Promise<void>((r) => (markerSeen = r));
    client.on('message', (topic, payload, packet) => {
      if (topic === markerTopic) return markerSeen();
      if (packet.retain && payload.length > 0 && topic.startsWith(topicPrefix)) seen.add(topic);
    });
    await client.subscribeAsync({ [filter]: { qos: 0 }, [markerTopic]: { qos: 0 } });
    const subacked = performance.now();
    client.publish(markerTopic, 'end', { qos: 0 });
    const window = new Promise((r) => setTimeout(r, options.windowMs));
    await (options.endAtMarker ? Promise.race([markerArrived.then(() => new Promise((r) => setTimeout(r, 200))), window]) : window);
    return Math.round(performance.now() - subacked);
  } finally {
    client.end(true);
  }
}
