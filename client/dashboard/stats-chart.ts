import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StatsStore } from './stats-store';

/**
 * The time-series chart over `presence.stats`' server-side history (15
 * minutes at 1 s): connections on the left axis, connects and disconnects
 * per second on the right one. Drawn by uPlot (maintained, ~50 KB, canvas),
 * which redraws 900 points in well under a millisecond.
 *
 * Why the connections axis is fitted to the data rather than starting at 0:
 * at 5,000 ± 5 connections a zero-based axis draws a flat hairline.
 *
 * The chart shows one series at a time: the total, or the instance picked in
 * the instance filter.
 */
export class StatsChart {
  private readonly plot: uPlot;
  private seriesId = 'total';

  constructor(
    private readonly container: HTMLElement,
    private readonly stats: StatsStore,
    height = 180,
  ) {
    this.plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height,
        scales: { x: { time: true, auto: false }, count: { range: fitted }, rate: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          {},
          { scale: 'count', label: 'connections', size: 60 },
          { scale: 'rate', side: 1, label: 'per second', grid: { show: false } },
        ],
        series: [
          {},
          { label: 'Connections', scale: 'count', stroke: '#0b5cad', width: 2 },
          { label: 'Connects/s', scale: 'rate', stroke: '#11643a', width: 1 },
          { label: 'Disconnects/s', scale: 'rate', stroke: '#a4161a', width: 1 },
        ],
      },
      stats.chartData(this.seriesId),
      container,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(200, container.clientWidth), height })).observe(container);
  }

  /** The history window in seconds, ending at the newest sample (or now). */
  private window(newest: number | null): { min: number; max: number } {
    const s = this.stats.get(this.seriesId);
    const max = newest ?? Date.now() / 1000;
    return { min: max - ((s?.stepMs ?? 1000) * this.stats.windowSamples) / 1000, max };
  }

  show(seriesId: string): void {
    this.seriesId = seriesId;
    this.draw();
  }

  draw(): void {
    const data = this.stats.chartData(this.seriesId);
    // The x scale is set by hand (auto: false): always the whole window, ending at the newest
    // sample; uPlot's own fit stretches a single sample over years.
    this.plot.setData(data, false);
    this.plot.setScale('x', this.window(data[0].at(-1) ?? null));
    this.container.dataset.samples = String(data[0].length); // for tests: history arrives with the page
    const s = this.stats.get(this.seriesId);
    this.container.setAttribute(
      'aria-label',
      s ? `Last 15 minutes: ${s.connections} connections now, ${s.connectsPerSecond} connects and ${s.disconnectsPerSecond} disconnects per second` : 'No history yet',
    );
  }
}

/** The data's own range, padded by 10% (at least ±1), so small changes stay visible. */
function fitted(_u: uPlot, min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) return [0, 1];
  const pad = Math.max(1, (max - min) * 0.1);
  return [Math.max(0, Math.floor(min - pad)), Math.ceil(max + pad)];
}
