import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import zlib from 'node:zlib';
import { crc32, crc32Js, NATIVE_CRC_MIN_BYTES } from '../../src/shared/crc32.js';

describe('crc32', () => {
  it('matches the CRC-32/ISO-HDLC check value', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Js(check, 0, check.length)).toBe(0xcbf43926);
  });

  it('agrees with zlib on both sides of the native threshold, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: NATIVE_CRC_MIN_BYTES * 3 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const end = start + (bytes.length === start ? 0 : b % (bytes.length - start + 1));
        const expected = zlib.crc32(bytes.subarray(start, end));
        expect(crc32(bytes, start, end)).toBe(expected);
        expect(crc32Js(bytes, start, end)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('continues a running sum across pieces', () => {
    const bytes = new Uint8Array(1000).map((_, i) => (i * 31) & 0xff);
    const whole = crc32(bytes);
    expect(crc32(bytes, 300, 1000, crc32(bytes, 0, 300))).toBe(whole);
    expect(crc32Js(bytes, 10, 1000, crc32Js(bytes, 0, 10))).toBe(whole);
  });
});
