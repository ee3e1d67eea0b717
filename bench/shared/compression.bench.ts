// Compression side by side on a compressible payload (repetitive text-like
// bytes): LZ4 (lz4-napi) and Zstd levels 1 and 3 (zstd-napi), compress and
// decompress, against a plain copy of the same bytes as the baseline.
import { compressPayload, CompressionId, decompressPayload } from '../../src/shared/compression.js';
import { sizeLabel, type Task } from '../support.js';

export const COMPRESSION_SIZES = [1024, 64 * 1024, 1024 * 1024];

export function sample(size: number): Uint8Array {
  const words = ['member', 'alive', 'suspect', 'node-', 'incarnation', 'topic', 'orders', '{"id":', ',"ts":'];
  const out = new Uint8Array(size);
  let at = 0;
  let i = 0;
  while (at < size) {
    const w = new TextEncoder().encode(words[(i * 7 + (i >> 3)) % words.length] + (i % 1000));
    out.set(w.subarray(0, Math.min(w.length, size - at)), at);
    at += w.length;
    i++;
  }
  return out;
}

export function compressionTasks(): { tasks: Task[]; ratios: Array<{ size: string; algorithm: string; ratio: number }> } {
  const tasks: Task[] = [];
  const ratios: Array<{ size: string; algorithm: string; ratio: number }> = [];
  for (const size of COMPRESSION_SIZES) {
    const group = sizeLabel(size);
    const data = sample(size);
    const repeat = Math.max(1, Math.floor(65536 / size));
    const task = (name: string, fn: () => void) =>
      tasks.push({ name, group, messages: repeat, bytes: size * repeat, baseline: name === 'copy' ? undefined : 'copy', fn: () => { for (let i = 0; i < repeat; i++) fn(); } });
    task('copy', () => { data.slice(); });
    for (const [name, id, level] of [['lz4', CompressionId.lz4, 0], ['zstd-1', CompressionId.zstd, 1], ['zstd-3', CompressionId.zstd, 3]] as const) {
      const packed = compressPayload(id, data, level);
      if (packed === null) throw new Error(`${name} did not shrink the sample`);
      ratios.push({ size: group, algorithm: name, ratio: size / packed.length });
      task(`${name} compress`, () => { compressPayload(id, data, level); });
      task(`${name} decompress`, () => { decompressPayload(id, packed, size); });
    }
  }
  return { tasks, ratios };
}
