import { describe, expect, it } from 'vitest';
import { Router } from '../../src/main/routing/router.js';
import { adaptiveCost, DEFAULT_ADAPTIVE_WEIGHTS } from '../../src/main/routing/adaptive.js';
import { RouteNode } from '../../src/main/routing/route-node.js';
import { routerWith, tally } from './helpers.js';
import { chiSquareCritical001, chiSquareUniform } from './stats.js';

function run(r: Router, count: number, now = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r.route({}, now));
  return out;
}

describe('round-robin', () => {
  it('gives every node exactly its turn (chi-square 0)', () => {
    const r = routerWith(7, { strategy: 'round-robin' });
    const counts = [...tally(run(r, 7_000)).values()];
    expect(counts).toEqual(Array(7).fill(1_000));
    expect(chiSquareUniform(counts)).toBe(0);
  });

  it('cycles in a fixed order and keeps cycling over the remaining nodes after a failure', () => {
    const r = routerWith(3, { strategy: 'round-robin' });
    const first = run(r, 6);
    expect(first.slice(0, 3).sort()).toEqual(['node-0', 'node-1', 'node-2']);
    expect(first.slice(3)).toEqual(first.slice(0, 3));
    r.setState('node-1', 'dead');
    const after = tally(run(r, 100));
    expect(after.get('node-1')).toBeUndefined();
    expect(after.get('node-0')).toBe(50);
    expect(after.get('node-2')).toBe(50);
  });
});

describe('weighted round-robin (smooth)', () => {
  it('honours integer weights exactly over every cycle of sum(weights) picks', () => {
    const r = new Router({ strategy: 'weighted-round-robin', hotspotThresholdQps: 1e12 });
    r.setNode('a', { state: 'alive', weight: 5 });
    r.setNode('b', { state: 'alive', weight: 1 });
    r.setNode('c', { state: 'alive', weight: 1 });
    for (let cycle = 0; cycle < 20; cycle++) {
      const t = tally(run(r, 7));
      expect([t.get('a'), t.get('b'), t.get('c')]).toEqual([5, 1, 1]);
    }
  });

  it('spreads the heavy node out instead of sending it a burst (the nginx sequence for 5/1/1)', () => {
    const r = new Router({ strategy: 'weighted-round-robin', hotspotThresholdQps: 1e12 });
    r.setNode('a', { state: 'alive', weight: 5 });
    r.setNode('b', { state: 'alive', weight: 1 });
    r.setNode('c', { state: 'alive', weight: 1 });
    expect(run(r, 7)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('follows weights from membership capacity over many picks', () => {
    const r = new Router({ strategy: 'weighted-round-robin', hotspotThresholdQps: 1e12 });
    const weights = [1, 2, 3, 10];
    weights.forEach((w, i) => r.setNode(`n${i}`, { state: 'alive', weight: w }));
    const t = tally(run(r, 16_000));
    weights.forEach((w, i) => expect(t.get(`n${i}`)).toBe(w * 1_000));
  });
});

describe('least connections', () => {
  it('picks the node with the fewest requests in flight', () => {
    const r = routerWith(3, { strategy: 'least-connections' });
    r.setConnections('node-0', 5);
    r.setConnections('node-1', 2);
    r.setConnections('node-2', 9);
    expect(r.route({}, 0)).toBe('node-1');
    r.setConnections('node-1', 6);
    expect(r.route({}, 0)).toBe('node-0');
  });

  it('with acquire/release balances in-flight work, ties shared in turn', () => {
    const r = routerWith(4, { strategy: 'least-connections' });
    const held: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = r.route({}, 0);
      r.acquire(id);
      held.push(id);
    }
    expect([...tally(held).values()]).toEqual([10, 10, 10, 10]);
    for (const id of held.filter((x) => x === 'node-2')) r.release(id);
    for (let i = 0; i < 10; i++) {
      const id = r.route({}, 0);
      expect(id).toBe('node-2');
      r.acquire(id);
    }
  });

  it('divides connections by weight', () => {
    const r = new Router({ strategy: 'least-connections', hotspotThresholdQps: 1e12 });
    r.setNode('big', { state: 'alive', weight: 4 });
    r.setNode('small', { state: 'alive', weight: 1 });
    r.setConnections('big', 6);
    r.setConnections('small', 2);
    expect(r.route({}, 0)).toBe('big');
  });
});

describe('locality', () => {
  function cluster(strategyDc: string, strategyRack: string): Router {
    const r = new Router({ strategy: 'locality', datacenter: strategyDc, rack: strategyRack, hotspotThresholdQps: 1e12 });
    r.setNode('dc1-r1-a', { state: 'alive', datacenter: 'dc1', rack: 'r1' });
    r.setNode('dc1-r1-b', { state: 'alive', datacenter: 'dc1', rack: 'r1' });
    r.setNode('dc1-r2-a', { state: 'alive', datacenter: 'dc1', rack: 'r2' });
    r.setNode('dc2-r1-a', { state: 'alive', datacenter: 'dc2', rack: 'r1' });
    return r;
  }

  it('prefers the same rack, then the same datacenter, then anywhere', () => {
    const r = cluster('dc1', 'r1');
    expect(new Set(run(r, 10))).toEqual(new Set(['dc1-r1-a', 'dc1-r1-b']));
    expect([...tally(run(r, 10)).values()]).toEqual([5, 5]);
    r.setState('dc1-r1-a', 'suspect');
    r.setState('dc1-r1-b', 'dead');
    expect(new Set(run(r, 10))).toEqual(new Set(['dc1-r2-a']));
    r.setState('dc1-r2-a', 'dead');
    expect(new Set(run(r, 10))).toEqual(new Set(['dc2-r1-a']));
    expect(r.stats.crossDcRoutes).toBe(10);
    expect(r.stats.localityHits).toBe(30);
  });

  it('does not mistake a rack of the same name in another datacenter for a local one', () => {
    const r = cluster('dc1', 'r1');
    r.setState('dc1-r1-a', 'dead');
    r.setState('dc1-r1-b', 'dead');
    expect(new Set(run(r, 6))).toEqual(new Set(['dc1-r2-a']));
  });

  it('without a local datacenter spreads evenly over all nodes', () => {
    const r = cluster('', '');
    expect([...tally(run(r, 400)).values()]).toEqual([100, 100, 100, 100]);
  });
});

describe('adaptive', () => {
  it('scores cost from load, latency, resource use and locality with the default 30/30/20/20 weights', () => {
    const n = new RouteNode('x', { state: 'alive', datacenter: 'dc2', rack: 'r1' });
    n.connections = 5;
    n.latencyMs = 20;
    n.resourceUse = 0.5;
    // load 5/10 = 0.5, latency 20/40 = 0.5, resource 0.5, locality 1 (other datacenter)
    expect(adaptiveCost(n, DEFAULT_ADAPTIVE_WEIGHTS, 10, 40, 'dc1', 'r1')).toBeCloseTo(0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 1, 12);
    expect(adaptiveCost(n, DEFAULT_ADAPTIVE_WEIGHTS, 10, 40, 'dc2', 'r1')).toBeCloseTo(0.4, 12);
  });

  it('sends less traffic to slow, busy and remote nodes, and every node still some', () => {
    const r = new Router({ datacenter: 'dc1', rack: 'r1', hotspotThresholdQps: 1e12 });
    expect(r.options.strategy).toBe('adaptive');
    r.setNode('fast', { state: 'alive', datacenter: 'dc1', rack: 'r1' });
    r.setNode('slow', { state: 'alive', datacenter: 'dc1', rack: 'r1' });
    r.setNode('busy', { state: 'alive', datacenter: 'dc1', rack: 'r1' });
    r.setNode('far', { state: 'alive', datacenter: 'dc2', rack: 'r1' });
    for (const id of ['fast', 'busy', 'far']) r.setLatency(id, 2);
    r.setLatency('slow', 40);
    r.setResourceUse('busy', 0.95);
    const t = tally(run(r, 10_000));
    const fast = t.get('fast') ?? 0;
    for (const id of ['slow', 'busy', 'far']) {
      expect(t.get(id) ?? 0).toBeGreaterThan(200);
      expect(t.get(id) ?? 0).toBeLessThan(fast);
    }
  });

  it('ignores a term whose weight is 0', () => {
    const r = new Router({ adaptiveWeights: { latency: 0 }, hotspotThresholdQps: 1e12 });
    r.setNode('a', { state: 'alive' });
    r.setNode('b', { state: 'alive' });
    r.setLatency('a', 1);
    r.setLatency('b', 500);
    const t = tally(run(r, 1_000));
    expect([t.get('a'), t.get('b')]).toEqual([500, 500]);
  });

  it('with load weight only, follows in-flight requests', () => {
    const r = new Router({ adaptiveWeights: { load: 1, latency: 0, resource: 0, locality: 0 }, hotspotThresholdQps: 1e12 });
    r.setNode('a', { state: 'alive' });
    r.setNode('b', { state: 'alive' });
    r.setConnections('a', 90);
    r.setConnections('b', 10);
    const t = tally(run(r, 1_000));
    // goodness: a = max(0.05, 1 - 1) = 0.05, b = 1 - 10/90 = 0.889: shares 5.3 % and 94.7 %
    expect(t.get('a')).toBeGreaterThanOrEqual(50);
    expect(t.get('a')).toBeLessThanOrEqual(56);
  });

  it('is even when all nodes look alike (chi-square below the p = 0.001 bound)', () => {
    const r = routerWith(9);
    const counts = [...tally(run(r, 9_000)).values()];
    expect(counts.length).toBe(9);
    expect(chiSquareUniform(counts)).toBeLessThan(chiSquareCritical001(8));
  });
});
