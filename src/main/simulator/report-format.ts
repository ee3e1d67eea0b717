// The simulator report as text (the CLI's table) and as an SVG chart:
// detection-time CDF on the left, the dissemination (infection) curve on the
// right. Hand-written SVG, no dependencies.
import type { WorkloadResult } from './workload.js';

const fmt = (ms: number): string => (Number.isNaN(ms) ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

export function formatReport(w: WorkloadResult): string {
  const r = w.report;
  const o = w.options;
  const rows: [string, string][] = [
    ['nodes', String(o.nodes)],
    ['simulated', `${o.minutes} min (seed ${o.seed}, preset ${o.preset}, lifeguard ${o.lifeguard})`],
    ['network', `loss ${(o.loss * 100).toFixed(1)} %, duplication ${(o.duplicate * 100).toFixed(1)} %${o.degraded > 0 ? `, ${(o.degraded * 100).toFixed(0)} % degraded members` : ''}`],
    ['crashes detected', `${r.detection.count} (undetected ${r.undetectedCrashes})`],
    ['detection (everywhere) p50 / p99 / max', `${fmt(r.detection.p50)} / ${fmt(r.detection.p99)} / ${fmt(r.detection.max)}`],
    ['first detection p50 / p99', `${fmt(r.firstDetection.p50)} / ${fmt(r.firstDetection.p99)}`],
    ['false suspicions', String(r.falseSuspicions)],
    ['false deaths', String(r.falseDeaths)],
    ['dissemination p50 / p99 (to every node)', `${fmt(r.dissemination.p50)} / ${fmt(r.dissemination.p99)}  (${r.dissemination.count} broadcasts, ${r.undeliveredBroadcasts} pending)`],
    ['dissemination p50 in gossip rounds', `${w.disseminationRounds.toFixed(1)}  (ceil(log2 N) = ${w.log2N})`],
    ['messages / member / s', r.messagesPerMemberPerSecond.toFixed(2)],
    ['messages / member / probe period', `${r.messagesPerProbePeriod.toFixed(2)}  (SWIM bound 2 + 4k = ${w.swimBound})`],
    ['bytes / member / s', r.bytesPerMemberPerSecond.toFixed(0)],
    ['wall time', `${(w.wallMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: readonly (readonly [number, number])[];
}

const W = 440;
const H = 300;
const M = { l: 56, r: 16, t: 34, b: 46 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(p: Panel, dx: number): string {
  const xMax = niceMax(p.points.length > 0 ? p.points[p.points.length - 1][0] : 1);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const x = (v: number): number => dx + M.l + (v / xMax) * pw;
  const y = (v: number): number => M.t + ph - v * ph;
  const out: string[] = [];
  out.push(`<text x="${dx + W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const gx = x((xMax * i) / 5);
    const gy = y(i / 5);
    out.push(`<line x1="${gx.toFixed(1)}" y1="${M.t}" x2="${gx.toFixed(1)}" y2="${M.t + ph}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${dx + M.l}" y1="${gy.toFixed(1)}" x2="${dx + M.l + pw}" y2="${gy.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${gx.toFixed(1)}" y="${M.t + ph + 16}" text-anchor="middle" font-size="11">${+((xMax * i) / 5).toPrecision(3)}</text>`);
    out.push(`<text x="${dx + M.l - 6}" y="${(gy + 4).toFixed(1)}" text-anchor="end" font-size="11">${(i * 20).toFixed(0)}%</text>`);
  }
  out.push(`<rect x="${dx + M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${dx + M.l + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(`<text x="${dx + 14}" y="${M.t + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${dx + 14} ${M.t + ph / 2})">${esc(p.yLabel)}</text>`);
  if (p.points.length > 0) {
    const d = p.points.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="#1f6feb" stroke-width="2"/>`);
  } else {
    out.push(`<text x="${dx + M.l + pw / 2}" y="${M.t + ph / 2}" text-anchor="middle" font-size="12" fill="#888">no samples</text>`);
  }
  return out.join('\n');
}

/** Empirical CDF as a step line: [value in s, fraction]. */
function cdf(samples: readonly number[]): [number, number][] {
  const s = [...samples].sort((a, b) => a - b);
  const pts: [number, number][] = [[0, 0]];
  s.forEach((v, i) => {
    pts.push([v / 1000, i / s.length]);
    pts.push([v / 1000, (i + 1) / s.length]);
  });
  return pts;
}

/** Mean share of nodes informed vs time (s), over all complete broadcasts. */
function infection(curves: WorkloadResult['report']['samples']['infection']): [number, number][] {
  if (curves.length === 0) return [];
  let end = 0;
  for (const c of curves) for (const a of c.arrivals) if (a > end) end = a;
  const steps = 100;
  const pts: [number, number][] = [];
  for (let i = 0; i <= steps; i++) {
    const t = (end * i) / steps;
    let sum = 0;
    for (const c of curves) {
      let n = 0;
      for (const a of c.arrivals) if (a <= t) n++;
      sum += c.receivers > 0 ? n / c.receivers : 1;
    }
    pts.push([t / 1000, sum / curves.length]);
  }
  return pts;
}

export function renderChart(w: WorkloadResult): string {
  const o = w.options;
  const caption = `clusterwire simulate: ${o.nodes} nodes, ${o.minutes} min, loss ${(o.loss * 100).toFixed(0)} %, preset ${o.preset}, lifeguard ${o.lifeguard}, seed ${o.seed}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" viewBox="0 0 ${2 * W} ${H + 24}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    panel({ title: 'Crash detection (every node), CDF', xLabel: 'seconds after the crash', yLabel: 'crashes detected', points: cdf(w.report.samples.detection) }, 0),
    panel({ title: 'Dissemination of a broadcast', xLabel: 'seconds after the broadcast', yLabel: 'nodes informed (mean)', points: infection(w.report.samples.infection) }, W),
    `<text x="${W}" y="${H + 16}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
