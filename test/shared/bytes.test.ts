// Byte buffer helpers: copies that are copies even of Buffers, and unzeroed
// buffers that never share memory with anything else.
import { describe, expect, it } from 'vitest';
import { copyBytes, uninitializedBytes } from '../../src/shared/bytes.js';

describe('bytes', () => {
  it('copyBytes copies a Buffer, whose slice() would be a view', () => {
    const b = Buffer.from([1, 2, 3]);
    const copy = copyBytes(b);
    const view = b.slice();
    b[0] = 9;
    expect([...copy]).toEqual([1, 2, 3]);
    expect(view[0]).toBe(9);
  });

  it('uninitializedBytes gives a buffer of its own, small or large', () => {
    for (const n of [1, 100, 4095, 4096, 1 << 20]) {
      const b = uninitializedBytes(n);
      expect(b.length).toBe(n);
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(n);
    }
  });
});
