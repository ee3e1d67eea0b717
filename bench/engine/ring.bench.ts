// The SPSC ring between the main thread and a worker: 64 B records per
// second, main -> worker, publishing each record and every 64 records, beside
// postMessage of the same records; and the round-trip time of one record
// (worker blocked in Atomics.wait, main thread in Atomics.waitAsync).
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createRing, RingReader, RingWriter } from '../../src/shared/ring.js';

export interface RingFigures {
  /** Records per second, main -> worker, by publish batch (1, 64) and for postMessage. */
  publishEach: number;
  publish64: number;
  postMessage: number;
  roundTripP50Us: number;
  roundTripP99Us: number;
}

const RECORD = new Uint8Array(64).fill(1);
const workerUrl = new URL('./ring-worker.js', import.meta.url);

function started(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function throughput(records: number, publishEvery: number): Promise<number> {
  const ring = createRing(1 << 20);
  const worker = new Worker(workerUrl, { workerData: { mode: 'drain', input: ring } });
  const done = started(worker);
  const writer = new RingWriter(ring);
  const t0 = performance.now();
  for (let i = 0; i < records; ) {
    if (writer.tryWrite(RECORD)) {
      i++;
      if (i % publishEvery === 0) writer.publish();
    } else {
      writer.publish();
      await writer.writable(100);
    }
  }
  writer.close();
  const result = (await done) as { records: number };
  const ms = performance.now() - t0;
  await worker.terminate();
  if (result.records !== records) throw new Error(`ring lost records: ${result.records} of ${records}`);
  return (records * 1000) / ms;
}

async function postMessageRate(records: number): Promise<number> {
  const worker = new Worker(workerUrl, { workerData: { mode: 'post', expect: records } });
  const done = started(worker);
  const t0 = performance.now();
  for (let i = 0; i < records; i++) worker.postMessage(RECORD);
  await done;
  const ms = performance.now() - t0;
  await worker.terminate();
  return (records * 1000) / ms;
}

async function roundTrip(count: number): Promise<{ p50: number; p99: number }> {
  const input = createRing(1 << 16);
  const output = createRing(1 << 16);
  const worker = new Worker(workerUrl, { workerData: { mode: 'echo', input, output } });
  const done = started(worker);
  const writer = new RingWriter(input);
  const reader = new RingReader(output);
  const times = new Float64Array(count);
  for (let i = 0; i < count + 1000; i++) {
    const t0 = performance.now();
    writer.tryWrite(RECORD);
    writer.publish();
    while (reader.tryRead() === null) await reader.readable(1000);
    reader.release();
    if (i >= 1000) times[i - 1000] = (performance.now() - t0) * 1000;
  }
  writer.close();
  await done;
  await worker.terminate();
  times.sort();
  return { p50: times[Math.floor(count * 0.5)], p99: times[Math.floor(count * 0.99)] };
}

export async function ringFigures(quick: boolean): Promise<RingFigures> {
  const n = quick ? 500_000 : 3_000_000;
  await throughput(100_000, 64); // warm-up
  const publishEach = await throughput(n, 1);
  const publish64 = await throughput(n, 64);
  const postMessage = await postMessageRate(quick ? 100_000 : 300_000);
  const rt = await roundTrip(quick ? 3_000 : 20_000);
  return { publishEach, publish64, postMessage, roundTripP50Us: rt.p50, roundTripP99Us: rt.p99 };
}
