import EJSON from 'ejson';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger';
import type { Document, ObserveHandle, StoreCollection } from '../store/collection';
import { RemoteView } from './remote-view';
import { parseStatus, type InstanceStatus } from './status-message';
import { PresenceTopics } from './topics';

/**
 * Joins app instances into one view through an MQTT broker (mqtt.js).
 *
 * - Birth and death: CONNECT carries a Will, retained `offline` on
 *   `<prefix>/instances/<id>/status`, which the broker publishes if we vanish
 *   (after 1.5 × keep-alive, MQTT 3.1.1 §3.1.2.10, or at once when the socket
 *   drops). Right after CONNACK we publish retained `online` with our epoch.
 * - Each local record is a retained message on its own topic; an empty
 *   retained payload clears it (MQTT 3.1.1 §3.3.1.3).
 * - Every other instance's status and records are merged into the local
 *   collection by RemoteView; ours are never written by anyone else, and
 *   retained leftovers under our own topics (a previous run) are cleared.
 * - Broker away: local presence goes on; we reconnect with backoff, then
 *   republish our state and resync the others' from retained messages.
 * Bad input (oversized, malformed, wrong shape, foreign ids) is dropped and
 * logged once per kind; counts per kind are in `status().rejected`.
 */
export interface MqttBridgeOptions {
  url: string;
  username?: string;
  password?: string;
  topicPrefix: string;
  keepaliveSeconds: number;
  instanceId: string;
  /** Larger incoming payloads are dropped unread. */
  maxPayloadBytes: number;
  /** Reconnect backoff: starts here, doubles per failure... */
  minReconnectMs: number;
  /** ...up to this. */
  maxReconnectMs: number;
  /** After a reconnect, remote records not re-announced within this window are dropped. */
  resyncGraceMs: number;
}

export const defaultMqttBridgeLimits = {
  maxPayloadBytes: 16 * 1024,
  minReconnectMs: 500,
  maxReconnectMs: 30_000,
  resyncGraceMs: 2_000,
} as const;

export type RejectReason = 'oversized' | 'unknown topic' | 'malformed JSON' | 'invalid status' | 'invalid record' | 'foreign ids';

export interface BridgeStatus {
  connected: boolean;
  brokerUrl: string;
  remoteInstances: number;
  rejected: Partial<Record<RejectReason, number>>;
}

type RecordValidator = (doc: unknown) => void;

export class MqttBridge {
  private client: MqttClient | null = null;
  private readonly topics: PresenceTopics;
  private readonly view: RemoteView;
  private readonly local = new Map<string, Document>();
  private localObserver: ObserveHandle | null = null;
  private readonly epoch = Date.now();
  private readonly rejected: Partial<Record<RejectReason, number>> = {};
  private resyncTimer: NodeJS.Timeout | null = null;
  private connectedOnce = false;
  private readonly statusListeners = new Set<(status: BridgeStatus) => void>();

  constructor(
    private readonly options: MqttBridgeOptions,
    private readonly collection: StoreCollection<Document>,
    private readonly validateRecord: RecordValidator,
    private readonly log: Logger,
  ) {
    this.topics = new PresenceTopics(options.topicPrefix);
    this.view = new RemoteView(collection, log);
  }

  /** Starts connecting; does not wait for the broker (local presence must not depend on it). */
  start(): void {
    const own = this.options.instanceId;
    this.localObserver = this.collection.find({ instanceId: own }).observeChanges({
      added: (id, fields) => this.localChanged(id, { _id: id, ...fields } as Document),
      changed: (id, fields) => this.localChanged(id, { ...this.local.get(id)!, ...fields } as Document),
      removed: (id) => this.localChanged(id, null),
    });
    const clientOptions: IClientOptions = {
      clientId: `presence-${own}-${this.epoch.toString(36)}`,
      username: this.options.username,
      password: this.options.password,
      keepalive: this.options.keepaliveSeconds,
      clean: true,
      reconnectPeriod: this.options.minReconnectMs,
      connectTimeout: 10_000,
      will: {
        topic: this.topics.status(own),
        payload: Buffer.from(JSON.stringify(this.statusMessage('offline', 'will'))),
        qos: 1,
        retain: true,
      },
    };
    const client = mqtt.connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('close', () => {
      if (this.connectedOnce) this.emitStatus();
      // Exponential backoff: mqtt.js reads reconnectPeriod each time it schedules a retry.
      client.options.reconnectPeriod = Math.min(this.options.maxReconnectMs, (client.options.reconnectPeriod ?? 1000) * 2);
    });
    client.on('error', (error) => this.log.warn('MQTT error', { error: error.message }));
  }

  status(): BridgeStatus {
    return {
      connected: this.client?.connected ?? false,
      brokerUrl: redactUrl(this.options.url),
      remoteInstances: this.view.onlineInstanceCount,
      rejected: { ...this.rejected },
    };
  }

  onStatus(listener: (status: BridgeStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Resolves when remote records received so far are in the local view (for tests). */
  flushed(): Promise<void> {
    return this.view.flushed();
  }

  /** Clean shutdown: clear our records, say `offline` ourselves, then disconnect. */
  async stop(): Promise<void> {
    this.localObserver?.stop();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    const client = this.client;
    if (client?.connected) {
      const own = this.options.instanceId;
      await Promise.all([...this.local.keys()].map((sid) => client.publishAsync(this.topics.connection(own, sid), '', { qos: 1, retain: true })));
      await client.publishAsync(this.topics.status(own), JSON.stringify(this.statusMessage('offline', 'shutdown')), { qos: 1, retain: true });
    }
    await client?.endAsync();
    this.view.clear();
    await this.view.flushed();
  }

  private onConnect(client: MqttClient): void {
    const own = this.options.instanceId;
    client.options.reconnectPeriod = this.options.minReconnectMs;
    this.log.info('MQTT connected', { broker: redactUrl(this.options.url), instanceId: own });
    client.publish(this.topics.status(own), JSON.stringify(this.statusMessage('online')), { qos: 1, retain: true });
    for (const [sid, record] of this.local) this.publishRecord(sid, record);
    if (this.connectedOnce) {
      this.view.beginResync();
      if (this.resyncTimer) clearTimeout(this.resyncTimer);
      this.resyncTimer = setTimeout(() => this.view.endResync(), this.options.resyncGraceMs);
      this.resyncTimer.unref();
    }
    this.connectedOnce = true;
    client.subscribe([this.topics.statusWildcard, this.topics.connectionsWildcard], { qos: 1 }, (error) => {
      if (error) this.log.error('MQTT subscribe failed', { error: error.message });
    });
    this.emitStatus();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (payload.length > this.options.maxPayloadBytes) return this.reject('oversized', topic);
    const parsed = this.topics.parse(topic);
    if (!parsed) return this.reject('unknown topic', topic);
    const own = this.options.instanceId;
    if (parsed.instanceId === own) {
      // Our own topics are written by us only: a record that is not one of our
      // live connections is a leftover from our previous run (or forged). Clear it.
      if (parsed.kind === 'connection' && payload.length > 0 && !this.local.has(parsed.sessionId)) {
        this.client?.publish(topic, '', { qos: 1, retain: true });
      }
      return;
    }
    if (parsed.kind === 'status') {
      if (payload.length === 0) return;
      let status: InstanceStatus;
      try {
        status = parseStatus(payload);
      } catch {
        return this.reject('invalid status', topic);
      }
      this.view.status(parsed.instanceId, status);
      this.emitStatus();
      return;
    }
    if (payload.length === 0) return this.view.record(parsed.instanceId, parsed.sessionId, null);
    let record: Document;
    try {
      record = EJSON.parse(payload.toString('utf8')) as Document;
    } catch {
      return this.reject('malformed JSON', topic);
    }
    try {
      this.validateRecord(record);
    } catch {
      return this.reject('invalid record', topic);
    }
    if (record._id !== parsed.sessionId || record.instanceId !== parsed.instanceId) return this.reject('foreign ids', topic);
    this.view.record(parsed.instanceId, parsed.sessionId, record);
  }

  private localChanged(sessionId: string, record: Document | null): void {
    if (record) this.local.set(sessionId, record);
    else this.local.delete(sessionId);
    if (this.client?.connected) this.publishRecord(sessionId, record);
  }

  private publishRecord(sessionId: string, record: Document | null): void {
    const topic = this.topics.connection(this.options.instanceId, sessionId);
    this.client?.publish(topic, record ? EJSON.stringify(record as never) : '', { qos: 1, retain: true });
  }

  private statusMessage(state: 'online' | 'offline', reason?: 'will' | 'shutdown'): InstanceStatus {
    return { state, epoch: this.epoch, startedAt: new Date(this.epoch).toISOString(), ...(reason ? { reason } : {}) };
  }

  private reject(reason: RejectReason, topic: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    if (this.rejected[reason] === 1) this.log.warn(`Ignoring MQTT message: ${reason} (logged once per kind)`, { topic: topic.slice(0, 200) });
  }

  private emitStatus(): void {
    const status = this.status();
    for (const listener of this.statusListeners) listener(status);
  }
}

/** The broker URL without credentials, for display. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '[invalid url]';
  }
}
