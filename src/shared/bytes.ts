// Byte buffers.

/**
 * A copy of `b` in memory of its own. (Not `b.slice()`: on a Buffer, which
 * is also a Uint8Array, slice() returns a view of the same memory.)
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * A Uint8Array of `length` bytes that are not zeroed first, in an
 * ArrayBuffer of its own (never a slice of Node's shared pool, whose
 * neighbouring bytes a view's `.buffer` would expose and keep alive). For
 * buffers the caller fills completely before anyone reads them: zeroing a
 * megabyte costs about as much as copying one.
 */
export function uninitializedBytes(length: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

/** `length` zeroed bytes of shared memory (a worker thread reads and writes them in place). */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/**
 * Buffers kept for reuse, bounded in number and in bytes together. A buffer
 * serves a request for `length` bytes when it holds between `length` and
 * twice that, so a spare much longer than the request is not tied up by it.
 * Each is the whole of its ArrayBuffer: the caller puts back only memory
 * nothing else refers to.
 */
export class SpareBuffers {
  readonly #buffers: Uint8Array[] = [];
  #bytes = 0;

  constructor(
    readonly maxBuffers: number,
    readonly maxBytes: number,
  ) {}

  /** Buffers kept. */
  get count(): number {
    return this.#buffers.length;
  }

  /** Bytes of the buffers kept, together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `buffer` unless that would pass a bound or it is detached; returns whether it was kept. */
  put(buffer: ArrayBufferLike): boolean {
    const length = buffer.byteLength;
    if (length === 0 || this.#buffers.length >= this.maxBuffers || this.#bytes + length > this.maxBytes) return false;
    this.#buffers.push(new Uint8Array(buffer));
    this.#bytes += length;
    return true;
  }

  /** A kept buffer for `length` bytes, as a view of exactly that length (its bytes are old), or null. */
  take(length: number): Uint8Array | null {
    const buffers = this.#buffers;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      if (b.length < length || b.length > 2 * length) continue;
      buffers.splice(i, 1);
      this.#bytes -= b.length;
      return b.length === length ? b : b.subarray(0, length);
    }
    return null;
  }

  clear(): void {
    this.#buffers.length = 0;
    this.#bytes = 0;
  }
}
