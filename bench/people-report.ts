import type { PeopleResult } from './people-results-types';

/** The "people" section of the markdown report: one row per ramp, the medians and their ratio, then each miss. */
export function renderPeopleReport(r: PeopleResult): string {
  const lines: string[] = [];
  lines.push(`### People: login plus presence vs anonymous connects, ${r.connections} per ramp, ${r.accounts} accounts × 2 tabs (${r.durationSeconds} s; load average ${r.loadAverage.join(' ')})`);
  lines.push('');
  lines.push(`Target: median login rate ≥ ${r.targets.minRatio * 100}% of the median anonymous rate; the monitor's \`list.onlineUsers\` shows ${r.accounts} people after each login ramp; no records or people left after each close. ${r.loadWorkers} workers × ${r.concurrency} at a time; warm-up ${r.warmupConnections} of each kind; tokens signed before the ramps in ${r.signMs ?? '–'} ms.`);
  lines.push('');
  lines.push('| run | opened | connects/s | CPU ms per 1,000 connects | CPU ms per 1,000 closes | people seen (2 tabs) | settled after | records / people left |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const x of r.runs) {
    const people = x.kind === 'login' ? `${x.peopleSeen ?? '–'} (${x.peopleWithTwoConnections ?? '–'})` : '–';
    const settled = x.kind === 'login' ? (x.peopleSettledMs === null ? 'never' : `${x.peopleSettledMs} ms`) : '–';
    lines.push(
      `| ${x.kind} ${x.pair} | ${x.opened} / ${x.target}${x.firstFailure ? ` (first failure: ${x.firstFailure})` : ''} | ${x.connectsPerSecond} | ${x.cpuMsPer1000Connects ?? '–'} | ${x.cpuMsPer1000Closes ?? '–'} | ${people} | ${settled} | ${x.recordsLeft ?? '–'} / ${x.peopleLeft ?? '–'} |`,
    );
  }
  lines.push('');
  lines.push(
    `- Medians: anonymous ${r.medianAnonymousPerSecond ?? '–'}/s (CPU ${r.medianAnonymousCpuMsPer1000 ?? '–'} ms per 1,000), login ${r.medianLoginPerSecond ?? '–'}/s (CPU ${r.medianLoginCpuMsPer1000 ?? '–'} ms per 1,000); ratio **${r.ratio ?? '–'}** (target ≥ ${r.targets.minRatio}).`,
    `- One request for comparison: anonymous + one pipelined \`getSessionId\` ${r.medianMethodPerSecond ?? '–'}/s (CPU ${r.medianMethodCpuMsPer1000 ?? '–'} ms per 1,000); login ÷ that ${r.ratioToMethod ?? '–'} (no target).`,
  );
  lines.push(r.pass ? '- All targets met.' : `- **Missed**: ${r.failures.join('; ')}.`);
  return lines.join('\n');
}
