// The replay cache on its own: window, expiry order, the cap, and a
// fast-check comparison with a naive reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { NonceCache } from '../../src/main/transport/nonce-cache.js';

const nonce = (n: number): Uint8Array => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

describe('NonceCache', () => {
  it('remembers a nonce for exactly windowMs', () => {
    const cache = new NonceCache({ windowMs: 1_000, maxEntries: 10 });
    expect(cache.remember(nonce(1), 0)).toBe('fresh');
    expect(cache.remember(nonce(1), 999)).toBe('replay');
    expect(cache.has(nonce(1), 999)).toBe(true);
    expect(cache.has(nonce(1), 1_000)).toBe(false);
    expect(cache.remember(nonce(1), 1_000)).toBe('fresh');
    expect(cache.remember(nonce(1), 1_500)).toBe('replay');
  });

  it('a replay does not extend the window', () => {
    const cache = new NonceCache({ windowMs: 1_000, maxEntries: 10 });
    cache.remember(nonce(1), 0);
    cache.remember(nonce(1), 900);
    expect(cache.remember(nonce(1), 1_000)).toBe('fresh');
  });

  it('tells nonces apart by every byte, including views into larger buffers', () => {
    const cache = new NonceCache({ windowMs: 1_000, maxEntries: 10 });
    const big = new Uint8Array(64);
    big.set(nonce(7), 16);
    expect(cache.remember(big.subarray(16, 32), 0)).toBe('fresh');
    expect(cache.remember(nonce(7), 1)).toBe('replay');
    const other = nonce(7);
    other[15] = 1;
    expect(cache.remember(other, 2)).toBe('fresh');
  });

  it('fails closed at the cap: nothing is evicted, new nonces are refused until entries expire', () => {
    const cache = new NonceCache({ windowMs: 1_000, maxEntries: 3 });
    expect(cache.remember(nonce(1), 0)).toBe('fresh');
    expect(cache.remember(nonce(2), 100)).toBe('fresh');
    expect(cache.remember(nonce(3), 200)).toBe('fresh');
    expect(cache.remember(nonce(4), 300)).toBe('full');
    expect(cache.size).toBe(3);
    // Still a replay, not forgotten to make room.
    expect(cache.remember(nonce(1), 400)).toBe('replay');
    // Nonce 1 expires at 1000: one place frees up.
    expect(cache.remember(nonce(4), 1_000)).toBe('fresh');
    expect(cache.remember(nonce(5), 1_000)).toBe('full');
    expect(cache.size).toBe(3);
  });

  it('purges expired entries from the front', () => {
    const cache = new NonceCache({ windowMs: 1_000, maxEntries: 1_000 });
    for (let i = 0; i < 500; i++) cache.remember(nonce(i), i);
    expect(cache.size).toBe(500);
    expect(cache.purge(1_049)).toBe(50);
    expect(cache.size).toBe(450);
    expect(cache.purge(10_000)).toBe(450);
    expect(cache.size).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new NonceCache({ windowMs: 0, maxEntries: 1 })).toThrow(InvalidConfigError);
    expect(() => new NonceCache({ windowMs: 10, maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new NonceCache({ windowMs: 1.5, maxEntries: 1 })).toThrow(/windowMs/);
  });

  it('agrees with a naive reference on any sequence (non-decreasing clock)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 20 })), { maxLength: 200 }),
        (windowMs, maxEntries, ops) => {
          const cache = new NonceCache({ windowMs, maxEntries });
          // Reference: a list of [id, expiresAt], scanned in full.
          let ref: [number, number][] = [];
          let now = 0;
          for (const [id, step] of ops) {
            now += step;
            ref = ref.filter(([, exp]) => exp > now);
            let expected: string;
            if (ref.some(([r]) => r === id)) expected = 'replay';
            else if (ref.length >= maxEntries) expected = 'full';
            else {
              ref.push([id, now + windowMs]);
              expected = 'fresh';
            }
            expect(cache.remember(nonce(id), now)).toBe(expected);
            expect(cache.size).toBe(ref.length);
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
          }
        },
      ),
    );
  });
});
