#!/usr/bin/env node
// The clusterwire command line.
//
//   clusterwire agent --bind HOST:PORT --join HOST:PORT,... [--http HOST:PORT] ...
//   clusterwire members --addr HOST:PORT [--json]
//   clusterwire demo [--nodes 5] [--traffic 200]   |   clusterwire demo wire
//   clusterwire bench [load harness options]
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
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ClusterwireError } from '../shared/errors.js';
import { agentMain } from './agent/agent.js';
import type { AgentStatus } from './agent/status.js';
import { clusterDemo } from './demo.js';
import { wireDemo } from './demo-wire.js';
import { formatReport, renderChart } from './simulator/report-format.js';
import { runWorkload } from './simulator/workload.js';
import type { LifeguardMode, PresetName } from './membership/options.js';
import { runElectionWorkload } from './leadership/election-workload.js';
import { formatElectionReport } from './leadership/report-format.js';
import type { RaftPresetName } from './leadership/options.js';

const USAGE = `usage: clusterwire <command> [options]

  agent      run one cluster node (clusterwire agent --help)
  members    print the members an agent sees: --addr HOST:PORT (its --http address) [--json]
  demo       five agent processes on loopback: convergence, traffic, a leader killed and
             restarted, a summary table (--nodes N, --traffic RATE); 'demo wire': the wire format
  bench      the load harness (bench/load), options passed through
  simulate   the membership or election simulator:

clusterwire simulate [options]

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

async function members(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { addr: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.addr === undefined) throw new Error('members: --addr HOST:PORT (an agent\'s --http address) is required');
  const res = await fetch(`http://${values.addr}/status`, { signal: AbortSignal.timeout(5_000) });
  const status = (await res.json()) as AgentStatus;
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(status.members, null, 2)}\n`);
    return;
  }
  const rows = status.members.map((m) => [m.nodeId + (m.self ? ' *' : ''), m.state, String(m.incarnation), m.datacenter || '-', m.gossipAddress, m.rttMs === null ? '-' : m.rttMs.toFixed(2), status.leader?.nodeId === m.nodeId ? `leader (term ${status.leader.term})` : '']);
  const head = ['NODE', 'STATE', 'INC', 'DC', 'GOSSIP', 'RTT ms', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`);
}

async function demo(argv: string[]): Promise<void> {
  if (argv[0] === 'wire') {
    await wireDemo();
    return;
  }
  const { values } = parseArgs({ args: argv, options: { nodes: { type: 'string' }, traffic: { type: 'string' } } });
  const summary = await clusterDemo({ nodes: number('nodes', values.nodes, 5), traffic: number('traffic', values.traffic, 200) });
  if (!summary.allExited) throw new Error('demo: some agent processes did not exit');
}

async function bench(argv: string[]): Promise<number> {
  const harness = fileURLToPath(new URL('../../bench/load/run.js', import.meta.url));
  if (!fs.existsSync(harness)) throw new Error(`bench: ${harness} is missing (run npm run build in the repository)`);
  const child = spawn(process.execPath, [harness, ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** Runs a command: simulate and help synchronously, the others as a promise. Returns the exit code. */
export function main(argv: string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  const failed = (e: unknown): number => {
    const message = e instanceof ClusterwireError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`clusterwire: ${message}\n`);
    return 1;
  };
  const run = (task: () => Promise<unknown>): Promise<number> =>
    task().then(
      (code) => (typeof code === 'number' ? code : 0),
      (e: unknown) => failed(e),
    );
  try {
    switch (command) {
      case 'simulate':
        simulate(rest);
        return 0;
      case 'agent':
        return run(() => agentMain(rest));
      case 'members':
        return run(() => members(rest));
      case 'demo':
        return run(() => demo(rest));
      case 'bench':
        return run(() => bench(rest));
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
    return failed(e);
  }
}

// Run only as the program (through the bin symlink too), not when imported.
const entry = process.argv[1] === undefined ? '' : pathToFileURL(fs.realpathSync(process.argv[1])).href;
if (entry === import.meta.url) process.exitCode = await main(process.argv.slice(2));
