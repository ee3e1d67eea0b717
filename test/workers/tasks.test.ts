import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrameEncoder, encodeMessage, type Envelope } from '../../src/shared/envelope/index.js';
import { resolveFrameCheckOptions, writeU32 } from '../../src/shared/frame.js';
import { CompressionId } from '../../src/shared/compression.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { batchEncoder, decodeFrames, encodeFrames, payloadBytesOf } from '../../src/workers/frame-batch.js';
import { compressChunks, decompressChunks } from '../../src/workers/compression-batch.js';
import { chunkFile, sha256Chunks } from '../../src/workers/chunk-hash.js';
import { chunkAt, packChunks, unpackChunks } from '../../src/workers/packed-chunks.js';
import { envelopeArbitrary } from '../support/arbitrary.js';

function message(id: number, payload: Uint8Array): Envelope {
  return {
    header: { messageId: id, correlationId: 0, sender: 42, timestampUs: 1_763_000_000_000_000 + id, streamId: 0, priority: 2 },
    body: { type: 'Message', topic: 'orders', payload },
  } as Envelope;
}

function bytesOf(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + (i >> 5)) & 0xff);
}

/** Compressible text-like bytes. */
function text(n: number): Uint8Array {
  const words = Buffer.from('member suspect alive probe ack nack gossip incarnation ');
  return new Uint8Array(n).map((_, i) => words[(i * 7 + (i >> 9)) % words.length]);
}

describe('encodeFrames', () => {
  it('gives the bytes of FrameEncoder.append for any envelopes, with each frame end', () => {
    fc.assert(
      fc.property(fc.array(envelopeArbitrary, { minLength: 1, maxLength: 8 }), (envelopes) => {
        const reference = new FrameEncoder();
        for (const e of envelopes) reference.append(e);
        const batch = encodeFrames(batchEncoder({}), envelopes);
        expect(Buffer.from(batch.bytes).equals(Buffer.from(reference.take()))).toBe(true);
        expect(batch.errors).toEqual([]);
        expect(batch.ends[batch.ends.length - 1]).toBe(batch.bytes.length);
        envelopes.forEach((e, i) => {
          const frame = batch.bytes.subarray(i === 0 ? 0 : batch.ends[i - 1], batch.ends[i]);
          expect(Buffer.from(frame).equals(Buffer.from(encodeMessage(e)))).toBe(true);
        });
      }),
      { numRuns: 200, seed: 4 },
    );
  });

  it('leaves an empty frame and a typed error for an envelope that does not encode, and encodes the rest', () => {
    const good1 = message(1, bytesOf(100, 1));
    const bad = message(-5, bytesOf(10, 2));
    const good2 = message(3, bytesOf(2000, 3));
    const batch = encodeFrames(batchEncoder({ compression: 'lz4' }), [good1, bad, good2]);
    expect(batch.errors).toEqual([{ index: 1, code: ErrorCode.MALFORMED_FRAME, message: expect.stringContaining('-5') }]);
    expect(batch.ends[0]).toBe(batch.ends[1]);
    const again = encodeFrames(batchEncoder({ compression: 'lz4' }), [good1, good2]);
    expect(Buffer.from(batch.bytes).equals(Buffer.from(again.bytes))).toBe(true);
    expect(payloadBytesOf([good1, bad, good2])).toBe(2110);
  });
});

describe('decodeFrames', () => {
  const check = resolveFrameCheckOptions();

  it('reads back every envelope, compressed or not, with views or owned copies', () => {
    const envelopes = [message(1, bytesOf(64, 1)), message(2, text(4096)), message(3, new Uint8Array(0))];
    for (const compression of ['none', 'lz4', 'zstd'] as const) {
      const { bytes } = encodeFrames(batchEncoder({ compression }), envelopes);
      const owned: ArrayBuffer[] = [];
      const out = decodeFrames({ bytes, check }, owned);
      expect(out.fatal).toBeNull();
      expect(out.consumed).toBe(bytes.length);
      expect(out.frames.map((f) => f.error)).toEqual([null, null, null]);
      expect(out.frames.map((f) => f.messageId)).toEqual([1, 2, 3]);
      out.frames.forEach((f, i) => {
        expect(f.envelope!.header).toEqual(envelopes[i].header);
        expect(Array.from((f.envelope!.body as { payload: Uint8Array }).payload)).toEqual(Array.from((envelopes[i].body as { payload: Uint8Array }).payload));
      });
      const big = (out.frames[1].envelope!.body as { payload: Uint8Array }).payload;
      if (compression === 'none') {
        expect(big.buffer).toBe(bytes.buffer);
        expect(owned).toEqual([]);
      } else {
        expect(owned).toHaveLength(1);
        expect(big.buffer).toBe(owned[0]);
      }
    }
  });

  it('reports a corrupt frame with its typed error and reads the frames around it', () => {
    const { bytes, ends } = encodeFrames(batchEncoder({}), [message(1, bytesOf(50, 1)), message(2, bytesOf(50, 2)), message(3, bytesOf(50, 3))]);
    bytes[ends[0] + 30] ^= 0x40; // a payload bit of frame 2
    const out = decodeFrames({ bytes, check }, null);
    expect(out.frames.map((f) => f.error?.code ?? null)).toEqual([null, ErrorCode.CHECKSUM, null]);
    expect(out.frames[1].envelope).toBeNull();
    expect(out.frames[1].messageId).toBe(2);
    expect(out.consumed).toBe(bytes.length);
  });

  it('stops at a frame whose length is refused, and leaves a partial frame for the next batch', () => {
    const { bytes, ends } = encodeFrames(batchEncoder({}), [message(1, bytesOf(50, 1)), message(2, bytesOf(50, 2)), message(3, bytesOf(50, 3))]);
    const partial = decodeFrames({ bytes: bytes.subarray(0, ends[1] + 10), check }, null);
    expect(partial.frames).toHaveLength(2);
    expect(partial.consumed).toBe(ends[1]);
    expect(partial.fatal).toBeNull();
    const tooLong = Uint8Array.from(bytes);
    writeU32(tooLong, ends[0], 0x7fff_ffff);
    const out = decodeFrames({ bytes: tooLong, check }, null);
    expect(out.frames).toHaveLength(1);
    expect(out.consumed).toBe(ends[0]);
    expect(out.fatal).toMatchObject({ index: 1, code: ErrorCode.FRAME_TOO_LARGE });
  });
});

describe('compression batches', () => {
  it('round-trips LZ4 and Zstd chunks and keeps chunks that would grow as they are', () => {
    const chunks = [text(300 * 1024), bytesOf(0, 0), crypto.randomBytes(2048), text(1000)];
    for (const algorithm of [CompressionId.lz4, CompressionId.zstd]) {
      const packed = compressChunks({ chunks, algorithm, zstdLevel: 1 });
      expect(Array.from(packed.compressed)).toEqual([1, 0, 0, 1]);
      expect(chunkAt(packed, 0).length).toBeLessThan(chunks[0].length / 2);
      expect(Buffer.from(chunkAt(packed, 2)).equals(Buffer.from(chunks[2]))).toBe(true);
      const squeezed = unpackChunks(packed).filter((_, i) => packed.compressed[i] === 1);
      const back = decompressChunks({ chunks: squeezed, algorithm, maxBytes: 1 << 20 });
      expect(back.errors).toEqual([]);
      expect(Buffer.from(chunkAt(back, 0)).equals(Buffer.from(chunks[0]))).toBe(true);
      expect(Buffer.from(chunkAt(back, 1)).equals(Buffer.from(chunks[3]))).toBe(true);
    }
  });

  it('refuses a chunk declaring more than the limit and a corrupt one, per chunk', () => {
    const good = compressChunks({ chunks: [text(10_000)], algorithm: CompressionId.zstd, zstdLevel: 1 });
    const corrupt = Uint8Array.from(chunkAt(good, 0));
    corrupt.fill(0xaa, 8);
    const out = decompressChunks({ chunks: [chunkAt(good, 0), corrupt, chunkAt(good, 0)], algorithm: CompressionId.zstd, maxBytes: 10_000 });
    expect(out.errors.map((e) => [e.index, e.code])).toEqual([[1, ErrorCode.CORRUPT_PAYLOAD]]);
    expect(chunkAt(out, 1).length).toBe(0);
    const small = decompressChunks({ chunks: [chunkAt(good, 0)], algorithm: CompressionId.zstd, maxBytes: 9_999 });
    expect(small.errors[0].code).toBe(ErrorCode.DECOMPRESSED_TOO_LARGE);
  });

  it('packs chunks into one buffer of their own', () => {
    const pool = Buffer.from('abcdef'); // a slice of Node's shared pool
    const packed = packChunks([pool.subarray(0, 2), pool.subarray(2)]);
    expect(packed.bytes.buffer.byteLength).toBe(6);
    expect(Array.from(packed.ends)).toEqual([2, 6]);
    expect(Buffer.from(chunkAt(packed, 1)).toString()).toBe('cdef');
  });
});

describe('hashing and file chunks', () => {
  it('hashes each chunk with SHA-256', () => {
    const chunks = [bytesOf(0, 0), bytesOf(100, 1), bytesOf(70_000, 2)];
    const digests = sha256Chunks({ chunks });
    expect(digests.length).toBe(96);
    chunks.forEach((c, i) => expect(Buffer.from(digests.subarray(i * 32, i * 32 + 32)).toString('hex')).toBe(crypto.createHash('sha256').update(c).digest('hex')));
  });

  it('reads a file region in chunks with their digests, short at the end of the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-chunks-'));
    const file = path.join(dir, 'data.bin');
    const data = bytesOf(10_000, 9);
    fs.writeFileSync(file, data);
    try {
      const out = chunkFile({ path: file, offset: 1000, length: 20_000, chunkBytes: 4096 });
      if (!out.ok) throw new Error(out.message);
      expect(out.bytes.length).toBe(9000);
      expect(Buffer.from(out.bytes).equals(Buffer.from(data.subarray(1000)))).toBe(true);
      expect(out.digests.length).toBe(3 * 32);
      const last = data.subarray(1000 + 8192);
      expect(Buffer.from(out.digests.subarray(64)).toString('hex')).toBe(crypto.createHash('sha256').update(last).digest('hex'));
      const missing = chunkFile({ path: path.join(dir, 'nope'), offset: 0, length: 10, chunkBytes: 4 });
      expect(missing).toMatchObject({ ok: false, errno: 'ENOENT' });
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
