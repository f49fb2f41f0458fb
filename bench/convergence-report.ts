import type { ConvergenceResult, ConvergenceScenario, ConvergenceWindow } from './convergence-results-types';

/** The convergence scenario's part of the markdown report: one table, then what each scenario showed. */
export function renderConvergenceReport(result: ConvergenceResult): string {
  const lines: string[] = [];
  if (result.skipped) return `- Convergence skipped: ${result.skipped}.`;
  lines.push(`### Convergence: ${result.instances} instances through ${result.broker}, ${result.perInstance} connections per instance (${result.durationSeconds} s)`);
  if (result.error) lines.push('', `**Broke down:** ${result.error}`);
  lines.push('');
  lines.push('| scenario | exact in every view after | target | counts at 1 / 5 / 10 s (instances 1/2/3) | max deviation | resyncs | ghosts | stale retained | dropped ($SYS) | result |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of result.scenarios) {
    lines.push(row(s.title, s.event, s, `${s.targetMs / 1000} s`));
    if (s.teardown) lines.push(row('then teardown: every client dropped at once', s.teardown, s, '–'));
  }
  lines.push('');
  for (const s of result.scenarios) {
    lines.push(`- ${s.name}: ramp to ${s.heldPerInstance.join(' / ')} held took ${(s.rampMs / 1000).toFixed(1)} s, views exact ${ms(s.rampConvergedMs)} later. ` +
      `Per-instance exact from: ${s.event.perInstanceMs.map(ms).join(' / ')}; max deviation per instance ${s.event.maxDeviationPerInstance.join(' / ')}.` +
      (s.retainedAfterRestart
        ? ` Once the views had converged, the restarted broker held ${rebuilt(s.retainedAfterRestart, s.event.expected)}.`
        : '') +
      (s.teardown ? ` Teardown per instance: ${s.teardown.perInstanceMs.map(ms).join(' / ')}.` : ''));
    const a = s.after;
    lines.push(`  After: ghosts ${a.ghosts.join(' / ')}; stale retained ${a.staleRetained}${a.staleRetained ? ` (${Object.entries(a.staleRetainedByInstance).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} (probe: ${a.staleProbeRounds} round(s), first ${a.staleProbeListenedMs} ms${a.staleProbeComplete ? '' : ', a lower bound'}); ` +
      `dropped counter ${a.droppedCounter ?? 'not published'}${a.droppedCounterFresh ? '' : ' (may be up to 10 s old)'}${a.droppedCounterBeforeKill !== undefined ? `, ${a.droppedCounterBeforeKill ?? '–'} in the killed broker run` : ''}; $SYS retained count ${a.sysRetainedCount ?? '– (not waited for)'} (every retained topic: mosquitto's own, statuses, digests, records).`);
    const logs = s.instanceLogCounts.map((c) => `instance ${c.instance}: ${c.resyncLines} resync lines, ${c.connectedLines} (re)connects, ${c.warnings} warnings`).join('; ');
    lines.push(`  Logs: ${logs}; broker drop notices: ${s.brokerLog.filter((l) => l.includes('dropped')).length}.`);
    for (const [what, w] of [['event', s.event], ['teardown', s.teardown]] as const) {
      const off = w ? lagging(w) : [];
      if (off.length) lines.push(`  At the end of the ${what} watch: ${off.join('; ')}.`);
    }
    for (const f of [...s.failures, ...s.leaks]) lines.push(`  **FAIL** ${f}`);
  }
  lines.push('', `Convergence targets: ${result.pass ? '**all met**' : '**missed** (see above; details in the JSON: timelines, instance and broker log lines)'}.`);
  return lines.join('\n');
}

function row(title: string, w: ConvergenceWindow, s: ConvergenceScenario, target: string): string {
  const at = [1, 5, 10].map((sec) => w.countsAt.find((c) => c.atSecond === sec)?.counts.join('/') ?? '–').join(' · ');
  const resyncs = w.resyncs.map((r) => r ?? '–').join('/');
  const ghosts = s.after.ghosts.reduce((a, b) => a + b, 0);
  const verdict = w === s.event ? (s.pass ? 'pass' : 'FAIL') : w.convergedMs === null ? 'FAIL' : 'ok';
  return `| ${title} | ${w.convergedMs === null ? `not within ${(w.observedMs / 1000).toFixed(1)} s` : `${(w.convergedMs / 1000).toFixed(2)} s`} | ${target} | ${at} | ${w.maxDeviation} (expected ${w.expected}) | ${resyncs} | ${w === s.event && s.teardown ? '(below)' : ghosts} | ${w === s.event && s.teardown ? '(below)' : s.after.staleRetained} | ${w === s.event && s.teardown ? `${s.after.droppedCounterBeforeKill ?? '–'} (killed run)` : s.after.droppedCounter ?? '–'} | ${verdict} |`;
}

/** Which instance's view differs from the live set, by owner, with its bridge's counters. */
function lagging(w: ConvergenceWindow): string[] {
  return w.final.flatMap((f, i) => {
    const owners = new Set([...Object.keys(w.expectedByOwner), ...Object.keys(f.byOwner)]);
    const diffs = [...owners].sort()
      .filter((o) => (f.byOwner[o] ?? 0) !== (w.expectedByOwner[o] ?? 0))
      .map((o) => `${f.byOwner[o] ?? 0} of ${o}'s ${w.expectedByOwner[o] ?? 0}`);
    if (!diffs.length) return [];
    const b = f.bridge;
    const bridge = b ? ` (bridge ${b.connected ? 'connected' : 'disconnected'}, holds ${b.remoteRecords} remote records, ${b.resyncs} resyncs in all${Object.keys(b.rejected).length ? `, rejected ${JSON.stringify(b.rejected)}` : ''})` : '';
    return [`instance ${i + 1} shows ${diffs.join(', ')}${bridge}`];
  });
}

function rebuilt(r: NonNullable<ConvergenceScenario['retainedAfterRestart']>, live: number): string {
  const sys = r.sysRecords === null ? 'an unknown number of retained records ($SYS not read)' : `${r.sysRecords} retained records by $SYS (live: ${live})`;
  const probe = `a QoS 0 probe received ${r.probeRecords} in ${r.probeRounds} round(s)${r.probeComplete ? '' : ' (past 500 a lower bound: mosquitto drops part of a large retained set for a subscriber that lags; a late-joining instance is such a subscriber)'}`;
  const dropped = r.droppedCounter === null ? '' : `; its dropped counter read ${r.droppedCounter} before the probe and the teardown`;
  return `${sys}; ${probe}${r.sysRecords !== null && r.sysRecords !== live ? ': **the broker does not hold the live list**' : ''}${dropped}`;
}

const ms = (v: number | null) => (v === null ? 'never' : `${(v / 1000).toFixed(2)} s`);
