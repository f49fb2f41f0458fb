import type { DrainResult } from './drain-results-types';

/** The "drain" section of the markdown report: the /metrics scrape, the closes per tenth of DRAIN_MS, the exit, then each miss. */
export function renderDrainReport(r: DrainResult): string {
  const lines: string[] = [];
  lines.push(`### Drain: (a) holding ${r.held} of ${r.target} connections, DRAIN_MS ${r.drainMs} (${r.durationSeconds} s; load average ${r.loadAverage.join(' ')})`);
  lines.push('');
  lines.push(`Targets: \`ddp_sessions\` = connections held; no tenth of DRAIN_MS over ${r.targets.maxTenthShare * 100}% of the closes; exit within DRAIN_MS + ${r.targets.exitSlackMs / 1000} s, code ${r.targets.exitCode}.`);
  lines.push('');
  const m = r.metrics;
  if (m) {
    const series = Object.entries(m.byTransport).map(([t, n]) => `${t} ${n}`).join(', ');
    lines.push(`- /metrics (HTTP ${m.status}, ${m.bodyBytes} bytes) in ${m.scrapeMs} ms: \`ddp_sessions\` ${m.ddpSessions ?? 'missing'} (${series}) for ${r.held} held.`);
  }
  const c = r.closes;
  if (c) {
    lines.push('');
    lines.push(`| tenth | ${c.tenths.map((t) => `${t.fromMs}–${t.toMs} ms`).join(' | ')} | ≥ ${r.drainMs} ms |`);
    lines.push(`| --- | ${c.tenths.map(() => '---').join(' | ')} | --- |`);
    lines.push(`| closes | ${c.tenths.map((t) => t.closes).join(' | ')} | ${c.afterDrainMs} |`);
    lines.push(`| share | ${c.tenths.map((t) => `${(t.share * 100).toFixed(1)}%`).join(' | ')} | ${((c.afterDrainMs / Math.max(1, c.held)) * 100).toFixed(1)}% |`);
    lines.push('');
    lines.push(`- ${c.closed} of ${c.held} closed, first ${c.firstMs ?? '–'} ms, last ${c.lastMs ?? '–'} ms after SIGTERM; ${c.beforeSignal} before it, ${c.stillOpen} still open.`);
  }
  const e = r.exit;
  if (e) lines.push(`- Exit: ${e.ms === null ? 'none in time (killed)' : `${e.ms} ms after SIGTERM`}, code ${e.code ?? '–'}${e.signal ? `, signal ${e.signal}` : ''}.`);
  lines.push('');
  lines.push(r.pass ? '- All targets met.' : `- **Missed**: ${r.failures.join('; ')}.`);
  return lines.join('\n');
}
