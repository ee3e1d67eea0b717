// Membership measurements in the deterministic simulator: detection time,
// false suspicions and deaths, dissemination and load, at N = 100 and 1 000
// with packet loss 0 / 10 / 30 %, with Lifeguard on and off, one run at
// N = 10 000, and a run with 10 % degraded (overloaded) members. Writes bench/results/membership.{md,json}.
//
//   npm run bench:membership [-- --quick]
//
// N = 1 000 at 30 % loss simulates 2 minutes (a 10-minute run takes about
// 6 minutes of wall time). One N = 10 000 row simulates 1 minute (about
// 2.5 GB). --quick simulates 3 minutes for every N = 1 000 row and leaves the
// N = 10 000 row out. Each row is one seeded run (seed 7): the same command
// prints the same figures (wall times aside).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorkload, type WorkloadOptions, type WorkloadResult } from '../src/main/simulator/workload.js';

const quick = process.argv.includes('--quick');
const SEED = 7;

interface Row {
  readonly label: string;
  readonly result: WorkloadResult;
}

function run(label: string, o: WorkloadOptions): Row {
  console.error(`running ${label} ...`);
  const result = runWorkload(o, () => performance.now());
  const r = result.report;
  console.error(`  detection p50 ${r.detection.p50.toFixed(0)} ms p99 ${r.detection.p99.toFixed(0)} ms, false deaths ${r.falseDeaths}, wall ${(result.wallMs / 1000).toFixed(1)} s`);
  return { label, result };
}

const rows: Row[] = [];
for (const nodes of [100, 1_000]) {
  for (const lifeguard of ['on', 'off'] as const) {
    for (const loss of [0, 0.1, 0.3]) {
      const minutes = nodes === 1_000 && loss === 0.3 ? 2 : nodes === 1_000 && quick ? 3 : 10;
      rows.push(run(`N=${nodes} loss=${loss * 100}% lifeguard=${lifeguard}`, { nodes, minutes, seed: SEED, preset: 'lan', loss, lifeguard }));
    }
  }
}
if (!quick) rows.push(run('N=10000 loss=0% lifeguard=on', { nodes: 10_000, minutes: 1, seed: SEED, preset: 'lan', loss: 0 }));
for (const lifeguard of ['on', 'off'] as const) {
  rows.push(run(`N=100 degraded=10% lifeguard=${lifeguard}`, { nodes: 100, minutes: 10, seed: SEED, preset: 'lan', loss: 0, lifeguard, degraded: 0.1 }));
}

const ms = (v: number): string => (Number.isNaN(v) ? '-' : `${(v / 1000).toFixed(2)} s`);
const header =
  '| N | loss | Lifeguard | detection p50 | detection p99 | false suspicions | false deaths | dissemination p50 (rounds / ⌈log₂N⌉) | msgs / member / period (bound 2+4k = 14) | bytes / member / s | simulated | wall |\n' +
  '|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
const line = (row: Row): string => {
  const w = row.result;
  const r = w.report;
  const o = w.options;
  const loss = o.degraded > 0 ? `0 % + ${(o.degraded * 100).toFixed(0)} % degraded` : `${(o.loss * 100).toFixed(0)} %`;
  return `| ${o.nodes} | ${loss} | ${o.lifeguard} | ${ms(r.detection.p50)} | ${ms(r.detection.p99)} | ${r.falseSuspicions} | ${r.falseDeaths} | ${ms(r.dissemination.p50)} (${w.disseminationRounds.toFixed(1)} / ${w.log2N}) | ${r.messagesPerProbePeriod.toFixed(2)} | ${r.bytesPerMemberPerSecond.toFixed(0)} | ${o.minutes} min | ${(w.wallMs / 1000).toFixed(1)} s |`;
};
const headline = rows.find((r) => r.result.options.nodes === 1_000 && r.result.options.loss === 0 && r.result.options.lifeguard === 'on');
const md = [
  '# Membership (simulated)',
  '',
  `Seed ${SEED}, preset \`lan\`, node ${process.version}, ${new Date().toISOString().slice(0, 10)}. One crash every 20 s (restarted 30 s later), one broadcast every 5 s.`,
  'Detection = crash until every live node has declared the node dead. A false suspicion/death is one (member, incarnation) declared about a member that was up and reachable.',
  'Degraded members: every link to and from them has 150 ms one-way latency plus a 100 ms mean tail (an overloaded host).',
  '',
  header,
  ...rows.map(line),
  '',
  headline ? `1 000 nodes × ${headline.result.options.minutes} simulated minutes: ${(headline.result.wallMs / 1000).toFixed(1)} s of wall time (\`clusterwire simulate --nodes 1000 --minutes ${headline.result.options.minutes} --seed ${SEED}\`).` : '',
  '',
].join('\n');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
const dir = path.join(root, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'membership.md'), md);
fs.writeFileSync(
  path.join(dir, 'membership.json'),
  `${JSON.stringify(
    rows.map((r) => {
      const { samples, falseDeclarations, ...report } = r.result.report;
      return { label: r.label, options: r.result.options, wallMs: r.result.wallMs, disseminationRounds: r.result.disseminationRounds, log2N: r.result.log2N, report: { ...report, falseDeclarations: falseDeclarations.slice(0, 20) } };
    }),
    null,
    2,
  )}\n`,
);
console.log(md);
console.error(`wrote ${path.join(dir, 'membership.md')}`);
