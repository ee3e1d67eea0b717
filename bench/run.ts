// `npm run bench`: the foundation suites (codec, checksums, compression).
// Prints each table and writes bench/results/foundation.{md,json}.
// Flags: --quick (short runs), --time=MS per task, --only=codec|checksum|compression.
import { codecTasks } from './shared/codec.bench.js';
import { checksumTasks } from './shared/checksum.bench.js';
import { compressionTasks } from './shared/compression.bench.js';
import { markdownTable, runTasks, suiteOptions, writeResults, type Row } from './support.js';

const options = suiteOptions();
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const sections: Array<{ heading: string; rows: Row[]; note?: string }> = [];

function show(heading: string, rows: Row[], note?: string): void {
  sections.push({ heading, rows, note });
  console.log(`\n## ${heading}\n`);
  if (note) console.log(`${note}\n`);
  console.log(markdownTable(rows));
}

if (!only || only === 'codec') {
  console.error('codec: with checksum ...');
  show('Codec, CRC-32 on (plain TCP default)', await runTasks(codecTasks({ checksum: true, label: '' }), options));
  console.error('codec: without checksum ...');
  show('Codec, CRC-32 off (TLS, which has its own MAC)', await runTasks(codecTasks({ checksum: false, label: ' (no CRC)' }), options));
}
if (!only || only === 'checksum') {
  console.error('checksums ...');
  const { crc, sha } = await checksumTasks();
  show('CRC-32', await runTasks(crc, options), 'One call per message; the ratio is throughput against zlib.crc32.');
  show('SHA-256', await runTasks(sha, options));
}
if (!only || only === 'compression') {
  console.error('compression ...');
  const { tasks, ratios } = compressionTasks();
  const note = `Compression ratios on the sample: ${ratios.map((r) => `${r.algorithm} ${r.size} ${r.ratio.toFixed(2)}×`).join(', ')}.`;
  show('Compression', await runTasks(tasks, options), note);
}
if (!only) {
  const file = writeResults('foundation', 'Foundation benchmarks', sections);
  console.error(`\nwrote ${file}`);
}
