/** Results of the "people" section (bench/people-scenario.ts): issue 14's login-plus-presence connect throughput. */

/** What issue 14 asks of login, checked by bench/people-scenario.ts. */
export interface PeopleTargets {
  /** Median login connect rate ÷ median anonymous connect rate must be at least this ("within 10%"). */
  minRatio: number;
}

/** `method`: anonymous, with one `getSessionId` call pipelined after `connect` (the cost of any one request, for comparison). */
export type PeopleRunKind = 'anonymous' | 'method' | 'login';

/** One timed ramp of `target` connections, then all of them closed. */
export interface PeopleRunFigure {
  kind: PeopleRunKind;
  /** 1-based pair number (each pair is one anonymous run, then one login run). */
  pair: number;
  target: number;
  /** Anonymous: `connected` received; login: the login's `result` received without error. */
  opened: number;
  firstFailure?: string;
  /** From sending `open` to every worker to the last worker's answer. */
  rampMs: number;
  connectsPerSecond: number;
  /** Server CPU (user + system) during the ramp, per 1,000 connects (null: no CPU in the sample). */
  cpuMsPer1000Connects: number | null;
  /** Server CPU from `closeAll` until the records and people were gone, per 1,000 closes. */
  cpuMsPer1000Closes: number | null;
  /** Login runs: the people the monitor's `list.onlineUsers` held once settled after the ramp (target / 2). */
  peopleSeen: number | null;
  /** Login runs: of those, people showing `connections: 2` (both tabs). */
  peopleWithTwoConnections: number | null;
  /** Login runs: from the ramp's end until the monitor's people count reached its target (null: it never did). */
  peopleSettledMs: number | null;
  /** Presence records left after everyone closed, not counting the section's own monitor connections. */
  recordsLeft: number | null;
  /** People still in the monitor's view after everyone closed. */
  peopleLeft: number | null;
}

export interface PeopleResult {
  /** Connections per ramp. */
  connections: number;
  /** Distinct accounts in each login ramp (connections / 2: two tabs per person). */
  accounts: number;
  pairs: number;
  loadWorkers: number;
  concurrency: number;
  targets: PeopleTargets;
  /** os.loadavg() when the section started: another run on the machine skews the rates. */
  loadAverage: number[];
  /** Untimed warm-up ramps (one of each kind) before the pairs, so neither kind pays the JIT's warm-up. */
  warmupConnections: number;
  /** Signing the tokens in the workers, once, before any ramp (not in any rate). */
  signMs: number | null;
  runs: PeopleRunFigure[];
  medianAnonymousPerSecond: number | null;
  medianLoginPerSecond: number | null;
  /** medianLoginPerSecond / medianAnonymousPerSecond. */
  ratio: number | null;
  medianAnonymousCpuMsPer1000: number | null;
  medianLoginCpuMsPer1000: number | null;
  /** The `method` runs: anonymous plus one pipelined `getSessionId` (informative; no target). */
  medianMethodPerSecond: number | null;
  medianMethodCpuMsPer1000: number | null;
  /** medianLoginPerSecond / medianMethodPerSecond: what login and presence cost over any one request. */
  ratioToMethod: number | null;
  /** The server's last log lines (warnings and errors). */
  serverLog: string[];
  /** Why the section broke down, if it did. */
  error?: string;
  pass: boolean;
  failures: string[];
  durationSeconds: number;
}
