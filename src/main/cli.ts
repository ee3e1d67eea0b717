#!/usr/bin/env node
// The clusterwire command line.
//
//   clusterwire simulate [--nodes 1000] [--loss 0.1] [--minutes 10] [--seed 7]
//                        [--preset lan|wan|local] [--lifeguard on|off]
//                        [--duplicate 0] [--degraded 0] [--svg simulate.svg] [--json]
//   clusterwire simulate --raft [--nodes 5] [--runs 200] [--seed 1] [--loss 0]
//                        [--preset local|lan|wan] [--membership none|swim] [--json]
//
// `simulate` runs the membership protocol for N nodes in the deterministic
// simulator (one crash every 20 s, restarted 30 s later; one broadcast every
// 5 s), prints the report and writes an SVG chart of the detection CDF and the
// dissemination curve. With --raft it runs Raft leader election instead:
// many seeded runs, each crashing the leader a few times, and prints the
// failover-time table and histogram.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ClusterwireError } from '../shared/errors.js';
import { formatReport, renderChart } from './simulator/report-format.js';
import { runWorkload } from './simulator/workload.js';
import type { LifeguardMode, PresetName } from './membership/options.js';
import { runElectionWorkload } from './leadership/election-workload.js';
import { formatElectionReport } from './leadership/report-format.js';
import type { RaftPresetName } from './leadership/options.js';

const USAGE = `usage: clusterwire simulate [options]

  --nodes N          cluster size (default 100)
  --minutes M        simulated minutes (default 10)
  --loss P           packet loss 0..1 (default 0)
  --duplicate P      packet duplication 0..1 (default 0)
  --degraded F       share of overloaded members (150 ms + 100 ms tail each way) (default 0)
  --seed S           random seed; one seed gives the same run (default 1)
  --preset NAME      lan | wan | local (default lan)
  --lifeguard MODE   on | off (default on)
  --svg FILE         chart to write (default clusterwire-simulate.svg; "" for none)
  --json             print the report as JSON instead of a table

  --raft             leader election instead of membership: crash the leader and
                     time the next election, over many seeded runs
  --runs N           seeded runs, 3 leader crashes each (default 200; with --raft)
  --membership MODE  none | swim: SWIM cores beside Raft, Lifeguard health gating
                     campaigns (default none; with --raft)
  with --raft, --nodes defaults to 5 and --preset (local | lan | wan) to local
`;

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

function simulate(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      minutes: { type: 'string' },
      loss: { type: 'string' },
      duplicate: { type: 'string' },
      degraded: { type: 'string' },
      seed: { type: 'string' },
      preset: { type: 'string' },
      lifeguard: { type: 'string' },
      svg: { type: 'string' },
      json: { type: 'boolean' },
      raft: { type: 'boolean' },
      runs: { type: 'string' },
      membership: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.raft === true) {
    const membership = values.membership ?? 'none';
    if (membership !== 'none' && membership !== 'swim') throw new Error(`--membership: expected none or swim, got ${JSON.stringify(membership)}`);
    const r = runElectionWorkload(
      {
        nodes: number('nodes', values.nodes, 5),
        runs: number('runs', values.runs, 200),
        seed: number('seed', values.seed, 1),
        loss: number('loss', values.loss, 0),
        preset: (values.preset ?? 'local') as RaftPresetName,
        membership,
      },
      () => performance.now(),
    );
    process.stdout.write(values.json === true ? `${JSON.stringify(r, null, 2)}\n` : `${formatElectionReport(r)}\n`);
    return;
  }
  const result = runWorkload(
    {
      nodes: number('nodes', values.nodes, 100),
      minutes: number('minutes', values.minutes, 10),
      loss: number('loss', values.loss, 0),
      duplicate: number('duplicate', values.duplicate, 0),
      degraded: number('degraded', values.degraded, 0),
      seed: number('seed', values.seed, 1),
      preset: (values.preset ?? 'lan') as PresetName,
      lifeguard: (values.lifeguard ?? 'on') as LifeguardMode,
    },
    () => performance.now(),
  );
  if (values.json === true) {
    const { samples, falseDeclarations, ...report } = result.report;
    process.stdout.write(`${JSON.stringify({ ...result, report: { ...report, falseDeclarations: falseDeclarations.slice(0, 100) }, samples: { detection: samples.detection } }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatReport(result)}\n`);
  }
  const svg = values.svg ?? 'clusterwire-simulate.svg';
  if (svg !== '') {
    fs.writeFileSync(svg, renderChart(result));
    if (values.json !== true) process.stdout.write(`chart written to ${svg}\n`);
  }
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'simulate':
        simulate(rest);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    const message = e instanceof ClusterwireError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`clusterwire: ${message}\n`);
    return 1;
  }
}

// Run only as the program (through the bin symlink too), not when imported.
const entry = process.argv[1] === undefined ? '' : pathToFileURL(fs.realpathSync(process.argv[1])).href;
if (entry === import.meta.url) process.exitCode = main(process.argv.slice(2));
