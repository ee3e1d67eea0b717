// Heartbeats under a virtual clock: ping schedule, pong answers, RTT from
// echoed send times, missed counting and the unresponsive/recovered events,
// peer status, hostile pongs, options; the RTT window; and a fast-check
// property (misses in a row never skip the limit event, caps hold).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { NodeStatus } from '../../src/shared/schema/generated/clusterwire/wire/node-status.js';
import { Heartbeat, OUTSTANDING_MAX, resolveHeartbeatOptions, type HeartbeatOptionsInput, type HeartbeatOutput } from '../../src/main/transport/heartbeat.js';
import { RttWindow } from '../../src/main/transport/rtt-window.js';

const heartbeat = (input: HeartbeatOptionsInput = {}, status?: NodeStatus): Heartbeat => new Heartbeat(resolveHeartbeatOptions(input), status);

type Ping = { type: 'HeartbeatPing'; seq: number; status: number; sentUs: number; missed: number };
const pings = (out: readonly HeartbeatOutput[]): Ping[] =>
  out.flatMap((o) => (o.type === 'send' && o.message.type === 'HeartbeatPing' ? [o.message] : []));
const events = (out: readonly HeartbeatOutput[]) => out.filter((o) => o.type !== 'send');
const pongFor = (p: Ping, status = NodeStatus.Healthy) => ({ seq: p.seq, status, echoSentUs: p.sentUs });

describe('Heartbeat: schedule and answers', () => {
  it('pings at start and then every heartbeatIntervalMs, with seq, status, send time in µs', () => {
    const hb = heartbeat();
    expect(hb.nextDeadline).toBe(Number.POSITIVE_INFINITY);
    hb.start(10.5);
    expect(pings(hb.drain())).toEqual([{ type: 'HeartbeatPing', seq: 1, status: NodeStatus.Healthy, sentUs: 10_500, missed: 0 }]);
    expect(hb.nextDeadline).toBe(1_010.5);
    hb.start(20); // no second start
    hb.tick(1_010);
    expect(hb.drain()).toEqual([]);
    hb.tick(1_010.5);
    expect(pings(hb.drain()).map((p) => p.seq)).toEqual([2]);
  });

  it('answers a ping at once with a pong echoing its seq and send time, carrying this node\'s status', () => {
    const hb = heartbeat({}, NodeStatus.Degraded);
    hb.receivePing({ seq: 77, status: NodeStatus.Healthy, sentUs: 123_456, missed: 2 });
    expect(hb.drain()).toEqual([
      { type: 'peer-status', status: NodeStatus.Healthy, previous: null },
      { type: 'send', message: { type: 'HeartbeatPong', seq: 77, status: NodeStatus.Degraded, echoSentUs: 123_456 } },
    ]);
    expect(hb.peerReportedMissed).toBe(2);
    expect(hb.peerStatus).toBe(NodeStatus.Healthy);
  });

  it('measures RTT as arrival time minus the echoed send time', () => {
    const hb = heartbeat();
    hb.start(0);
    const [p1] = pings(hb.drain());
    expect(hb.receivePong(pongFor(p1), 12.25)).toBe('answered');
    expect(hb.rtt.lastMs).toBe(12.25);
    hb.tick(1_000);
    const [p2] = pings(hb.drain());
    hb.receivePong(pongFor(p2), 1_004);
    expect(hb.rtt.count).toBe(2);
    expect(hb.rtt.averageMs).toBeCloseTo((12.25 + 4) / 2);
    expect(hb.rtt.p99Ms).toBe(12.25);
  });

  it('reports the peer status only when it changes', () => {
    const hb = heartbeat();
    hb.receivePing({ seq: 1, status: NodeStatus.Healthy, sentUs: 0, missed: 0 });
    hb.receivePing({ seq: 2, status: NodeStatus.Healthy, sentUs: 0, missed: 0 });
    hb.receivePing({ seq: 3, status: NodeStatus.ShuttingDown, sentUs: 0, missed: 0 });
    expect(events(hb.drain())).toEqual([
      { type: 'peer-status', status: NodeStatus.Healthy, previous: null },
      { type: 'peer-status', status: NodeStatus.ShuttingDown, previous: NodeStatus.Healthy },
    ]);
  });

  it('ignores an unknown status value but still answers the ping', () => {
    const hb = heartbeat();
    hb.receivePing({ seq: 1, status: 9, sentUs: 5, missed: 0 });
    expect(hb.drain().map((o) => o.type)).toEqual(['send']);
    expect(hb.peerStatus).toBeNull();
    expect(hb.stats.unknownStatus).toBe(1);
  });

  it('tells the peer a status change at once, once started', () => {
    const hb = heartbeat();
    hb.setStatus(NodeStatus.Degraded, 0);
    expect(hb.drain()).toEqual([]);
    hb.start(0);
    hb.drain();
    hb.setStatus(NodeStatus.ShuttingDown, 300);
    expect(pings(hb.drain())).toEqual([{ type: 'HeartbeatPing', seq: 2, status: NodeStatus.ShuttingDown, sentUs: 300_000, missed: 0 }]);
    expect(hb.nextDeadline).toBe(1_000); // ping 1 is still due to be answered by 1000
    hb.setStatus(NodeStatus.ShuttingDown, 400);
    expect(hb.drain()).toEqual([]);
  });
});

describe('Heartbeat: missed pings', () => {
  it('counts a ping unanswered within the interval as missed and reports the run', () => {
    const hb = heartbeat({ missedLimit: 3 });
    hb.start(0);
    hb.drain();
    hb.tick(1_000);
    const out = hb.drain();
    expect(events(out)).toEqual([{ type: 'heartbeat-missed', seq: 1, consecutive: 1 }]);
    expect(pings(out)[0].missed).toBe(1); // the next ping says so
    hb.tick(2_000);
    hb.tick(3_000);
    expect(events(hb.drain())).toEqual([
      { type: 'heartbeat-missed', seq: 2, consecutive: 2 },
      { type: 'heartbeat-missed', seq: 3, consecutive: 3 },
      { type: 'peer-unresponsive', consecutive: 3 },
    ]);
    expect(hb.unresponsive).toBe(true);
    hb.tick(4_000);
    expect(events(hb.drain())).toEqual([{ type: 'heartbeat-missed', seq: 4, consecutive: 4 }]); // reported once
  });

  it('with the defaults reports peer-unresponsive after 5 missed pings', () => {
    const hb = heartbeat();
    hb.start(0);
    const all: HeartbeatOutput[] = [];
    for (let t = 1_000; t <= 5_000; t += 1_000) {
      hb.tick(t);
      all.push(...hb.drain());
    }
    expect(events(all).at(-1)).toEqual({ type: 'peer-unresponsive', consecutive: 5 });
  });

  it('a late pong gives an RTT sample, ends the run and recovers the peer', () => {
    const hb = heartbeat({ missedLimit: 2 });
    hb.start(0);
    const [p1] = pings(hb.drain());
    hb.tick(1_000);
    hb.tick(2_000);
    hb.drain();
    expect(hb.unresponsive).toBe(true);
    expect(hb.receivePong(pongFor(p1), 2_500)).toBe('late');
    expect(hb.drain()).toEqual([
      { type: 'peer-status', status: NodeStatus.Healthy, previous: null },
      { type: 'peer-recovered', rttMs: 2_500 },
    ]);
    expect(hb.consecutiveMissed).toBe(0);
    expect(hb.unresponsive).toBe(false);
    expect(hb.stats.late).toBe(1);
  });

  it('an answered ping is never counted missed', () => {
    const hb = heartbeat();
    hb.start(0);
    hb.receivePong(pongFor(pings(hb.drain())[0]), 999);
    hb.tick(1_000);
    expect(events(hb.drain()).filter((e) => e.type === 'heartbeat-missed')).toEqual([]);
    expect(hb.consecutiveMissed).toBe(0);
  });

  it('ignores pongs for unknown seqs, repeated pongs and pongs echoing the wrong send time', () => {
    const hb = heartbeat();
    hb.start(0);
    hb.tick(1_000);
    const [p1, p2] = pings(hb.drain());
    expect(hb.receivePong({ seq: 99, status: 0, echoSentUs: 0 }, 1_001)).toBe('unmatched');
    expect(hb.receivePong({ seq: p2.seq, status: 0, echoSentUs: p2.sentUs + 1 }, 1_001)).toBe('unmatched');
    expect(hb.receivePong({ seq: -1, status: 0, echoSentUs: 0 }, 1_001)).toBe('unmatched');
    expect(hb.receivePong({ seq: 1.5, status: 0, echoSentUs: 0 }, 1_001)).toBe('unmatched');
    expect(hb.receivePong(pongFor(p2), 1_002)).toBe('answered');
    expect(hb.receivePong(pongFor(p2), 1_003)).toBe('unmatched');
    expect(hb.receivePong(pongFor(p1), 1_004)).toBe('late');
    expect(hb.stats.unmatched).toBe(5);
    expect(hb.rtt.count).toBe(2);
  });

  it(`remembers at most ${OUTSTANDING_MAX} pings; one pushed out unanswered counts as missed`, () => {
    const hb = heartbeat({ missedLimit: 1_000 });
    hb.start(0);
    // Status changes send pings faster than the interval.
    for (let i = 1; i <= OUTSTANDING_MAX; i++) hb.setStatus(i % 2 === 0 ? NodeStatus.Healthy : NodeStatus.Degraded, i);
    const out = hb.drain();
    expect(pings(out)).toHaveLength(OUTSTANDING_MAX + 1);
    expect(events(out)).toEqual([{ type: 'heartbeat-missed', seq: 1, consecutive: 1 }]);
  });
});

describe('RttWindow', () => {
  it('keeps the last N samples: average and nearest-rank p99', () => {
    const w = new RttWindow(100);
    expect([w.averageMs, w.p99Ms, w.count]).toEqual([0, 0, 0]);
    for (let i = 1; i <= 100; i++) w.add(i);
    expect(w.averageMs).toBe(50.5);
    expect(w.p99Ms).toBe(99);
    expect(w.percentile(1)).toBe(100);
    w.add(1_000); // pushes out 1
    expect(w.count).toBe(100);
    expect(w.p99Ms).toBe(100);
    expect(w.percentile(1)).toBe(1_000);
    expect(w.averageMs).toBe((5_050 - 1 + 1_000) / 100);
    w.add(-3);
    expect(w.lastMs).toBe(0);
    expect(() => w.percentile(0)).toThrow(RangeError);
    w.clear();
    expect(w.count).toBe(0);
  });

  it('agrees with a sorted copy of the last N samples', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 80 }), (n, xs) => {
        const w = new RttWindow(n);
        for (const x of xs) w.add(x);
        const kept = xs.slice(-n).sort((a, b) => a - b);
        expect(w.count).toBe(kept.length);
        expect(w.p99Ms).toBe(kept[Math.ceil(0.99 * kept.length) - 1]);
        expect(w.averageMs).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / kept.length, 6);
      }),
    );
  });
});

describe('resolveHeartbeatOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveHeartbeatOptions()).toEqual({ heartbeatIntervalMs: 1_000, missedLimit: 5, rttSamples: 100 });
  });
  const bad: [string, HeartbeatOptionsInput][] = [
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 0 }],
    ['missedLimit', { missedLimit: 0 }],
    ['rttSamples', { rttSamples: 2.5 }],
  ];
  for (const [field, input] of bad) {
    it(`refuses ${JSON.stringify(input)} naming ${field}`, () => {
      expect(() => resolveHeartbeatOptions(input)).toThrow(InvalidConfigError);
      expect(() => resolveHeartbeatOptions(input)).toThrow(`invalid option ${field}:`);
    });
  }
});

describe('Heartbeat: property', () => {
  it('counts each unanswered ping once, reports the limit exactly when reached, keeps bounded records', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.oneof(fc.record({ advance: fc.integer({ min: 0, max: 2_500 }) }), fc.record({ answer: fc.nat(20) })), { maxLength: 150 }),
        (missedLimit, ops) => {
          const hb = heartbeat({ missedLimit, heartbeatIntervalMs: 1_000 });
          let now = 0;
          hb.start(now);
          const sent: Ping[] = [];
          const answered = new Set<number>();
          const missed = new Set<number>();
          let run = 0;
          let unresponsive = false;
          const absorb = (): void => {
            for (const o of hb.drain()) {
              if (o.type === 'send' && o.message.type === 'HeartbeatPing') {
                sent.push(o.message);
                expect(o.message.missed).toBe(run);
              } else if (o.type === 'heartbeat-missed') {
                expect(missed.has(o.seq)).toBe(false); // once per ping
                expect(answered.has(o.seq)).toBe(false);
                missed.add(o.seq);
                run++;
                expect(o.consecutive).toBe(run);
                // Only after its interval passed.
                expect(now * 1_000 - (sent.find((p) => p.seq === o.seq) as Ping).sentUs).toBeGreaterThanOrEqual(1_000_000);
              } else if (o.type === 'peer-unresponsive') {
                expect(run).toBe(missedLimit);
                unresponsive = true;
              } else if (o.type === 'peer-recovered') {
                expect(unresponsive).toBe(true);
                unresponsive = false;
              }
            }
            expect(hb.unresponsive).toBe(unresponsive);
            expect(hb.consecutiveMissed).toBe(run);
            expect(hb.nextDeadline).toBeGreaterThan(now);
          };
          absorb();
          for (const op of ops) {
            if ('advance' in op) {
              now += op.advance;
              hb.tick(now);
            } else {
              const p = sent[sent.length - 1 - (op.answer % sent.length)];
              const outcome = hb.receivePong(pongFor(p), now);
              if (answered.has(p.seq) || sent.length - sent.indexOf(p) > OUTSTANDING_MAX) expect(outcome).toBe('unmatched');
              else {
                expect(outcome).toBe(missed.has(p.seq) ? 'late' : 'answered');
                answered.add(p.seq);
                run = 0;
              }
            }
            absorb();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
