import type { AttackScenarioResult } from './attack-results-types';

/** The "under attack" section of the markdown report: one row per attack, then each failure. */
export function renderAttackReport(s: AttackScenarioResult): string {
  const lines: string[] = [];
  lines.push(`### Under attack: (a) holding ${s.held} connections, ${s.secondsPerAttack} s per attack (${s.durationSeconds} s in all)`);
  lines.push('');
  lines.push(`Targets: process alive, bystander ping p99 ≤ ${s.targets.pingP99Ms} ms, RSS growth ≤ ${s.targets.rssGrowthMb} MB over the control run (the same window with no attacker), a fresh client served afterwards.`);
  lines.push('');
  lines.push('| attack | alive | ping p50 / p99 (lost) | RSS before → peak (growth) | fresh client | sessions after | what the attacker did | verdict |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const a of s.attacks) {
    const ping = `${ms(a.ping.p50)} / ${ms(a.ping.p99)} (${a.ping.lost} of ${a.ping.samples + a.ping.lost})`;
    const overControl = a.rss.overControlMb !== undefined && a.rss.overControlMb !== null ? `, +${a.rss.overControlMb} over control` : '';
    const rss = `${a.rss.beforeMb ?? '–'} → ${a.rss.peakMb ?? '–'} MB (+${a.rss.growthMb ?? '–'}${overControl})`;
    const did = a.attacker ? `${a.attacker.detail}${a.attacker.errors ? `; ${a.attacker.errors} errors, first: ${a.attacker.firstError}` : ''}` : `no report: ${a.error ?? '–'}`;
    lines.push(`| ${a.title}${a.kind === 'legit-check' ? ' (legit-client check)' : ''} | ${a.alive ? 'yes' : '**no**'} | ${ping} | ${rss} | ${a.freshClient.ok ? 'yes' : `**no** (${a.freshClient.detail})`} | ${a.sessionsAfter ?? '–'} of ${a.held} | ${cell(did)} | ${a.pass ? 'pass' : '**FAIL**'} |`);
  }
  lines.push('');
  for (const a of s.attacks.filter((x) => !x.pass)) {
    lines.push(`- ${a.name}: ${a.failures.join('; ')}${a.death ? `. Death: ${cell(a.death)}` : ''}`);
  }
  return lines.join('\n');
}

const ms = (x: number | null) => (x === null ? '∞' : `${x} ms`);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
