// Checksums and digests side by side: the frame CRC-32 as clusterwire runs it
// (JavaScript below 256 B, native above), @node-rs/crc32 alone, zlib.crc32 and
// hash-wasm; SHA-256 through node:crypto and hash-wasm. The first row of each
// size is the baseline of the others.
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { crc32 as nativeCrc32 } from '@node-rs/crc32';
import { createCRC32, createSHA256 } from 'hash-wasm';
import { crc32, crc32Js } from '../../src/shared/crc32.js';
import { sizeLabel, type Task } from '../support.js';

export const CHECKSUM_SIZES = [64, 1024, 64 * 1024, 1024 * 1024];

export async function checksumTasks(): Promise<{ crc: Task[]; sha: Task[] }> {
  const wasmCrc = await createCRC32();
  const wasmSha = await createSHA256();
  const crc: Task[] = [];
  const sha: Task[] = [];
  let sink = 0;
  for (const size of CHECKSUM_SIZES) {
    const group = sizeLabel(size);
    const data = Buffer.alloc(size).map((_, i) => (i * 13) & 0xff);
    const repeat = Math.max(1, Math.floor(65536 / size));
    const add = (list: Task[], name: string, fn: () => void, baseline?: string) =>
      list.push({ name, group, messages: repeat, bytes: size * repeat, baseline, fn: () => { for (let i = 0; i < repeat; i++) fn(); } });
    add(crc, 'zlib.crc32', () => { sink ^= zlib.crc32(data); });
    add(crc, 'clusterwire crc32', () => { sink ^= crc32(data); }, 'zlib.crc32');
    add(crc, 'slicing-by-8 (JS)', () => { sink ^= crc32Js(data, 0, data.length); }, 'zlib.crc32');
    add(crc, '@node-rs/crc32', () => { sink ^= nativeCrc32(data); }, 'zlib.crc32');
    add(crc, 'hash-wasm crc32', () => { wasmCrc.init(); wasmCrc.update(data); sink ^= wasmCrc.digest('binary')[0]; }, 'zlib.crc32');
    add(sha, 'node:crypto sha256', () => { sink ^= crypto.createHash('sha256').update(data).digest()[0]; });
    add(sha, 'hash-wasm sha256', () => { wasmSha.init(); wasmSha.update(data); sink ^= wasmSha.digest('binary')[0]; }, 'node:crypto sha256');
  }
  void sink;
  return { crc, sha };
}
