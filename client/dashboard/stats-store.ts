import type { DocumentEvents } from './presence-source';

/**
 * The dashboard's copy of `presence.stats` (server side:
 * imports/app/live-stats.ts): per instance and in total, the live figures
 * and the last 15 minutes of one-second samples.
 *
 * Wire shape: `added` carries `history: {stepMs, endAt, connections[],
 * connects[], disconnects[]}` (oldest first); every second a `changed`
 * carries the live figures and `latest: {at, connections, connects,
 * disconnects}`, which is appended here. Samples older than the window the
 * server keeps (`historyLength` × `stepMs`, told by the first `added`) are
 * dropped, so the page holds what the server holds and no more.
 *
 * Example:
 *   const stats = new StatsStore(() => redraw());
 *   source.start({ stats, ... });
 *   stats.get('total')?.connections;
 *   stats.chartData('total'); // [seconds[], connections[], connects/s[], disconnects/s[]]
 */
export interface InstanceStats {
  id: string;
  connections: number;
  connectsPerSecond: number;
  disconnectsPerSecond: number;
  online: boolean;
  stepMs: number;
  /** Sample times (ms since the epoch) and values, oldest first. */
  at: number[];
  connectionsHistory: number[];
  connects: number[];
  disconnects: number[];
}

export const TOTAL_ID = 'total';

export class StatsStore implements DocumentEvents {
  private readonly stats = new Map<string, InstanceStats>();
  /** Samples kept per series; the server's window, learnt from the longest history seen. */
  private samples = 900;

  constructor(private readonly onChange: () => void = () => {}) {}

  /** How many samples the history window holds. */
  get windowSamples(): number {
    return this.samples;
  }

  get(id: string): InstanceStats | undefined {
    return this.stats.get(id);
  }

  /** Per-instance documents (not the total), by instance id. */
  instances(): InstanceStats[] {
    return [...this.stats.values()].filter((s) => s.id !== TOTAL_ID).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  added(id: string, fields: Record<string, unknown>): void {
    const history = asRecord(fields.history);
    const stepMs = positiveNumber(history.stepMs, 1000);
    const connections = numbers(history.connections);
    const endAt = positiveNumber(history.endAt, 0);
    const at = connections.map((_, i) => endAt - (connections.length - 1 - i) * stepMs);
    this.samples = Math.max(this.samples, connections.length);
    const entry: InstanceStats = {
      id, connections: 0, connectsPerSecond: 0, disconnectsPerSecond: 0, online: true, stepMs,
      at, connectionsHistory: connections, connects: numbers(history.connects), disconnects: numbers(history.disconnects),
    };
    this.stats.set(id, entry);
    this.applyLive(entry, fields);
    this.onChange();
  }

  changed(id: string, fields: Record<string, unknown>): void {
    const entry = this.stats.get(id);
    if (!entry) return;
    this.applyLive(entry, fields);
    this.onChange();
  }

  removed(id: string): void {
    if (this.stats.delete(id)) this.onChange();
  }

  clear(): void {
    this.stats.clear();
    this.onChange();
  }

  /** uPlot's data layout: x in seconds, then connections, connects per second, disconnects per second. */
  chartData(id: string): [number[], number[], number[], number[]] {
    const s = this.stats.get(id);
    if (!s) return [[], [], [], []];
    const perSecond = 1000 / s.stepMs;
    return [s.at.map((t) => t / 1000), s.connectionsHistory.slice(), s.connects.map((n) => n * perSecond), s.disconnects.map((n) => n * perSecond)];
  }

  private applyLive(entry: InstanceStats, fields: Record<string, unknown>): void {
    if (typeof fields.connections === 'number') entry.connections = fields.connections;
    if (typeof fields.connectsPerSecond === 'number') entry.connectsPerSecond = fields.connectsPerSecond;
    if (typeof fields.disconnectsPerSecond === 'number') entry.disconnectsPerSecond = fields.disconnectsPerSecond;
    if (typeof fields.online === 'boolean') entry.online = fields.online;
    const latest = asRecord(fields.latest);
    if (typeof latest.at !== 'number' || latest.at <= (entry.at.at(-1) ?? -Infinity)) return;
    entry.at.push(latest.at);
    entry.connectionsHistory.push(Number(latest.connections) || 0);
    entry.connects.push(Number(latest.connects) || 0);
    entry.disconnects.push(Number(latest.disconnects) || 0);
    const excess = entry.at.length - this.samples;
    if (excess > 0) for (const series of [entry.at, entry.connectionsHistory, entry.connects, entry.disconnects]) series.splice(0, excess);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.map((n) => (typeof n === 'number' ? n : 0)) : [];
}

function positiveNumber(value: unknown, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}
