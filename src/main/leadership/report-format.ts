// The election measurement as text: a table of the figures and a histogram of
// failover times (the CLI's `simulate --raft` output and the bench's).
import type { ElectionWorkloadResult } from './election-workload.js';

const ms = (v: number): string => (Number.isNaN(v) ? '-' : `${Math.round(v)} ms`);

export function formatElectionReport(w: ElectionWorkloadResult): string {
  const o = w.options;
  const f = w.failover;
  const a = w.agreement;
  const rows: [string, string][] = [
    ['nodes', String(o.nodes)],
    ['runs', `${o.runs} seeds from ${o.seed}, ${o.crashesPerRun} leader crashes each`],
    ['raft', `preset ${o.preset}: election timeout ${w.electionTimeoutMinMs}-${w.electionTimeoutMaxMs} ms, membership ${o.membership}`],
    ['network', `loss ${(o.loss * 100).toFixed(1)} %, mean RTT ${w.rttMs.toFixed(1)} ms`],
    ['failovers measured', `${f.count} (${w.unfinished} without a new leader within 20 timeouts)`],
    ['crash -> new leader p50 / p90 / p99 / max', `${ms(f.p50)} / ${ms(f.p90)} / ${ms(f.p99)} / ${ms(f.max)}`],
    ['crash -> all follow it p50 / p99', `${ms(a.p50)} / ${ms(a.p99)}`],
    ['goal: 2 x max timeout + 1 RTT', `${ms(w.boundMs)}: ${(w.withinBound * 100).toFixed(1)} % within, p99 ${f.p99 <= w.boundMs ? 'meets it' : 'misses it'}`],
    ['one leader per term', w.violations.length === 0 ? `held (highest term ${w.highestTerm})` : `VIOLATED ${w.violations.length} times`],
    ['wall time', `${(w.wallMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\n${histogram(w.samples, w.electionTimeoutMaxMs)}`;
}

/** Failover times in buckets of a tenth of the maximum election timeout, as bars. */
export function histogram(samples: readonly number[], maxTimeoutMs: number, barWidth = 40): string {
  if (samples.length === 0) return 'no failovers';
  const step = Math.max(1, Math.round(maxTimeoutMs / 10));
  const top = Math.max(...samples);
  const buckets = new Array<number>(Math.floor(top / step) + 1).fill(0);
  for (const s of samples) buckets[Math.floor(s / step)]++;
  const peak = Math.max(...buckets);
  const label = (i: number): string => `${i * step}-${(i + 1) * step} ms`;
  const width = label(buckets.length - 1).length;
  const lines = ['crash -> new leader (ms)'];
  let cum = 0;
  for (let i = 0; i < buckets.length; i++) {
    cum += buckets[i];
    if (buckets[i] === 0 && (i === 0 || buckets[i - 1] === 0)) continue;
    const bar = '#'.repeat(Math.round((buckets[i] / peak) * barWidth));
    lines.push(`${label(i).padStart(width)} | ${bar.padEnd(barWidth)} ${String(buckets[i]).padStart(5)}  ${((cum / samples.length) * 100).toFixed(1).padStart(5)} %`);
  }
  return lines.join('\n');
}
