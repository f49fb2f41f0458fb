/**
 * Other instances' summaries of themselves (their connection count and
 * cumulative connects and disconnects), held by whatever joins the instances
 * (the MQTT bridge: each instance publishes a retained summary on change, at
 * most every 250 ms). The count and `presence.stats` are computed from these,
 * so an instance needs no per-connection records of others to count them.
 *
 * Contract:
 * - `current()` lists the online instances with a summary of their current
 *   run, never this instance;
 * - `connects` / `disconnects` only grow within one run (`epoch`); a new run
 *   starts them again, which is how a reader tells a restart from churn;
 * - `onChange` listeners are called after any summary arrives or an instance
 *   comes or goes; they read `current()` again.
 *
 * Why totals rather than per-second rates on the wire: a summary is sent only
 * on change and may be coalesced or lost, so a reader differences totals over
 * its own interval and gets exact rates whatever it missed.
 */
export interface InstanceSummary {
  instanceId: string;
  epoch: number;
  connections: number;
  connects: number;
  disconnects: number;
}

export interface FleetSummaries {
  current(): Iterable<InstanceSummary>;
  onChange(listener: () => void): () => void;
}

/** Connections of every online instance but this one, from their summaries. */
export function remoteConnectionTotal(summaries: FleetSummaries): number {
  let total = 0;
  for (const summary of summaries.current()) total += summary.connections;
  return total;
}
