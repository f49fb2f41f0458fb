import type { Logger } from '../log/logger';
import type { FleetSummaries } from './fleet-summaries';
import type { HostPublishThis } from './host';
import type { PresenceFields } from './presence-view';
import { SeriesHistory, type StatsSample } from './series-history';
import { PRESENCE_NAMES } from './wire-contract';

/**
 * Publication `presence.stats` (monitors only): connections and connect /
 * disconnect rates per instance and in total, live, with a server-side
 * history, so a reloaded dashboard draws the last 15 minutes at once.
 *
 * Wire shape, collection `presence.stats`, one document per instance
 * (`_id` = instanceId) and one with `_id: "total"`:
 * - `added`: `{connections, connectsPerSecond, disconnectsPerSecond, online,
 *   latest?, history: {stepMs, endAt, connections[], connects[], disconnects[]}}`
 *   (history oldest first, one sample per step, `endAt` the last sample's time);
 * - every step (1 s): `changed` `{connections, connectsPerSecond,
 *   disconnectsPerSecond, online, latest: {at, connections, connects, disconnects}}`:
 *   only the newest sample travels; clients append `latest` to the history
 *   they got on `added` and drop what is older than the window (15 min).
 * - an instance appears (`added`) at the first step after its first record,
 *   and goes (`removed`) once it has had no connections and no events for
 *   the whole window. This instance and `total` are always there.
 *
 * Why one shared sampler: like LiveCount, one observer of the presence view
 * and one timer serve every subscriber, so a monitor costs one `changed` per
 * series per second, not a timer or a copy of the view.
 *
 * Example:
 *   const stats = new LiveStats({ ownInstanceId, log });
 *   stats.start(view);                       // after the view is live
 *   host.publish('presence.stats', function () { stats.serve(this); });
 *
 * Caveats: per-instance counts come from the records' `instanceId`; a remote
 * instance is `online` when `isOnline` says so (the composition passes the
 * MQTT bridge's statuses) or, without it, while it has records. `online` is
 * asked afresh for every document sent, so a Will shows at the next step even
 * if that instance's records are still in the view. Records that are in the
 * view when `start` runs count as connections, not as connects.
 * Memory: ~11 KB per series; the bridge caps remote instances (1,000).
 */
export const STATS_NAMES = { publication: PRESENCE_NAMES.statsPublication, collection: PRESENCE_NAMES.statsCollection, totalId: 'total' } as const;

export const DEFAULT_LIVE_STATS_OPTIONS = {
  /** One sample per step; also the most often a subscriber is sent a change. */
  sampleMs: 1000,
  /** Samples kept: 15 minutes at 1 s. */
  historyLength: 900,
} as const;

export interface LiveStatsOptions {
  ownInstanceId: string;
  log: Logger;
  sampleMs?: number;
  historyLength?: number;
  /** The clock samples are stamped with (injected for tests). */
  now?: () => number;
  /** Whether a remote instance is up; absent: while it has records. */
  isOnline?: (instanceId: string) => boolean;
  /**
   * Other instances' summaries (the MQTT bridge). Given, other instances'
   * series come from them (sampled at each step; rates from the differences
   * of their cumulative totals) and the view's records of other instances are
   * ignored: those are held only while a monitor looks. Absent, every series
   * is counted from the view's records.
   */
  summaries?: FleetSummaries;
}

/** What the stats follow: the PresenceView (removed carries the record's last fields). */
export interface StatsSource {
  observe(callbacks: { added(id: string, fields: PresenceFields): void; removed(id: string, fields: PresenceFields): void }): unknown;
}

type StatsSubscriber = Pick<HostPublishThis, 'added' | 'changed' | 'removed' | 'ready' | 'onStop' | 'connection'>;

interface Series {
  connections: number;
  /** Since the last sample. */
  connects: number;
  disconnects: number;
  latest: StatsSample | null;
  history: SeriesHistory;
  /** Sent to subscribers (as `added`) yet; new series are announced at the next step. */
  announced: boolean;
}

export class LiveStats {
  private readonly series = new Map<string, Series>();
  private readonly subscribers = new Set<StatsSubscriber>();
  private readonly sampleMs: number;
  private readonly historyLength: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private replaying = false;
  /** Per remote instance: the cumulative totals seen at the last step, to difference. */
  private readonly lastTotals = new Map<string, { epoch: number; connects: number; disconnects: number }>();

  constructor(private readonly options: LiveStatsOptions) {
    this.sampleMs = options.sampleMs ?? DEFAULT_LIVE_STATS_OPTIONS.sampleMs;
    this.historyLength = options.historyLength ?? DEFAULT_LIVE_STATS_OPTIONS.historyLength;
    this.now = options.now ?? Date.now;
    this.seriesFor(STATS_NAMES.totalId).announced = true;
    this.seriesFor(options.ownInstanceId).announced = true;
  }

  /** Follow the source and start sampling (one timer for all subscribers). */
  start(source: StatsSource): void {
    if (this.timer) return;
    this.replaying = true;
    source.observe({
      added: (_id, fields) => this.count(fields.instanceId, +1),
      removed: (_id, fields) => this.count(fields.instanceId, -1),
    });
    this.replaying = false;
    this.timer = setInterval(() => this.step(), this.sampleMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Send every series with its history to this subscription, then keep it live. */
  serve(sub: StatsSubscriber): void {
    for (const [id, series] of this.series) {
      if (series.announced) sub.added(STATS_NAMES.collection, id, this.fullDocument(id, series));
    }
    this.subscribers.add(sub);
    sub.onStop(() => this.subscribers.delete(sub));
    sub.ready();
  }

  /** Take one sample of every series and push it (the timer calls this every `sampleMs`). */
  step(): void {
    if (this.options.summaries) this.sampleSummaries(this.options.summaries);
    const at = this.now();
    const gone: string[] = [];
    for (const [id, series] of this.series) {
      const sample: StatsSample = { at, connections: series.connections, connects: series.connects, disconnects: series.disconnects };
      series.history.push(sample);
      series.latest = sample;
      series.connects = 0;
      series.disconnects = 0;
      if (!this.isDisposable(id, series)) continue;
      this.series.delete(id); // deleting the current entry while iterating a Map is safe
      if (series.announced) gone.push(id);
    }
    for (const sub of this.subscribers) this.pushTo(sub, gone);
    for (const series of this.series.values()) series.announced = true;
  }

  private pushTo(sub: StatsSubscriber, gone: string[]): void {
    try {
      for (const [id, series] of this.series) {
        if (series.announced) sub.changed(STATS_NAMES.collection, id, this.liveFields(id, series, true));
        else sub.added(STATS_NAMES.collection, id, this.fullDocument(id, series));
      }
      for (const id of gone) sub.removed(STATS_NAMES.collection, id);
    } catch (error) {
      this.options.log.warn('Could not push stats to a subscriber', { session: sub.connection.id, error });
    }
  }

  /**
   * Remote series and the total from the summaries. A run seen for the first
   * time adds no connects (its totals cover its whole life, not this second);
   * an instance that went offline drops to 0 connections.
   */
  private sampleSummaries(summaries: FleetSummaries): void {
    const own = this.series.get(this.options.ownInstanceId)!;
    const total = this.series.get(STATS_NAMES.totalId)!;
    total.connections = own.connections;
    total.connects = own.connects;
    total.disconnects = own.disconnects;
    const seen = new Set<string>();
    for (const summary of summaries.current()) {
      seen.add(summary.instanceId);
      const series = this.seriesFor(summary.instanceId);
      const last = this.lastTotals.get(summary.instanceId);
      const sameRun = last !== undefined && last.epoch === summary.epoch;
      const connects = sameRun ? Math.max(0, summary.connects - last.connects) : 0;
      const disconnects = sameRun ? Math.max(0, summary.disconnects - last.disconnects) : 0;
      this.lastTotals.set(summary.instanceId, { epoch: summary.epoch, connects: summary.connects, disconnects: summary.disconnects });
      series.connections = summary.connections;
      series.connects += connects;
      series.disconnects += disconnects;
      total.connections += summary.connections;
      total.connects += connects;
      total.disconnects += disconnects;
    }
    for (const [id, series] of this.series) {
      if (id === STATS_NAMES.totalId || id === this.options.ownInstanceId || seen.has(id)) continue;
      series.connections = 0;
      this.lastTotals.delete(id);
    }
  }

  private count(instanceId: string | undefined, delta: 1 | -1): void {
    if (this.options.summaries) {
      // Only this instance's own records: the others are counted from their summaries (and the total at each step).
      if (instanceId !== this.options.ownInstanceId) return;
      const series = this.seriesFor(instanceId);
      series.connections += delta;
      if (this.replaying) return;
      if (delta > 0) series.connects++;
      else series.disconnects++;
      return;
    }
    for (const id of [STATS_NAMES.totalId, instanceId ?? 'unknown']) {
      const series = this.seriesFor(id);
      series.connections += delta;
      if (this.replaying) continue;
      if (delta > 0) series.connects++;
      else series.disconnects++;
    }
  }

  private seriesFor(id: string): Series {
    let series = this.series.get(id);
    if (!series) {
      series = { connections: 0, connects: 0, disconnects: 0, latest: null, history: new SeriesHistory(this.historyLength), announced: false };
      this.series.set(id, series);
    }
    return series;
  }

  /** A remote instance with nothing to show for the whole window. */
  private isDisposable(id: string, series: Series): boolean {
    if (id === STATS_NAMES.totalId || id === this.options.ownInstanceId) return false;
    return series.connections === 0 && series.history.isIdle();
  }

  private liveFields(id: string, series: Series, withLatest: boolean): Record<string, unknown> {
    const perSecond = 1000 / this.sampleMs;
    const fields: Record<string, unknown> = {
      connections: series.connections,
      connectsPerSecond: (series.latest?.connects ?? 0) * perSecond,
      disconnectsPerSecond: (series.latest?.disconnects ?? 0) * perSecond,
      online: this.isOnline(id, series),
    };
    if (withLatest && series.latest) fields.latest = { ...series.latest };
    return fields;
  }

  private fullDocument(id: string, series: Series): Record<string, unknown> {
    return { ...this.liveFields(id, series, true), history: { stepMs: this.sampleMs, ...series.history.toArrays() } };
  }

  private isOnline(id: string, series: Series): boolean {
    if (id === STATS_NAMES.totalId || id === this.options.ownInstanceId) return true;
    return this.options.isOnline?.(id) ?? series.connections > 0;
  }
}
