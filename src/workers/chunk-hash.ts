// SHA-256 of chunks, and file chunking: a region of a file split into
// fixed-size chunks, each with its SHA-256 (the digests a file transfer
// sends beside its chunks).
import crypto from 'node:crypto';
import fs from 'node:fs';

export const SHA256_BYTES = 32;

export interface Sha256BatchTask {
  readonly chunks: Uint8Array[];
}

/** The SHA-256 of each chunk, back to back: digest i is bytes [32 i, 32 i + 32). */
export function sha256Chunks(task: Sha256BatchTask): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(task.chunks.length * SHA256_BYTES));
  for (let i = 0; i < task.chunks.length; i++) {
    out.set(crypto.createHash('sha256').update(task.chunks[i]).digest(), i * SHA256_BYTES);
  }
  return out;
}

export interface ChunkFileTask {
  readonly path: string;
  /** First byte of the region. */
  readonly offset: number;
  /** Bytes of the region; fewer are read when the file ends first. */
  readonly length: number;
  readonly chunkBytes: number;
  /** Where the bytes are read (at least `length` long); a new buffer when absent. */
  readonly into?: Uint8Array;
}

export type FileChunks =
  | {
      readonly ok: true;
      /** The region's bytes as read; chunk i is bytes [i chunkBytes, min((i + 1) chunkBytes, bytes.length)). */
      readonly bytes: Uint8Array;
      readonly chunkBytes: number;
      /** SHA-256 of each chunk, back to back. */
      readonly digests: Uint8Array;
    }
  | {
      readonly ok: false;
      /** The system error code, e.g. ENOENT. */
      readonly errno: string;
      readonly message: string;
    };

/** Reads a region of a file and hashes it chunk by chunk. File errors come back as data. */
export function chunkFile(task: ChunkFileTask): FileChunks {
  let fd: number;
  try {
    fd = fs.openSync(task.path, 'r');
  } catch (error) {
    return fileError(error);
  }
  try {
    const bytes = task.into ?? new Uint8Array(new ArrayBuffer(task.length));
    let read = 0;
    while (read < task.length) {
      const n = fs.readSync(fd, bytes, read, task.length - read, task.offset + read);
      if (n === 0) break;
      read += n;
    }
    const data = bytes.subarray(0, read);
    const count = Math.ceil(read / task.chunkBytes);
    const digests = new Uint8Array(new ArrayBuffer(count * SHA256_BYTES));
    for (let i = 0; i < count; i++) {
      const chunk = data.subarray(i * task.chunkBytes, Math.min(read, (i + 1) * task.chunkBytes));
      digests.set(crypto.createHash('sha256').update(chunk).digest(), i * SHA256_BYTES);
    }
    return { ok: true, bytes: data, chunkBytes: task.chunkBytes, digests };
  } catch (error) {
    return fileError(error);
  } finally {
    fs.closeSync(fd);
  }
}

function fileError(error: unknown): FileChunks {
  const e = error as NodeJS.ErrnoException;
  return { ok: false, errno: e.code ?? 'EIO', message: e.message ?? String(error) };
}
