// Options of the worker engine, with their defaults, validated once.
//
// The thresholds are batch sizes in payload bytes above which a batch costs
// the main thread less in a worker than inline; bench/engine measures them
// (bench/results/engine.md) and docs/engine.md explains the numbers.
import os from 'node:os';
import { InvalidConfigError } from '../../shared/errors.js';
import { COMPRESSION_NAMES } from '../../shared/compression.js';
import { DEFAULT_COMPRESS_MIN_BYTES, DEFAULT_MAX_FRAME_BYTES } from '../../shared/frame.js';
import type { FrameEncoderOptions } from '../../shared/envelope/index.js';
import { integerOption as integer } from '../../shared/options.js';

/** The kinds of batch the offload policy weighs, each with its own threshold. */
export type OffloadKind = 'encode' | 'decode' | 'compress' | 'decompress' | 'sha256';
export const OFFLOAD_KINDS: readonly OffloadKind[] = ['encode', 'decode', 'compress', 'decompress', 'sha256'];

export interface EngineOptions {
  /** Worker threads; 0 runs everything inline on the main thread. Default: available cores - 1, at most 4. */
  readonly workers: number;
  /**
   * Smallest batch, in payload bytes, that goes to a worker, per kind of
   * work; smaller batches run inline. Infinity keeps a kind inline. Encoding
   * with compression on uses the `compress` threshold.
   */
  readonly offloadMinBytes: Readonly<Record<OffloadKind, number>>;
  /** Most envelopes `encode()` gathers into one batch. Default 256. */
  readonly batchMaxMessages: number;
  /**
   * Longest an envelope given to `encode()` waits for its batch to fill, in
   * microseconds. 0 (the default) sends the batch at the end of the current
   * event-loop turn; other values are rounded up to the timer's 1 ms.
   */
  readonly batchMaxDelayUs: number;
  /** Batches queued or running in workers at most; beyond this, batches run inline. Default workers * 4. */
  readonly maxQueuedBatches: number;
  /** How frames are encoded (compression, checksum, limits): as FrameEncoder takes them. */
  readonly frame: Readonly<Required<Omit<FrameEncoderOptions, 'initialBytes' | 'checksumRunBytes'>>>;
}

export type EngineOptionsInput = Partial<Omit<EngineOptions, 'offloadMinBytes' | 'frame'>> & {
  /** One threshold for every kind, or some kinds' thresholds. */
  readonly offloadMinBytes?: number | Partial<Record<OffloadKind, number>>;
  readonly frame?: Omit<FrameEncoderOptions, 'initialBytes' | 'checksumRunBytes'>;
};

export const MAX_ENGINE_WORKERS = 64;

/**
 * Batch bytes from which a worker costs the main thread less CPU than
 * inline work, measured on 2 cores (Node 20, Piscina 5; docs/engine.md).
 * Framing and CRC alone never pay: handing envelopes to a worker (structured
 * clone) and taking decoded envelopes back cost more than the work.
 */
export const DEFAULT_OFFLOAD_MIN_BYTES: Readonly<Record<OffloadKind, number>> = Object.freeze({
  encode: Infinity,
  decode: Infinity,
  compress: 64 * 1024,
  decompress: 64 * 1024,
  sha256: 64 * 1024,
});

export function defaultWorkers(): number {
  return Math.max(0, Math.min(4, os.availableParallelism() - 1));
}

export function resolveEngineOptions(input: EngineOptionsInput = {}): EngineOptions {
  const workers = input.workers ?? defaultWorkers();
  integer('workers', workers, 0, MAX_ENGINE_WORKERS);
  const offloadMinBytes = { ...DEFAULT_OFFLOAD_MIN_BYTES };
  const given = input.offloadMinBytes;
  if (typeof given === 'number') {
    for (const kind of OFFLOAD_KINDS) offloadMinBytes[kind] = given;
  } else if (given !== undefined) {
    for (const [kind, value] of Object.entries(given)) {
      if (!OFFLOAD_KINDS.includes(kind as OffloadKind)) throw new InvalidConfigError(`offloadMinBytes.${kind}`, `unknown kind; one of ${OFFLOAD_KINDS.join(', ')}`);
      if (value !== undefined) offloadMinBytes[kind as OffloadKind] = value;
    }
  }
  for (const kind of OFFLOAD_KINDS) {
    const v = offloadMinBytes[kind];
    if (!(v === Infinity || (Number.isInteger(v) && v >= 0))) throw new InvalidConfigError(`offloadMinBytes.${kind}`, `must be a non-negative integer or Infinity, got ${v}`);
  }
  const batchMaxMessages = input.batchMaxMessages ?? 256;
  integer('batchMaxMessages', batchMaxMessages, 1, 65_536);
  const batchMaxDelayUs = input.batchMaxDelayUs ?? 0;
  integer('batchMaxDelayUs', batchMaxDelayUs, 0, 1_000_000);
  const maxQueuedBatches = input.maxQueuedBatches ?? Math.max(1, workers * 4);
  integer('maxQueuedBatches', maxQueuedBatches, 1, 1_000_000);
  const f = input.frame ?? {};
  const compression = f.compression ?? 'none';
  if (!COMPRESSION_NAMES.includes(compression)) throw new InvalidConfigError('frame.compression', `one of ${COMPRESSION_NAMES.join(', ')}, got ${String(compression)}`);
  const frame = {
    compression,
    compressMinBytes: f.compressMinBytes ?? DEFAULT_COMPRESS_MIN_BYTES,
    zstdLevel: f.zstdLevel ?? 1,
    checksum: f.checksum ?? true,
    maxFrameBytes: f.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
  };
  integer('frame.compressMinBytes', frame.compressMinBytes, 0, 2 ** 32 - 1);
  integer('frame.zstdLevel', frame.zstdLevel, -7, 22);
  integer('frame.maxFrameBytes', frame.maxFrameBytes, 18, 2 ** 32 - 1);
  if (typeof frame.checksum !== 'boolean') throw new InvalidConfigError('frame.checksum', 'must be a boolean');
  return Object.freeze({
    workers,
    offloadMinBytes: Object.freeze(offloadMinBytes),
    batchMaxMessages,
    batchMaxDelayUs,
    maxQueuedBatches,
    frame: Object.freeze(frame),
  });
}

