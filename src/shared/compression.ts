// Payload compression: LZ4 (lz4-napi, block format) and Zstd (zstd-napi).
//
// A compressed payload on the wire is
//
//   decompressed length u32 (little-endian) | compressed bytes
//
// (little-endian like the FlatBuffers payload it wraps; for LZ4 this is the
// block format with the size prepended that lz4-napi reads and writes as is).
// The declared length is checked against the receiver's limit before anything
// is inflated, and the result must be exactly that long.
import { createRequire } from 'node:module';
import { compressSync as lz4Compress, uncompressSync as lz4Uncompress } from 'lz4-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { CorruptPayloadError, DecompressedTooLargeError, UnknownCompressionError } from './errors.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof ZstdBinding;

/** Compression ids, as in frame flag bits 4-6. Append-only. */
export const CompressionId = { none: 0, lz4: 1, zstd: 2 } as const;
export type CompressionName = keyof typeof CompressionId;
export type CompressionIdValue = (typeof CompressionId)[CompressionName];

export const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'lz4', 'zstd'];

/** Bytes of the decompressed-length prefix. */
export const COMPRESSED_PREFIX_BYTES = 4;

export const DEFAULT_ZSTD_LEVEL = 1;

let cctx: ZstdBinding.CCtx | null = null;
let dctx: ZstdBinding.DCtx | null = null;

/**
 * Compresses `payload`. Returns null when the result would not be smaller
 * than the input (a 64 B record grows when compressed): the caller then sends
 * it uncompressed.
 */
export function compressPayload(algorithm: CompressionIdValue, payload: Uint8Array, zstdLevel = DEFAULT_ZSTD_LEVEL): Uint8Array | null {
  let out: Uint8Array;
  switch (algorithm) {
    case CompressionId.none:
      return null;
    case CompressionId.lz4:
      out = lz4Compress(asBuffer(payload));
      break;
    case CompressionId.zstd: {
      const bound = COMPRESSED_PREFIX_BYTES + zstd.compressBound(payload.length);
      const dst = Buffer.allocUnsafe(bound);
      cctx ??= new zstd.CCtx();
      const n = cctx.compress(dst.subarray(COMPRESSED_PREFIX_BYTES), payload, zstdLevel);
      dst.writeUInt32LE(payload.length, 0);
      out = dst.subarray(0, COMPRESSED_PREFIX_BYTES + n);
      break;
    }
    default:
      throw new UnknownCompressionError(algorithm);
  }
  return out.length < payload.length ? out : null;
}

/** The decompressed length a compressed payload declares. */
export function declaredLength(payload: Uint8Array): number {
  if (payload.length < COMPRESSED_PREFIX_BYTES) throw new CorruptPayloadError(`${payload.length} bytes, shorter than the length prefix`);
  return (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
}

/**
 * Inflates a compressed payload, refusing before any allocation when it
 * declares more than `maxBytes`.
 */
export function decompressPayload(algorithm: number, payload: Uint8Array, maxBytes: number): Uint8Array {
  if (algorithm !== CompressionId.lz4 && algorithm !== CompressionId.zstd) throw new UnknownCompressionError(algorithm);
  const declared = declaredLength(payload);
  if (declared > maxBytes) throw new DecompressedTooLargeError(declared, maxBytes);
  let out: Uint8Array;
  try {
    if (algorithm === CompressionId.lz4) {
      out = lz4Uncompress(asBuffer(payload));
    } else {
      const dst = Buffer.allocUnsafe(declared);
      dctx ??= new zstd.DCtx();
      const n = dctx.decompress(dst, payload.subarray(COMPRESSED_PREFIX_BYTES));
      out = dst.subarray(0, n);
    }
  } catch (cause) {
    throw new CorruptPayloadError((cause as Error).message ?? String(cause), { cause });
  }
  if (out.length !== declared) throw new CorruptPayloadError(`inflated to ${out.length} bytes, declared ${declared}`);
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
