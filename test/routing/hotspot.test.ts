import { describe, expect, it } from 'vitest';
import { QpsCounter } from '../../src/main/routing/hotspot.js';
import { Router } from '../../src/main/routing/router.js';
import { tally } from './helpers.js';

const SETTINGS = { windowMs: 60_000, bucketMs: 1_000, thresholdQps: 1_000, coolRatio: 0.9 };

describe('QpsCounter', () => {
  it('measures requests per second over the time covered, at most the 60 s window', () => {
    const c = new QpsCounter(SETTINGS);
    for (let t = 0; t < 10_000; t += 10) c.record(t); // 100 QPS for 10 s
    expect(c.qps(10_000)).toBeCloseTo(100, 0);
    for (let t = 10_000; t < 120_000; t += 20) c.record(t); // 50 QPS for 110 s
    expect(c.qps(120_000)).toBeCloseTo(50, 0);
    expect(c.qps(150_000)).toBeCloseTo(25, 0); // half the window is silent
    expect(c.qps(181_000)).toBe(0);
  });

  it('turns hot above the threshold and cools only below threshold * coolRatio', () => {
    const c = new QpsCounter(SETTINGS);
    let changes = 0;
    for (let i = 0; i < 1_000; i++) if (c.record(500)) changes++;
    expect(c.hot).toBe(false);
    expect(c.record(500)).toBe(true); // 1001 requests within the first second
    expect(c.hot).toBe(true);
    expect(changes).toBe(0);
    // 1001 requests over 1.05 s is 953 QPS: under the threshold, above the cooling line
    expect(c.evaluate(1_550)).toBe(false);
    expect(c.hot).toBe(true);
    expect(c.evaluate(1_700)).toBe(true); // 834 QPS < 900
    expect(c.hot).toBe(false);
  });

  it('forgets buckets that leave the window, also after a long silence', () => {
    const c = new QpsCounter({ ...SETTINGS, windowMs: 5_000 });
    for (let i = 0; i < 500; i++) c.record(0);
    expect(c.qps(4_999)).toBeCloseTo(100, 0);
    expect(c.qps(5_000)).toBe(0);
    c.record(1_000_000);
    expect(c.qps(1_000_000)).toBeCloseTo(0.25, 5); // one request over the 4 full buckets before this one
  });
});

describe('hotspot shifting in the Router', () => {
  /** Routes one hot key at `qps` for `seconds` on a virtual clock; returns where each request went. */
  function drive(r: Router, key: string, qps: number, seconds: number, startMs = 0): string[] {
    const out: string[] = [];
    const total = qps * seconds;
    for (let i = 0; i < total; i++) out.push(r.route({ key }, startMs + Math.floor((i * 1_000) / qps)));
    return out;
  }

  function cluster(threshold: number): Router {
    const r = new Router({ strategy: 'round-robin', hotspotThresholdQps: threshold });
    for (let i = 0; i < 4; i++) r.setNode(`node-${i}`, { state: 'alive' });
    return r;
  }

  it('without a hotspot limit a hot key stays on one node', () => {
    const t = tally(drive(cluster(1e12), 'celebrity', 1_500, 60));
    expect(t.size).toBe(1);
  });

  it('moves traffic off a node routed more than 1000 QPS, keeping every node near the threshold', () => {
    const r = cluster(1_000);
    const out = drive(r, 'celebrity', 1_500, 60);
    const t = tally(out);
    const owner = new Router({ hotspotThresholdQps: 1e12 });
    for (let i = 0; i < 4; i++) owner.setNode(`node-${i}`, { state: 'alive' });
    const home = owner.route({ key: 'celebrity' }, 0);
    expect(t.size).toBeGreaterThanOrEqual(2);
    expect(t.get(home)).toBeLessThanOrEqual(1_000 * 60 * 1.05);
    for (const n of t.values()) expect(n / 60).toBeLessThanOrEqual(1_050);
    expect(r.stats.hotspots).toBeGreaterThanOrEqual(1);
    expect(r.isHot(home) || r.qps(home, 60_000) <= 1_000).toBe(true);
  });

  it('sends the key home again once the node has cooled', () => {
    const r = cluster(1_000);
    const out = drive(r, 'celebrity', 2_000, 1);
    const home = out[0];
    expect(r.isHot(home)).toBe(true);
    expect(out.at(-1)).not.toBe(home);
    // a quiet minute later the window is empty: the node cools without any traffic of its own
    expect(r.route({ key: 'celebrity' }, 70_000)).toBe(home);
    expect(r.isHot(home)).toBe(false);
    expect(r.qps(home, 70_000)).toBeLessThan(1);
  });

  it('uses hot nodes when every alive node is hot rather than failing', () => {
    const r = new Router({ strategy: 'round-robin', hotspotThresholdQps: 10 });
    r.setNode('a', { state: 'alive' });
    r.setNode('b', { state: 'alive' });
    const out: string[] = [];
    for (let i = 0; i < 100; i++) out.push(r.route({}, 0));
    expect(r.isHot('a') && r.isHot('b')).toBe(true);
    const t = tally(out);
    expect((t.get('a') ?? 0) + (t.get('b') ?? 0)).toBe(100);
    expect(t.get('a')).toBeGreaterThan(30);
  });
});
