import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';
import { distanceMs, isValidCoordinate, Vivaldi, type Coordinate } from '../../src/main/health/vivaldi.js';
import { resolveVivaldiOptions } from '../../src/main/health/vivaldi-options.js';

/** 50 nodes on a 100 x 100 ms plane, each with an access link of 1-5 ms: a latency matrix with heights. */
function plane(seed: number, n = 50) {
  const rng = new Sfc32(seed);
  const pos = Array.from({ length: n }, () => [rng.nextFloat() * 100, rng.nextFloat() * 100]);
  const access = Array.from({ length: n }, () => 1 + rng.nextFloat() * 4);
  const rtt = (i: number, j: number): number => Math.hypot(pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]) + access[i] + access[j];
  return { rng, rtt, n };
}

/** Runs `rounds` rounds in which every node samples one random peer, with +-5 % measurement noise. */
function simulate(seed: number, rounds: number) {
  const { rng, rtt, n } = plane(seed);
  const nodes = Array.from({ length: n }, (_, i) => new Vivaldi({}, { rng: new Sfc32(seed, i + 1) }));
  const errorAt = (): { mean: number; median: number } => {
    const errs: number[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) errs.push(Math.abs(distanceMs(nodes[i].coordinate, nodes[j].coordinate) - rtt(i, j)) / rtt(i, j));
    errs.sort((a, b) => a - b);
    return { mean: errs.reduce((a, b) => a + b, 0) / errs.length, median: errs[errs.length >> 1] };
  };
  const history: { round: number; mean: number; median: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < n; i++) {
      let j = rng.nextInt(n - 1);
      if (j >= i) j++;
      const noise = 1 + (rng.nextFloat() - 0.5) * 0.1;
      nodes[i].observe(`n${j}`, nodes[j].coordinate, rtt(i, j) * noise);
    }
    if (round % 100 === 0) history.push({ round, ...errorAt() });
  }
  return { nodes, rtt, n, history };
}

describe('Vivaldi', () => {
  it('converges on a simulated 50-node latency matrix: mean relative error below 5 % after 400 rounds', () => {
    const { history, nodes } = simulate(42, 400);
    const last = history.at(-1)!;
    expect(last.mean).toBeLessThan(0.05);
    expect(last.median).toBeLessThan(0.03);
    expect(last.mean).toBeLessThan(history[0].mean);
    // each node's own error estimate has come down from maxError (1.5) to near the true error
    const estimated = nodes.reduce((a, v) => a + v.coordinate.error, 0) / nodes.length;
    expect(estimated).toBeLessThan(0.1);
  });

  it('finds a truly near peer by coordinates alone', () => {
    const { nodes, rtt, n } = simulate(7, 400);
    let good = 0;
    for (let i = 0; i < n; i++) {
      let predicted = -1;
      for (let j = 0; j < n; j++) if (j !== i && (predicted < 0 || nodes[i].estimateMs(nodes[j].coordinate) < nodes[i].estimateMs(nodes[predicted].coordinate))) predicted = j;
      const trueOrder = [...Array(n).keys()].filter((j) => j !== i).sort((a, b) => rtt(i, a) - rtt(i, b));
      if (trueOrder.slice(0, 3).includes(predicted)) good++;
    }
    expect(good / n).toBeGreaterThanOrEqual(0.9);
  });

  it('gives the same coordinates for the same seed', () => {
    const a = simulate(5, 100).nodes.map((v) => v.coordinate);
    const b = simulate(5, 100).nodes.map((v) => v.coordinate);
    expect(a).toEqual(b);
  });

  it('two nodes settle at their RTT apart, heights included', () => {
    const a = new Vivaldi({}, { rng: new Sfc32(1) });
    const b = new Vivaldi({}, { rng: new Sfc32(2) });
    for (let i = 0; i < 200; i++) {
      a.observe('b', b.coordinate, 30);
      b.observe('a', a.coordinate, 30);
    }
    expect(distanceMs(a.coordinate, b.coordinate)).toBeCloseTo(30, 0);
    expect(a.coordinate.heightMs).toBeGreaterThanOrEqual(0.01);
  });

  it('takes the median of the last three RTTs to a peer, so one outlier does not move it', () => {
    const settle = (outlier: boolean): number => {
      const a = new Vivaldi({}, { rng: new Sfc32(1) });
      const peer: Coordinate = { vec: [20, 0, 0, 0, 0, 0, 0, 0], heightMs: 0.01, error: 0.05, adjustmentMs: 0 };
      for (let i = 0; i < 50; i++) a.observe('p', peer, 20);
      if (outlier) a.observe('p', peer, 2_000);
      else a.observe('p', peer, 20);
      return a.estimateMs(peer);
    };
    expect(Math.abs(settle(true) - settle(false))).toBeLessThan(0.5);
  });

  it('refuses bad samples and hostile coordinates without changing', () => {
    const a = new Vivaldi({}, { rng: new Sfc32(1) });
    const before = a.coordinate;
    const good: Coordinate = { vec: [1, 2, 3, 4, 5, 6, 7, 8], heightMs: 1, error: 0.5, adjustmentMs: 0 };
    expect(a.observe('p', good, 0)).toBe(false);
    expect(a.observe('p', good, -3)).toBe(false);
    expect(a.observe('p', good, Number.NaN)).toBe(false);
    expect(a.observe('p', good, 60_000)).toBe(false);
    expect(a.observe('p', { ...good, vec: [1, 2] }, 10)).toBe(false);
    expect(a.observe('p', { ...good, vec: [1, 2, 3, 4, 5, 6, 7, Number.POSITIVE_INFINITY] }, 10)).toBe(false);
    expect(a.observe('p', { ...good, error: -1 }, 10)).toBe(false);
    expect(a.observe('p', null as unknown as Coordinate, 10)).toBe(false);
    expect(a.rejected).toBe(8);
    expect(a.coordinate).toBe(before);
    expect(isValidCoordinate(good, 8)).toBe(true);
    expect(a.observe('p', good, 10)).toBe(true);
    expect(a.coordinate).not.toBe(before);
  });

  it('moves apart in a random direction from a peer on the same point', () => {
    const a = new Vivaldi({ dimensions: 2 }, { rng: new Sfc32(9) });
    const origin: Coordinate = { vec: [0, 0], heightMs: 0.01, error: 1.5, adjustmentMs: 0 };
    a.observe('p', origin, 10);
    expect(Math.hypot(...a.coordinate.vec)).toBeGreaterThan(0);
  });

  it('validates its options, naming the field', () => {
    expect(resolveVivaldiOptions().dimensions).toBe(8);
    for (const [input, field] of [
      [{ dimensions: 0 }, 'dimensions'],
      [{ errorGain: 0 }, 'errorGain'],
      [{ moveGain: 2 }, 'moveGain'],
      [{ minHeightMs: -1 }, 'minHeightMs'],
      [{ adjustmentWindow: 1.5 }, 'adjustmentWindow'],
      [{ gravityRhoMs: Number.NaN }, 'gravityRhoMs'],
    ] as const) {
      expect(() => resolveVivaldiOptions(input)).toThrow(InvalidConfigError);
      try {
        resolveVivaldiOptions(input);
      } catch (e) {
        expect((e as InvalidConfigError).field).toBe(field);
      }
    }
  });
});
