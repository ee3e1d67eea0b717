// Latency from Vivaldi coordinates instead of measuring every pair: a node
// that knows only the peers' coordinates routes most traffic to near peers.
import { describe, expect, it } from 'vitest';
import { Vivaldi } from '../../src/main/health/vivaldi.js';
import { Router } from '../../src/main/routing/router.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';
import { tally } from './helpers.js';

describe('routing by Vivaldi latency estimates', () => {
  it('sends the most traffic to the nearest peers and the least to the farthest', () => {
    const rng = new Sfc32(11);
    const n = 20;
    const pos = Array.from({ length: n }, () => [rng.nextFloat() * 150, rng.nextFloat() * 150]);
    const rtt = (i: number, j: number): number => Math.hypot(pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]) + 2;
    const nodes = Array.from({ length: n }, (_, i) => new Vivaldi({}, { rng: new Sfc32(11, i + 1) }));
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < n; i++) {
        let j = rng.nextInt(n - 1);
        if (j >= i) j++;
        nodes[i].observe(`n${j}`, nodes[j].coordinate, rtt(i, j));
      }
    }
    // node 0 routes, knowing only coordinates
    const router = new Router({ adaptiveWeights: { load: 0, latency: 1, resource: 0, locality: 0 }, hotspotThresholdQps: 1e12 });
    for (let j = 1; j < n; j++) {
      router.setNode(`n${j}`, { state: 'alive' });
      router.setLatency(`n${j}`, nodes[0].estimateMs(nodes[j].coordinate));
    }
    const t = tally(Array.from({ length: 10_000 }, () => router.route({}, 0)));
    const byTrueRtt = Array.from({ length: n - 1 }, (_, k) => k + 1).sort((a, b) => rtt(0, a) - rtt(0, b));
    const share = (ids: number[]): number => ids.reduce((a, j) => a + (t.get(`n${j}`) ?? 0), 0);
    const nearest = share(byTrueRtt.slice(0, 5));
    const farthest = share(byTrueRtt.slice(-5));
    expect(nearest).toBeGreaterThan(4 * farthest);
    expect(t.get(`n${byTrueRtt[0]}`)).toBeGreaterThan(t.get(`n${byTrueRtt.at(-1)}`) ?? 0);
  });
});
