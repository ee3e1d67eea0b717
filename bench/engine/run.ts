// `node dist/bench/engine/run.js [--workers=0,1,2,4,8,16] [--sizes=64,1024,...]
//  [--ops=encode,decode,...] [--batch=MESSAGES] [--time=MS] [--quick] [--out=NAME] [--render]`
//
// The worker engine: for each operation, payload size (64 B - 4 MiB) and
// worker count, throughput and main-thread time per message, with 0 workers
// (everything inline) as the baseline of the same run. Prints per operation
// the crossover (the smallest size where workers cost the main thread less
// than inline, and where they are faster) and the scaling per worker count;
// then the SPSC ring figures. Each operation runs in its own process. Writes
// bench/results/engine.{md,json} (--out=NAME: NAME.{md,json}); --render
// redraws the tables from that JSON.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_OPS, ENGINE_SIZES, measureCell, type Cell, type EngineOp } from './engine-cells.js';
import { ringFigures, type RingFigures } from './ring.bench.js';
import { formatRate, sizeLabel } from '../support.js';

function flag(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const quick = process.argv.includes('--quick');
const timeMs = Number(flag('time') ?? (quick ? 150 : 400));
let workerCounts = (flag('workers') ?? '0,1,2,4').split(',').map(Number);
if (!workerCounts.includes(0)) workerCounts.unshift(0); // inline is the baseline
let sizes = flag('sizes')?.split(',').map(Number) ?? ENGINE_SIZES;
let ops = (flag('ops')?.split(',') ?? ENGINE_OPS) as EngineOp[];
/** Results go to bench/results/<out>.{md,json}. */
const out = flag('out') ?? 'engine';
const batchMessages = flag('batch') === undefined ? undefined : Number(flag('batch'));

interface Crossover {
  op: EngineOp;
  workers: number;
  /** Smallest payload size where the main thread spends less per message than inline; null: none measured. */
  mainSize: number | null;
  /** The batch bytes at that size (what offloadMinBytes weighs). */
  mainBatchBytes: number | null;
  /** Smallest payload size where throughput beats inline. */
  throughputSize: number | null;
}

/** What the main thread pays per message: CPU time where measured, busy time otherwise. */
function mainCost(c: Cell): number {
  return c.mainCpuUsPerMsg ?? c.mainUsPerMsg;
}

function crossovers(cells: Cell[]): Crossover[] {
  const out: Crossover[] = [];
  for (const op of ops) {
    for (const w of workerCounts.filter((n) => n > 0)) {
      let mainSize: number | null = null;
      let throughputSize: number | null = null;
      let mainBatchBytes: number | null = null;
      // the smallest size from which workers win at every larger size too
      let mainOpen = true;
      let throughputOpen = true;
      for (const size of [...sizes].reverse()) {
        const inline = cells.find((c) => c.op === op && c.size === size && c.workers === 0);
        const cell = cells.find((c) => c.op === op && c.size === size && c.workers === w);
        if (!inline || !cell) continue;
        if (mainOpen && mainCost(cell) < mainCost(inline)) {
          mainSize = size;
          mainBatchBytes = size * cell.batch;
        } else mainOpen = false;
        if (throughputOpen && cell.msgsPerSec > inline.msgsPerSec) throughputSize = size;
        else throughputOpen = false;
      }
      out.push({ op, workers: w, mainSize, mainBatchBytes, throughputSize });
    }
  }
  return out;
}

function us(n: number): string {
  return n.toFixed(n < 10 ? 2 : 0);
}

function opTable(op: EngineOp, cells: Cell[]): string {
  const head = `| size | batch | ${workerCounts.map((w) => (w === 0 ? 'inline msgs/s | main µs/msg' : `${w}w msgs/s | main µs/msg`)).join(' | ')} |`;
  const rule = `|---|---:|${workerCounts.map(() => '---:|---:').join('|')}|`;
  const rows = sizes.map((size) => {
    const line = workerCounts.map((w) => {
      const c = cells.find((x) => x.op === op && x.size === size && x.workers === w);
      return c ? `${formatRate(c.msgsPerSec)} | ${us(mainCost(c))}` : '– | –';
    });
    const batch = cells.find((x) => x.op === op && x.size === size)?.batch ?? 0;
    return `| ${sizeLabel(size)} | ${batch} | ${line.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

function scalingTable(cells: Cell[]): string {
  const ws = workerCounts.filter((w) => w > 0);
  const lines = [`| operation, size | ${ws.map((w) => `${w}w ÷ 1w`).join(' | ')} |`, `|---|${ws.map(() => '---:').join('|')}|`];
  for (const op of ops) {
    for (const size of sizes.filter((s) => s >= 64 * 1024)) {
      const one = cells.find((c) => c.op === op && c.size === size && c.workers === 1);
      if (!one) continue;
      const ratios = ws.map((w) => {
        const c = cells.find((x) => x.op === op && x.size === size && x.workers === w);
        return c ? `${(c.msgsPerSec / one.msgsPerSec).toFixed(2)}×` : '–';
      });
      lines.push(`| ${op}, ${sizeLabel(size)} | ${ratios.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function crossoverTable(list: Crossover[]): string {
  const lines = ['| operation | workers | main thread cheaper from | (batch bytes) | faster from |', '|---|---:|---:|---:|---:|'];
  for (const c of list) {
    lines.push(
      `| ${c.op} | ${c.workers} | ${c.mainSize === null ? 'never (≤ largest size)' : sizeLabel(c.mainSize)} | ${c.mainBatchBytes === null ? '–' : sizeLabel(c.mainBatchBytes)} | ${c.throughputSize === null ? 'never' : sizeLabel(c.throughputSize)} |`,
    );
  }
  return lines.join('\n');
}

function ringTable(r: RingFigures): string {
  return [
    '| 64 B records, main → worker | records/s |',
    '|---|---:|',
    `| ring, publish every record | ${formatRate(r.publishEach)} |`,
    `| ring, publish every 64 records | ${formatRate(r.publish64)} |`,
    `| postMessage, one record a message | ${formatRate(r.postMessage)} |`,
    '',
    `Round trip of one record (main → worker → main; Atomics.wait in the worker, Atomics.waitAsync on the main thread): p50 ${r.roundTripP50Us.toFixed(1)} µs, p99 ${r.roundTripP99Us.toFixed(1)} µs.`,
  ].join('\n');
}

/** Prints the summary and writes bench/results/engine.{md,json}. */
function render(cells: Cell[], ring: RingFigures, passed: string[], meta: { loadavg: number[]; date: string }): void {
  const cross = crossovers(cells);
  const load = meta.loadavg.map((l) => l.toFixed(1)).join(' / ');
  const sections = [
    `# Worker engine benchmarks`,
    '',
    `Node ${process.version}, ${process.platform}/${process.arch}, ${os.availableParallelism()} cores, load average at the end ${load} (1 / 5 / 15 min), ${meta.date.slice(0, 10)}; \`node dist/bench/engine/run.js ${passed.join(' ')}\``,
    '',
    'msgs/s: messages (payloads) handled per second, 2 batches in flight per worker; main µs/msg: main-thread CPU time per message (utime + stime of the main thread; event-loop busy time where /proc is missing), what the rest of the node pays. Batches of up to 256 messages and about 256 KiB. Worker counts above the core count oversubscribe the machine.',
    '',
    '## Crossover',
    '',
    crossoverTable(cross),
    '',
    '## Scaling (throughput against 1 worker)',
    '',
    scalingTable(cells),
    '',
    ...ops.flatMap((op) => [`## ${op}`, '', opTable(op, cells), '']),
    '## SPSC ring',
    '',
    ringTable(ring),
    '',
  ].join('\n');
  console.log(`\n## Crossover\n\n${crossoverTable(cross)}\n\n## Scaling\n\n${scalingTable(cells)}\n\n## SPSC ring\n\n${ringTable(ring)}`);
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${out}.md`), sections);
  console.error(`\nwrote ${path.join(dir, `${out}.md`)}`);
  fs.writeFileSync(
    path.join(dir, `${out}.json`),
    JSON.stringify({ node: process.version, cores: os.availableParallelism(), loadavg: meta.loadavg, date: meta.date, args: passed, cells, crossovers: cross, ring }, null, 2) + '\n',
  );
}

const only = flag('only');
if (process.argv.includes('--render')) {
  // tables again from bench/results/engine.json (e.g. after changing how they are drawn)
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results', `${out}.json`);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Cell[]; ring: RingFigures; args: string[]; loadavg: number[]; date: string };
  const distinct = <T,>(f: (c: Cell) => T): T[] => [...new Set(saved.cells.map(f))];
  ops = distinct((c) => c.op);
  sizes = distinct((c) => c.size).sort((a, b) => a - b);
  workerCounts = distinct((c) => c.workers).sort((a, b) => a - b);
  render(saved.cells, saved.ring, saved.args, saved);
} else if (only === 'ring') {
  process.stdout.write(JSON.stringify(await ringFigures(quick)));
} else if (only !== undefined) {
  const cells: Cell[] = [];
  for (const size of sizes) {
    for (const w of workerCounts) {
      cells.push(await measureCell(only as EngineOp, size, w, size >= 1 << 20 ? timeMs * 2 : timeMs, batchMessages));
    }
  }
  process.stdout.write(JSON.stringify(cells));
} else {
  const self = fileURLToPath(import.meta.url);
  const passed = process.argv.slice(2);
  const cells: Cell[] = [];
  for (const op of ops) {
    console.error(`running ${op} ...`);
    const out = execFileSync(process.execPath, [self, `--only=${op}`, ...passed], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    const got = JSON.parse(out) as Cell[];
    cells.push(...got);
    console.log(`\n## ${op}\n\n${opTable(op, got)}`);
  }
  console.error('running ring ...');
  const ring = JSON.parse(execFileSync(process.execPath, [self, '--only=ring', ...passed], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as RingFigures;
  render(cells, ring, passed, { loadavg: os.loadavg(), date: new Date().toISOString() });
}
