import type { MonitorGroupReport } from './load/monitors';

/** What issue 11 asks of monitors, checked by bench/monitors-scenario.ts. */
export interface MonitorsTargets {
  /** Server RSS a windowed monitor (`limit` 100) may add, whatever the number of connections. */
  windowedRssPerMonitorMb: number;
  /** Bystander ping p99 while `burst` full-list monitors subscribe at once. */
  pingP99Ms: number;
}

/** Server memory added by `monitors` monitors of one kind, all subscribed (sampled after a settle and a forced GC). */
export interface MonitorRssFigure {
  kind: 'windowed' | 'full-list';
  /** The subscription's params, minus the token. */
  params: string;
  monitors: number;
  group: MonitorGroupReport;
  rssBeforeMb: number | null;
  rssAfterMb: number | null;
  rssPerMonitorMb: number | null;
  /** JS heap used per monitor: steadier than RSS, which also counts V8's free pages. */
  heapPerMonitorMb: number | null;
}

/** A bystander's DDP pings while `monitors` full-list monitors subscribe at the same moment. */
export interface MonitorBurstFigure {
  monitors: number;
  group: MonitorGroupReport;
  pingIntervalMs: number;
  /** Pings unanswered (or unsendable) count as infinitely slow: p99 is null once more than 1% are lost. */
  ping: { p50: number | null; p99: number | null; max: number | null; samples: number; lost: number; closed?: string };
  /** Peak server RSS during the burst minus the RSS before it. */
  rssPeakGrowthMb: number | null;
}

export interface MonitorsResult {
  /** Connections held on the one app instance while monitors were measured. */
  target: number;
  held: number;
  firstFailure?: string;
  targets: MonitorsTargets;
  windowed: MonitorRssFigure | null;
  fullList: MonitorRssFigure | null;
  burst: MonitorBurstFigure | null;
  /** Why the section broke down, if it did. */
  error?: string;
  pass: boolean;
  failures: string[];
  durationSeconds: number;
}
