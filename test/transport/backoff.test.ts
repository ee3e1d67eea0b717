// The reconnect backoff policy: bounds, growth, jitter modes, reset, options.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { Backoff, backoffCeilingMs, DEFAULT_BACKOFF, resolveBackoffOptions } from '../../src/main/transport/backoff.js';

/** A seeded uniform source in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoff ceilings', () => {
  it('double from 100 ms and stop at 30 s', () => {
    const o = resolveBackoffOptions();
    const ceilings = Array.from({ length: 12 }, (_, n) => backoffCeilingMs(o, n));
    expect(ceilings).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000]);
    expect(backoffCeilingMs(o, 5_000)).toBe(30_000);
  });
});

describe('Backoff', () => {
  it("with 'none' returns the ceilings", () => {
    const b = new Backoff(resolveBackoffOptions({ jitter: 'none' }), { random: () => 0.5 });
    expect(Array.from({ length: 11 }, () => b.next())).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
    expect(b.attempt).toBe(11);
  });

  it("with 'equal' (the default) draws from [ceiling / 2, ceiling]", () => {
    const lowest = new Backoff(resolveBackoffOptions(), { random: () => 0 });
    const highest = new Backoff(resolveBackoffOptions(), { random: () => 0.999_999_9 });
    expect(Array.from({ length: 11 }, () => lowest.next())).toEqual([50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 15_000, 15_000]);
    expect(Array.from({ length: 11 }, () => highest.next())).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
  });

  it("with 'full' draws from [0, ceiling]", () => {
    const lowest = new Backoff(resolveBackoffOptions({ jitter: 'full' }), { random: () => 0 });
    const highest = new Backoff(resolveBackoffOptions({ jitter: 'full' }), { random: () => 0.999_999_9 });
    expect(lowest.next()).toBe(0);
    expect(Array.from({ length: 10 }, () => highest.next()).at(-1)).toBe(30_000);
  });

  it('stays within bounds for any seed, mode and number of attempts', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom('equal' as const, 'full' as const, 'none' as const), fc.integer({ min: 1, max: 60 }), (seed, jitter, n) => {
        const o = resolveBackoffOptions({ jitter });
        const b = new Backoff(o, { random: seeded(seed) });
        for (let k = 0; k < n; k++) {
          const ceiling = backoffCeilingMs(o, k);
          const d = b.next();
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(d).toBeLessThanOrEqual(30_000);
          expect(d).toBeGreaterThanOrEqual(jitter === 'full' ? 0 : jitter === 'equal' ? Math.ceil(ceiling / 2) : ceiling);
        }
      }),
    );
  });

  it('spreads simultaneous reconnects: 1000 seeded nodes at attempt 6 cover the window', () => {
    const o = resolveBackoffOptions();
    const delays = Array.from({ length: 1_000 }, (_, i) => {
      const b = new Backoff(o, { random: seeded(i + 1) });
      for (let k = 0; k < 6; k++) b.next();
      return b.next();
    });
    const ceiling = backoffCeilingMs(o, 6);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(ceiling / 2);
    expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
    // Ten equal buckets over [ceiling/2, ceiling] are all used.
    const buckets = new Set(delays.map((d) => Math.min(9, Math.floor(((d - ceiling / 2) / (ceiling / 2)) * 10))));
    expect(buckets.size).toBe(10);
  });

  it('is deterministic for a seed', () => {
    const run = (): number[] => {
      const b = new Backoff(DEFAULT_BACKOFF, { random: seeded(99) });
      return Array.from({ length: 20 }, () => b.next());
    };
    expect(run()).toEqual(run());
  });

  it('starts over after reset()', () => {
    const b = new Backoff(resolveBackoffOptions({ jitter: 'none' }), { random: () => 0 });
    for (let k = 0; k < 7; k++) b.next();
    expect(b.next()).toBe(12_800);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('refuses a random source outside [0, 1)', () => {
    expect(() => new Backoff(DEFAULT_BACKOFF, { random: () => 1 }).next()).toThrow(InvalidConfigError);
    expect(() => new Backoff(DEFAULT_BACKOFF, { random: () => Number.NaN }).next()).toThrow(/random/);
  });

  it('honours custom options', () => {
    const b = new Backoff(resolveBackoffOptions({ initialDelayMs: 10, maxDelayMs: 1_000, multiplier: 3, jitter: 'none' }), { random: () => 0 });
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([10, 30, 90, 270, 810, 1_000, 1_000]);
  });
});

describe('resolveBackoffOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveBackoffOptions()).toEqual({ initialDelayMs: 100, maxDelayMs: 30_000, multiplier: 2, jitter: 'equal' });
  });

  const bad: [string, Record<string, unknown>][] = [
    ['initialDelayMs', { initialDelayMs: 0 }],
    ['initialDelayMs', { initialDelayMs: 2.5 }],
    ['maxDelayMs', { maxDelayMs: 50 }],
    ['maxDelayMs', { maxDelayMs: 4_000_000 }],
    ['multiplier', { multiplier: 0.5 }],
    ['multiplier', { multiplier: Number.POSITIVE_INFINITY }],
    ['jitter', { jitter: 'decorrelated' }],
  ];
  for (const [field, change] of bad) {
    it(`refuses ${JSON.stringify(change)} naming ${field}`, () => {
      expect(() => resolveBackoffOptions(change as never)).toThrow(InvalidConfigError);
      expect(() => resolveBackoffOptions(change as never)).toThrow(field);
    });
  }
});
