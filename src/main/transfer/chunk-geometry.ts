// How a transfer of `totalBytes` is cut: chunk i covers bytes
// [i * chunkBytes, min((i + 1) * chunkBytes, totalBytes)); every chunk but the
// last is full, and an empty transfer has no chunk at all. Both sides derive
// every offset and length from the two numbers the request announced, so a
// chunk whose index, offset or length disagrees is refused, never trusted.
//
// The whole digest of a file transfer is the SHA-256 of its chunk digests in
// order (a hash list, one level of a Merkle tree): every chunk is checked
// against its own SHA-256 as it arrives, so the list digest pins every byte
// of the file, and neither side has to hash the file a second time to know
// it. A state snapshot, small and in memory, uses the plain SHA-256 of its
// bytes (SyncResponse.digest).
import crypto from 'node:crypto';

export const SHA256_BYTES = 32;
/** Most chunks in one transfer: indexes are a uint on the wire. */
export const MAX_CHUNKS = 0xffff_ffff;

export class ChunkGeometry {
  readonly count: number;

  constructor(
    readonly totalBytes: number,
    readonly chunkBytes: number,
  ) {
    this.count = Math.ceil(totalBytes / chunkBytes);
  }

  offsetOf(index: number): number {
    return index * this.chunkBytes;
  }

  lengthOf(index: number): number {
    return Math.min(this.chunkBytes, this.totalBytes - index * this.chunkBytes);
  }

  /** Why a chunk with this index, offset and length does not fit, or null when it does. */
  problem(index: number, offset: number, length: number): string | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return `chunk index ${index} outside [0, ${this.count})`;
    if (offset !== this.offsetOf(index)) return `chunk ${index} at offset ${offset}, expected ${this.offsetOf(index)}`;
    if (length !== this.lengthOf(index)) return `chunk ${index} of ${length} bytes, expected ${this.lengthOf(index)}`;
    return null;
  }
}

/** SHA-256 of one buffer. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return crypto.createHash('sha256').update(bytes).digest();
}

/** The whole digest of a file transfer: SHA-256 over the chunk digests, back to back. */
export function listDigest(digests: Uint8Array): Uint8Array {
  return sha256(digests);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Constant-time equality of two digests. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
