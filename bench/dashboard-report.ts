import type { ChurnFigures, DashboardCaseResult, DashboardResult, LongTaskSummary } from './dashboard-results-types';

/** The "dashboard" section of the markdown report: one row per case, the targets beside, then each miss. */
export function renderDashboardReport(d: DashboardResult): string {
  const t = d.targets;
  const lines: string[] = [];
  lines.push(`### Dashboard: headless Chromium on the monitor page (${d.durationSeconds} s)`);
  lines.push('');
  if (d.skipped) return [...lines, `Skipped: ${d.skipped}.`].join('\n');
  lines.push(`Targets: count and first rows ≤ ${t.countMs} ms after navigation; no long task > ${t.longTaskMs} ms while the load churns; searched row ≤ ${t.searchMs} ms after typing; page JS heap ≤ ${t.heapMb} MB; DOM ≤ ${t.domElements} elements.`);
  lines.push('');
  lines.push('| case | held / target | count shown | first rows | long tasks during churn | search → row | JS heap | DOM elements | verdict |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of d.cases) {
    if (c.skipped) {
      lines.push(`| ${c.title} | skipped: ${c.skipped} | | | | | | | |`);
      continue;
    }
    const churn = c.churn ? tasks(c.churn.longTasks) : '–';
    lines.push(`| ${c.title} | ${c.held} / ${c.target} | ${ms(c.countMs)} | ${ms(c.firstRowsMs)} | ${churn} | ${search(c)} | ${c.heapMb ?? '–'} MB | ${c.domElements ?? '–'} | ${c.pass ? 'pass' : '**FAIL**'} |`);
  }
  lines.push('');
  for (const c of d.cases.filter((x) => !x.skipped)) {
    const samples = c.samples.map((s) => `${s.at} ${s.heapMb ?? '–'} MB / ${s.domElements ?? '–'} elements`).join('; ');
    lines.push(`- ${c.title}: page expected ${c.expectedCount}; instance 1 counted the fleet ${c.fleetConvergedMs === null ? 'not within the wait' : `after ${c.fleetConvergedMs} ms`} before the page opened; long tasks while loading ${tasks(c.loadLongTasks)}; ${samples}.`);
    const ch = c.churn;
    if (ch) {
      const failed = ch.errors ? `; ${ch.errors} churn connections failed${ch.serverWarnings.length ? `: ${ch.serverWarnings.join(' | ')}` : ''}` : '';
      lines.push(`  - churn: ${ch.events} connects + closes at ${ch.achievedRate}/s (asked ${ch.ratePerSecond}/s for ${ch.seconds} s); renderer CPU ${ch.pageCpuMs ?? '–'} ms; main thread ${thread(ch.mainThreadMs)}; machine ${ch.machineBusyPct ?? '–'}% busy${failed}.`);
    }
    if (!c.pass) lines.push(`  - missed: ${c.failures.join('; ')}`);
  }
  if (d.error) lines.push(`- Broke down: ${d.error}`);
  return lines.join('\n');
}

const thread = (t: ChurnFigures['mainThreadMs']) => (t ? `${t.task} ms in tasks (script ${t.script}, style ${t.style}, layout ${t.layout})` : '–');
const ms = (x: number | null) => (x === null ? 'never' : `${x} ms`);
const tasks = (l: LongTaskSummary) => (l.count ? `${l.count}, max ${l.maxMs} ms` : '0');
const search = (c: DashboardCaseResult) => (c.searchBox === false ? 'no search box' : `${ms(c.searchMs)}${c.searchNote ? ` (${c.searchNote})` : ''}`);
