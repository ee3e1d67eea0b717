import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  FLAG_CHECKSUM,
  FRAME_HEADER_BYTES,
  frameLength,
  readU32,
  writeU32,
} from '../../src/shared/frame.js';
import { compressPayload, CompressionId } from '../../src/shared/compression.js';
import { ClusterwireError, ErrorCode } from '../../src/shared/errors.js';
import { crc32 } from '../../src/shared/crc32.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterwireError);
    return (error as ClusterwireError).code;
  }
  throw new Error('expected an error');
}

/** Rewrites the CRC after a test changes header bytes, so that the change itself is what is checked. */
function reseal(frame: Uint8Array): Uint8Array {
  const length = readU32(frame, 0);
  writeU32(frame, length - 4, crc32(frame, 0, length - 4));
  return frame;
}

const text = (s: string) => new TextEncoder().encode(s);

describe('frame layout', () => {
  it('puts length, flags, id, payload and CRC where the design says', () => {
    const payload = text('hello');
    const frame = encodeFrame(0x0102_0304_0506, payload);
    expect(frame.length).toBe(14 + 5 + 4);
    expect(readU32(frame, 0)).toBe(frame.length); // length counts the whole frame
    expect((frame[4] << 8) | frame[5]).toBe(1 | FLAG_CHECKSUM); // version 1, no compression, checksum
    expect(readU32(frame, 6)).toBe(0x0102);
    expect(readU32(frame, 10)).toBe(0x0304_0506);
    expect([...frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 5)]).toEqual([...payload]);
    expect(readU32(frame, frame.length - 4)).toBe(crc32(frame, 0, frame.length - 4)); // CRC covers header and payload
  });

  it('omits the trailer when the checksum is off', () => {
    const frame = encodeFrame(1, text('x'), { checksum: false });
    expect(frame.length).toBe(frameLength(1, false));
    expect(decodeFrame(frame, { requireChecksum: false }).checksummed).toBe(false);
    expect(codeOf(() => decodeFrame(frame))).toBe(ErrorCode.CHECKSUM_REQUIRED);
  });

  it('round-trips ids up to 2^53 - 1 and refuses larger ones', () => {
    for (const id of [0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) expect(decodeFrame(encodeFrame(id, text('a'))).messageId).toBe(id);
    const frame = encodeFrame(1, text('a'));
    writeU32(frame, 6, 0x0020_0000);
    expect(codeOf(() => decodeFrame(reseal(frame)))).toBe(ErrorCode.MALFORMED_FRAME);
    expect(codeOf(() => encodeFrame(2 ** 53, text('a')))).toBe(ErrorCode.MALFORMED_FRAME);
  });
});

describe('frame errors: each fault has its own code', () => {
  const good = () => encodeFrame(7, text('payload bytes'));

  it('corrupted CRC', () => {
    const frame = good();
    frame[FRAME_HEADER_BYTES] ^= 1;
    expect(codeOf(() => decodeFrame(frame))).toBe(ErrorCode.CHECKSUM);
  });

  it('reserved bits set', () => {
    const frame = good();
    frame[4] |= 0x02; // bit 9 (bit 8 defers the checksum)
    expect(codeOf(() => decodeFrame(reseal(frame)))).toBe(ErrorCode.RESERVED_FLAGS);
  });

  it('unknown version', () => {
    const frame = good();
    frame[5] = (frame[5] & 0xf0) | 2;
    expect(codeOf(() => decodeFrame(reseal(frame)))).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('unknown compression', () => {
    const frame = good();
    frame[5] = (frame[5] & 0x8f) | (3 << 4);
    expect(codeOf(() => decodeFrame(reseal(frame)))).toBe(ErrorCode.UNKNOWN_COMPRESSION);
  });

  it('oversized length', () => {
    const frame = good();
    expect(codeOf(() => decodeFrame(frame, { maxFrameBytes: frame.length - 1 }))).toBe(ErrorCode.FRAME_TOO_LARGE);
    writeU32(frame, 0, 0xffff_ffff);
    expect(codeOf(() => decodeFrame(frame))).toBe(ErrorCode.FRAME_TOO_LARGE);
    expect(codeOf(() => encodeFrame(1, new Uint8Array(100), { maxFrameBytes: 64 }))).toBe(ErrorCode.FRAME_TOO_LARGE);
  });

  it('length below the smallest frame', () => {
    const frame = good();
    writeU32(frame, 0, 10);
    expect(codeOf(() => decodeFrame(frame.subarray(0, 10)))).toBe(ErrorCode.MALFORMED_FRAME);
  });

  it('truncated payload', () => {
    const frame = good();
    expect(codeOf(() => decodeFrame(frame.subarray(0, frame.length - 3)))).toBe(ErrorCode.TRUNCATED_FRAME);
    expect(codeOf(() => decodeFrame(frame.subarray(0, 3)))).toBe(ErrorCode.TRUNCATED_FRAME);
  });
});

describe('compression', () => {
  const compressible = new Uint8Array(64 * 1024).map((_, i) => (i % 97 < 60 ? 65 : i & 0xff));

  for (const algorithm of ['lz4', 'zstd'] as const) {
    it(`${algorithm}: round-trips and shrinks a compressible payload`, () => {
      const frame = encodeFrame(3, compressible, { compression: algorithm });
      expect(frame.length).toBeLessThan(compressible.length);
      const decoded = decodeFrame(frame);
      expect(decoded.compression).toBe(CompressionId[algorithm]);
      expect(Buffer.from(decoded.payload).equals(Buffer.from(compressible))).toBe(true);
    });

    it(`${algorithm}: leaves a payload uncompressed when compression would grow it`, () => {
      const random = new Uint8Array(4096).map(() => Math.floor(Math.random() * 256));
      const frame = encodeFrame(3, random, { compression: algorithm, compressMinBytes: 0 });
      expect(decodeFrame(frame).compression).toBe(CompressionId.none);
      const tiny = encodeFrame(3, new Uint8Array(64), { compression: algorithm });
      expect(decodeFrame(tiny).compression).toBe(CompressionId.none);
    });

    it(`${algorithm}: refuses a payload declaring more than the limit, before inflating`, () => {
      const frame = encodeFrame(3, compressible, { compression: algorithm });
      expect(codeOf(() => decodeFrame(frame, { maxDecompressedBytes: compressible.length - 1 }))).toBe(ErrorCode.DECOMPRESSED_TOO_LARGE);
      // a forged declaration of 4 GiB is refused from the prefix alone
      const forged = Buffer.from(frame);
      forged.writeUInt32LE(0xffff_ffff, FRAME_HEADER_BYTES);
      expect(codeOf(() => decodeFrame(reseal(forged)))).toBe(ErrorCode.DECOMPRESSED_TOO_LARGE);
    });

    it(`${algorithm}: a payload that does not inflate to its declared length is corrupt`, () => {
      const packed = compressPayload(CompressionId[algorithm], compressible)!;
      const short = Buffer.from(packed);
      short.writeUInt32LE(compressible.length + 10, 0);
      const frame = Buffer.alloc(frameLength(short.length));
      frame.set(short, FRAME_HEADER_BYTES);
      writeU32(frame, 0, frame.length);
      frame[4] = 0;
      frame[5] = 1 | FLAG_CHECKSUM | (CompressionId[algorithm] << 4);
      expect(codeOf(() => decodeFrame(reseal(frame)))).toBe(ErrorCode.CORRUPT_PAYLOAD);
      const garbage = Buffer.from(packed);
      garbage.fill(0xa5, 4);
      const frame2 = Buffer.alloc(frameLength(garbage.length));
      frame2.set(garbage, FRAME_HEADER_BYTES);
      writeU32(frame2, 0, frame2.length);
      frame2[5] = 1 | FLAG_CHECKSUM | (CompressionId[algorithm] << 4);
      expect(codeOf(() => decodeFrame(reseal(frame2)))).toBe(ErrorCode.CORRUPT_PAYLOAD);
    });
  }
});
