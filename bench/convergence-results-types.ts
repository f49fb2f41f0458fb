/** Results of the convergence scenario (bench/convergence-scenario.ts). */

/** One poll of every instance: view counts, and whether each view is exactly the live set. */
export interface ConvergenceSample {
  /** ms since the event (the burst, the broker kill). */
  t: number;
  counts: number[];
  exact: boolean[];
}

/** Watching every instance's view after an event until all are exact (and stay so for `holdMs`), or `maxMs`. */
export interface ConvergenceWindow {
  /** The live connections every view should show. */
  expected: number;
  /** When every view became exact for good (null: not within `observedMs`). */
  convergedMs: number | null;
  /** Per instance: the start of its final exact stretch (null: not exact at the end). */
  perInstanceMs: Array<number | null>;
  /** View counts nearest to 1, 5, 10 s (and later marks, when watched that long). */
  countsAt: Array<{ atSecond: number; counts: number[] }>;
  /** The largest |count − expected| seen, overall and per instance. */
  maxDeviation: number;
  maxDeviationPerInstance: number[];
  observedMs: number;
  holdMs: number;
  /** Resyncs each instance's bridge started during the window. */
  resyncs: Array<number | null>;
  /** Polls, thinned to about one per 500 ms. */
  timeline: ConvergenceSample[];
  /** Each instance at the end of the watch: its view's records per owning instance (expected: `expectedByOwner`), and its bridge's status. */
  final: Array<{ byOwner: Record<string, number>; bridge: { connected: boolean; remoteRecords: number; resyncs: number; rejected: Record<string, number> } | null }>;
  expectedByOwner: Record<string, number>;
}

export interface AfterScenarioChecks {
  /** Records left in each instance's view with no live connection behind them (must be 0). */
  ghosts: number[];
  /** Non-empty retained records on the broker once everyone left (must be 0). */
  staleRetained: number;
  staleRetainedByInstance: Record<string, number>;
  staleRetainedExamples: string[];
  staleProbeListenedMs: number;
  /** Probe rounds, and whether one of them received every record seen (else `staleRetained` is a lower bound). */
  staleProbeRounds: number;
  staleProbeComplete: boolean;
  /** mosquitto's `$SYS/broker/retained messages/count` (every retained topic: its own $SYS ones, each instance's status and digest, records). */
  sysRetainedCount: number | null;
  /** mosquitto's `$SYS/broker/publish/messages/dropped` for the current broker run (null: not published yet). */
  droppedCounter: number | null;
  /** Whether that counter comes from a $SYS tick after the scenario ended (else it may be up to 10 s old). */
  droppedCounterFresh: boolean;
  /** Before a broker kill: the dropped counter of the killed run. */
  droppedCounterBeforeKill?: number | null;
}

export interface ConvergenceScenario {
  name: 'burst' | 'broker-restart';
  title: string;
  /** Connections held per instance before the event. */
  heldPerInstance: number[];
  /** How long opening them took, and until every view showed them exactly. */
  rampMs: number;
  rampConvergedMs: number | null;
  targetMs: number;
  event: ConvergenceWindow;
  /** broker-restart: what the restarted broker held once the views had converged (the snapshot a late-joining instance gets; records should equal the live connections). */
  retainedAfterRestart?: {
    /** Records a QoS 0 probe received (a lower bound past 500: mosquitto drops part of a large set for a reader that lags). */
    probeRecords: number;
    probeRounds: number;
    probeComplete: boolean;
    /** `$SYS/broker/retained messages/count` after the views converged, and that less the count with no records (after the burst). */
    sysRetainedCount: number | null;
    sysRecords: number | null;
    /** The restarted broker's dropped counter once the views had converged (before this probe and the teardown), when $SYS was read. */
    droppedCounter: number | null;
  };
  /** broker-restart: then every client drops at once; the views must empty. */
  teardown?: ConvergenceWindow;
  after: AfterScenarioChecks;
  /** Bridge log lines from the instances (info and above, no per-session lines) during the scenario. */
  instanceLog: Array<{ instance: number; line: string }>;
  instanceLogCounts: Array<{ instance: number; resyncLines: number; connectedLines: number; warnings: number }>;
  /** mosquitto's own log lines during the scenario (connects, disconnects, drop notices). */
  brokerLog: string[];
  pass: boolean;
  /** Targets missed (timing). */
  failures: string[];
  /** Ghosts or stale retained records: a bug whatever the timing. */
  leaks: string[];
}

export interface ConvergenceResult {
  instances: number;
  perInstance: number;
  broker: string;
  targets: { burstMs: number; brokerRestartMs: number };
  scenarios: ConvergenceScenario[];
  skipped?: string;
  /** The scenario broke down (a process died, a ramp failed). */
  error?: string;
  /** With `error`: the instances' last log lines. */
  errorLog?: Array<{ instance: number; line: string }>;
  pass: boolean;
  durationSeconds: number;
}
