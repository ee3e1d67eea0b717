// `npm run bench`: the foundation suites (codec with CRC per frame, in
// checksum runs, and without, checksums, reassembly of large messages,
// compression). Each suite runs in its own process, so one
// suite's type feedback cannot slow another's code down. Prints each table
// and writes bench/results/foundation.{md,json}.
// Flags: --quick (short runs), --time=MS per task, --only=<suite> (in this process).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { codecTasks } from './shared/codec.bench.js';
import { checksumTasks } from './shared/checksum.bench.js';
import { compressionTasks } from './shared/compression.bench.js';
import { reassemblyTasks } from './transport/reassembly.bench.js';
import { markdownTable, runTasks, suiteOptions, writeResults, type Row } from './support.js';

interface Section {
  heading: string;
  rows: Row[];
  note?: string;
}

const SUITES: Record<string, () => Promise<Section[]>> = {
  'codec-crc': async () => [{ heading: 'Codec, CRC-32 on (the default on plain TCP)', rows: await runTasks(codecTasks({ checksum: true, label: '' }), suiteOptions()) }],
  'codec-runs': async () => [
    {
      heading: 'Codec, CRC-32 in checksum runs of 16 KiB (what connections send to peers that accept runs)',
      rows: await runTasks(codecTasks({ checksum: true, label: ' (CRC runs)', checksumRunBytes: 16 * 1024 }), suiteOptions()),
    },
  ],
  'codec-nocrc': async () => [
    { heading: 'Codec, CRC-32 off (under TLS, whose record MAC covers the bytes)', rows: await runTasks(codecTasks({ checksum: false, label: ' (no CRC)' }), suiteOptions()) },
  ],
  checksum: async () => {
    const { crc, sha } = await checksumTasks();
    return [
      { heading: 'CRC-32', rows: await runTasks(crc, suiteOptions()), note: 'One call per message; the ratio is throughput against zlib.crc32.' },
      { heading: 'SHA-256', rows: await runTasks(sha, suiteOptions()) },
    ];
  },
  reassembly: async () => [
    {
      heading: 'Reassembly of large messages (frame decoder, envelope decode, chunk assembler) from 64 KiB reads',
      rows: await runTasks(reassemblyTasks(), suiteOptions()),
      note: 'The ratio is throughput against assembling each piece that spans reads in a frame buffer and copying it into its message.',
    },
  ],
  compression: async () => {
    const { tasks, ratios } = compressionTasks();
    const note = `Compression ratios on the sample: ${ratios.map((r) => `${r.algorithm} ${r.size} ${r.ratio.toFixed(2)}×`).join(', ')}.`;
    return [{ heading: 'Compression', rows: await runTasks(tasks, suiteOptions()), note }];
  },
};

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (only !== undefined) {
  const suite = SUITES[only];
  if (!suite) throw new Error(`unknown suite ${only}; one of ${Object.keys(SUITES).join(', ')}`);
  const sections = await suite();
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(sections));
  else for (const s of sections) console.log(`\n## ${s.heading}\n\n${s.note ? `${s.note}\n\n` : ''}${markdownTable(s.rows)}`);
} else {
  const self = fileURLToPath(import.meta.url);
  const passed = process.argv.slice(2);
  const sections: Section[] = [];
  for (const name of Object.keys(SUITES)) {
    console.error(`running ${name} ...`);
    const out = execFileSync(process.execPath, [self, `--only=${name}`, '--json', ...passed], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const s of JSON.parse(out) as Section[]) {
      sections.push(s);
      console.log(`\n## ${s.heading}\n\n${s.note ? `${s.note}\n\n` : ''}${markdownTable(s.rows)}`);
    }
  }
  console.error(`\nwrote ${writeResults('foundation', 'Foundation benchmarks', sections)}`);
}
