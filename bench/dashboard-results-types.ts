/** Results of the "dashboard" section (bench/dashboard-scenario.ts): headless Chromium against the monitor page at scale. */

export interface DashboardTargets {
  /** Navigation → `connection-count` shows the expected total. */
  countMs: number;
  /** Navigation → the first `connection-row` is in the DOM. */
  firstRowsMs: number;
  /** No long task longer than this while the load churns (Chromium reports only tasks > 50 ms). */
  longTaskMs: number;
  /** Search input event → the searched row is in the DOM. */
  searchMs: number;
  /** Page JS heap after a forced GC. */
  heapMb: number;
  domElements: number;
}

export interface LongTaskSummary {
  count: number;
  /** null when there was none. */
  maxMs: number | null;
}

/** The window in which the load opens and closes connections at a steady rate. */
export interface ChurnFigures {
  ratePerSecond: number;
  seconds: number;
  /** Connects plus closes done. */
  events: number;
  achievedRate: number;
  /** Churn connections that failed (refused or dropped); `serverWarnings` says why. */
  errors: number;
  longTasks: LongTaskSummary;
  /** CPU time of Chromium's renderers during the window: the page's own work, however starved. */
  pageCpuMs: number | null;
  /** The page's main-thread time during the window by kind (CDP Performance metrics, wall time of its tasks). */
  mainThreadMs: { task: number; script: number; layout: number; style: number } | null;
  /** How busy the whole machine was (every core, from /proc/stat): long tasks on a saturated machine are partly waiting. */
  machineBusyPct: number | null;
  /** New warning lines of the instances during the window, without their timestamps, at most 5. */
  serverWarnings: string[];
}

/** One page against one fleet: a single instance, or several joined through mosquitto. */
export interface DashboardCaseResult {
  name: 'single' | 'fleet';
  title: string;
  instances: number;
  /** Load connections planned, and held (the page, the watcher and the search target come on top). */
  target: number;
  held: number;
  firstFailure?: string;
  /** What the page's count must show: the held load, the bench's watcher and two search targets, the page itself. */
  expectedCount: number;
  /** ms until the monitor's instance counted everything before the page opened (null: not within the wait). */
  fleetConvergedMs: number | null;
  countMs: number | null;
  firstRowsMs: number | null;
  /** What the count showed when the wait ended, if never the expected total. */
  countShown?: string | null;
  /** Long tasks from navigation until both the count and the rows were shown (reported, no target). */
  loadLongTasks: LongTaskSummary;
  churn: ChurnFigures | null;
  /** Whether the page had a `[data-testid="search"]` (null: the run broke down before the search). */
  searchBox: boolean | null;
  /** Input event → the searched row in the DOM; null without a search box, or when the row never came (`searchNote` says which). */
  searchMs: number | null;
  searchNote?: string;
  /** Largest of the after-load and end-of-run samples. */
  heapMb: number | null;
  domElements: number | null;
  samples: Array<{ at: 'after load' | 'after churn'; heapMb: number | null; domElements: number | null }>;
  failures: string[];
  pass: boolean;
  error?: string;
  /** Why the case did not run (no mosquitto for the fleet). */
  skipped?: string;
}

export interface DashboardResult {
  targets: DashboardTargets;
  cases: DashboardCaseResult[];
  pass: boolean;
  durationSeconds: number;
  skipped?: string;
  error?: string;
}
