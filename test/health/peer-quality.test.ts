import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { PeerQuality, PeerQualityTable, resolvePeerQualityOptions } from '../../src/main/health/peer-quality.js';

function acks(q: PeerQuality, rtts: readonly number[]): void {
  for (const rttMs of rtts) q.probe({ kind: 'ack', rttMs });
}

describe('PeerQuality', () => {
  it('keeps a rolling window of 100 RTTs with average and p99', () => {
    const q = new PeerQuality();
    acks(q, Array.from({ length: 150 }, (_, i) => i + 1)); // the window holds 51..150
    const s = q.snapshot();
    expect(s.samples).toBe(100);
    expect(s.averageMs).toBeCloseTo(100.5, 10);
    expect(s.p99Ms).toBe(149);
    expect(s.route).toBe('direct');
    expect(s.lossRate).toBe(0);
  });

  it('measures the loss rate over the last probes', () => {
    const q = new PeerQuality({ lossWindow: 10 });
    for (let i = 0; i < 10; i++) q.probe(i < 3 ? { kind: 'lost' } : { kind: 'ack', rttMs: 5 });
    expect(q.lossRate).toBeCloseTo(0.3, 10);
    acks(q, [5, 5, 5]); // the three losses leave the window
    expect(q.lossRate).toBe(0);
    q.probe({ kind: 'indirect-ack', via: 'c' }); // no direct ack counts as loss on this link
    expect(q.lossRate).toBeCloseTo(0.1, 10);
  });

  it('estimates bandwidth as a moving average of transfer rates', () => {
    const q = new PeerQuality({ bandwidthSmoothing: 0.5 });
    q.transfer(1_000_000, 1_000);
    expect(q.bandwidthBytesPerSec).toBe(1_000_000);
    q.transfer(3_000_000, 1_000);
    expect(q.bandwidthBytesPerSec).toBe(2_000_000);
    q.transfer(0, 10);
    q.transfer(10, 0);
    expect(q.bandwidthBytesPerSec).toBe(2_000_000);
  });

  it('suggests a relay once direct probes keep failing but ping-req through a helper succeeds', () => {
    const q = new PeerQuality();
    acks(q, [10]);
    q.probe({ kind: 'indirect-ack', via: 'b' });
    q.probe({ kind: 'indirect-ack', via: 'b' });
    expect([q.route, q.relay]).toEqual(['direct', null]); // two failures may be noise
    q.probe({ kind: 'indirect-ack', via: 'c' });
    expect([q.route, q.relay]).toEqual(['indirect', 'c']);
    acks(q, [12]);
    expect([q.route, q.relay]).toEqual(['direct', null]);
  });

  it('calls a peer unreachable after consecutive probes with no ack at all', () => {
    const q = new PeerQuality();
    acks(q, [10]);
    q.probe({ kind: 'lost' });
    q.probe({ kind: 'lost' });
    expect(q.route).toBe('direct');
    q.probe({ kind: 'lost' });
    expect(q.route).toBe('unreachable');
    expect(q.score).toBe(0);
    q.probe({ kind: 'indirect-ack', via: 'd' });
    expect([q.route, q.relay]).toEqual(['indirect', 'd']);
  });

  it('orders peers by score: latency, jitter (p99), loss, a relayed route and unreachability all lower it', () => {
    const table = new PeerQualityTable();
    acks(table.of('fast'), Array(50).fill(2));
    acks(table.of('slow'), Array(50).fill(80));
    // the same 7.88 ms average, once steady and once with a 100 ms tail
    acks(table.of('steady'), Array(50).fill(7.88));
    acks(table.of('jittery'), [...Array(47).fill(2), 100, 100, 100]);
    const lossy = table.of('lossy');
    for (let i = 0; i < 50; i++) lossy.probe(i % 4 === 0 ? { kind: 'lost' } : { kind: 'ack', rttMs: 2 });
    const relayed = table.of('relayed');
    acks(relayed, Array(47).fill(2));
    for (let i = 0; i < 3; i++) relayed.probe({ kind: 'indirect-ack', via: 'fast' });
    const gone = table.of('gone');
    acks(gone, Array(10).fill(2));
    for (let i = 0; i < 3; i++) gone.probe({ kind: 'lost' });
    // scores: fast 0.96, steady 0.86, lossy (26 % lost) 0.71, jittery 0.62, relayed 0.45, slow 0.38, gone 0
    expect(table.ranked().map((r) => r.peer)).toEqual(['fast', 'steady', 'lossy', 'jittery', 'relayed', 'slow', 'gone']);
    for (const { score } of table.ranked()) expect(score).toBeGreaterThanOrEqual(0);
    expect(table.ranked()[0].score).toBeLessThanOrEqual(1);
  });

  it('bounds the table, dropping the peer updated least recently', () => {
    const table = new PeerQualityTable({}, 2);
    table.of('a');
    table.of('b');
    table.of('a');
    table.of('c');
    expect(table.size).toBe(2);
    expect(table.get('b')).toBeUndefined();
    expect(table.get('a')).toBeDefined();
    expect(table.forget('a')).toBe(true);
  });

  it('validates its options, naming the field', () => {
    expect(resolvePeerQualityOptions()).toEqual({ latencySamples: 100, lossWindow: 100, relayAfterProbes: 3, referenceLatencyMs: 50, bandwidthSmoothing: 0.2 });
    for (const [input, field] of [
      [{ latencySamples: 0 }, 'latencySamples'],
      [{ lossWindow: 2.5 }, 'lossWindow'],
      [{ relayAfterProbes: 0 }, 'relayAfterProbes'],
      [{ referenceLatencyMs: 0 }, 'referenceLatencyMs'],
      [{ bandwidthSmoothing: 1.5 }, 'bandwidthSmoothing'],
    ] as const) {
      try {
        resolvePeerQualityOptions(input);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidConfigError);
        expect((e as InvalidConfigError).field).toBe(field);
      }
    }
  });
});
