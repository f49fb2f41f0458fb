/** Results of the "drain" section (bench/drain-scenario.ts): issue 13's /metrics and SIGTERM drain figures. */

/** What issue 13 asks of a drain, checked by bench/drain-scenario.ts. */
export interface DrainTargets {
  /** No tenth of DRAIN_MS may see more than this share of the client closes (1/10 is perfectly even). */
  maxTenthShare: number;
  /** The process exits within DRAIN_MS plus this long after SIGTERM. */
  exitSlackMs: number;
  exitCode: number;
}

/** One scrape of `GET /metrics` with the bearer token, while the load is held. */
export interface MetricsScrapeFigure {
  status: number;
  /** From sending the request to the whole body read. */
  scrapeMs: number;
  /** `ddp_sessions` summed over its `transport` series (null: the gauge was missing). */
  ddpSessions: number | null;
  byTransport: Record<string, number>;
  bodyBytes: number;
}

/** Client connections closed in one tenth of DRAIN_MS after SIGTERM. */
export interface DrainTenthFigure {
  tenth: number;
  fromMs: number;
  toMs: number;
  closes: number;
  /** closes / connections held at SIGTERM. */
  share: number;
}

export interface DrainClosesFigure {
  /** Connections the load workers held when SIGTERM was sent. */
  held: number;
  closed: number;
  /** Closed before SIGTERM (none expected). */
  beforeSignal: number;
  tenths: DrainTenthFigure[];
  /** Closed at or after DRAIN_MS (the last batch's stragglers, or the process exit's). */
  afterDrainMs: number;
  /** Still open when the workers stopped waiting. */
  stillOpen: number;
  firstMs: number | null;
  lastMs: number | null;
}

export interface DrainExitFigure {
  /** From SIGTERM sent to the process's `exit` event (null: it did not exit in time and was killed). */
  ms: number | null;
  code: number | null;
  signal: string | null;
}

export interface DrainResult {
  target: number;
  held: number;
  firstFailure?: string;
  drainMs: number;
  targets: DrainTargets;
  /** os.loadavg() when the section started: another run on the machine skews the timings. */
  loadAverage: number[];
  metrics: MetricsScrapeFigure | null;
  closes: DrainClosesFigure | null;
  exit: DrainExitFigure | null;
  /** The server's last log lines (warnings and errors) when it exited. */
  serverLog: string[];
  /** Why the section broke down, if it did. */
  error?: string;
  pass: boolean;
  failures: string[];
  durationSeconds: number;
}
