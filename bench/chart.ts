import type { BenchResult } from './results-types';

/**
 * The run's chart as a standalone SVG: server RSS against connections held
 * (all four servers), and close→removal p99 against connections held (the
 * two that do presence work, 1 monitor).
 */
const COLORS: Record<string, string> = { app: '#0b5cad', 'ddp-only': '#6a3d9a', 'bare-ws': '#33a02c', socketio: '#e66101' };
const W = 460;
const H = 300;
const PAD = { left: 56, right: 12, top: 28, bottom: 40 };

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export function renderChart(result: BenchResult): string {
  const memory: Series[] = result.servers.map((s) => ({ name: s.label, color: COLORS[s.kind]!, points: s.memory.map((m) => [m.connections, m.rssMb]) }));
  const latency: Series[] = result.servers
    .filter((s) => s.latency.length)
    .map((s) => ({
      name: s.label,
      color: COLORS[s.kind]!,
      points: s.latency.filter((l) => l.monitors === 1 && l.p99 !== null).map((l) => [l.background, l.p99!]),
    }));
  const legend = result.servers
    .map((s, i) => `<g transform="translate(${PAD.left + i * 230},${H * 1 + 16})"><rect width="10" height="10" fill="${COLORS[s.kind]}"/><text x="14" y="9">${escapeXml(s.label)}</text></g>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * 2}" height="${H + 60}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
${panel(memory, 'Server RSS (MB) vs connections held', 0)}
${panel(latency, 'Close→removal p99 (ms) vs connections held, 1 monitor', W)}
${legend}
<text x="${PAD.left}" y="${H + 50}" fill="#555">${escapeXml(`${result.mode} run ${result.startedAt}`)}</text>
</svg>\n`;
}

function panel(series: Series[], title: string, x0: number): string {
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p[0]));
  const maxY = Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const sx = (x: number) => x0 + PAD.left + (x / maxX) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / maxY) * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const yv = maxY * f;
      const xv = maxX * f;
      return `<line x1="${sx(0)}" x2="${sx(maxX)}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/>
<text x="${sx(0) - 6}" y="${sy(yv) + 4}" text-anchor="end">${fmt(yv)}</text>
<text x="${sx(xv)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${fmt(xv)}</text>`;
    })
    .join('\n');
  const lines = series
    .filter((s) => s.points.length)
    .map((s) => {
      const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      const dots = s.points.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`).join('');
      return `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join('\n');
  return `<g><text x="${x0 + PAD.left}" y="16" font-weight="bold">${escapeXml(title)}</text>
<line x1="${sx(0)}" x2="${sx(0)}" y1="${sy(0)}" y2="${sy(maxY)}" stroke="#999"/>
<line x1="${sx(0)}" x2="${sx(maxX)}" y1="${sy(0)}" y2="${sy(0)}" stroke="#999"/>
${ticks}
${lines}</g>`;
}

const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(1));
const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
