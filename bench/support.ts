// Shared by the benchmark suites: run tinybench tasks, turn them into rows,
// print a table and write it for the README.
import fs from 'node:fs';
import path from 'node:path';
import { Bench } from 'tinybench';

export interface Task {
  /** Row label. */
  name: string;
  /** Column group, e.g. the payload size. */
  group: string;
  /** Messages handled per call of `fn`. */
  messages: number;
  /** Payload bytes handled per call of `fn`. */
  bytes: number;
  /** The row this one is compared with (same group); none for a baseline. */
  baseline?: string;
  fn: () => void;
}

export interface Row {
  name: string;
  group: string;
  msgsPerSec: number;
  gbPerSec: number;
  nsPerMsg: number;
  /** Throughput relative to the baseline row of the same group. */
  ratio: number | null;
  rme: number;
}

export interface SuiteOptions {
  /** Milliseconds per task. */
  timeMs: number;
}

export function suiteOptions(): SuiteOptions {
  const quick = process.argv.includes('--quick');
  const time = process.argv.find((a) => a.startsWith('--time='));
  return { timeMs: time ? Number(time.slice(7)) : quick ? 150 : 800 };
}

export async function runTasks(tasks: Task[], options: SuiteOptions): Promise<Row[]> {
  const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(200, options.timeMs / 2) });
  for (const t of tasks) bench.add(`${t.group} ${t.name}`, t.fn);
  await bench.run();
  const rows: Row[] = [];
  tasks.forEach((t, i) => {
    const result = bench.tasks[i].result;
    if (result.state !== 'completed') throw new Error(`${t.group} ${t.name}: ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`);
    const callsPerSec = 1000 / result.period;
    rows.push({
      name: t.name,
      group: t.group,
      msgsPerSec: callsPerSec * t.messages,
      gbPerSec: (callsPerSec * t.bytes) / 1e9,
      nsPerMsg: (result.period * 1e6) / t.messages,
      ratio: null,
      rme: result.latency.rme,
    });
  });
  for (const [i, t] of tasks.entries()) {
    if (t.baseline === undefined) continue;
    const base = rows.find((r) => r.group === t.group && r.name === t.baseline);
    if (base) rows[i].ratio = rows[i].msgsPerSec / base.msgsPerSec;
  }
  return rows;
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function markdownTable(rows: Row[]): string {
  const lines = ['| size | task | msgs/s | GB/s | ns/msg | vs baseline | ±% |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(
      `| ${r.group} | ${r.name} | ${formatRate(r.msgsPerSec)} | ${r.gbPerSec.toFixed(2)} | ${r.nsPerMsg.toFixed(0)} | ${r.ratio === null ? 'baseline' : `${r.ratio.toFixed(2)}×`} | ${r.rme.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Writes results beside the sources: bench/results/<name>.{md,json}. */
export function writeResults(name: string, title: string, sections: Array<{ heading: string; rows: Row[]; note?: string }>): string {
  const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const meta = `Node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString().slice(0, 10)}; \`npm run bench\``;
  const md = [`# ${title}`, '', meta, '', ...sections.flatMap((s) => [`## ${s.heading}`, '', ...(s.note ? [s.note, ''] : []), markdownTable(s.rows), ''])].join('\n');
  fs.writeFileSync(path.join(dir, `${name}.md`), md);
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ node: process.version, date: new Date().toISOString(), sections }, null, 2) + '\n');
  return path.join(dir, `${name}.md`);
}
