// The module the engine's Piscina pool loads: one named export per task,
// called as `pool.run(task, { name })`. Each is a plain function of plain
// data (see the modules it wraps); what it returns is moved back, not copied:
// the ArrayBuffers it allocated are transferred with the result.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { FrameEncoder } from '../shared/envelope/index.js';
import {
  ENCODER_INITIAL_BYTES,
  decodeFrames,
  encodeFrames,
  payloadBytesOf,
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

/** Envelope fields and frame bytes besides the payload, per envelope: a generous estimate. */
const FRAME_OVERHEAD_ESTIMATE = 256;

/**
 * The output buffer is sized to the batch (not to a power of two, as a
 * reused encoder would): it goes to the main thread, whose garbage collector
 * pays for every byte of it.
 */
export function encodeBatch(task: EncodeBatchTask): EncodedBatch {
  const estimate = payloadBytesOf(task.envelopes) + task.envelopes.length * FRAME_OVERHEAD_ESTIMATE;
  const encoder = new FrameEncoder({ ...task.frame, initialBytes: Math.max(ENCODER_INITIAL_BYTES, estimate) });
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
