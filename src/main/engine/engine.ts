// The worker engine: the byte work of the main thread (frames, checksums,
// compression, hashing, file chunks) in batches, inline or in a Piscina
// pool, by the offload policy. Both paths run the same plain functions
// (src/workers), so a batch gives the same bytes wherever it ran.
//
// Failure: a batch whose worker died or threw is run once more (Piscina has
// replaced a dead worker by then); if that fails too, the batch's promise
// rejects with WorkerFailedError. Inputs are never transferred to a worker
// (they are cloned, or copied to shared memory), so a retry has them intact,
// and no batch is dropped without its promise settling.
//
// Memory: the shared buffer a batch of chunks to hash is copied into comes
// back once the batch settles (its result is only digests) and stages the
// next; a file region is read into shared memory the caller passes, which it
// can read again for the next region. A file transfer thus allocates no
// megabyte per chunk on either side, which would cost page faults and, as
// external memory, major garbage collections.
import { Piscina } from 'piscina';
import { CompressionId, type CompressionIdValue, type CompressionName } from '../../shared/compression.js';
import { EngineClosedError, InvalidConfigError, WorkerFailedError } from '../../shared/errors.js';
import { resolveFrameCheckOptions, type FrameCheckOptions } from '../../shared/frame.js';
import type { Envelope, FrameEncoder } from '../../shared/envelope/index.js';
import { batchEncoder, decodeFrames, encodeFrames, payloadBytesOf, type DecodedBatch, type EncodedBatch } from '../../workers/frame-batch.js';
import { compressChunks, decompressChunks, type CompressedBatch, type DecompressedBatch } from '../../workers/compression-batch.js';
import { chunkFile, sha256Chunks, type FileChunks } from '../../workers/chunk-hash.js';
import { TaskName, type TaskNameValue } from '../../workers/engine-tasks.js';
import { resolveEngineOptions, type EngineOptions, type EngineOptionsInput, type OffloadKind } from './engine-options.js';
import { OffloadPolicy, type Placement } from './offload-policy.js';
import { EncodeBatcher } from './encode-batcher.js';
import { SpareBuffers, sharedBytes } from '../../shared/bytes.js';
import { engineTaskModule } from './task-module.js';
import { withWorkerFlags } from './worker-flags.js';

/** What the engine's work runs on besides its options (tests give another task module). */
export interface EngineCollaborators {
  /** file:// URL of the worker module; default the compiled src/workers/engine-tasks.js. */
  readonly taskModule?: string;
}

export interface EngineStats {
  readonly inlineBatches: number;
  readonly workerBatches: number;
  /** Batches run a second time after their worker died or threw. */
  readonly retriedBatches: number;
  /** Batches that failed twice: rejected with WorkerFailedError. */
  readonly failedBatches: number;
  /** Workers started, the first ones and their replacements. */
  readonly workersStarted: number;
  /** Batches queued or running in workers now. */
  readonly queuedBatches: number;
  /** Uncaught errors of idle workers (no batch on them); the pool replaced each such worker. */
  readonly idleWorkerErrors: number;
}

export type FileRegion = Extract<FileChunks, { ok: true }>;

/** A file could not be read for chunking; `code` is the system's (ENOENT, EACCES, ...). */
export class FileChunkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileChunkError';
  }
}

export class Engine {
  readonly options: EngineOptions;
  private readonly policy: OffloadPolicy;
  private readonly pool: Piscina | null;
  private readonly encoder: FrameEncoder;
  private readonly check: FrameCheckOptions;
  private readonly batcher: EncodeBatcher;
  /** Shared buffers that staged a batch of chunks to hash, kept for the next (at most 4 and 16 MiB). */
  private readonly staging = new SpareBuffers(4, 16 * 1024 * 1024);
  private closed = false;
  private queued = 0;
  private counts = { inline: 0, worker: 0, retried: 0, failed: 0, started: 0, idleErrors: 0 };

  constructor(options: EngineOptionsInput = {}, collaborators: EngineCollaborators = {}) {
    this.options = resolveEngineOptions(options);
    this.policy = new OffloadPolicy(this.options);
    this.encoder = batchEncoder(this.options.frame);
    this.check = resolveFrameCheckOptions({ maxFrameBytes: this.options.frame.maxFrameBytes, requireChecksum: this.options.frame.checksum });
    this.batcher = new EncodeBatcher((envelopes) => this.encodeBatch(envelopes), this.options.batchMaxMessages, this.options.batchMaxDelayUs);
    const workers = this.options.workers;
    if (workers === 0) {
      this.pool = null;
      return;
    }
    const filename = collaborators.taskModule ?? engineTaskModule();
    this.pool = withWorkerFlags(
      (execArgv) =>
        new Piscina({
          filename,
          execArgv,
          minThreads: workers,
          maxThreads: workers,
          idleTimeout: Infinity,
          // a batch that has not finished 10 s after close() is abandoned
          closeTimeout: 10_000,
        }),
    );
    this.pool.on('workerCreate', () => this.counts.started++);
    // an idle worker's uncaught error: the pool replaces the worker; no batch was on it
    this.pool.on('error', () => this.counts.idleErrors++);
  }

  get stats(): EngineStats {
    const c = this.counts;
    return {
      inlineBatches: c.inline,
      workerBatches: c.worker,
      retriedBatches: c.retried,
      failedBatches: c.failed,
      workersStarted: c.started,
      queuedBatches: this.queued,
      idleWorkerErrors: c.idleErrors,
    };
  }

  /** Where a batch of this kind and size would run now. */
  placement(kind: OffloadKind, bytes: number): Placement {
    return this.policy.place(kind, bytes, this.queued);
  }

  /**
   * Encodes envelopes as frames, back to back in one buffer (for one socket
   * write). `ends[i]` is where envelope i's frame ends; an envelope that does
   * not encode leaves an empty frame and an entry in `errors`.
   */
  encodeBatch(envelopes: Envelope[]): Promise<EncodedBatch> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.encodeBatch));
    const bytes = payloadBytesOf(envelopes);
    if (this.policy.place('encode', bytes, this.queued) === 'inline') {
      this.counts.inline++;
      return settle(() => encodeFrames(this.encoder, envelopes));
    }
    return this.offload<EncodedBatch>(TaskName.encodeBatch, { envelopes, frame: this.options.frame });
  }

  /**
   * Encodes one envelope as a frame, gathered with others into a batch
   * (batchMaxMessages, batchMaxDelayUs). Resolves to the frame; rejects with
   * the envelope's own error, or the batch's.
   */
  encode(envelope: Envelope): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.encodeBatch));
    return this.batcher.submit(envelope);
  }

  /** Sends the envelopes gathered by `encode()` now. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /**
   * Checks and reads the whole frames in `bytes`. Payload views point into
   * `bytes` (inline) or into a shared copy of them (worker); copy what must
   * outlive the batch. `consumed` says where a trailing partial frame starts.
   */
  decodeBatch(bytes: Uint8Array): Promise<DecodedBatch> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.decodeBatch));
    if (this.policy.place('decode', bytes.length, this.queued) === 'inline') {
      this.counts.inline++;
      return settle(() => decodeFrames({ bytes, check: this.check }, null));
    }
    return this.offload<DecodedBatch>(TaskName.decodeBatch, { bytes: shared(bytes), check: this.check });
  }

  /** Compresses each chunk (wire format of src/shared/compression.ts); chunks that would grow stay as they are. */
  compress(chunks: Uint8Array[], algorithm: Exclude<CompressionName, 'none'> = 'lz4', zstdLevel = this.options.frame.zstdLevel): Promise<CompressedBatch> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.compressBatch));
    const id = compressionId(algorithm);
    if (id === null) return Promise.reject(new InvalidConfigError('algorithm', `lz4 or zstd, got ${String(algorithm)}`));
    const bytes = totalBytes(chunks);
    if (this.policy.place('compress', bytes, this.queued) === 'inline') {
      this.counts.inline++;
      return settle(() => compressChunks({ chunks, algorithm: id, zstdLevel }));
    }
    return this.offload<CompressedBatch>(TaskName.compressBatch, { chunks: sharedChunks(chunks, sharedBytes(stagedLength(chunks, bytes))), algorithm: id, zstdLevel });
  }

  /** Inflates each chunk, refusing any that declares more than `maxBytes`. */
  decompress(chunks: Uint8Array[], algorithm: Exclude<CompressionName, 'none'>, maxBytes = this.options.frame.maxFrameBytes): Promise<DecompressedBatch> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.decompressBatch));
    const id = compressionId(algorithm);
    if (id === null) return Promise.reject(new InvalidConfigError('algorithm', `lz4 or zstd, got ${String(algorithm)}`));
    const bytes = totalBytes(chunks);
    if (this.policy.place('decompress', bytes, this.queued) === 'inline') {
      this.counts.inline++;
      return settle(() => decompressChunks({ chunks, algorithm: id, maxBytes }));
    }
    return this.offload<DecompressedBatch>(TaskName.decompressBatch, { chunks: sharedChunks(chunks, sharedBytes(stagedLength(chunks, bytes))), algorithm: id, maxBytes });
  }

  /** SHA-256 of each chunk, back to back (32 bytes each). */
  sha256(chunks: Uint8Array[]): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new EngineClosedError(TaskName.sha256Batch));
    const bytes = totalBytes(chunks);
    if (this.policy.place('sha256', bytes, this.queued) === 'inline') {
      this.counts.inline++;
      return settle(() => sha256Chunks({ chunks }));
    }
    const length = stagedLength(chunks, bytes);
    const staged = this.staging.take(length) ?? sharedBytes(length);
    const done = this.offload<Uint8Array>(TaskName.sha256Batch, { chunks: sharedChunks(chunks, staged) });
    // the digests are all the result holds: once the batch settled, no worker reads the staged bytes again
    void done.then(
      () => this.staging.put(staged.buffer),
      () => this.staging.put(staged.buffer),
    );
    return done;
  }

  /**
   * Reads `length` bytes of a file from `offset` and hashes them in chunks of
   * `chunkBytes`. Runs in a worker whenever there are workers (the read is
   * synchronous there); rejects with FileChunkError when the file cannot be read.
   * The bytes are read into `into` when given (a view of a SharedArrayBuffer,
   * which the worker fills in place; the region's bytes are then a view of
   * the same memory), else into a new buffer.
   */
  async chunkFile(path: string, offset: number, length: number, chunkBytes: number, into?: Uint8Array): Promise<FileRegion> {
    if (this.closed) throw new EngineClosedError(TaskName.chunkFile);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidConfigError('offset', `a non-negative integer, got ${offset}`);
    if (!Number.isInteger(length) || length < 0 || length > 0x7fff_ffff) throw new InvalidConfigError('length', `an integer in [0, 2^31), got ${length}`);
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new InvalidConfigError('chunkBytes', `a positive integer, got ${chunkBytes}`);
    if (into !== undefined && (!(into.buffer instanceof SharedArrayBuffer) || into.length < length)) {
      throw new InvalidConfigError('into', `a view of shared memory of at least ${length} bytes`);
    }
    const task = { path, offset, length, chunkBytes, into };
    let out: FileChunks;
    if (this.pool === null) {
      this.counts.inline++;
      out = chunkFile(task);
    } else {
      out = await this.offload<FileChunks>(TaskName.chunkFile, task);
    }
    if (!out.ok) throw new FileChunkError(out.errno, out.message);
    return out;
  }

  /**
   * Sends the envelopes still gathered, waits for every batch in workers,
   * and stops the workers: nothing is left that keeps the process alive.
   * Work handed over after close() rejects with EngineClosedError.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const pending = this.batcher.flush();
    this.closed = true;
    await pending;
    if (this.pool !== null) await this.pool.close();
  }

  private async offload<T>(name: TaskNameValue, task: object): Promise<T> {
    const pool = this.pool!;
    this.counts.worker++;
    this.queued++;
    try {
      try {
        return (await pool.run(task, { name })) as T;
      } catch {
        this.counts.retried++;
      }
      try {
        return (await pool.run(task, { name })) as T;
      } catch (error) {
        this.counts.failed++;
        throw new WorkerFailedError(name, 2, { cause: error });
      }
    } finally {
      this.queued--;
    }
  }
}

/** The id of a compression algorithm given by name; null for 'none' or an unknown name. */
function compressionId(algorithm: string): CompressionIdValue | null {
  const id = (CompressionId as Record<string, CompressionIdValue | undefined>)[algorithm];
  return id === undefined || id === CompressionId.none ? null : id;
}

/** A synchronous result as a settled promise; a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function totalBytes(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < chunks.length; i++) n += chunks[i].length;
  return n;
}

/*
 * Bytes are copied into shared memory at the same alignment modulo 8 as the
 * memory they come from: V8 copies into a SharedArrayBuffer with relaxed
 * atomics, a word at a time when source and target are aligned alike and a
 * byte at a time when they are not (50-120 against ~800 µs a MiB here). A
 * chunk of a reassembled message, for one, starts anywhere in its buffer.
 */

/** A copy of `bytes` in shared memory: a worker reads it in place, and a retry reads it again. */
function shared(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
  const at = bytes.byteOffset & 7;
  const out = sharedBytes(bytes.length + at).subarray(at);
  out.set(bytes);
  return out;
}

/** Shared bytes that take `chunks` (of `bytes` together) as sharedChunks lays them out. */
function stagedLength(chunks: readonly Uint8Array[], bytes: number): number {
  return bytes + 7 * chunks.length;
}

/** Chunks copied into one shared buffer, `all` (stagedLength long at least), however large the buffers they view. */
function sharedChunks(chunks: readonly Uint8Array[], all: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = new Array(chunks.length);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    at += (chunk.byteOffset - (all.byteOffset + at)) & 7;
    all.set(chunk, at);
    out[i] = all.subarray(at, at + chunk.length);
    at += chunk.length;
  }
  return out;
}
