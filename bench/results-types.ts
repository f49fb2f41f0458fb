import type { AttackScenarioResult } from './attack-results-types';
import type { ConvergenceResult } from './convergence-results-types';
import type { DashboardResult } from './dashboard-results-types';
import type { DrainResult } from './drain-results-types';
import type { FleetResult } from './fleet-results-types';
import type { MonitorsResult } from './monitors-results-types';
import type { PeopleResult } from './people-results-types';
import type { ServerKind } from './processes';

export interface LatencyPoint {
  background: number;
  monitors: number;
  p50: number | null;
  p99: number | null;
  samples: number;
  missing: number;
  achievedRate: number | null;
}

export interface ServerResult {
  kind: ServerKind;
  label: string;
  target: number;
  held: number;
  firstFailure?: string;
  rssBaselineMb: number | null;
  memory: Array<{ connections: number; rssMb: number }>;
  bytesPerConnection: number | null;
  /** JS heap used per connection after GC: steadier than RSS, which also counts V8's free pages. */
  heapBytesPerConnection: number | null;
  connectsPerSecond: number | null;
  latency: LatencyPoint[];
  cpuMsPer1000Events: number | null;
  recordsLeft: number | null;
}

export interface SoakResult {
  seconds: number;
  background: number;
  ratePerSecond: number;
  samples: Array<{ atSecond: number; rssMb: number }>;
  growthMbAfterWarmup: number | null;
}

export interface ScaleOutResult {
  instances: number;
  target: number;
  held: number;
  firstFailure?: string;
  countSeenByMonitor: number | null;
  convergedMs: number | null;
  perInstance: Array<{ held: number; records: number; rssMb: number }>;
  skipped?: string;
}

export interface BenchResult {
  startedAt: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; totalMemGb: number; node: string; openFileLimit: string };
  servers: ServerResult[];
  soak: SoakResult | null;
  scaleOut: ScaleOutResult | null;
  /** Convergence after a burst of disconnects and a broker restart (bench/convergence-scenario.ts), when it ran. */
  convergence?: ConvergenceResult | null;
  /** The "under attack" scenario (bench/attack-scenario.ts), when it ran. */
  attack?: AttackScenarioResult | null;
  /** Memory per monitor and a bystander's pings during a burst of monitors (bench/monitors-scenario.ts), when it ran. */
  monitors?: MonitorsResult | null;
  /** Headless Chromium on the monitor page at scale (bench/dashboard-scenario.ts), when it ran. */
  dashboard?: DashboardResult | null;
  /** Six instances and 100,000 connections, counts from summaries, records only where a monitor looks (bench/fleet-scenario.ts), when it ran. */
  fleet?: FleetResult | null;
  /** (a)'s /metrics session count and its SIGTERM drain at 19,000 connections (bench/drain-scenario.ts), when it ran. */
  drain?: DrainResult | null;
  /** Login plus presence against anonymous connects, the people view live (bench/people-scenario.ts), when it ran. */
  people?: PeopleResult | null;
  durationSeconds: number;
}
