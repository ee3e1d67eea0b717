// Batch compression and decompression of payloads (LZ4, Zstd) in the wire's
// compressed form (declared length prefix + compressed bytes), as
// src/shared/compression.ts writes and reads it.
import { compressPayload, decompressPayload, type CompressionIdValue } from '../shared/compression.js';
import { ErrorCode } from '../shared/errors.js';
import { packChunks, type PackedChunks } from './packed-chunks.js';
import { taskError, type TaskError } from './task-error.js';

export interface CompressBatchTask {
  readonly chunks: Uint8Array[];
  readonly algorithm: CompressionIdValue;
  readonly zstdLevel: number;
}

export interface CompressedBatch extends PackedChunks {
  /** `compressed[i]` is 1 when chunk i shrank and is stored compressed, 0 when it is stored as it was. */
  readonly compressed: Uint8Array;
}

/** Compresses each chunk; a chunk that would not shrink is kept as it is. */
export function compressChunks(task: CompressBatchTask): CompressedBatch {
  const out: Uint8Array[] = new Array(task.chunks.length);
  const compressed = new Uint8Array(task.chunks.length);
  for (let i = 0; i < out.length; i++) {
    const packed = compressPayload(task.algorithm, task.chunks[i], task.zstdLevel);
    compressed[i] = packed === null ? 0 : 1;
    out[i] = packed ?? task.chunks[i];
  }
  return { ...packChunks(out), compressed };
}

export interface DecompressBatchTask {
  readonly chunks: Uint8Array[];
  readonly algorithm: CompressionIdValue;
  /** Largest size one chunk may inflate to; refused before inflating. */
  readonly maxBytes: number;
}

export interface DecompressedBatch extends PackedChunks {
  /** Chunks that did not inflate (their slot in `bytes` is empty). */
  readonly errors: TaskError[];
}

/** Inflates each chunk, bounded by `maxBytes`; a corrupt chunk gives an error and an empty slot. */
export function decompressChunks(task: DecompressBatchTask): DecompressedBatch {
  const out: Uint8Array[] = new Array(task.chunks.length);
  const errors: TaskError[] = [];
  for (let i = 0; i < out.length; i++) {
    try {
      out[i] = decompressPayload(task.algorithm, task.chunks[i], task.maxBytes);
    } catch (error) {
      errors.push(taskError(i, error, ErrorCode.CORRUPT_PAYLOAD));
      out[i] = new Uint8Array(0);
    }
  }
  return { ...packChunks(out), errors };
}
