import EJSON from 'ejson';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../log/logger';
import type { Document, ObserveHandle, StoreCollection } from '../store/collection';
import { guardedTcpStream } from './packet-size-guard';
import { RemoteRecordsFeed } from './remote-records-feed';
import { defaultRemoteStateLimits, RemoteState, type RemoteOperation, type RemoteRejection, type RemoteStateLimits } from './remote-state';
import { SessionDigest } from './session-digest';
import { parseDigest, parseStatus, type InstanceStatus } from './status-message';
import { PresenceTopics } from './topics';
import { BridgeMessageCounts } from './bridge-message-counts';
import { ejsonStringify } from '../common/ejson-values';

/**
 * Joins app instances into one view through an MQTT broker (mqtt.js). The
 * rules live in RemoteState (pure); this is the I/O around it.
 *
 * - Birth and death: CONNECT carries a Will, retained `offline` with our
 *   epoch on `<prefix>/instances/<id>/status`; right after CONNACK we publish
 *   retained `online`. A clean stop publishes `offline` itself.
 * - Each local record is a retained message on its own topic, carrying our
 *   epoch; an empty retained payload clears it (MQTT 3.1.1 §3.3.1.3).
 * - Anti-entropy: we publish a retained digest of our records (count, XOR
 *   hash, epoch, seq) at most every `digestIntervalMs`. A receiver whose view
 *   of us disagrees for `digestSettleMs` subscribes to our records anew: the
 *   broker sends the retained set again, and what it no longer holds is
 *   dropped. Delivery therefore need not be perfect, and is not: with
 *   mosquitto's defaults a QoS 1 subscriber gets at most ~1,020 retained
 *   messages at once (20 in flight + `max_queued_messages` 1000).
 * - Subscriptions: records at QoS 0 (no broker-side queue limit while we
 *   read), statuses and digests at QoS 1 (few, and they must arrive).
 * - Summaries: the digest is also the instance's summary of itself (count,
 *   cumulative connects and disconnects), so counts and stats need no
 *   per-connection records. With `recordsOnDemand`, other instances'
 *   records are subscribed to only while `setRecordsWanted(true)` (a monitor
 *   looks at this instance), and let go `recordsGraceMs` after it turns false:
 *   an instance without monitors holds statuses and summaries only, so its
 *   memory does not grow with the fleet (issue 12).
 * - End of a resync: we publish a marker to our own `<prefix>/sync/<id>`
 *   right after the SUBACK; the broker queues it behind the retained set, so
 *   its arrival ends the resync (or `resyncGraceMs`, whichever comes first).
 * - Our own leftovers: retained records under our topics that are not live
 *   connections (a previous run's) are cleared, in rounds, until a round
 *   finds none (`maxCleanupRounds`).
 * - Packets over `maxPacketBytes` are skipped as they stream in, never
 *   buffered (packet-size-guard.ts, mqtt:// URLs).
 * - Stop is bounded: `offline` and the clearing of our records get
 *   `stopTimeoutMs`, then the connection is dropped regardless.
 * Bad input is dropped, counted per kind in `status().rejected`, and logged
 * once per kind.
 */
export interface MqttBridgeOptions {
  url: string;
  username?: string;
  password?: string;
  topicPrefix: string;
  keepaliveSeconds: number;
  instanceId: string;
  /** Larger incoming record/status payloads are dropped (16 KiB). */
  maxPayloadBytes: number;
  /** Larger incoming packets are skipped before they are buffered (64 KiB). */
  maxPacketBytes: number;
  /** Reconnect backoff: starts here, doubles per failure... */
  minReconnectMs: number;
  /** ...up to this. */
  maxReconnectMs: number;
  /** A resync whose end marker has not come back by then ends anyway (2 s). */
  resyncGraceMs: number;
  /** Our digest is published at most this often, when our records changed (250 ms). */
  digestIntervalMs: number;
  /** ...and again this often even when nothing changed (5 s): a receiver that lost it still converges. */
  digestRepeatMs: number;
  /** Rounds of clearing our own leftovers at connect, at most (20). */
  maxCleanupRounds: number;
  /** How long a clean stop may spend telling the broker (2 s); then the connection is dropped. */
  stopTimeoutMs: number;
  /** Caps and timing of what we hold of others (remote-state.ts). */
  remote: RemoteStateLimits;
  /** Hold other instances' records only while wanted (a monitor looks); false: always (true). */
  recordsOnDemand: boolean;
  /** After the last monitor leaves, others' records are kept this long before they are let go (30 s): a reload does not refetch them. */
  recordsGraceMs: number;
}

export const defaultMqttBridgeLimits = {
  maxPayloadBytes: 16 * 1024,
  maxPacketBytes: 64 * 1024,
  minReconnectMs: 500,
  maxReconnectMs: 30_000,
  resyncGraceMs: 2_000,
  digestIntervalMs: 250,
  digestRepeatMs: 5_000,
  maxCleanupRounds: 20,
  stopTimeoutMs: 2_000,
  remote: defaultRemoteStateLimits,
  recordsOnDemand: true,
  recordsGraceMs: 30_000,
} as const;

export type RejectReason =
  | 'oversized'
  | 'unknown topic'
  | 'malformed JSON'
  | 'invalid status'
  | 'invalid digest'
  | 'invalid record'
  | 'foreign ids'
  | 'forged own topic'
  | RemoteRejection;

export interface BridgeStatus {
  connected: boolean;
  brokerUrl: string;
  remoteInstances: number;
  remoteRecords: number;
  /** Whether other instances' records are subscribed to (always, or while a monitor looks). */
  holdsRecords: boolean;
  resyncs: number;
  rejected: Partial<Record<RejectReason, number>>;
}

type RecordValidator = (doc: unknown) => void;

/** Which resync a marker ends: one instance, everyone (after connect), or our own leftovers. */
type ResyncTarget = { kind: 'instance'; instanceId: string } | { kind: 'all' } | { kind: 'own' } | { kind: 'records' };

export class MqttBridge {
  /** Other instances' records, live, for the app's presence view. */
  readonly remoteRecords: RemoteRecordsFeed;
  /** PUBLISH packets in and out by kind (metrics). */
  readonly messages: BridgeMessageCounts;
  private client: MqttClient | null = null;
  private readonly topics: PresenceTopics;
  private readonly state: RemoteState;
  /**
   * Our own live records, by id only: the store holds the records, and a
   * (re)connect reads them from it (republishOwn). A copy of each here cost
   * ~270 bytes of heap per connection.
   */
  private readonly local = new Set<string>();
  /** Our records updated and being read back to be republished, with the ticket of the latest read per id. */
  private readonly pendingUpdates = new Map<string, number>();
  private updateTickets = 0;
  private readonly digest = new SessionDigest();
  private seq = 0;
  private digestTimer: NodeJS.Timeout | null = null;
  private digestRepeat: NodeJS.Timeout | null = null;
  private statusEmitTimer: NodeJS.Timeout | null = null;
  /** Clears of our own leftovers not yet acknowledged by the broker (a cleanup round waits for them). */
  private pendingClears: Array<Promise<unknown>> = [];
  private readonly statusChecks = new Map<string, NodeJS.Timeout>();
  private localObserver: ObserveHandle | null = null;
  private readonly epoch = Date.now();
  private readonly rejected: Partial<Record<RejectReason, number>> = {};
  private readonly rounds = new Map<string, { target: ResyncTarget; timer: NodeJS.Timeout }>();
  private readonly resyncing = new Set<string>();
  private readonly digestChecks = new Map<string, NodeJS.Timeout>();
  private clearedThisRound = 0;
  private cleanupRound = 0;
  private resyncs = 0;
  private nonce = 0;
  private stopped = false;
  /** Set by `announceDraining`: our `online` status carries `draining: true` from then on (reconnects included). */
  private draining = false;
  private readonly statusListeners = new Set<(status: BridgeStatus) => void>();
  private readonly summaryListeners = new Set<() => void>();
  /** Our own cumulative connects and disconnects this run, for our summary. */
  private connects = 0;
  private disconnects = 0;
  /** Pending let-go of others' records after the last monitor left. */
  private recordsReleaseTimer: NodeJS.Timeout | null = null;
  /** Resolves when the records fetched for the first monitor have arrived (the fetch's round ended). */
  private recordsLoaded: { promise: Promise<void>; resolve(): void } | null = null;

  constructor(
    private readonly options: MqttBridgeOptions,
    private readonly collection: StoreCollection<Document>,
    private readonly validateRecord: RecordValidator,
    private readonly log: Logger,
  ) {
    this.topics = new PresenceTopics(options.topicPrefix);
    this.state = new RemoteState(options.remote);
    if (options.recordsOnDemand) this.state.dropRecords(); // nothing held yet: only marks records as not wanted
    this.remoteRecords = new RemoteRecordsFeed(() => this.state.shownRecords());
    this.messages = new BridgeMessageCounts(this.topics);
  }

  /** Starts connecting; does not wait for the broker (local presence must not depend on it). */
  start(): void {
    const own = this.options.instanceId;
    this.localObserver = this.collection.find({ instanceId: own }).observeChanges(
      {
        added: (id, fields) => this.localChanged(id, { _id: id, ...fields } as Document),
        changed: (id) => this.localUpdated(id),
        removed: (id) => this.localChanged(id, null),
      },
      { nonMutatingCallbacks: true }, // only serialized, never changed: the store need not copy them for us
    );
    const client = this.connect();
    this.client = client;
    this.messages.watch(client);
    this.digestRepeat = setInterval(() => this.publishDigest(), this.options.digestRepeatMs);
    this.digestRepeat.unref();
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('close', () => {
      this.emitStatus();
      // Exponential backoff: mqtt.js reads reconnectPeriod each time it schedules a retry.
      client.options.reconnectPeriod = Math.min(this.options.maxReconnectMs, (client.options.reconnectPeriod ?? 1000) * 2);
    });
    client.on('error', (error) => this.log.warn('MQTT error', { error: error.message }));
  }

  status(): BridgeStatus {
    return {
      connected: this.client?.connected ?? false,
      brokerUrl: redactUrl(this.options.url),
      remoteInstances: this.state.onlineInstanceCount,
      remoteRecords: this.state.recordCount,
      holdsRecords: this.state.holdsRecords,
      resyncs: this.resyncs,
      rejected: { ...this.rejected },
    };
  }

  /**
   * Whether a remote instance is up, as this bridge last heard: its run is
   * `online` and no Will or clean stop has ended it (RemoteState.isOnline).
   * Read-only, O(1); for the stats' `online` flag. False for ids it never
   * heard of, for this instance's own id, and after `stop`. While our own
   * broker connection is down, instances keep the status they last had.
   */
  isRemoteOnline(instanceId: string): boolean {
    return this.state.isOnline(instanceId);
  }

  /** Other online instances' summaries (imports/app/fleet-summaries.ts, structurally). */
  readonly summaries = {
    current: () => this.state.summaries(),
    onChange: (listener: () => void): (() => void) => {
      this.summaryListeners.add(listener);
      return () => this.summaryListeners.delete(listener);
    },
  };

  /**
   * A monitor looks (true) or the last one left (false). With
   * `recordsOnDemand`, others' records are fetched now, or let go after
   * `recordsGraceMs`; without it, records are always held and this does nothing.
   *
   * Resolves once the records are here: at once when they are already held,
   * else when the broker has sent its retained set (the fetch's end marker,
   * at most `resyncGraceMs`), so a monitor's `ready` means a complete list,
   * as it did when every instance held every record. Never rejects; while the
   * broker is away it resolves at once (records arrive when it is back).
   */
  setRecordsWanted(wanted: boolean): Promise<void> {
    if (!this.options.recordsOnDemand || this.stopped) return Promise.resolve();
    if (this.recordsReleaseTimer) clearTimeout(this.recordsReleaseTimer);
    this.recordsReleaseTimer = null;
    if (!wanted) {
      if (this.state.holdsRecords) {
        this.recordsReleaseTimer = setTimeout(() => this.releaseRecords(), this.options.recordsGraceMs);
        this.recordsReleaseTimer.unref();
      }
      return Promise.resolve();
    }
    if (this.state.holdsRecords) return this.recordsLoaded?.promise ?? Promise.resolve();
    this.state.wantRecords();
    this.log.info('A monitor looks: fetching other instances\' records');
    this.emitStatus();
    const client = this.client;
    if (!client?.connected) return Promise.resolve(); // onConnect subscribes to them
    let resolve!: () => void;
    const loaded = { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    this.recordsLoaded = loaded;
    this.state.beginResync(null, false);
    client.subscribe(this.topics.connectionsWildcard, { qos: 0 }, (error) => {
      if (error) {
        loaded.resolve();
        return this.log.error('MQTT subscribe failed', { error: error.message });
      }
      this.startRound({ kind: 'records' });
    });
    return loaded.promise;
  }

  /** The fetch for the first monitor is over (or was superseded by a reconnect's full resync). */
  private recordsArrived(): void {
    this.recordsLoaded?.resolve();
    this.recordsLoaded = null;
  }

  private releaseRecords(): void {
    this.recordsReleaseTimer = null;
    if (this.stopped || !this.state.holdsRecords) return;
    this.client?.unsubscribe(this.topics.connectionsWildcard);
    for (const timer of this.digestChecks.values()) clearTimeout(timer);
    this.digestChecks.clear();
    this.log.info('No monitor for a while: letting other instances\' records go', { records: this.state.recordCount });
    this.apply(this.state.dropRecords());
    this.emitStatus();
  }

  onStatus(listener: (status: BridgeStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Graceful drain: republish our retained `online` status with `draining: true`,
   * so other instances (and operators) can tell a planned exit from a crash.
   * Bounded by `stopTimeoutMs`; never throws (the drain goes on without it).
   */
  async announceDraining(): Promise<void> {
    this.draining = true;
    const client = this.client;
    if (!client?.connected || this.stopped) return; // a reconnect publishes it (statusMessage reads the flag)
    const sent = client.publishAsync(this.topics.status(this.options.instanceId), JSON.stringify(this.statusMessage('online')), { qos: 1, retain: true });
    sent.catch(() => {});
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.options.stopTimeoutMs).unref());
    await Promise.race([sent.then(() => {}, () => {}), deadline]);
  }

  /** Clean shutdown, bounded by `stopTimeoutMs` even with a frozen broker: `offline`, clear our records, disconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.localObserver?.stop();
    this.clearTimers();
    if (this.digestRepeat) clearInterval(this.digestRepeat);
    if (this.statusEmitTimer) clearTimeout(this.statusEmitTimer);
    if (this.recordsReleaseTimer) clearTimeout(this.recordsReleaseTimer);
    this.recordsArrived();
    const client = this.client;
    if (client?.connected) {
      const own = this.options.instanceId;
      const goodbye = (async () => {
        await client.publishAsync(this.topics.status(own), JSON.stringify(this.statusMessage('offline', 'shutdown')), { qos: 1, retain: true });
        await Promise.all([...this.local.keys()].map((sid) => client.publishAsync(this.topics.connection(own, sid), '', { qos: 1, retain: true })));
      })();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.options.stopTimeoutMs, 'timeout').unref());
      if ((await Promise.race([goodbye.then(() => 'done' as const), deadline])) === 'timeout') {
        this.log.warn('MQTT broker did not confirm our goodbye in time; disconnecting anyway', { timeoutMs: this.options.stopTimeoutMs });
      }
      goodbye.catch(() => {});
    }
    await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
    this.apply(this.state.clear());
    this.emitSummaries();
  }

  private connect(): MqttClient {
    const own = this.options.instanceId;
    const clientOptions: IClientOptions = {
      clientId: `presence-${own}-${this.epoch.toString(36)}`,
      username: this.options.username,
      password: this.options.password,
      keepalive: this.options.keepaliveSeconds,
      clean: true,
      reconnectPeriod: this.options.minReconnectMs,
      connectTimeout: 10_000,
      // mqtt-packet's default pre-builds all 65,536 two-byte packet ids as Buffers: 6.3 MB of heap
      // (most of "MQTT adds 9 MB for 4,000 records", issue 12) to save a 2-byte allocation per packet.
      writeCache: false,
      will: {
        topic: this.topics.status(own),
        payload: Buffer.from(JSON.stringify(this.statusMessage('offline', 'will'))),
        qos: 1,
        retain: true,
      },
    };
    const url = new URL(this.options.url);
    if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') return mqtt.connect(this.options.url, clientOptions);
    const host = url.hostname;
    const port = Number(url.port || 1883);
    const onSkip = () => this.reject('oversized', '(packet over maxPacketBytes)');
    return new MqttClient(() => guardedTcpStream(host, port, this.options.maxPacketBytes, onSkip), {
      ...clientOptions,
      protocol: 'mqtt',
      host,
      port,
      username: this.options.username ?? (url.username ? decodeURIComponent(url.username) : undefined),
      password: this.options.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
    });
  }

  private onConnect(client: MqttClient): void {
    const own = this.options.instanceId;
    client.options.reconnectPeriod = this.options.minReconnectMs;
    this.log.info('MQTT connected', { broker: redactUrl(this.options.url), instanceId: own });
    client.publish(this.topics.status(own), JSON.stringify(this.statusMessage('online')), { qos: 1, retain: true });
    void this.republishOwn(client);
    this.publishDigest();
    // Everything we hold is re-confirmed from the broker's retained messages (a clean session starts empty).
    // A records fetch's round goes too: its waiters are released now, and this full resync refetches everything.
    this.clearTimers();
    this.recordsArrived();
    this.resyncing.clear();
    this.state.beginResync(null);
    this.cleanupRound = 0;
    this.clearedThisRound = 0;
    const subscriptions = {
      [this.topics.statusWildcard]: { qos: 1 as const },
      ...(this.state.holdsRecords ? { [this.topics.connectionsWildcard]: { qos: 0 as const } } : {}),
      [this.topics.digestWildcard]: { qos: 1 as const },
      [this.topics.sync(own)]: { qos: 0 as const },
    };
    client.subscribe(subscriptions, (error) => {
      if (error) return this.log.error('MQTT subscribe failed', { error: error.message });
      this.startRound({ kind: 'all' });
    });
    this.emitStatus();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (payload.length > this.options.maxPayloadBytes) return this.reject('oversized', topic);
    const parsed = this.topics.parse(topic);
    if (!parsed) return this.reject('unknown topic', topic);
    const own = this.options.instanceId;
    if (parsed.kind === 'sync') {
      if (parsed.instanceId === own) this.endRound(payload.toString('utf8'));
      return;
    }
    if (parsed.instanceId === own) return this.guardOwnTopic(parsed.kind, topic, payload);
    const now = Date.now();
    if (parsed.kind === 'status') {
      if (payload.length === 0) return;
      let status: InstanceStatus;
      try {
        status = parseStatus(payload);
      } catch {
        return this.reject('invalid status', topic);
      }
      this.apply(this.state.status(parsed.instanceId, status, now));
      this.emitSummaries();
      return;
    }
    if (parsed.kind === 'digest') {
      if (payload.length === 0) return;
      try {
        this.apply(this.state.digest(parsed.instanceId, parseDigest(payload), now));
      } catch {
        this.reject('invalid digest', topic);
      }
      this.emitSummaries();
      return;
    }
    if (payload.length === 0) return this.apply(this.state.recordRemoved(parsed.instanceId, parsed.sessionId));
    let envelope: { e?: unknown; r?: unknown };
    try {
      envelope = EJSON.parse(payload.toString('utf8')) as typeof envelope;
    } catch {
      return this.reject('malformed JSON', topic);
    }
    const { e: epoch, r: record } = envelope ?? {};
    try {
      if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) throw new Error('epoch');
      this.validateRecord(record);
    } catch {
      return this.reject('invalid record', topic);
    }
    const doc = record as Document;
    if (doc._id !== parsed.sessionId || doc.instanceId !== parsed.instanceId) return this.reject('foreign ids', topic);
    this.apply(this.state.record(parsed.instanceId, { record: doc as Document & { instanceId: string }, epoch }, now));
  }

  /**
   * Our topics are written by us only. A record that is not one of our live
   * connections is a leftover of an earlier run (or forged): clear it. A
   * status or digest that is not ours now (a forgery, an empty payload, an
   * earlier run's) would mislead instances that join later: publish ours again.
   */
  private guardOwnTopic(kind: 'status' | 'digest' | 'connection', topic: string, payload: Buffer): void {
    const client = this.client;
    if (!client || this.stopped) return;
    if (kind === 'connection') {
      const sessionId = topic.slice(topic.lastIndexOf('/') + 1);
      if (payload.length === 0 || this.local.has(sessionId)) return;
      this.clearedThisRound++;
      const clear = client.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => {});
      // Only a cleanup round waits for its clears; outside one, nobody would ever drain the list.
      if (this.cleanupRoundOpen()) this.pendingClears.push(clear);
      return;
    }
    let epochOk = false;
    try {
      const message = kind === 'status' ? parseStatus(payload) : parseDigest(payload);
      epochOk = message.epoch === this.epoch && (kind === 'digest' || (message as InstanceStatus).state === 'online');
    } catch {
      epochOk = false;
    }
    if (epochOk) return;
    this.reject('forged own topic', topic);
    if (kind === 'status') client.publish(topic, JSON.stringify(this.statusMessage('online')), { qos: 1, retain: true });
    else this.publishDigest();
  }

  /** Carry out what RemoteState decided. */
  private apply(ops: RemoteOperation[]): void {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      switch (op.op) {
        case 'show':
          this.remoteRecords.shown(op.record);
          break;
        case 'hide': {
          // A new version of a record (hide, then show the same id of the same instance) goes out as one
          // update: a person's login or idle change is then a change, never an offline-online blip.
          const next = ops[i + 1];
          if (next?.op === 'show' && next.record._id === op.sessionId && next.record.instanceId === op.instanceId) {
            this.remoteRecords.shown(next.record);
            i++;
          } else this.remoteRecords.hidden(op.instanceId, op.sessionId);
          break;
        }
        case 'check digest later':
          this.scheduleDigestCheck(op.instanceId, op.afterMs);
          break;
        case 'resync':
          this.resyncInstance(op.instanceId);
          break;
        case 'check status later':
          this.scheduleStatusCheck(op.instanceId, op.afterMs);
          break;
        case 'reject':
          this.reject(op.reason, op.instanceId);
          break;
        case 'instance online':
        case 'instance offline':
          this.log.info(`Remote instance ${op.op === 'instance online' ? 'online' : 'offline'}`, { instanceId: op.instanceId, epoch: op.epoch });
          this.emitStatus();
          break;
      }
    }
  }

  private scheduleDigestCheck(instanceId: string, afterMs: number): void {
    if (this.digestChecks.has(instanceId)) return;
    const timer = setTimeout(() => {
      this.digestChecks.delete(instanceId);
      this.apply(this.state.checkDigest(instanceId, Date.now()));
    }, afterMs);
    timer.unref();
    this.digestChecks.set(instanceId, timer);
  }

  private cleanupRoundOpen(): boolean {
    for (const { target } of this.rounds.values()) if (target.kind !== 'instance') return true;
    return false;
  }

  private scheduleStatusCheck(instanceId: string, afterMs: number): void {
    if (this.statusChecks.has(instanceId)) return;
    const timer = setTimeout(() => {
      this.statusChecks.delete(instanceId);
      this.apply(this.state.checkStatus(instanceId));
      this.emitStatus();
      this.emitSummaries();
    }, afterMs);
    timer.unref();
    this.statusChecks.set(instanceId, timer);
  }

  /** Ask the broker for one instance's retained records again (its digest disagreed with our view). */
  private resyncInstance(instanceId: string): void {
    const client = this.client;
    if (!client?.connected || this.resyncing.has(instanceId)) return;
    this.resyncing.add(instanceId);
    this.resyncs++;
    this.log.info('Resyncing a remote instance: its digest disagrees with our view', { instanceId });
    this.state.beginResync(instanceId);
    client.subscribe(this.topics.connectionsOf(instanceId), { qos: 0 }, (error) => {
      if (error) {
        this.resyncing.delete(instanceId);
        this.state.cancelResync(instanceId);
        return this.log.warn('MQTT resync subscribe failed', { instanceId, error: error.message });
      }
      this.startRound({ kind: 'instance', instanceId });
    });
  }

  /** Publish our end-of-resync marker; the broker delivers it after what the subscription just queued. */
  private startRound(target: ResyncTarget): void {
    const nonce = `${this.epoch.toString(36)}-${++this.nonce}`;
    const timer = setTimeout(() => this.endRound(nonce), this.options.resyncGraceMs);
    timer.unref();
    this.rounds.set(nonce, { target, timer });
    this.client?.publish(this.topics.sync(this.options.instanceId), nonce, { qos: 0 });
  }

  private endRound(nonce: string): void {
    const round = this.rounds.get(nonce);
    if (!round) return;
    this.rounds.delete(nonce);
    clearTimeout(round.timer);
    const { target } = round;
    const now = Date.now();
    if (target.kind === 'instance') {
      this.resyncing.delete(target.instanceId);
      this.client?.unsubscribe(this.topics.connectionsOf(target.instanceId));
      this.apply(this.state.endResync(target.instanceId, now));
      return;
    }
    if (target.kind === 'records') {
      this.apply(this.state.endResync(null, now));
      return this.recordsArrived();
    }
    if (target.kind === 'all') this.apply(this.state.endResync(null, now));
    this.continueCleanup();
  }

  /** Until a round finds no leftover of ours, subscribe to our own records again and clear what is not live. */
  private continueCleanup(): void {
    const own = this.topics.connectionsOf(this.options.instanceId);
    if (this.clearedThisRound === 0) {
      if (this.cleanupRound > 0) this.client?.unsubscribe(own);
      return;
    }
    if (++this.cleanupRound > this.options.maxCleanupRounds) {
      this.log.warn('Our leftover records on the broker were not all cleared', { rounds: this.options.maxCleanupRounds });
      this.client?.unsubscribe(own);
      return;
    }
    this.log.info('Cleared retained records of an earlier run of this instance', { cleared: this.clearedThisRound, round: this.cleanupRound });
    // Only once the broker has acknowledged this round's clears, or the next round would be sent them again.
    const clears = this.pendingClears;
    this.pendingClears = [];
    void Promise.all(clears).then(() => {
      if (this.stopped || !this.client?.connected) return;
      this.clearedThisRound = 0;
      this.client.subscribe(own, { qos: 0 }, (error) => {
        if (!error) this.startRound({ kind: 'own' });
      });
    });
  }

  /**
   * After a (re)connect our records go out again, read from the store (we
   * keep only their ids). A record removed while the read was under way is
   * not in `local` any more, and its observer already cleared it: skipped.
   * One added meanwhile went out from its observer (and again here: the same
   * retained message). Receivers see our digest first; the records follow
   * well within their `digestSettleMs`.
   */
  private async republishOwn(client: MqttClient): Promise<void> {
    let records: Document[];
    try {
      records = await this.collection.find({ instanceId: this.options.instanceId }).fetchAsync();
    } catch (error) {
      return this.log.error('Could not read our records to republish them', { error: (error as Error).message });
    }
    if (client !== this.client || !client.connected || this.stopped) return; // the next connect republishes
    for (const record of records) if (this.local.has(record._id)) this.publishRecord(record._id, record);
  }

  /**
   * One of our records was updated (the app never does; another writer
   * might): republish it as the store has it now. Only the latest read per
   * record publishes, so two quick updates cannot go out in the wrong order.
   */
  private localUpdated(sessionId: string): void {
    const ticket = ++this.updateTickets;
    this.pendingUpdates.set(sessionId, ticket);
    const settle = () => {
      const latest = this.pendingUpdates.get(sessionId) === ticket;
      if (latest) this.pendingUpdates.delete(sessionId);
      return latest;
    };
    this.collection.findOneAsync({ _id: sessionId }).then(
      (record) => {
        if (settle() && record && this.local.has(sessionId) && !this.stopped) this.localChanged(sessionId, record);
      },
      (error: Error) => {
        if (settle()) this.log.warn('Could not read an updated record to republish it', { session: sessionId, error: error.message });
      },
    );
  }

  private localChanged(sessionId: string, record: Document | null): void {
    const had = this.local.has(sessionId);
    if (record) this.local.add(sessionId);
    else this.local.delete(sessionId);
    if (record && !had) {
      this.digest.add(sessionId);
      this.connects++;
    }
    if (!record && had) {
      this.digest.remove(sessionId);
      this.disconnects++;
    }
    this.seq++;
    if (this.client?.connected) this.publishRecord(sessionId, record);
    this.scheduleDigest();
  }

  private publishRecord(sessionId: string, record: Document | null): void {
    const topic = this.topics.connection(this.options.instanceId, sessionId);
    this.client?.publish(topic, record ? ejsonStringify({ e: this.epoch, r: record }) : '', { qos: 1, retain: true });
  }

  private scheduleDigest(): void {
    if (this.digestTimer || this.stopped) return;
    this.digestTimer = setTimeout(() => {
      this.digestTimer = null;
      this.publishDigest();
    }, this.options.digestIntervalMs);
    this.digestTimer.unref();
  }

  private publishDigest(): void {
    if (!this.client?.connected) return;
    const payload = JSON.stringify({ epoch: this.epoch, seq: this.seq, ...this.digest.value(), connects: this.connects, disconnects: this.disconnects });
    this.client.publish(this.topics.digest(this.options.instanceId), payload, { qos: 1, retain: true });
  }

  private statusMessage(state: 'online' | 'offline', reason?: 'will' | 'shutdown'): InstanceStatus {
    const draining = state === 'online' && this.draining ? { draining: true } : {};
    return { state, epoch: this.epoch, startedAt: new Date(this.epoch).toISOString(), ...(reason ? { reason } : {}), ...draining };
  }

  private clearTimers(): void {
    if (this.digestTimer) clearTimeout(this.digestTimer);
    this.digestTimer = null;
    for (const timer of this.digestChecks.values()) clearTimeout(timer);
    this.digestChecks.clear();
    for (const { timer } of this.rounds.values()) clearTimeout(timer);
    this.rounds.clear();
    for (const timer of this.statusChecks.values()) clearTimeout(timer);
    this.statusChecks.clear();
  }

  private reject(reason: RejectReason, where: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    if (this.rejected[reason] === 1) this.log.warn(`Ignoring MQTT message: ${reason} (logged once per kind)`, { reason, where: where.slice(0, 200) });
    this.scheduleStatusEmit();
  }

  /** Counters change often under bad input: monitors hear of them at most once a second. */
  private scheduleStatusEmit(): void {
    if (this.statusEmitTimer || this.stopped) return;
    this.statusEmitTimer = setTimeout(() => {
      this.statusEmitTimer = null;
      this.emitStatus();
    }, 1000);
    this.statusEmitTimer.unref();
  }

  /** Listeners re-read `summaries.current()`; they coalesce on their side (LiveCount batches its pushes). */
  private emitSummaries(): void {
    for (const listener of this.summaryListeners) listener();
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
