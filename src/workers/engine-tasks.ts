// The module the engine's Piscina pool loads: one named export per task,
// called as `pool.run(task, { name })`. Each is a plain function of plain
// data (see the modules it wraps); what it returns is moved back, not copied:
// the ArrayBuffers it allocated are transferred with the result.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { FrameEncoder } from '../shared/envelope/index.js';
import {
  batchEncoder,
  decodeFrames,
  encodeFrames,
  type DecodeBatchTask,
  type DecodedBatch,
  type EncodeBatchTask,
  type EncodedBatch,
} from './frame-batch.js';
import {
  compressChunks,
  decompressChunks,
  type CompressBatchTask,
  type CompressedBatch,
  type DecompressBatchTask,
  type DecompressedBatch,
} from './compression-batch.js';
import { chunkFile as chunkFileRegion, sha256Chunks, type ChunkFileTask, type FileChunks, type Sha256BatchTask } from './chunk-hash.js';

/** Task names, as the engine passes them to `run(task, { name })`. */
export const TaskName = {
  encodeBatch: 'encodeBatch',
  decodeBatch: 'decodeBatch',
  compressBatch: 'compressBatch',
  decompressBatch: 'decompressBatch',
  sha256Batch: 'sha256Batch',
  chunkFile: 'chunkFile',
} as const;
export type TaskNameValue = (typeof TaskName)[keyof typeof TaskName];

/** A value whose ArrayBuffers go back by transfer. */
function moved<T>(value: T, buffers: ArrayBufferLike[]): T {
  const list: ArrayBuffer[] = [];
  for (const b of buffers) {
    // shared memory is shared, not moved; a buffer is listed once
    if (b instanceof ArrayBuffer && b.byteLength > 0 && !list.includes(b)) list.push(b);
  }
  return move({
    get [transferableSymbol]() {
      return list;
    },
    get [valueSymbol]() {
      return value as object;
    },
  }) as unknown as T;
}

/** One encoder per frame options, reused across this worker's tasks. */
const encoders = new Map<string, FrameEncoder>();

export function encodeBatch(task: EncodeBatchTask): EncodedBatch {
  const key = JSON.stringify(task.frame);
  let encoder = encoders.get(key);
  if (encoder === undefined) {
    encoder = batchEncoder(task.frame);
    encoders.set(key, encoder);
  }
  const out = encodeFrames(encoder, task.envelopes);
  return moved(out, [out.bytes.buffer, out.ends.buffer]);
}

export function decodeBatch(task: DecodeBatchTask): DecodedBatch {
  const owned: ArrayBuffer[] = [];
  const out = decodeFrames(task, owned);
  return moved(out, [task.bytes.buffer, ...owned]);
}

export function compressBatch(task: CompressBatchTask): CompressedBatch {
  const out = compressChunks(task);
  return moved(out, [out.bytes.buffer, out.ends.buffer, out.compressed.buffer]);
}

export function decompressBatch(task: DecompressBatchTask): DecompressedBatch {
  const out = decompressChunks(task);
  return moved(out, [out.bytes.buffer, out.ends.buffer]);
}

export function sha256Batch(task: Sha256BatchTask): Uint8Array {
  const out = sha256Chunks(task);
  return moved(out, [out.buffer]);
}

export function chunkFile(task: ChunkFileTask): FileChunks {
  const out = chunkFileRegion(task);
  return out.ok ? moved(out, [out.bytes.buffer, out.digests.buffer]) : out;
}
