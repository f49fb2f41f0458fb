import { renderAttackReport } from './attack-report';
import { renderConvergenceReport } from './convergence-report';
import { renderDashboardReport } from './dashboard-report';
import { renderDrainReport } from './drain-report';
import { renderFleetReport } from './fleet-report';
import { renderMonitorsReport } from './monitors-report';
import type { BenchResult, ServerResult } from './results-types';

/** The markdown report printed on stdout: one table, then each target with its measured ratio. */
export function renderReport(result: BenchResult): string {
  const lines: string[] = [];
  lines.push(`## Benchmark (${result.mode}, ${result.startedAt}, ${result.durationSeconds} s)`);
  lines.push('');
  lines.push(`Machine: ${result.machine.cpus} cores, ${result.machine.totalMemGb} GB, Node ${result.machine.node}; open files per process: ${result.machine.openFileLimit}.`);
  lines.push('');
  if (result.servers.length) {
    lines.push('| server | held / target | RSS per connection (JS heap) | connects/s | close→removal p50 / p99, 1 monitor | same, 10 monitors | CPU per 1,000 connect+close | records left |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of result.servers) {
      const one = s.latency.filter((l) => l.monitors === 1).at(-1);
      const ten = s.latency.find((l) => l.monitors === 10);
      lines.push(
        `| ${s.label} | ${s.held} / ${s.target}${s.firstFailure ? ` (first failure: ${s.firstFailure})` : ''} | ${kb(s.bytesPerConnection)} (${kb(s.heapBytesPerConnection)}) | ${s.connectsPerSecond ?? '–'} | ${lat(one)} | ${lat(ten)} | ${s.cpuMsPer1000Events ?? '–'} ms | ${s.recordsLeft ?? '–'} |`,
      );
    }
  }
  const by = (kind: ServerResult['kind']) => result.servers.find((s) => s.kind === kind);
  const a = by('app');
  const b = by('ddp-only');
  const c = by('bare-ws');
  const d = by('socketio');
  if (result.servers.length) lines.push('', 'Targets (ratios against the baselines of this same run):');
  if (a) lines.push(`- (a) holds ${a.held} of ${a.target} concurrent connections${a.firstFailure ? `; first failure: ${a.firstFailure}` : ''}.`);
  if (a && b) {
    lines.push(`- Presence adds ${pct(ratio(a.bytesPerConnection, b.bytesPerConnection) - 1)} RSS per connection over (b), ${pct(ratio(a.heapBytesPerConnection, b.heapBytesPerConnection) - 1)} JS heap (target ≤ 10%).`);
  }
  if (a && c) lines.push(`- (a) memory per connection is ${ratio(a.bytesPerConnection, c.bytesPerConnection).toFixed(2)}× (c)'s (target ≤ 2×).`);
  if (a && c && d) {
    lines.push(`- (a) connect rate is ${pct(ratio(a.connectsPerSecond, c.connectsPerSecond))} of (c)'s (target ≥ 50%) and ${ratio(a.connectsPerSecond, d.connectsPerSecond).toFixed(2)}× (d)'s (target > 1×).`);
  }
  for (const l of a?.latency ?? []) lines.push(`- (a) close→removal with ${l.monitors} monitor(s) at ${l.background} connections, churn ${l.achievedRate}/s: p50 ${l.p50} ms, p99 ${l.p99} ms (${l.samples} samples, ${l.missing} missing; target p99 ≤ 50 ms at 10,000).`);
  for (const s of result.servers) if (s.recordsLeft) lines.push(`- ${s.label}: ${s.recordsLeft} records left after every client left (must be 0).`);
  if (result.soak) {
    lines.push(`- Soak: (a) with ${result.soak.background} held, churn ${result.soak.ratePerSecond}/s for ${result.soak.seconds} s: RSS ${result.soak.samples.map((x) => x.rssMb).join(' → ')} MB; growth once warm (mean of the last third of samples after 60 s minus the first third) ${result.soak.growthMbAfterWarmup} MB.`);
  }
  const so = result.scaleOut;
  if (so?.skipped) lines.push(`- Scale-out skipped: ${so.skipped}.`);
  else if (so) {
    lines.push(`- Scale-out: ${so.instances} instances of (a) through mosquitto held ${so.held} of ${so.target} (target ≥ 50,000; stretch 57,000)${so.firstFailure ? `, first failure: ${so.firstFailure}` : ''}; the monitor on instance 1 counted ${so.countSeenByMonitor} (expected ${so.held + 1}) after ${so.convergedMs ?? 'no convergence within 120 s'} ms; per instance: ${so.perInstance.map((p) => `${p.held} held, ${p.records} records, ${p.rssMb} MB`).join('; ')}.`);
  }
  if (result.convergence) lines.push('', renderConvergenceReport(result.convergence));
  if (result.attack) lines.push('', renderAttackReport(result.attack));
  if (result.monitors) lines.push('', renderMonitorsReport(result.monitors));
  if (result.dashboard) lines.push('', renderDashboardReport(result.dashboard));
  if (result.fleet) lines.push('', renderFleetReport(result.fleet));
  if (result.drain) lines.push('', renderDrainReport(result.drain));
  return lines.join('\n') + '\n';
}

const ratio = (x: number | null, y: number | null) => (x !== null && y ? x / y : NaN);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '–');
const kb = (bytes: number | null) => (bytes === null ? '–' : `${(bytes / 1024).toFixed(1)} KB`);
const lat = (l?: { p50: number | null; p99: number | null; background: number }) => (l ? `${l.p50} / ${l.p99} ms @ ${l.background}` : '–');
