// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the frame checksum.
//
// Two implementations, chosen by length once per call: a native call costs
// ~250 ns before it reads a byte, so short inputs (most frames) run a
// slicing-by-8 table in JavaScript (~0.8 GB/s, ~80 ns for 64 B) and longer
// ones go to @node-rs/crc32 (SIMD, ~11 GB/s). bench/checksum.bench.ts keeps
// the comparison with zlib.crc32 and hash-wasm; the threshold comes from it.
import { crc32 as nativeCrc32 } from '@node-rs/crc32';

/** Inputs at least this long use the native implementation. */
export const NATIVE_CRC_MIN_BYTES = 256;

const TABLE = buildTable();

function buildTable(): Int32Array {
  const t = new Int32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >>> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
  }
  return t;
}

/** CRC-32 of `bytes[start, end)` continuing from `crc` (0 for a fresh sum), in JavaScript. */
export function crc32Js(bytes: Uint8Array, start: number, end: number, crc = 0): number {
  const t = TABLE;
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    const h = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c =
      t[1792 + (c & 0xff)] ^
      t[1536 + ((c >>> 8) & 0xff)] ^
      t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^
      t[768 + (h & 0xff)] ^
      t[512 + ((h >>> 8) & 0xff)] ^
      t[256 + ((h >>> 16) & 0xff)] ^
      t[h >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `bytes[start, end)` continuing from `crc` (0 for a fresh sum). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  if (end - start < NATIVE_CRC_MIN_BYTES) return crc32Js(bytes, start, end, crc);
  return nativeCrc32(asBuffer(bytes, start, end), crc);
}

function asBuffer(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}
