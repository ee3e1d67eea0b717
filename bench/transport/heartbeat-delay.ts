// How long a Critical heartbeat waits behind a bulk transfer on a real
// connection: two transports on loopback, in two processes (this one sends, a
// child receives), one 100 MB message sent at Low (cut into 64 KiB Chunk
// pieces by the send scheduler, paced by the connection's pacing window), and
// a small Critical message every 1 ms while it is in flight. For each
// heartbeat: the delay from send() to its arrival (both processes read
// performance.timeOrigin + performance.now(), one clock on one machine), and
// the bytes that arrived ahead of it: what the receiving socket had read when
// it arrived minus what it had read when the heartbeat was sent (taken from
// the receiver's timeline of reads): the sender's socket buffer, the
// kernel's buffers, and anything the sender wrote ahead of it.
//
// Run: npm run build && node dist/bench/transport/heartbeat-delay.js
//   --mb=100             transfer size in MB
//   --window=BYTES       the connection's pacingWindowBytes (default: its default; 0 = off)
//   --out=FILE           also write the markdown table to FILE
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Transport } from '../../src/main/transport/transport.js';
import { CONNECTION_DEFAULTS } from '../../src/main/transport/connection-options.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const TOTAL_BYTES = Number(arg('mb') ?? 100) * 1_000_000;
const WINDOW = Number(arg('window') ?? CONNECTION_DEFAULTS.pacingWindowBytes);
const OUT = arg('out');
const INTERVAL_MS = 1;
const CRITICAL = 0;
const LOW = 3;
const clock = () => performance.timeOrigin + performance.now();

interface Arrival {
  seq: number;
  at: number;
  /** Bytes the receiving socket had read when the heartbeat was taken. */
  bytesIn: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Bytes the receiver had read at time `at` (its last read at or before then). */
function readBefore(readAt: number[], readBytes: number[], at: number): number {
  let lo = 0;
  let hi = readAt.length - 1;
  if (hi < 0 || readAt[0] > at) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (readAt[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return readBytes[lo];
}

/** The child: receives, and reports each heartbeat's arrival and when the transfer is complete. */
async function receive(): Promise<void> {
  const arrivals: Arrival[] = [];
  const readAt: number[] = [];
  const readBytes: number[] = [];
  const a = new Transport(
    { nodeId: 'receiver', cluster: 'bench', connection: { maxMessageBytes: 2 * TOTAL_BYTES + 65_536 } },
    {
      onEstablished: (c) => {
        let total = 0;
        c.socket.prependListener('data', (chunk: Buffer) => {
          readAt.push(clock());
          readBytes.push((total += chunk.length));
        });
      },
      onMessage: (c, envelope) => {
        const body = envelope.body;
        if (body.type !== 'Message') return;
        if (body.topic === 'hb') {
          arrivals.push({ seq: new DataView(body.payload.buffer, body.payload.byteOffset, 4).getUint32(0), at: clock(), bytesIn: readBytes[readBytes.length - 1] });
        } else if (body.topic === 'bulk') {
          process.send!({ type: 'done', at: clock(), ok: body.payload.length === TOTAL_BYTES, arrivals, readAt, readBytes });
        }
      },
    },
  );
  const { port } = await a.listen(0);
  process.send!({ type: 'ready', port });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'exit') void a.close().then(() => process.exit(0));
  });
}

async function send(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), '--role=receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  type Done = { type: string; at: number; ok: boolean; arrivals: Arrival[]; readAt: number[]; readBytes: number[] };
  const done = new Promise<Done>((resolve) => child.on('message', (m: Done) => m.type === 'done' && resolve(m)));
  const b = new Transport(
    { nodeId: 'sender', cluster: 'bench', connection: { maxQueuedBytes: 2 * TOTAL_BYTES + 65_536, pacingWindowBytes: WINDOW } },
    { onMessage: () => undefined },
  );
  const conn = await b.connect('127.0.0.1', port, { nodeId: 'receiver' });
  const sent = new Map<number, { at: number }>();
  const payload = new Uint8Array(TOTAL_BYTES).fill(0x5a);
  let seq = 0;
  const beat = () => {
    const p = new Uint8Array(8);
    new DataView(p.buffer).setUint32(0, ++seq);
    sent.set(seq, { at: clock() });
    conn.send({ type: 'Message', topic: 'hb', payload: p }, { priority: CRITICAL });
  };
  const started = clock();
  beat(); // heartbeats flow before the transfer, as on any connection that carries them (pacing applies after urgent traffic)
  conn.send({ type: 'Message', topic: 'bulk', payload }, { priority: LOW });
  const timer = setInterval(beat, INTERVAL_MS);
  const result = await done;
  clearInterval(timer);
  child.send({ type: 'exit' });
  await b.close();
  if (!result.ok) throw new Error('the transfer arrived damaged');

  const samples = result.arrivals.flatMap((a) => {
    const s = sent.get(a.seq);
    return s === undefined ? [] : [{ delayMs: a.at - s.at, bytesBetween: a.bytesIn - readBefore(result.readAt, result.readBytes, s.at) }];
  });
  const delays = samples.map((s) => s.delayMs).sort((x, y) => x - y);
  const bytes = samples.map((s) => s.bytesBetween).sort((x, y) => x - y);
  const transferMs = result.at - started;
  const mb = (n: number) => (n / 1_000_000).toFixed(2);
  const text = [
    `| pacing window | transfer | heartbeats | delay p50 | delay p99 | delay worst | bytes ahead p50 | bytes ahead p99 | bytes ahead worst |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    `| ${WINDOW === 0 ? 'off' : `${WINDOW / 1024} KiB`} | ${transferMs.toFixed(0)} ms (${((TOTAL_BYTES * 8) / (transferMs / 1000) / 1e9).toFixed(2)} Gbit/s) | ${samples.length} | ${percentile(delays, 50).toFixed(2)} ms | ${percentile(delays, 99).toFixed(2)} ms | ${(delays[delays.length - 1] ?? 0).toFixed(2)} ms | ${mb(percentile(bytes, 50))} MB | ${mb(percentile(bytes, 99))} MB | ${mb(bytes[bytes.length - 1] ?? 0)} MB |`,
  ].join('\n');
  console.log(`${(TOTAL_BYTES / 1e6).toFixed(0)} MB at Low, 64 KiB chunks, a Critical heartbeat every ${INTERVAL_MS} ms, sender and receiver in two processes on loopback`);
  console.log(text);
  if (OUT !== undefined) fs.appendFileSync(OUT, text.split('\n').slice(-1)[0] + '\n');
}

if (process.argv.includes('--role=receiver')) await receive();
else await send();
