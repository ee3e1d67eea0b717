import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashOut, hashString } from '../../src/main/routing/key-hash.js';
import { Router } from '../../src/main/routing/router.js';
import { Rendezvous, seedNode } from '../../src/main/routing/rendezvous.js';
import { RouteNode } from '../../src/main/routing/route-node.js';
import { routerWith, tally } from './helpers.js';
import { chiSquare, chiSquareCritical001, chiSquareUniform } from './stats.js';

const KEYS = Array.from({ length: 50_000 }, (_, i) => `user:${i}`);

function owners(r: Router, keys: readonly string[]): string[] {
  return keys.map((key) => r.route({ key }, 0));
}

function movedFraction(before: readonly string[], after: readonly string[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return moved / before.length;
}

describe('rendezvous key routing', () => {
  it.each([3, 10, 50])('spreads keys uniformly over %i nodes (chi-square below the p = 0.001 bound)', (n) => {
    const r = routerWith(n);
    const counts = [...tally(owners(r, KEYS)).values()];
    expect(counts.length).toBe(n);
    expect(chiSquareUniform(counts)).toBeLessThan(chiSquareCritical001(n - 1));
  });

  it('gives weighted nodes shares in proportion to their weights', () => {
    const r = new Router({ hotspotThresholdQps: 1e12 });
    const weights = [1, 2, 3, 4];
    weights.forEach((w, i) => r.setNode(`n${i}`, { state: 'alive', weight: w }));
    const t = tally(owners(r, KEYS));
    const counts = weights.map((_, i) => t.get(`n${i}`) ?? 0);
    expect(chiSquare(counts, weights.map((w) => w / 10))).toBeLessThan(chiSquareCritical001(3));
  });

  it('sends the same key to the same node every time, whatever the strategy or the order nodes were added', () => {
    const a = routerWith(8, { strategy: 'round-robin' });
    const b = new Router({ strategy: 'least-connections', hotspotThresholdQps: 1e12 });
    for (let i = 7; i >= 0; i--) b.setNode(`node-${i}`, { state: 'alive' });
    const keys = KEYS.slice(0, 2_000);
    expect(owners(b, keys)).toEqual(owners(a, keys));
    expect(owners(a, keys)).toEqual(owners(a, keys));
  });

  it('moves about 1/(N+1) of keys when a node joins, only onto the new node (property over N)', () => {
    const keys = KEYS.slice(0, 20_000);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), (n) => {
        const r = routerWith(n);
        const before = owners(r, keys);
        r.setNode('joiner', { state: 'alive' });
        const after = owners(r, keys);
        const expected = 1 / (n + 1);
        const moved = movedFraction(before, after);
        // 5 standard deviations of a binomial share over 20 000 keys
        expect(Math.abs(moved - expected)).toBeLessThan(5 * Math.sqrt((expected * (1 - expected)) / keys.length));
        let strays = 0;
        for (let i = 0; i < keys.length; i++) if (before[i] !== after[i] && after[i] !== 'joiner') strays++;
        expect(strays).toBe(0);
      }),
      { numRuns: 12, seed: 6 },
    );
  });

  it('moves only the failed node’s keys (about 1/N) when a node fails, and they come back when it recovers (property over N)', () => {
    const keys = KEYS.slice(0, 20_000);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.constantFrom<'suspect' | 'dead'>('suspect', 'dead'), (n, pick, state) => {
        const r = routerWith(n);
        const victim = `node-${pick % n}`;
        const before = owners(r, keys);
        r.setState(victim, state);
        const after = owners(r, keys);
        const expected = 1 / n;
        expect(Math.abs(movedFraction(before, after) - expected)).toBeLessThan(5 * Math.sqrt((expected * (1 - expected)) / keys.length));
        let toVictim = 0;
        let strays = 0;
        for (let i = 0; i < keys.length; i++) {
          if (after[i] === victim) toVictim++;
          if (before[i] !== victim && after[i] !== before[i]) strays++;
        }
        expect([toVictim, strays]).toEqual([0, 0]);
        r.setState(victim, 'alive');
        expect(owners(r, keys)).toEqual(before);
      }),
      { numRuns: 12, seed: 7 },
    );
  });

  it('hashes strings to 64 bits without collisions on 200 000 similar keys', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200_000; i++) {
      hashString(`k${i}`);
      seen.add((BigInt(hashOut[0]) << 32n) | BigInt(hashOut[1]));
    }
    expect(seen.size).toBe(200_000);
  });

  it('flips about half of the output bits when one input bit flips (avalanche)', () => {
    let flipped = 0;
    let trials = 0;
    for (let i = 0; i < 2_000; i++) {
      const s = `key-${i}-abc`;
      hashString(s);
      const a0 = hashOut[0];
      const a1 = hashOut[1];
      const pos = i % s.length;
      const bit = 1 << i % 7;
      const t = s.slice(0, pos) + String.fromCharCode(s.charCodeAt(pos) ^ bit) + s.slice(pos + 1);
      hashString(t);
      flipped += popcount(a0 ^ hashOut[0]) + popcount(a1 ^ hashOut[1]);
      trials++;
    }
    const mean = flipped / trials;
    expect(mean).toBeGreaterThan(31);
    expect(mean).toBeLessThan(33);
  });
});

function popcount(x: number): number {
  let v = x >>> 0;
  let c = 0;
  while (v !== 0) {
    v &= v - 1;
    c++;
  }
  return c;
}

describe('Rendezvous.rank', () => {
  it('orders nodes by score, the first being the one pick() chooses, and the second taking over when it fails', () => {
    const r = routerWith(6);
    const ranking = new Map<string, string[]>();
    // rank through a fresh Rendezvous over the same node records the router keeps
    for (const key of KEYS.slice(0, 200)) {
      const owner = r.route({ key }, 0);
      ranking.set(key, [owner]);
    }
    for (const [key, [owner]] of ranking) {
      r.setState(owner, 'dead');
      ranking.get(key)!.push(r.route({ key }, 0));
      r.setState(owner, 'alive');
    }
    const nodes = Array.from({ length: 6 }, (_, i) => {
      const n = new RouteNode(`node-${i}`, { state: 'alive' });
      seedNode(n);
      return n;
    });
    const hrw = new Rendezvous();
    hrw.reset(nodes);
    for (const [key, [first, second]] of ranking) {
      const ranked = hrw.rank(nodes, key, 3).map((n) => n.id);
      expect(ranked.slice(0, 2)).toEqual([first, second]);
      expect(hrw.pick(nodes, key).id).toBe(first);
    }
  });
});
