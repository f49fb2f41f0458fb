import type { BrokerLoadFigure, FleetInstanceFigure, FleetLatency, FleetResult } from './fleet-results-types';

/** The "fleet" section of the markdown report: one row per instance, then each target with its figure, then each miss. */
export function renderFleetReport(r: FleetResult): string {
  if (r.skipped) return `- Fleet skipped: ${r.skipped}.`;
  const t = r.targets;
  const lines: string[] = [];
  lines.push(`### Fleet: ${r.instances} instances of (a) through ${r.broker}, ${r.held} of ${r.target} connections; a lone instance with ${r.loneHeld} (${r.durationSeconds} s)`);
  if (r.error) lines.push('', `**Broke down:** ${r.error}`);
  lines.push('');
  lines.push(`Remote records: ${r.remoteRecordsMode}; the monitor on bench-1 watches a window of ${r.window.limit}, ${r.window.sort} first. Ramp: ${r.rampMs === null ? '–' : `${(r.rampMs / 1000).toFixed(1)} s`}${r.firstFailure ? ` (first failure: ${r.firstFailure})` : ''}.`);
  lines.push('');
  lines.push('| instance | held (sessions) | RSS before → after ramp | RSS / own connection (× lone) | added per own connection: RSS (× lone), JS heap | view records | holds others\' records (remote) | count exact after ramp / after burst |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const f of r.perInstanceFigures) lines.push(row(f));
  lines.push('');
  lines.push(`- RSS per own connection, instances without a monitor vs the lone instance: mean ${x(r.rssRatioMean)}, worst ${x(r.rssRatioMax)} (target ≤ ${t.rssPerOwnConnectionRatio}× for the mean); ` +
    `RSS added per own connection since before the ramp: mean ${x(r.marginalRssRatioMean)}, worst ${x(r.marginalRssRatioMax)} (reported only: the baseline carries startup garbage).`);
  lines.push(`- The monitor's count exact ${ms(r.monitorCountAfterRampMs)} after the ramp ended (target ≤ ${t.monitorCountAfterRampMs} ms; expected ${r.afterRamp?.expected ?? '–'}).`);
  const b = r.burst;
  if (b) {
    lines.push(`- Burst: ${b.closed} sockets of ${b.instance} dropped at once, processed by it after ${ms(b.quiescentAfterMs)}; every count exact ${b.counts.perInstanceMs.map(ms).join(' / ')} after that ` +
      `(${b.fromBurstMs.map(ms).join(' / ')} after the burst; target ≤ ${t.countAfterQuiescenceMs} ms; expected ${b.counts.expected}, shown ${b.counts.finalCounts.join(' / ')}).`);
  }
  lines.push(`- At the monitor: connect → in its window ${lat(r.connectLatency)}; close → removed ${lat(r.closeLatency)}.`);
  lines.push(`- Mosquitto during the ramp: ${broker(r.brokerRamp)}; in steady state: ${broker(r.brokerSteady)}.`);
  const left = r.recordsLeft;
  if (left) lines.push(`- Records left after everyone left: ${left.total} (views ${left.views.join(' / ')}; retained on the broker ${left.retainedOnBroker}${left.retainedProbeComplete ? '' : ' or more'}; target ${t.recordsLeft}).`);
  if (r.instanceWarnings.length) lines.push(`- Instance warnings: ${r.instanceWarnings.map((w) => `${w.instance}: ${cell(w.line)}`).join(' | ')}.`);
  lines.push('');
  lines.push(r.pass ? '- All targets met.' : `- **Missed**: ${r.failures.join('; ')}.`);
  return lines.join('\n');
}

function row(f: FleetInstanceFigure): string {
  const bridge = f.bridge ? `${f.bridge.holdsRecords ? 'yes' : 'no'} (${f.bridge.remoteRecords})${f.bridge.connected ? '' : ', disconnected'}` : '– (no MQTT)';
  const counts = f.role === 'lone' ? '–' : `${ms(f.countAfterRampMs)} / ${ms(f.countAfterBurstMs)}`;
  return `| ${f.instance} (${f.role}) | ${f.held} (${f.sessions}) | ${f.rssBaselineMb ?? '–'} → ${f.rssMb ?? '–'} MB | ${kb(f.rssBytesPerOwnConnection)} (${x(f.ratioToLone)}) | ` +
    `${kb(f.marginalRssBytesPerOwnConnection)} (${x(f.marginalRatioToLone)}), ${kb(f.heapBytesPerOwnConnection)} | ${f.viewRecords} | ${bridge} | ${counts} |`;
}

function broker(b: BrokerLoadFigure | null): string {
  if (!b) return '–';
  const rates = b.receivedPerSecond === null
    ? 'messages/s – (fewer than two $SYS ticks)'
    : `${b.receivedPerSecond} messages/s in, ${b.sentPerSecond ?? '–'} out, ${b.publishSentPerSecond ?? '–'} of them PUBLISH (over ${b.sysSpanSeconds} s of $SYS ticks)`;
  return `${b.cpuPercent ?? '–'}% of a core over ${b.seconds} s, ${rates}`;
}

const lat = (l: FleetLatency | null) => (l ? `p50 ${l.p50 ?? '–'} ms, p99 ${l.p99 ?? '–'} ms, max ${l.max ?? '–'} ms (${l.samples} samples${l.missing ? `, ${l.missing} missing` : ''})` : '–');
const ms = (v: number | null | undefined) => (v === null || v === undefined ? 'never' : `${v} ms`);
const x = (v: number | null) => (v === null ? '–' : `${v}×`);
const kb = (bytes: number | null) => (bytes === null ? '–' : `${(bytes / 1024).toFixed(1)} KB`);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
