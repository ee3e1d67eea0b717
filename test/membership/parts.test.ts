import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { LocalHealth } from '../../src/main/membership/local-health.js';
import { overrides } from '../../src/main/membership/member.js';
import { MemberState } from '../../src/main/membership/messages.js';
import { decodeNodeMeta, encodeNodeMeta } from '../../src/main/membership/node-meta.js';
import { Presets, resolveSwimOptions } from '../../src/main/membership/options.js';
import { PeerRegistry } from '../../src/main/membership/peer-registry.js';
import { RetransmitQueue } from '../../src/main/membership/retransmit-queue.js';
import { Suspicion, suspicionTimeoutMs } from '../../src/main/membership/suspicion.js';
import { Swim } from '../../src/main/membership/swim.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';

describe('Lifeguard IV-B dynamic suspicion timeout', () => {
  it('starts at the maximum and falls logarithmically to the minimum after k confirmations', () => {
    expect(suspicionTimeoutMs(1_000, 6_000, 3, 0)).toBe(6_000);
    const t1 = suspicionTimeoutMs(1_000, 6_000, 3, 1);
    const t2 = suspicionTimeoutMs(1_000, 6_000, 3, 2);
    expect(t1).toBe(Math.floor(6_000 - 5_000 * (Math.log(2) / Math.log(4))));
    expect(t1).toBeGreaterThan(t2);
    expect(suspicionTimeoutMs(1_000, 6_000, 3, 3)).toBe(1_000);
    expect(suspicionTimeoutMs(1_000, 6_000, 0, 0)).toBe(1_000);
  });

  it('counts each confirmer once, never the originator, and at most k of them', () => {
    const s = new Suspicion('b', 0, 'c', 100, 1_000, 6_000, 2);
    expect(s.deadline).toBe(6_100);
    expect(s.confirm('c')).toBe(false);
    expect(s.confirm('d')).toBe(true);
    expect(s.confirm('d')).toBe(false);
    expect(s.confirm('e')).toBe(true);
    expect(s.confirm('f')).toBe(false);
    expect(s.deadline).toBe(1_100);
  });
});

describe('Lifeguard IV-A local health', () => {
  it('saturates at [0, maxMultiplier - 1] and scales intervals by score + 1', () => {
    const h = new LocalHealth(8);
    h.apply(-1);
    expect(h.score).toBe(0);
    for (let i = 0; i < 20; i++) h.apply(1);
    expect(h.score).toBe(7);
    expect(h.scale(500)).toBe(4_000);
  });
});

describe('SWIM 4.1 retransmit queue', () => {
  it('sends each item at most `limit` times, fewest transmissions first', () => {
    const q = new RetransmitQueue<string>();
    q.push('a', 'a0', 10);
    q.push('b', 'b0', 10);
    const out: string[] = [];
    q.take(out, 10, 3);
    expect(out).toEqual(['b0']);
    q.take(out, 10, 3);
    expect(out).toEqual(['b0', 'a0']);
    for (let i = 0; i < 10; i++) q.take(out, 100, 3);
    expect(out.filter((x) => x === 'a0')).toHaveLength(3);
    expect(out.filter((x) => x === 'b0')).toHaveLength(3);
    expect(q.size).toBe(0);
  });

  it('a newer item under the same key replaces the queued one', () => {
    const q = new RetransmitQueue<string>();
    q.push('n', 'old', 10);
    q.push('n', 'new', 10);
    const out: string[] = [];
    q.take(out, 100, 5);
    expect(out).toEqual(['new']);
    expect(q.size).toBe(1);
  });

  it('property: never exceeds the budget, never sends an item more than the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 8, max: 200 })), { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 50, max: 600 }), (items, limit, budget) => {
        const q = new RetransmitQueue<{ key: number; v: number }>();
        const live = new Map<number, number>();
        const sent = new Map<string, number>();
        const sizes = new Map<string, number>();
        items.forEach(([key, bytes], v) => {
          q.push(String(key), { key, v }, bytes);
          live.set(key, v);
          sizes.set(`${key}/${v}`, bytes);
        });
        for (let round = 0; round < 200 && q.size > 0; round++) {
          const out: { key: number; v: number }[] = [];
          const used = q.take(out, budget, limit);
          expect(used).toBeLessThanOrEqual(budget);
          let sum = 0;
          for (const x of out) {
            const id = `${x.key}/${x.v}`;
            sum += sizes.get(id) as number;
            sent.set(id, (sent.get(id) ?? 0) + 1);
            expect(live.get(x.key)).toBe(x.v);
          }
          expect(sum).toBe(used);
        }
        for (const n of sent.values()) expect(n).toBeLessThanOrEqual(limit);
      }),
    );
  });
});

describe('SWIM 4.2 precedence rules', () => {
  // Reference: a claim overrides when (incarnation, rank) is greater, where
  // alive < suspect < dead < left at equal incarnation; alive and suspect never
  // resurrect a dead/left member at the same incarnation.
  const rank = [0, 1, 2, 3];
  const reference = (s: number, i: number, cs: number, ci: number): boolean => {
    if (s === MemberState.Alive) return i > ci;
    if (i !== ci) return i > ci;
    return rank[s] > rank[cs];
  };
  it('property: overrides() agrees with the (incarnation, state) order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }), (s, i, cs, ci) => {
        expect(overrides(s, i, cs, ci)).toBe(reference(s, i, cs, ci));
      }),
    );
  });
});

describe('options', () => {
  it('presets are frozen and carry the documented LAN defaults', () => {
    expect(Object.isFrozen(Presets)).toBe(true);
    expect(Object.isFrozen(Presets.lan)).toBe(true);
    expect(Presets.lan).toMatchObject({ probeIntervalMs: 500, probeTimeoutMs: 200, indirectChecks: 3, gossipIntervalMs: 200, gossipNodes: 3, pushPullIntervalMs: 30_000 });
    const o = resolveSwimOptions({ name: 'a', preset: 'wan', gossipNodes: 5 });
    expect(o.probeIntervalMs).toBe(Presets.wan.probeIntervalMs);
    expect(o.gossipNodes).toBe(5);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects bad values with InvalidConfigError naming the field', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'a', probeIntervalMs: 0 }, 'probeIntervalMs'],
      [{ name: 'a', probeTimeoutMs: 500 }, 'probeTimeoutMs'],
      [{ name: 'a', lifeguard: 'maybe' }, 'lifeguard'],
      [{ name: 'a', preset: 'moon' }, 'preset'],
      [{ name: 'a', broadcastShare: 2 }, 'broadcastShare'],
      [{ name: 'a', meta: new Uint8Array(600) }, 'meta'],
      [{ name: 'a', port: 70_000 }, 'port'],
    ];
    for (const [input, field] of bad) {
      try {
        resolveSwimOptions(input as never);
        expect.unreachable(field);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidConfigError);
        expect((e as InvalidConfigError).field).toBe(field);
      }
    }
  });

  it('the core resolves its options once, at construction', () => {
    expect(() => new Swim({ name: 'a', indirectChecks: -1 }, { rng: new Sfc32(1), now: 0 })).toThrow(InvalidConfigError);
  });
});

describe('node metadata', () => {
  it('round-trips datacenter, rack, capacity and tags within the bound', () => {
    const meta = { datacenter: 'eu-west', rack: 'r12', capacity: 300, tags: { role: 'api', zone: 'b' } };
    const bytes = encodeNodeMeta(meta);
    expect(decodeNodeMeta(bytes)).toEqual(meta);
    expect(() => encodeNodeMeta({ ...meta, tags: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(20)])) })).toThrow(/limit/);
  });

  it('returns null for bytes that are not metadata', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const m = decodeNodeMeta(b);
        if (m !== null) expect(encodeNodeMeta(m, 1_024).length).toBeLessThanOrEqual(b.length);
      }),
    );
    expect(decodeNodeMeta(new Uint8Array(0))).toBeNull();
  });
});

describe('peer registry', () => {
  const view = (name: string, state: 'alive' | 'suspect' | 'dead') => ({ name, address: `${name}:1`, host: name, port: 1, incarnation: 0, state, meta: new Uint8Array(0), since: 0 });
  it('tracks Healthy / Suspected / Down, counters, and quorum', () => {
    const r = new PeerRegistry();
    r.apply([{ type: 'member-joined', member: view('b', 'alive') }, { type: 'member-joined', member: view('c', 'alive') }, { type: 'member-joined', member: view('d', 'alive') }], 0);
    expect(r.status()).toEqual({ total: 4, healthy: 4, suspected: 0, down: 0, degraded: false, quorumAvailable: true });
    r.apply([{ type: 'member-suspected', member: view('b', 'suspect'), from: 'c' }, { type: 'probe-failed', node: 'b' }], 5);
    r.apply([{ type: 'member-dead', member: view('c', 'dead'), from: 'a' }], 6);
    r.recordIn('d', 100, 7);
    r.recordOut('d', 40);
    expect(r.get('b')).toMatchObject({ health: 'suspected', missedProbes: 1, since: 5 });
    expect(r.get('d')).toMatchObject({ bytesIn: 100, bytesOut: 40, lastSeen: 7 });
    expect(r.status()).toEqual({ total: 4, healthy: 2, suspected: 1, down: 1, degraded: true, quorumAvailable: false });
    r.apply([{ type: 'member-left', member: view('c', 'dead') }], 8);
    expect(r.status().total).toBe(3);
  });
});
