// One measurement of the engine: an operation, a payload size and a worker
// count (0 = inline). Keeps several batches in flight for a fixed time and
// reports throughput and main-thread time per message, from the event loop
// utilization of the main thread (time it was not idle waiting for I/O or
// for workers).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Engine } from '../../src/main/engine/index.js';
import { FrameEncoder, type Envelope } from '../../src/shared/envelope/index.js';
import { CompressionId, compressPayload } from '../../src/shared/compression.js';

export type EngineOp = 'encode' | 'encode-lz4' | 'decode' | 'sha256' | 'zstd' | 'unzstd';
export const ENGINE_OPS: readonly EngineOp[] = ['encode', 'encode-lz4', 'decode', 'sha256', 'zstd', 'unzstd'];
export const ENGINE_SIZES = [64, 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

export interface Cell {
  op: EngineOp;
  size: number;
  workers: number;
  /** Messages (payloads) per batch. */
  batch: number;
  msgsPerSec: number;
  mbPerSec: number;
  /** Main-thread busy time per message (event-loop utilization, wall clock), in microseconds. */
  mainUsPerMsg: number;
  /**
   * Main-thread CPU time per message, in microseconds (Linux: the main
   * thread's utime + stime; null elsewhere). Unlike busy time it leaves out
   * time the thread was runnable but not running, which grows when workers
   * outnumber cores.
   */
  mainCpuUsPerMsg: number | null;
  /** Share of the wall time the main thread was busy. */
  mainBusy: number;
}

/** Messages per batch: up to 256, and about 256 KiB of payload. */
export function batchFor(size: number): number {
  return Math.max(1, Math.min(256, Math.floor((256 * 1024) / size)));
}

/** Payload that compresses like structured messages (about 3-4x with LZ4). */
function payload(size: number, seed: number): Uint8Array {
  const words = Buffer.from('member suspect alive probe ack nack gossip incarnation term quorum 0123456789 ');
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    if ((i & 63) === 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    out[i] = (i & 15) === 0 ? x & 0xff : words[(i + (x & 31)) % words.length];
  }
  return out;
}

function envelopes(size: number, count: number): Envelope[] {
  const body = payload(size, 7);
  return Array.from({ length: count }, (_, i) => ({
    header: { messageId: i + 1, correlationId: 0, sender: 0x1234_5678, timestampUs: 1_763_000_000_000_000 + i, streamId: 0, priority: 2 },
    body: { type: 'Message', topic: 'bench.topic', payload: body },
  })) as Envelope[];
}

/** The work of one batch, bound to an engine. */
function batchWork(op: EngineOp, engine: Engine, size: number, batch: number): () => Promise<unknown> {
  switch (op) {
    case 'encode':
    case 'encode-lz4': {
      const items = envelopes(size, batch);
      return () => engine.encodeBatch(items);
    }
    case 'decode': {
      const encoder = new FrameEncoder({ initialBytes: 64 * 1024 });
      for (const e of envelopes(size, batch)) encoder.append(e);
      const frames = encoder.take();
      return () => engine.decodeBatch(frames);
    }
    case 'sha256': {
      // views at odd offsets, as the chunks of a reassembled message or the pieces of a socket read are
      const chunks = Array.from({ length: batch }, (_, i) => payload(size + 3, i + 1).subarray(3));
      return () => engine.sha256(chunks);
    }
    case 'zstd': {
      const chunks = Array.from({ length: batch }, (_, i) => payload(size, i + 1));
      return () => engine.compress(chunks, 'zstd', 1);
    }
    case 'unzstd': {
      const chunks = Array.from({ length: batch }, (_, i) => compressPayload(CompressionId.zstd, payload(size, i + 1), 1) ?? new Uint8Array(0));
      return () => engine.decompress(chunks, 'zstd', size);
    }
  }
}

const TICK_US = 10_000; // USER_HZ = 100 on Linux
const mainThreadStat = `/proc/self/task/${process.pid}/stat`;

/** CPU time of the main thread so far, in microseconds; null where /proc is missing. */
function mainThreadCpuUs(): number | null {
  try {
    const stat = fs.readFileSync(mainThreadStat, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return null;
  }
}

/** One cell; `batchMessages` overrides the messages per batch. */
export async function measureCell(op: EngineOp, size: number, workers: number, timeMs: number, batchMessages?: number): Promise<Cell> {
  const engine = new Engine({
    workers,
    offloadMinBytes: 0,
    maxQueuedBatches: 1_000_000,
    frame: { compression: op === 'encode-lz4' ? 'lz4' : 'none', compressMinBytes: 512 },
  });
  const batch = batchMessages ?? batchFor(size);
  const work = batchWork(op, engine, size, batch);
  const inFlight = Math.max(1, workers * 2);
  try {
    // warm-up: the JIT, and every worker started
    const warmUntil = performance.now() + Math.min(300, timeMs / 2);
    while (performance.now() < warmUntil) await Promise.all(Array.from({ length: inFlight }, work));
    let batches = 0;
    const start = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = mainThreadCpuUs();
    const end = start + timeMs;
    if (workers === 0) {
      // inline: batch after batch, letting the event loop turn between them
      while (performance.now() < end) {
        await work();
        batches++;
        if ((batches & 7) === 0) await yieldLoop();
      }
    } else {
      await new Promise<void>((resolve, reject) => {
        let running = 0;
        const next = (): void => {
          if (performance.now() >= end) {
            if (running === 0) resolve();
            return;
          }
          running++;
          work().then(() => {
            running--;
            batches++;
            next();
          }, reject);
        };
        for (let i = 0; i < inFlight; i++) next();
      });
    }
    const wallMs = performance.now() - start;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu1 = mainThreadCpuUs();
    const messages = batches * batch;
    return {
      op,
      size,
      workers,
      batch,
      msgsPerSec: (messages * 1000) / wallMs,
      mbPerSec: (messages * size * 1000) / wallMs / 1e6,
      mainUsPerMsg: (elu.active * 1000) / messages,
      mainCpuUsPerMsg: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / messages,
      mainBusy: elu.active / wallMs,
    };
  } finally {
    await engine.close();
  }
}
