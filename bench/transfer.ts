// `npm run bench:transfer`: file transfer throughput on loopback against raw
// TCP in the same run. This process sends; a child process (this file with
// --receiver) receives. Rows:
//
//   raw TCP          the file read with a read stream and piped into a plain
//                    socket; the receiver counts the bytes and drops them
//                    (no framing, no hashing, no disk write)
//   file transfer    FileTransfers over the clusterwire transport: every
//                    chunk read and SHA-256-hashed on the sender, hashed and
//                    verified on the receiver, written to its partial file,
//                    recorded in the manifest, acknowledged; then the list
//                    digest, fsync and rename; timed from send() to done()
//
//   --mib=N          file size (default 512)
//   --workers=0,1    engine workers to try (default 0 and the engine's default)
//   --chunk=BYTES    chunk size (default 1 MiB)
//   --runs=N         runs per row, the best is kept (default 2)
//   --out=NAME       results go to bench/results/NAME.{md,json} (default transfer)
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/main/engine/engine.js';
import { defaultWorkers } from '../src/main/engine/engine-options.js';
import { FileTransfers } from '../src/main/transfer/file-transfers.js';
import { Messenger } from '../src/main/transport/messenger.js';

const here = fileURLToPath(import.meta.url);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const MiB = 1024 * 1024;
/** --pacing=BYTES sets the connection's pacingWindowBytes (0: off); --piece=BYTES its chunkBytes. */
function connectionOptions(): { pacingWindowBytes?: number; chunkBytes?: number } {
  const pacing = arg('pacing');
  const piece = arg('piece');
  return { ...(pacing === undefined ? {} : { pacingWindowBytes: Number(pacing) }), ...(piece === undefined ? {} : { chunkBytes: Number(piece) }) };
}

if (process.argv.includes('--receiver')) await receiver();
else await sender();

async function receiver(): Promise<void> {
  const workers = Number(arg('workers') ?? 0);
  const directory = arg('dir')!;
  const engine = workers > 0 ? new Engine({ workers }) : null;
  const messenger = new Messenger({ nodeId: 'receiver', cluster: 'bench', heartbeats: false, connection: connectionOptions() });
  const transfers = new FileTransfers(messenger, { directory, overwrite: true }, { engine });
  transfers.on('received', (file) => fs.rmSync(file.path, { force: true }));
  const cw = await messenger.transport.listen(0);
  let rawBytes = 0;
  const raw = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => (rawBytes += chunk.length));
    socket.on('end', () => {
      process.send!({ type: 'raw-done', bytes: rawBytes });
      rawBytes = 0;
      socket.end();
    });
  });
  raw.listen(0, '127.0.0.1');
  await new Promise((r) => raw.once('listening', r));
  process.send!({ type: 'ready', cwPort: cw.port, rawPort: (raw.address() as net.AddressInfo).port });
  process.on('message', async (m: { type: string }) => {
    if (m.type !== 'stop') return;
    raw.close();
    await transfers.close();
    await messenger.close();
    await engine?.close();
    process.exit(0);
  });
}

async function sender(): Promise<void> {
  const mib = Number(arg('mib') ?? 512);
  const chunkBytes = Number(arg('chunk') ?? MiB);
  const runs = Number(arg('runs') ?? 2);
  const workerCounts = (arg('workers') ?? `0,${defaultWorkers()}`).split(',').map(Number).filter((w, i, all) => all.indexOf(w) === i);
  const out = arg('out') ?? 'transfer';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-bench-transfer-'));
  const file = path.join(dir, 'payload.bin');
  const block = crypto.randomBytes(4 * MiB);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < mib / 4; i++) {
    block.writeUInt32BE(i, 0);
    fs.writeSync(fd, block);
  }
  fs.closeSync(fd);
  const bytes = fs.statSync(file).size;
  const rows: Array<{ row: string; workers: number; mbPerSec: number }> = [];
  try {
    for (const workers of workerCounts) {
      const inbox = fs.mkdtempSync(path.join(dir, 'inbox-'));
      const child = fork(here, ['--receiver', `--workers=${workers}`, `--dir=${inbox}`, ...process.argv.filter((a) => a.startsWith('--pacing=') || a.startsWith('--piece='))], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const ready = await new Promise<{ cwPort: number; rawPort: number }>((resolve) => child.once('message', (m) => resolve(m as { cwPort: number; rawPort: number })));
      // raw TCP: the same file into a plain socket
      let rawBest = 0;
      for (let r = 0; r < runs; r++) {
        const started = performance.now();
        const done = new Promise<void>((resolve) => child.once('message', () => resolve()));
        const socket = net.connect(ready.rawPort, '127.0.0.1');
        await new Promise((r2) => socket.once('connect', r2));
        fs.createReadStream(file, { highWaterMark: MiB }).pipe(socket);
        await done;
        socket.destroy();
        rawBest = Math.max(rawBest, bytes / ((performance.now() - started) / 1000));
      }
      rows.push({ row: 'raw TCP', workers, mbPerSec: rawBest / 1e6 });
      // file transfer
      const engine = workers > 0 ? new Engine({ workers }) : null;
      const messenger = new Messenger({ nodeId: 'sender', cluster: 'bench', heartbeats: false, connection: connectionOptions() });
      const transfers = new FileTransfers(messenger, { chunkBytes }, { engine });
      const connection = await messenger.transport.connect('127.0.0.1', ready.cwPort, { nodeId: 'receiver' });
      let best = 0;
      for (let r = 0; r < runs; r++) {
        const started = performance.now();
        await transfers.send(connection, file, { name: `run-${r}.bin`, resume: false }).done();
        best = Math.max(best, bytes / ((performance.now() - started) / 1000));
      }
      rows.push({ row: 'file transfer (every chunk SHA-256 verified)', workers, mbPerSec: best / 1e6 });
      await transfers.close();
      await messenger.close();
      await engine?.close();
      child.send({ type: 'stop' });
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    '# File transfer',
    '',
    `Node ${process.version}, ${os.availableParallelism()} cores, ${new Date().toISOString().slice(0, 10)}: a ${mib} MiB file, chunks of ${chunkBytes / MiB} MiB, two processes on loopback, best of ${runs} runs. Raw TCP pipes the file into a plain socket (no framing, hashing or disk write on the receiver).`,
    '',
    `\`npm run bench:transfer -- --mib=${mib} --workers=${workerCounts.join(',')}\``,
    '',
    '| engine workers | raw TCP MB/s | file transfer MB/s | transfer / raw |',
    '|---:|---:|---:|---:|',
    ...workerCounts.map((w) => {
      const raw = rows.find((r) => r.workers === w && r.row === 'raw TCP')!.mbPerSec;
      const ft = rows.find((r) => r.workers === w && r.row !== 'raw TCP')!.mbPerSec;
      return `| ${w} | ${raw.toFixed(0)} | ${ft.toFixed(0)} | ${(ft / raw).toFixed(2)}× |`;
    }),
    '',
  ];
  const results = path.join(path.dirname(here), '..', '..', 'bench', 'results');
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, `${out}.md`), lines.join('\n'));
  fs.writeFileSync(path.join(results, `${out}.json`), JSON.stringify({ mib, chunkBytes, runs, rows }, null, 2) + '\n');
  console.log(lines.join('\n'));
}
