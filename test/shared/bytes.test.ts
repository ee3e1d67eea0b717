// Byte buffer helpers: copies that are copies even of Buffers, unzeroed
// buffers that never share memory with anything else, and bounded spares.
import { describe, expect, it } from 'vitest';
import { copyBytes, SpareBuffers, uninitializedBytes } from '../../src/shared/bytes.js';

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

  it('SpareBuffers keeps buffers within its bounds and serves a request only from one between its length and twice it', () => {
    const spares = new SpareBuffers(3, 1000);
    expect(spares.put(new ArrayBuffer(400))).toBe(true);
    expect(spares.put(new ArrayBuffer(500))).toBe(true);
    expect(spares.put(new ArrayBuffer(200))).toBe(false); // 1 100 bytes together
    expect(spares.put(new ArrayBuffer(0))).toBe(false);
    expect(spares.put(new ArrayBuffer(100))).toBe(true);
    expect(spares.put(new ArrayBuffer(1))).toBe(false); // three buffers
    expect([spares.count, spares.bytes]).toEqual([3, 1000]);
    expect(spares.take(600)).toBeNull(); // none holds 600
    expect(spares.take(40)).toBeNull(); // the 100-byte one is more than twice 40
    const b = spares.take(450) as Uint8Array; // the 500-byte one (400 is too short)
    expect([b.length, b.buffer.byteLength, b.byteOffset]).toEqual([450, 500, 0]);
    expect([spares.count, spares.bytes]).toEqual([2, 500]);
    expect(spares.take(400)?.length).toBe(400);
    spares.clear();
    expect([spares.count, spares.bytes]).toEqual([0, 0]);
    expect(spares.take(100)).toBeNull();
  });
});
