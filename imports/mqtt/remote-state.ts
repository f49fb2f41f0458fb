import { RecordCompactor, type HeldRecord, type RecordRun } from './compact-record';
import { SessionDigest, type DigestValue } from './session-digest';

/**
 * What this instance knows of every other instance, as pure state: messages
 * in, operations out. The bridge (mqtt-bridge.ts) feeds it what the broker
 * delivers and carries out what it returns; nothing here does I/O or reads
 * the clock (callers pass `now`), so every rule is tested table by table
 * (compare Phoenix's Tracker.State, kept apart from its process).
 *
 * The rules:
 * - Runs. Each run of an instance has an epoch (its start time in ms), and
 *   each record carries the epoch of the run that published it. A record is
 *   shown only while its run is the instance's current online run.
 * - Status. `online(E)` makes E the current run unless E is older than the
 *   current one (a stale retained message) or already known dead.
 *   `offline(E)` (a clean stop or the broker's Will) ends run E and every
 *   older run, and drops their records, whatever any other status said: a
 *   forged `online` with a later epoch cannot make us ignore the real run's
 *   Will. An epoch more than `maxEpochSkewMs` ahead of `now` is refused.
 * - Authority. Records are keyed by (instance, session): a message under one
 *   instance's topics can only ever touch that instance's records.
 * - Anti-entropy. Each instance publishes a digest (count and XOR hash of its
 *   session ids, with its epoch and a sequence number). When ours of that
 *   instance disagrees with its digest for `digestSettleMs` (messages still in
 *   flight settle within that), we ask for a resync of that instance: its
 *   retained records are fetched again, and what the broker no longer holds
 *   is dropped when the resync ends.
 * - Caps. Past `maxRecordsPerInstance` or `maxRecordsTotal`, new records are
 *   refused and that instance is marked partial (no digest checks for it),
 *   so the other instances' views stay exact.
 * - Memory. A record is held once, compactly (compact-record.ts: ~260 bytes
 *   of heap with its share of the maps, where the parsed document and the
 *   view's copy took ~780); `show` hands out that very object, and readers
 *   ask it for a document when they need one.
 */
export interface RemoteRecordEnvelope {
  record: { _id: string; instanceId: string } & Record<string, unknown>;
  epoch: number;
}

export interface InstanceStatusMessage {
  state: 'online' | 'offline';
  epoch: number;
}

export interface InstanceDigestMessage extends DigestValue {
  epoch: number;
  seq: number;
  /** Cumulative connects and disconnects of this run (the summary's counters; absent from older instances). */
  connects?: number;
  disconnects?: number;
}

/** An online instance's summary of itself: its current run's latest digest. */
export interface RemoteSummary {
  instanceId: string;
  epoch: number;
  connections: number;
  connects: number;
  disconnects: number;
}

export type RemoteRejection = 'future epoch' | 'record cap' | 'instance cap';

export type RemoteOperation =
  | { op: 'show'; instanceId: string; record: HeldRecord }
  | { op: 'hide'; instanceId: string; sessionId: string }
  | { op: 'check digest later'; instanceId: string; afterMs: number }
  | { op: 'resync'; instanceId: string }
  | { op: 'check status later'; instanceId: string; afterMs: number }
  | { op: 'reject'; instanceId: string; reason: RemoteRejection }
  | { op: 'instance online'; instanceId: string; epoch: number }
  | { op: 'instance offline'; instanceId: string; epoch: number };

export interface RemoteStateLimits {
  /** Records held for one remote instance (default 50,000: above any one process's socket cap). */
  maxRecordsPerInstance: number;
  /** Records held for all remote instances together (default 500,000). */
  maxRecordsTotal: number;
  /** Remote instances tracked at once (default 1,000): statuses and digests under made-up ids cannot grow memory either. */
  maxInstances: number;
  /** An epoch further ahead of our clock than this is refused (default 5 min). */
  maxEpochSkewMs: number;
  /** How long a digest mismatch may last before a resync (default 1 s). */
  digestSettleMs: number;
  /**
   * After a full resync, an instance whose status the broker no longer held
   * (after a broker restart it may simply not have reconnected yet) keeps its
   * records this long before it is forgotten (default 10 s).
   */
  statusGraceMs: number;
  /**
   * Distinct strings (user agents, addresses) shared between held records, per
   * generation of the interner (default 4,096; string-interner.ts): plenty for
   * a fleet's user agents, and a flood of distinct ones holds at most twice
   * this many (≤ ~4.5 MB with 512-character user agents).
   */
  maxInternedStrings: number;
}

export const defaultRemoteStateLimits: RemoteStateLimits = {
  maxRecordsPerInstance: 50_000,
  maxRecordsTotal: 500_000,
  maxInstances: 1_000,
  maxEpochSkewMs: 5 * 60_000,
  digestSettleMs: 1_000,
  statusGraceMs: 10_000,
  maxInternedStrings: 4_096,
};


interface InstanceState {
  currentEpoch: number | null;
  /** Every run up to and including this epoch is known to have ended. */
  deadUpTo: number;
  /** Held compactly (compact-record.ts): the view keeps these very objects, and no other copy exists. */
  records: Map<string, HeldRecord>;
  /** The run the latest record came from, shared by that run's records (it carries their epoch and instance id). */
  run: RecordRun | null;
  /** Digest of the records shown (those of the current run). */
  shown: SessionDigest;
  lastDigest: InstanceDigestMessage | null;
  mismatchSince: number | null;
  /** While a resync runs: records not re-announced yet. */
  unconfirmed: Set<string> | null;
  /** During a full resync: whether a status arrived for this instance. */
  statusConfirmed: boolean;
  /** A full resync ended without its status: forgotten at `checkStatus` unless one arrives. */
  awaitingStatus: boolean;
  partial: boolean;
}

export class RemoteState {
  private readonly instances = new Map<string, InstanceState>();
  private total = 0;
  /**
   * Whether per-connection records are held at all (issue 12: only while a
   * monitor looks). While not, record messages are ignored and digests are
   * not compared; statuses and summaries are kept as always.
   */
  private recordsWanted = true;

  private readonly compactor: RecordCompactor;

  constructor(private readonly limits: RemoteStateLimits = defaultRemoteStateLimits) {
    this.compactor = new RecordCompactor(limits.maxInternedStrings);
  }

  get onlineInstanceCount(): number {
    let n = 0;
    for (const instance of this.instances.values()) if (instance.currentEpoch !== null) n++;
    return n;
  }

  get recordCount(): number {
    return this.total;
  }

  /**
   * Whether `instanceId` has a current run: it announced `online` and no
   * `offline` (a clean stop or its Will) has ended that run since. Exactly
   * when its records are shown; false for an id never seen or forgotten.
   */
  isOnline(instanceId: string): boolean {
    const instance = this.instances.get(instanceId);
    return instance !== undefined && instance.currentEpoch !== null;
  }

  /** Summaries of the instances that are online, from their current run's latest digest. */
  *summaries(): Iterable<RemoteSummary> {
    for (const [instanceId, instance] of this.instances) {
      const digest = instance.lastDigest;
      if (instance.currentEpoch === null || digest === null || digest.epoch !== instance.currentEpoch) continue;
      yield { instanceId, epoch: digest.epoch, connections: digest.count, connects: digest.connects ?? 0, disconnects: digest.disconnects ?? 0 };
    }
  }

  get holdsRecords(): boolean {
    return this.recordsWanted;
  }

  /** Hold records again; the caller then fetches them (a records-only resync: `beginResync(null, false)`). */
  wantRecords(): void {
    this.recordsWanted = true;
  }

  /** Let every record go (hidden from observers) and ignore records until `wantRecords`; statuses and summaries stay. */
  dropRecords(): RemoteOperation[] {
    this.recordsWanted = false;
    const ops: RemoteOperation[] = [];
    for (const [instanceId, instance] of this.instances) {
      this.hideShown(instance, instanceId, ops);
      this.total -= instance.records.size;
      instance.records.clear();
      instance.unconfirmed = null;
      instance.mismatchSince = null;
      instance.partial = false;
    }
    return ops;
  }

  /** Records currently shown, for a late observer. */
  *shownRecords(): Iterable<HeldRecord> {
    for (const instance of this.instances.values()) {
      for (const held of instance.records.values()) if (held.epoch === instance.currentEpoch) yield held;
    }
  }

  status(instanceId: string, message: InstanceStatusMessage, now: number): RemoteOperation[] {
    if (message.epoch > now + this.limits.maxEpochSkewMs) return [{ op: 'reject', instanceId, reason: 'future epoch' }];
    const instance = this.instance(instanceId);
    if (!instance) return [{ op: 'reject', instanceId, reason: 'instance cap' }];
    instance.statusConfirmed = true;
    instance.awaitingStatus = false;
    const ops: RemoteOperation[] = [];
    if (message.state === 'online') {
      if (message.epoch <= instance.deadUpTo) return ops; // a run that already ended
      if (instance.currentEpoch !== null && message.epoch <= instance.currentEpoch) return ops; // stale, or a repeat
      this.hideShown(instance, instanceId, ops);
      instance.currentEpoch = message.epoch;
      instance.mismatchSince = null; // an earlier run's mismatch does not shorten this run's settle time
      this.showCurrent(instance, instanceId, ops);
      ops.push({ op: 'instance online', instanceId, epoch: message.epoch });
      return ops.concat(this.compareDigest(instance, instanceId, now));
    }
    // offline: run `epoch` and everything before it has ended.
    instance.deadUpTo = Math.max(instance.deadUpTo, message.epoch);
    if (instance.currentEpoch !== null && instance.currentEpoch <= message.epoch) {
      this.hideShown(instance, instanceId, ops);
      instance.currentEpoch = null;
      instance.mismatchSince = null;
      ops.push({ op: 'instance offline', instanceId, epoch: message.epoch });
    }
    for (const [sessionId, held] of instance.records) {
      if (held.epoch <= message.epoch) this.drop(instance, sessionId);
    }
    return ops;
  }

  record(instanceId: string, envelope: RemoteRecordEnvelope, now: number): RemoteOperation[] {
    if (envelope.epoch > now + this.limits.maxEpochSkewMs) return [{ op: 'reject', instanceId, reason: 'future epoch' }];
    if (!this.recordsWanted) return []; // in flight when we unsubscribed
    const instance = this.instance(instanceId);
    if (!instance) return [{ op: 'reject', instanceId, reason: 'instance cap' }];
    const sessionId = envelope.record._id;
    instance.unconfirmed?.delete(sessionId);
    if (envelope.epoch <= instance.deadUpTo) return []; // a leftover of a run that ended
    const existing = instance.records.get(sessionId);
    const ops: RemoteOperation[] = [];
    if (existing) {
      // A resync re-announces every record: the same copy changes nothing (no churn for observers).
      if (existing.isSameAs(envelope.record, envelope.epoch)) return ops;
      if (existing.epoch === instance.currentEpoch) this.hideOne(instance, instanceId, sessionId, ops);
    } else if (instance.records.size >= this.limits.maxRecordsPerInstance || this.total >= this.limits.maxRecordsTotal) {
      instance.partial = true;
      return [{ op: 'reject', instanceId, reason: 'record cap' }];
    } else {
      this.total++;
    }
    const held = this.compactor.hold(envelope.record, this.runOf(instance, instanceId, envelope.epoch));
    instance.records.set(sessionId, held);
    if (held.epoch === instance.currentEpoch) this.showOne(instance, instanceId, held, ops);
    return ops;
  }

  recordRemoved(instanceId: string, sessionId: string): RemoteOperation[] {
    const instance = this.instances.get(instanceId);
    if (!instance) return [];
    instance.unconfirmed?.delete(sessionId);
    const held = instance.records.get(sessionId);
    if (!held) return [];
    const ops: RemoteOperation[] = [];
    if (held.epoch === instance.currentEpoch) this.hideOne(instance, instanceId, sessionId, ops);
    this.drop(instance, sessionId);
    if (instance.records.size < this.limits.maxRecordsPerInstance && this.total < this.limits.maxRecordsTotal) instance.partial = false;
    return ops;
  }

  digest(instanceId: string, message: InstanceDigestMessage, now: number): RemoteOperation[] {
    if (message.epoch > now + this.limits.maxEpochSkewMs) return [{ op: 'reject', instanceId, reason: 'future epoch' }];
    const instance = this.instance(instanceId);
    if (!instance) return [{ op: 'reject', instanceId, reason: 'instance cap' }];
    // A late digest of an ended or superseded run can never be compared: it must not displace the current run's.
    if (message.epoch <= instance.deadUpTo || (instance.currentEpoch !== null && message.epoch < instance.currentEpoch)) return [];
    if (instance.lastDigest && instance.lastDigest.epoch === message.epoch && message.seq < instance.lastDigest.seq) return [];
    instance.lastDigest = message;
    return this.compareDigest(instance, instanceId, now);
  }

  /** The timer a `check digest later` asked for has fired. */
  checkDigest(instanceId: string, now: number): RemoteOperation[] {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.mismatchSince === null || !this.recordsWanted) return [];
    // A resync is under way: look again once it has had time to end.
    if (instance.unconfirmed) return [{ op: 'check digest later', instanceId, afterMs: this.limits.digestSettleMs }];
    if (instance.partial || this.digestMatches(instance)) { // partial: no digest checks (it became so while one was pending)
      instance.mismatchSince = null;
      return [];
    }
    if (now - instance.mismatchSince < this.limits.digestSettleMs) {
      return [{ op: 'check digest later', instanceId, afterMs: instance.mismatchSince + this.limits.digestSettleMs - now }];
    }
    return [{ op: 'resync', instanceId }];
  }

  /**
   * One instance's (or, with null, every instance's) retained records are
   * being fetched again. `statusesToo`: statuses are being fetched as well
   * (a new broker session), so instances whose status does not come back are
   * forgotten after the grace; a records-only fetch (a monitor arrived) keeps
   * the statuses it has.
   */
  beginResync(instanceId: string | null, statusesToo = true): void {
    const targets = instanceId === null ? [...this.instances.values()] : [this.instance(instanceId)];
    for (const instance of targets) {
      if (!instance) continue;
      instance.unconfirmed = new Set(instance.records.keys());
      if (instanceId === null && statusesToo) instance.statusConfirmed = false;
    }
  }

  /** The resync could not start (the subscribe failed): keep everything as it was. */
  cancelResync(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance) instance.unconfirmed = null;
  }

  /** The resync is over: drop what was not re-announced (and, after a full one, instances with no status). */
  endResync(instanceId: string | null, now: number): RemoteOperation[] {
    const ops: RemoteOperation[] = [];
    const ids = instanceId === null ? [...this.instances.keys()] : [instanceId];
    for (const id of ids) {
      const instance = this.instances.get(id);
      if (!instance?.unconfirmed) continue;
      if (instanceId === null && !instance.statusConfirmed) {
        // Not forgotten yet: after a broker restart its owner republishes
        // status and records when it reconnects, and monitors should not see
        // all of them leave and come back meanwhile.
        instance.unconfirmed = null;
        instance.mismatchSince = null;
        instance.awaitingStatus = true;
        ops.push({ op: 'check status later', instanceId: id, afterMs: this.limits.statusGraceMs });
        continue;
      }
      for (const sessionId of instance.unconfirmed) {
        const held = instance.records.get(sessionId);
        if (!held) continue;
        if (held.epoch === instance.currentEpoch) this.hideOne(instance, id, sessionId, ops);
        this.drop(instance, sessionId);
      }
      instance.unconfirmed = null;
      instance.mismatchSince = null;
      ops.push(...this.compareDigest(instance, id, now));
    }
    return ops;
  }

  /** The grace a `check status later` asked for is over: an instance still without a status is forgotten. */
  checkStatus(instanceId: string): RemoteOperation[] {
    const instance = this.instances.get(instanceId);
    if (!instance?.awaitingStatus) return [];
    const ops: RemoteOperation[] = [];
    this.forget(instanceId, instance, ops);
    return ops;
  }

  /** Everything goes (the bridge stops). */
  clear(): RemoteOperation[] {
    const ops: RemoteOperation[] = [];
    for (const [id, instance] of this.instances) this.forget(id, instance, ops);
    return ops;
  }

  private compareDigest(instance: InstanceState, instanceId: string, now: number): RemoteOperation[] {
    const digest = instance.lastDigest;
    if (!this.recordsWanted || !digest || digest.epoch !== instance.currentEpoch || instance.partial || instance.unconfirmed) return [];
    if (this.digestMatches(instance)) {
      instance.mismatchSince = null;
      return [];
    }
    // Asked again on every disagreeing digest (at least every few seconds):
    // the bridge keeps one timer per instance, so a lost timer or a dropped
    // resync can never leave a view wrong for good.
    instance.mismatchSince ??= now;
    return [{ op: 'check digest later', instanceId, afterMs: Math.max(0, instance.mismatchSince + this.limits.digestSettleMs - now) }];
  }

  private digestMatches(instance: InstanceState): boolean {
    const digest = instance.lastDigest;
    return digest === null || digest.epoch !== instance.currentEpoch || instance.shown.equals(digest);
  }

  /** The instance's state, created on first sight; null past `maxInstances`. */
  private instance(instanceId: string): InstanceState | null {
    let instance = this.instances.get(instanceId);
    if (!instance) {
      if (this.instances.size >= this.limits.maxInstances && !this.evictOneOffline()) return null;
      instance = {
        currentEpoch: null,
        deadUpTo: 0,
        records: new Map(),
        run: null,
        shown: new SessionDigest(),
        lastDigest: null,
        mismatchSince: null,
        unconfirmed: null,
        statusConfirmed: true,
        awaitingStatus: false,
        partial: false,
      };
      this.instances.set(instanceId, instance);
    }
    return instance;
  }

  /**
   * Make room for a new instance by forgetting one that is offline (nothing of
   * it is shown). Instances come and go with every deploy; their ids must not
   * fill the table. Its retained status on the broker says `offline` anyway.
   */
  private evictOneOffline(): boolean {
    // First an offline instance; then one that only ever sent a status (no
    // record, no digest: a real instance publishes its digest at connect, so
    // this is what a flood of made-up `online` statuses looks like).
    const victim =
      this.find((i) => i.currentEpoch === null && !i.awaitingStatus) ??
      this.find((i) => i.records.size === 0 && i.lastDigest === null && !i.awaitingStatus);
    if (!victim) return false;
    this.forget(victim[0], victim[1], []);
    return true;
  }

  private find(predicate: (instance: InstanceState) => boolean): [string, InstanceState] | undefined {
    for (const entry of this.instances) if (predicate(entry[1])) return entry;
    return undefined;
  }

  private forget(instanceId: string, instance: InstanceState, ops: RemoteOperation[]): void {
    this.hideShown(instance, instanceId, ops);
    this.total -= instance.records.size;
    this.instances.delete(instanceId);
  }

  private drop(instance: InstanceState, sessionId: string): void {
    if (!instance.records.delete(sessionId)) return;
    this.total--;
    // Room was made: instances that were refused records are no longer at a cap; their next digest mismatch resyncs them.
    if (this.total < this.limits.maxRecordsTotal) {
      for (const other of this.instances.values()) {
        if (other.partial && other.records.size < this.limits.maxRecordsPerInstance) other.partial = false;
      }
    }
  }

  private showCurrent(instance: InstanceState, instanceId: string, ops: RemoteOperation[]): void {
    for (const held of instance.records.values()) {
      if (held.epoch === instance.currentEpoch) this.showOne(instance, instanceId, held, ops);
    }
  }

  private hideShown(instance: InstanceState, instanceId: string, ops: RemoteOperation[]): void {
    for (const [sessionId, held] of instance.records) {
      if (held.epoch === instance.currentEpoch) this.hideOne(instance, instanceId, sessionId, ops);
    }
  }

  private showOne(instance: InstanceState, instanceId: string, record: HeldRecord, ops: RemoteOperation[]): void {
    instance.shown.add(record._id);
    ops.push({ op: 'show', instanceId, record });
  }

  /** The run object for `epoch`: the cached one, or a new one that becomes the cached one. */
  private runOf(instance: InstanceState, instanceId: string, epoch: number): RecordRun {
    if (instance.run?.epoch !== epoch) instance.run = { instanceId, epoch };
    return instance.run;
  }

  private hideOne(instance: InstanceState, instanceId: string, sessionId: string, ops: RemoteOperation[]): void {
    instance.shown.remove(sessionId);
    ops.push({ op: 'hide', instanceId, sessionId });
  }
}
