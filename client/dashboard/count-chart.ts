/**
 * A small SVG line chart of the connection count over the last few minutes.
 * Samples are taken on every change and every `sampleMs`, so a flat line is
 * still drawn when nothing happens.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';

export class CountChart {
  private samples: Array<{ at: number; count: number }> = [];
  private readonly line: SVGPolylineElement;
  private readonly maxLabel: SVGTextElement;
  /** The latest sample, so a fresh page (one sample, no line yet) still shows where it stands. */
  private readonly lastDot: SVGCircleElement;

  constructor(
    readonly element: SVGSVGElement,
    private readonly windowMs = 5 * 60_000,
    private readonly width = 300,
    private readonly height = 60,
  ) {
    element.setAttribute('viewBox', `0 0 ${width} ${height}`);
    element.setAttribute('preserveAspectRatio', 'none');
    this.line = document.createElementNS(SVG_NS, 'polyline');
    this.line.setAttribute('class', 'chart-line');
    this.maxLabel = document.createElementNS(SVG_NS, 'text');
    this.maxLabel.setAttribute('x', '2');
    this.maxLabel.setAttribute('y', '10');
    this.maxLabel.setAttribute('class', 'chart-label');
    this.lastDot = document.createElementNS(SVG_NS, 'circle');
    this.lastDot.setAttribute('r', '3');
    this.lastDot.setAttribute('class', 'chart-dot');
    element.append(this.line, this.maxLabel, this.lastDot);
  }

  record(count: number, at = Date.now()): void {
    this.samples.push({ at, count });
    this.samples = this.samples.filter((s) => s.at >= at - this.windowMs);
    this.draw(at);
  }

  private draw(now: number): void {
    const max = Math.max(1, ...this.samples.map((s) => s.count));
    const points = this.samples.map((s) => {
      const x = this.width - ((now - s.at) / this.windowMs) * this.width;
      const y = this.height - 2 - (s.count / max) * (this.height - 14);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    this.line.setAttribute('points', points.join(' '));
    const [x, y] = (points.at(-1) ?? `${this.width},${this.height}`).split(',');
    this.lastDot.setAttribute('cx', String(Math.min(Number(x), this.width - 3)));
    this.lastDot.setAttribute('cy', y!);
    this.maxLabel.textContent = `max ${max}`;
  }
}
