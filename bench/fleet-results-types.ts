/** Results of the "fleet" section (bench/fleet-scenario.ts): issue 12's cost at 100,000 connections. */

/** What issue 12 asks of a fleet, checked by bench/fleet-scenario.ts. */
export interface FleetTargets {
  /** RSS per own connection of an instance without a monitor, over the lone standalone instance's. */
  rssPerOwnConnectionRatio: number;
  /** The monitor's count is exact this long after the ramp ends, at most. */
  monitorCountAfterRampMs: number;
  /** Every instance's count is exact this long after a burst of closes has been processed, at most. */
  countAfterQuiescenceMs: number;
  /** Records in any view, or retained on the broker, once every client has gone. */
  recordsLeft: number;
}

/** One server process once the ramp's load is held, sampled after forced GCs, once RSS stopped moving. */
export interface FleetInstanceFigure {
  /** `bench-1`…`bench-6`, or `lone` (the standalone instance, no MQTT). */
  instance: string;
  role: 'monitor' | 'plain' | 'lone';
  /** Connections its load workers hold (its watchers' are not counted). */
  held: number;
  /** DDP sessions it serves: `held` plus the bench's own watchers. */
  sessions: number;
  rssBaselineMb: number | null;
  rssMb: number | null;
  heapUsedMb: number | null;
  /** RSS / held: the whole process per connection it serves (what the target compares). */
  rssBytesPerOwnConnection: number | null;
  /**
   * (RSS − RSS before the ramp) / held: what each connection added. More
   * sensitive, but noisier: a fresh process's RSS before the ramp still holds
   * startup garbage V8 hands back later (in quick runs the difference is negative).
   */
  marginalRssBytesPerOwnConnection: number | null;
  /** (JS heap used − before the ramp) / held. */
  heapBytesPerOwnConnection: number | null;
  /** `rssBytesPerOwnConnection` over the lone instance's (null for the lone instance itself). */
  ratioToLone: number | null;
  /** The same for `marginalRssBytesPerOwnConnection`. */
  marginalRatioToLone: number | null;
  /** Presence records in its view: its own plus any other instance's it holds. */
  viewRecords: number;
  /** From `presence.bridgeStatus` (null: no bridge, the lone instance). */
  bridge: { connected: boolean; holdsRecords: boolean; remoteRecords: number; remoteInstances: number } | null;
  /** Its count subscriber's time to the exact count after the ramp ended (null: not within the watch). */
  countAfterRampMs: number | null;
  /** Its count subscriber's time to the exact count after the burst's closes were processed (null: not within the watch). */
  countAfterBurstMs: number | null;
}

/** Latency as the monitor sees it, one sample per probe connection. */
export interface FleetLatency {
  p50: number | null;
  p99: number | null;
  max: number | null;
  samples: number;
  /** Probes whose `added` (or `removed`) never reached the monitor within the timeout. */
  missing: number;
}

/** Mosquitto over one stretch of time. */
export interface BrokerLoadFigure {
  seconds: number;
  /** Its process's CPU (utime + stime from /proc) over the stretch, as % of one core (null: pid not found). */
  cpuPercent: number | null;
  /**
   * `$SYS/broker/messages/received` and `/sent` (every MQTT packet) between
   * the first and the last $SYS tick inside the stretch (ticks come every
   * ~10.9 s): null with fewer than two.
   */
  receivedPerSecond: number | null;
  sentPerSecond: number | null;
  /** The same for `$SYS/broker/publish/messages/sent` (PUBLISH packets only: the fan-out to subscribers). */
  publishSentPerSecond: number | null;
  /** How long the $SYS ticks used span (null: fewer than two). */
  sysSpanSeconds: number | null;
}

/** A count converging after an event: when each instance's count subscriber showed the exact count for good. */
export interface CountConvergence {
  expected: number;
  /** Per instance (bench-1…), ms after the reference moment (null: not within `observedMs`). */
  perInstanceMs: Array<number | null>;
  /** What each subscriber showed at the end of the watch. */
  finalCounts: Array<number | null>;
  observedMs: number;
}

export interface FleetResult {
  instances: number;
  perInstance: number;
  target: number;
  /** Connections held by the fleet's load workers (not the lone instance's, not the bench's watchers). */
  held: number;
  loneHeld: number;
  firstFailure?: string;
  broker: string;
  remoteRecordsMode: string;
  window: { limit: number; sort: 'newest' | 'oldest' };
  targets: FleetTargets;
  rampMs: number | null;
  perInstanceFigures: FleetInstanceFigure[];
  /** Mean of the plain (no-monitor) instances' `ratioToLone`, and the largest (the target applies to the mean). */
  rssRatioMean: number | null;
  rssRatioMax: number | null;
  /** The same for `marginalRatioToLone`. */
  marginalRssRatioMean: number | null;
  marginalRssRatioMax: number | null;
  /** The monitor's own count after the ramp ended. */
  monitorCountAfterRampMs: number | null;
  /** Every instance's count subscriber after the ramp ended (reported; the target is the monitor's). */
  afterRamp: CountConvergence | null;
  /** A burst of closes on one plain instance. */
  burst: {
    instance: string;
    closed: number;
    /** From the burst command to the owner's own sessions reaching their new number (quiescence). */
    quiescentAfterMs: number | null;
    /** Times from quiescence. */
    counts: CountConvergence;
    /** Times from the burst command. */
    fromBurstMs: Array<number | null>;
  } | null;
  connectLatency: FleetLatency | null;
  closeLatency: FleetLatency | null;
  brokerRamp: BrokerLoadFigure | null;
  brokerSteady: BrokerLoadFigure | null;
  /** Once every client had gone: records in each view (bench-1…, then lone), and retained records on the broker. */
  recordsLeft: { views: number[]; retainedOnBroker: number; retainedProbeComplete: boolean; total: number } | null;
  /** WARN/ERROR lines the instances printed (at most a few each). */
  instanceWarnings: Array<{ instance: string; line: string }>;
  error?: string;
  skipped?: string;
  pass: boolean;
  failures: string[];
  durationSeconds: number;
}
