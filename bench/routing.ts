// Routing measurements: the cost of route() per strategy and cluster size,
// and the key hash on the hot path (the JavaScript hash of key-hash.ts
// against hash-wasm's xxhash64, called synchronously on a prepared
// instance). Writes bench/results/routing.{md,json}.
//
//   npm run build && node dist/bench/routing.js [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createXXHash64 } from 'hash-wasm';
import { hashOut, hashString } from '../src/main/routing/key-hash.js';
import { Router } from '../src/main/routing/router.js';
import type { RouterOptionsInput } from '../src/main/routing/router-options.js';
import { STRATEGY_NAMES } from '../src/main/routing/strategy.js';
import { runTasks, suiteOptions, type Task } from './support.js';

const KEYS = Array.from({ length: 4_096 }, (_, i) => `session:${(i * 2_654_435_761) >>> 0}:user-${i}`);

function router(nodes: number, options: RouterOptionsInput): Router {
  const r = new Router({ hotspotThresholdQps: 1e12, datacenter: 'dc0', rack: 'r0', ...options });
  for (let i = 0; i < nodes; i++) {
    const id = `node-${i}`;
    r.setNode(id, { state: 'alive', datacenter: `dc${i % 3}`, rack: `r${i % 5}`, weight: 1 + (i % 4) });
    r.setLatency(id, 1 + (i % 17));
    r.setConnections(id, i % 11);
  }
  return r;
}

/** Calls per task invocation, so that the timer's own cost (tens of ns) is spread over many calls. */
const BATCH = 256;
const tasks: Task[] = [];
let sink = 0;

function task(name: string, group: string, op: () => void, baseline?: string): Task {
  return {
    name,
    group,
    messages: BATCH,
    bytes: 0,
    baseline,
    fn: () => {
      for (let i = 0; i < BATCH; i++) op();
    },
  };
}
for (const nodes of [10, 100]) {
  const group = `${nodes} nodes`;
  for (const strategy of STRATEGY_NAMES) {
    const r = router(nodes, { strategy });
    tasks.push(task(`route() ${strategy}`, group, () => void r.route({}, 0)));
  }
  const keyed = router(nodes, {});
  let k = 0;
  tasks.push(task('route() by key (rendezvous, weighted)', group, () => void keyed.route({ key: KEYS[k++ & 4_095] }, 0)));
  const unweighted = new Router({ hotspotThresholdQps: 1e12 });
  for (let i = 0; i < nodes; i++) unweighted.setNode(`node-${i}`, { state: 'alive' });
  tasks.push(task('route() by key (rendezvous, equal weights)', group, () => void unweighted.route({ key: KEYS[k++ & 4_095] }, 0)));
  const hotspots = router(nodes, { strategy: 'round-robin', hotspotThresholdQps: 1_000 });
  let t = 0;
  tasks.push(task('route() round-robin, hotspot detection on', group, () => void hotspots.route({}, t++ >> 4)));
  const sticky = router(nodes, { strategy: 'round-robin' });
  let s = 0;
  tasks.push(task('route() sticky session (1 024 sessions)', group, () => void sticky.route({ session: KEYS[s++ & 1_023] }, 0)));
}

const xx = await createXXHash64();
let h = 0;
tasks.push(
  task('key-hash.ts hashString (JS, sync)', 'key hash', () => {
    hashString(KEYS[h++ & 4_095]);
    sink ^= hashOut[0];
  }),
);
tasks.push(
  task(
    'hash-wasm xxhash64 (prepared instance)',
    'key hash',
    () => {
      xx.init();
      xx.update(KEYS[h++ & 4_095]);
      sink ^= xx.digest('binary')[0];
    },
    'key-hash.ts hashString (JS, sync)',
  ),
);

const rows = await runTasks(tasks, suiteOptions());
const lines = ['| group | task | ops/s | ns/op | vs baseline | ±% |', '|---|---|---:|---:|---:|---:|'];
for (const r of rows) {
  lines.push(`| ${r.group} | ${r.name} | ${(r.msgsPerSec / 1e6).toFixed(2)}M | ${r.nsPerMsg.toFixed(0)} | ${r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`} | ${r.rme.toFixed(1)} |`);
}
const table = lines.join('\n');
console.log(table);
if (sink === 0.5) console.log(sink);

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const load = os.loadavg()[0].toFixed(1);
const meta = `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores, load average ${load} at the end, ${new Date().toISOString().slice(0, 10)}; \`node dist/bench/routing.js\``;
fs.writeFileSync(path.join(dir, 'routing.md'), `# Routing benchmarks\n\n${meta}\n\nKeys are ~30-character strings; route() calls use a fixed clock except where noted.\n\n${table}\n`);
fs.writeFileSync(path.join(dir, 'routing.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2) + '\n');
console.error(`wrote ${path.join(dir, 'routing.md')}`);
