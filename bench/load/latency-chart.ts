// The load harness's latency chart: request/response round trips with one in
// flight, one line per side, as an SVG. Percentiles run along the x axis on
// a "nines" scale (50 %, 90 %, 99 %, 99.9 %, 99.99 % evenly apart), so the
// tail gets as much room as the median; latency runs up the y axis on a
// log scale, so sides ten times apart both stay readable.

export interface LatencySeries {
  readonly name: string;
  /** Round trips in µs, sorted ascending. */
  readonly samples: Float64Array;
}

const W = 800;
const H = 420;
const LEFT = 64;
const RIGHT = 250;
const TOP = 36;
const BOTTOM = 48;
const COLOURS = ['#444444', '#1f77b4', '#17becf', '#d62728', '#2ca02c', '#9467bd'];
/** Percentiles drawn, as fractions; those with fewer than one sample beyond them are left off a series. */
const QUANTILES = [0, 0.1, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999, 0.9993, 0.9995, 0.9997, 0.9998, 0.9999];
const X_TICKS: ReadonlyArray<[number, string]> = [
  [0.5, '50 %'],
  [0.9, '90 %'],
  [0.99, '99 %'],
  [0.999, '99.9 %'],
  [0.9999, '99.99 %'],
];

/** x position of percentile `q`: log10(1 / (1 - q)), 0 at the minimum, 4 at 99.99 %. */
const nines = (q: number) => Math.log10(1 / (1 - q));

function quantile(s: Float64Array, q: number): number {
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The chart as an SVG document; `title` goes above it. */
export function latencyChart(title: string, series: readonly LatencySeries[]): string {
  const drawn = series.filter((s) => s.samples.length > 0);
  const points = drawn.map((s) => QUANTILES.filter((q) => (1 - q) * s.samples.length >= 1 || q === 0).map((q) => [q, quantile(s.samples, q)] as const));
  const all = points.flat().map(([, v]) => v).filter((v) => v > 0);
  const lo = Math.log10(Math.max(1, Math.min(...all)) / 1.2);
  const hi = Math.log10(Math.max(...all) * 1.2);
  const xMax = nines(0.9999);
  const px = (q: number) => LEFT + (nines(q) / xMax) * (W - LEFT - RIGHT);
  const py = (v: number) => TOP + (1 - (Math.log10(Math.max(v, 1)) - lo) / (hi - lo)) * (H - TOP - BOTTOM);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="14">${esc(title)}</text>`);
  // y grid: 1-2-5 steps in µs
  for (let decade = Math.floor(lo); decade <= Math.ceil(hi); decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade;
      const l = Math.log10(v);
      if (l < lo || l > hi) continue;
      const y = py(v).toFixed(1);
      out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${LEFT - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${v >= 1000 ? `${v / 1000} ms` : `${v} µs`}</text>`);
    }
  }
  for (const [q, label] of X_TICKS) {
    const x = px(q).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${TOP}" y2="${H - BOTTOM}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x}" y="${H - BOTTOM + 16}" text-anchor="middle">${label}</text>`);
  }
  out.push(`<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 10}" text-anchor="middle">percentile of round trips</text>`);
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${H - TOP - BOTTOM}" fill="none" stroke="#888"/>`);
  drawn.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const path = points[i].map(([q, v]) => `${px(q).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    const ly = TOP + 8 + i * 20;
    out.push(`<line x1="${W - RIGHT + 12}" x2="${W - RIGHT + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${W - RIGHT + 38}" y="${ly}" dominant-baseline="middle">${esc(s.name)} (p50 ${quantile(s.samples, 0.5).toFixed(0)} µs)</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
