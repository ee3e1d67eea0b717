// Where the chunks a node sends come from, read and hashed: a file (read at
// any offset, so a resend or a resume reads it again), a byte stream (read
// once, in order: chunks sent and not yet acknowledged are kept for a
// resend), or bytes in memory (a state snapshot). And how chunks are hashed:
// in the worker engine when there is one (by its offload policy), else
// inline with node:crypto.
//
// With an engine, a file's chunks are read and hashed in a worker in one
// task (Engine.chunkFile), so neither the read nor the hash touches the main
// thread; without one, the read goes to libuv's pool and the hash runs
// inline.
import fs from 'node:fs/promises';
import { TransferFailedError } from '../../shared/errors.js';
import type { Engine } from '../engine/engine.js';
import { ChunkGeometry, SHA256_BYTES, sha256 } from './chunk-geometry.js';
import { sharedBytes, uninitializedBytes } from '../../shared/bytes.js';

export type ChunkHasher = (data: Uint8Array) => Promise<Uint8Array>;

/** SHA-256 of one chunk, in the engine when given. */
export function chunkHasher(engine: Engine | null): ChunkHasher {
  if (engine === null) return (data) => Promise.resolve(sha256(data));
  return (data) => engine.sha256([data]);
}

export interface SourceChunk {
  readonly data: Uint8Array;
  readonly sha256: Uint8Array;
}

export interface ChunkSource {
  readonly geometry: ChunkGeometry;
  /** Chunk `index`, read and hashed. */
  read(index: number): Promise<SourceChunk>;
  /** Only the digest of chunk `index` (a chunk the receiver already holds). */
  digest(index: number): Promise<Uint8Array>;
  /** The receiver holds chunk `index`: its bytes need not be kept. */
  release(index: number): void;
  close(): Promise<void>;
}

/** Buffers a FileSource keeps for reuse once their chunks are acknowledged. */
const SPARE_BUFFERS = 8;

/**
 * A file on disk, read at any offset. Chunks are read into buffers that come
 * back for the next reads once the receiver acknowledged them (release): the
 * connection sends from them without a copy, and an acknowledged chunk has
 * left the socket long before. With an engine they are shared memory, which
 * the worker that reads and hashes a chunk fills in place.
 */
export class FileSource implements ChunkSource {
  readonly #lent = new Map<number, Uint8Array>();
  readonly #spare: Uint8Array[] = [];

  private constructor(
    readonly geometry: ChunkGeometry,
    private readonly path: string,
    private readonly handle: fs.FileHandle | null,
    private readonly engine: Engine | null,
  ) {}

  static async open(path: string, chunkBytes: number, engine: Engine | null): Promise<FileSource> {
    const handle = await fs.open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (engine !== null) {
        await handle.close();
        return new FileSource(new ChunkGeometry(size, chunkBytes), path, null, engine);
      }
      return new FileSource(new ChunkGeometry(size, chunkBytes), path, handle, null);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(index: number): Promise<SourceChunk> {
    const g = this.geometry;
    const length = g.lengthOf(index);
    const spare = this.#spare.pop();
    const fits = spare !== undefined && spare.length === length;
    let chunk: SourceChunk;
    if (this.engine !== null) {
      const region = await this.engine.chunkFile(this.path, g.offsetOf(index), length, length, fits ? spare : sharedBytes(length));
      if (region.bytes.length !== length) throw new TransferFailedError(this.path, `the file shrank while it was sent (chunk ${index})`);
      chunk = { data: region.bytes, sha256: region.digests.subarray(0, SHA256_BYTES) };
    } else {
      const data = fits ? spare : uninitializedBytes(length); // filled by the read, or never sent
      let read = 0;
      while (read < length) {
        const { bytesRead } = await this.handle!.read(data, read, length - read, g.offsetOf(index) + read);
        if (bytesRead === 0) throw new TransferFailedError(this.path, `the file shrank while it was sent (chunk ${index})`);
        read += bytesRead;
      }
      chunk = { data, sha256: sha256(data) };
    }
    // a chunk read again (asked for again) keeps its first buffer on the books; the new one is not reused
    if (!this.#lent.has(index)) this.#lent.set(index, chunk.data);
    return chunk;
  }

  async digest(index: number): Promise<Uint8Array> {
    const { data, sha256: digest } = await this.read(index);
    if (this.#lent.get(index) === data) this.release(index); // read only to hash: never sent
    return digest;
  }

  release(index: number): void {
    const data = this.#lent.get(index);
    if (data === undefined) return;
    this.#lent.delete(index);
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(data);
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
  }
}

/**
 * A byte stream of a declared length, read once and in order. Chunks read
 * and not yet acknowledged are kept (at most `maxKeptBytes`) so that a
 * corrupted one can be sent again; a chunk before the read position that is
 * no longer kept cannot be, and the transfer fails.
 */
export class StreamSource implements ChunkSource {
  readonly #iterator: AsyncIterator<Uint8Array>;
  readonly #kept = new Map<number, SourceChunk>();
  #keptBytes = 0;
  #next = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #produced = 0;
  #reading: Promise<unknown> = Promise.resolve();

  constructor(
    readonly geometry: ChunkGeometry,
    source: AsyncIterable<Uint8Array>,
    private readonly hash: ChunkHasher,
    private readonly maxKeptBytes: number,
    private readonly name: string,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  read(index: number): Promise<SourceChunk> {
    // one read at a time: the stream is consumed in order
    const result = this.#reading.then(() => this.#readInOrder(index));
    this.#reading = result.catch(() => undefined);
    return result;
  }

  async digest(index: number): Promise<Uint8Array> {
    const chunk = await this.read(index);
    this.release(index);
    return chunk.sha256;
  }

  release(index: number): void {
    const chunk = this.#kept.get(index);
    if (chunk === undefined) return;
    this.#kept.delete(index);
    this.#keptBytes -= chunk.data.length;
  }

  async close(): Promise<void> {
    this.#kept.clear();
    await this.#iterator.return?.();
  }

  async #readInOrder(index: number): Promise<SourceChunk> {
    const kept = this.#kept.get(index);
    if (kept !== undefined) return kept;
    if (index < this.#next) throw new TransferFailedError(this.name, `chunk ${index} was asked for again after it was released`);
    while (this.#next <= index) {
      const data = await this.#take(this.geometry.lengthOf(this.#next));
      const chunk = { data, sha256: await this.hash(data) };
      if (this.#keptBytes + data.length > this.maxKeptBytes) throw new TransferFailedError(this.name, 'the receiver leaves too many chunks unacknowledged');
      this.#kept.set(this.#next, chunk);
      this.#keptBytes += data.length;
      this.#next++;
    }
    if (this.#next === this.geometry.count) await this.#expectEnd();
    return this.#kept.get(index)!;
  }

  /** The next `length` bytes of the stream. */
  async #take(length: number): Promise<Uint8Array> {
    while (this.#pendingBytes < length) {
      const { value, done } = await this.#iterator.next();
      if (done) throw new TransferFailedError(this.name, `the stream ended after ${this.#produced + this.#pendingBytes} of ${this.geometry.totalBytes} bytes`);
      if (value.length === 0) continue;
      this.#pending.push(value);
      this.#pendingBytes += value.length;
    }
    const out = new Uint8Array(length);
    let at = 0;
    while (at < length) {
      const head = this.#pending[0];
      const n = Math.min(head.length, length - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.#pending.shift();
      else this.#pending[0] = head.subarray(n);
    }
    this.#pendingBytes -= length;
    this.#produced += length;
    return out;
  }

  async #expectEnd(): Promise<void> {
    if (this.#pendingBytes > 0) throw new TransferFailedError(this.name, `the stream is longer than the ${this.geometry.totalBytes} bytes announced`);
    for (;;) {
      const { value, done } = await this.#iterator.next();
      if (done) return;
      if (value.length > 0) throw new TransferFailedError(this.name, `the stream is longer than the ${this.geometry.totalBytes} bytes announced`);
    }
  }
}

/** Bytes in memory (a state snapshot). */
export class MemorySource implements ChunkSource {
  constructor(
    readonly geometry: ChunkGeometry,
    private readonly bytes: Uint8Array,
    private readonly hash: ChunkHasher,
  ) {}

  async read(index: number): Promise<SourceChunk> {
    const g = this.geometry;
    const data = this.bytes.subarray(g.offsetOf(index), g.offsetOf(index) + g.lengthOf(index));
    return { data, sha256: await this.hash(data) };
  }

  async digest(index: number): Promise<Uint8Array> {
    return (await this.read(index)).sha256;
  }

  release(): void {}

  async close(): Promise<void> {}
}
