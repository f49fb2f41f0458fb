import type { MonitorRssFigure, MonitorsResult } from './monitors-results-types';

/** The "monitors" section of the markdown report: memory per monitor by kind, then the burst's pings, then each miss. */
export function renderMonitorsReport(r: MonitorsResult): string {
  const lines: string[] = [];
  lines.push(`### Monitors: (a) holding ${r.held} of ${r.target} connections (${r.durationSeconds} s)`);
  lines.push('');
  lines.push(`Targets: server RSS ≤ ${r.targets.windowedRssPerMonitorMb} MB per windowed monitor; bystander ping p99 ≤ ${r.targets.pingP99Ms} ms while full-list monitors subscribe at once.`);
  lines.push('');
  lines.push('| monitors | params | ready (all ready after) | docs at ready | RSS before → after | RSS per monitor (JS heap) |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const f of [r.windowed, r.fullList]) if (f) lines.push(rssRow(f));
  const b = r.burst;
  if (b) {
    const g = b.group;
    lines.push('');
    lines.push(
      `- Burst: ${g.ready} of ${b.monitors} full-list monitors ready ${g.allReadyMs === null ? '(not all)' : `after ${Math.round(g.allReadyMs)} ms`}` +
        ` (${g.docsMin ?? '–'} to ${g.docsMax ?? '–'} documents each); bystander ping every ${b.pingIntervalMs} ms:` +
        ` p50 ${ms(b.ping.p50)}, p99 ${ms(b.ping.p99)}, max ${ms(b.ping.max)} (${b.ping.samples} answered, ${b.ping.lost} lost${b.ping.closed ? `; ${b.ping.closed}` : ''});` +
        ` RSS peak +${b.rssPeakGrowthMb ?? '–'} MB.`,
    );
  }
  lines.push('');
  lines.push(r.pass ? '- All targets met.' : `- **Missed**: ${r.failures.join('; ')}.`);
  return lines.join('\n');
}

function rssRow(f: MonitorRssFigure): string {
  const g = f.group;
  const ready = `${g.ready} of ${f.monitors}${g.allReadyMs === null ? '' : ` (${Math.round(g.allReadyMs)} ms)`}${g.firstError ? `, ${cell(g.firstError)}` : ''}`;
  const docs = g.docsMin === g.docsMax ? `${g.docsMin ?? '–'}` : `${g.docsMin} to ${g.docsMax}`;
  return `| ${f.monitors} ${f.kind} | \`${f.params}\` | ${ready} | ${docs} | ${f.rssBeforeMb ?? '–'} → ${f.rssAfterMb ?? '–'} MB | ${f.rssPerMonitorMb ?? '–'} MB (${f.heapPerMonitorMb ?? '–'} MB) |`;
}

const ms = (x: number | null) => (x === null ? '∞' : `${x} ms`);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
