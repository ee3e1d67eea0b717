import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, NoEligibleNodeError } from '../../src/shared/errors.js';
import type { SwimEvent } from '../../src/main/membership/events.js';
import type { LocalState, MemberView } from '../../src/main/membership/member.js';
import { encodeNodeMeta } from '../../src/main/membership/node-meta.js';
import { Router } from '../../src/main/routing/router.js';
import { resolveRouterOptions } from '../../src/main/routing/router-options.js';
import { STRATEGY_NAMES } from '../../src/main/routing/strategy.js';
import { routerWith } from './helpers.js';

function member(name: string, state: LocalState, dc = 'dc1', rack = 'r1', capacity = 0): MemberView {
  return { name, address: `${name}:7946`, host: name, port: 7946, incarnation: 1, state, meta: encodeNodeMeta({ datacenter: dc, rack, capacity, tags: { role: 'web' } }), since: 0 };
}

describe('Router eligibility', () => {
  it('never routes to a suspected or dead node, for any strategy, states and requests (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('state' as const), node: fc.nat(7), state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const) }),
      fc.record({ kind: fc.constant('remove' as const), node: fc.nat(7) }),
      fc.record({ kind: fc.constant('route' as const), key: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }), session: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: undefined }), dtMs: fc.nat(5_000) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...STRATEGY_NAMES), fc.array(op, { maxLength: 80 }), (strategy, ops) => {
        const r = new Router({ strategy, datacenter: 'dc0', hotspotThresholdQps: 2, hotspotWindowMs: 10_000 });
        for (let i = 0; i < 8; i++) r.setNode(`n${i}`, { state: 'alive', datacenter: `dc${i % 2}`, rack: `r${i % 3}`, weight: 1 + (i % 3) });
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'state') r.setNode(`n${o.node}`, { state: o.state });
          else if (o.kind === 'remove') r.removeNode(`n${o.node}`);
          else {
            now += o.dtMs;
            const alive = r.eligibleIds();
            if (alive.length === 0) {
              expect(() => r.route({ key: o.key, session: o.session }, now)).toThrow(NoEligibleNodeError);
            } else {
              const id = r.route({ key: o.key, session: o.session }, now);
              expect(r.stateOf(id)).toBe('alive');
            }
          }
        }
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('throws NoEligibleNodeError with the counts when no node is alive', () => {
    const r = routerWith(3);
    r.setState('node-0', 'suspect');
    r.setState('node-1', 'dead');
    r.setState('node-2', 'dead');
    try {
      r.route({}, 0);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NoEligibleNodeError);
      expect((e as NoEligibleNodeError).code).toBe('ERR_NO_ELIGIBLE_NODE');
      expect([(e as NoEligibleNodeError).known, (e as NoEligibleNodeError).unavailable]).toEqual([3, 3]);
    }
    expect(r.stats.failures).toBe(1);
    expect(() => new Router().route({ key: 'k' }, 0)).toThrow(NoEligibleNodeError);
  });

  it('follows membership events: metadata from gossip, suspect and dead excluded, left forgotten', () => {
    const r = new Router({ strategy: 'locality', datacenter: 'dc1', rack: 'r1', hotspotThresholdQps: 1e12 });
    const events: SwimEvent[] = [
      { type: 'member-joined', member: member('a', 'alive', 'dc1', 'r1', 4) },
      { type: 'member-joined', member: member('b', 'alive', 'dc2', 'r1') },
    ];
    r.applyMembership(events);
    expect(r.route({}, 0)).toBe('a');
    r.applyMembership([{ type: 'member-suspected', member: member('a', 'suspect', 'dc1', 'r1', 4), from: 'b' }]);
    expect(r.stateOf('a')).toBe('suspect');
    expect(r.route({}, 0)).toBe('b');
    r.applyMembership([{ type: 'member-alive', member: member('a', 'alive', 'dc1', 'r1', 4) }]);
    expect(r.route({}, 0)).toBe('a');
    r.applyMembership([{ type: 'member-dead', member: member('a', 'dead', 'dc1', 'r1', 4), from: 'b' }]);
    expect(r.route({}, 0)).toBe('b');
    r.applyMembership([{ type: 'member-left', member: member('b', 'left', 'dc2', 'r1') }]);
    expect(r.stateOf('b')).toBeUndefined();
    expect(r.size).toBe(1);
    expect(() => r.route({}, 0)).toThrow(NoEligibleNodeError);
  });

  it('takes weights from gossiped capacity (0 counts as 1)', () => {
    const r = new Router({ strategy: 'weighted-round-robin', hotspotThresholdQps: 1e12 });
    r.applyMembership([
      { type: 'member-joined', member: member('a', 'alive', 'dc1', 'r1', 3) },
      { type: 'member-joined', member: member('b', 'alive', 'dc1', 'r1', 0) },
    ]);
    const picks = Array.from({ length: 8 }, () => r.route({}, 0));
    expect(picks.filter((p) => p === 'a').length).toBe(6);
  });

  it('bounds the nodes it tracks and rejects bad node input', () => {
    const r = new Router({ maxNodes: 2 });
    r.setNode('a', { state: 'alive' });
    r.setNode('b', { state: 'alive' });
    expect(() => r.setNode('c', { state: 'alive' })).toThrow(InvalidConfigError);
    r.setNode('a', { state: 'dead' });
    expect(() => r.setNode('a', { state: 'alive', weight: 0 })).toThrow(RangeError);
    expect(() => r.setNode('', { state: 'alive' })).toThrow(RangeError);
    expect(() => r.setLatency('a', Number.NaN)).toThrow(RangeError);
  });
});

describe('resolveRouterOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveRouterOptions();
    expect(o).toEqual({
      strategy: 'adaptive',
      adaptiveWeights: { load: 0.3, latency: 0.3, resource: 0.2, locality: 0.2 },
      datacenter: '',
      rack: '',
      hotspotThresholdQps: 1_000,
      hotspotWindowMs: 60_000,
      hotspotBucketMs: 1_000,
      hotspotCoolRatio: 0.9,
      affinityTimeoutMs: 3_600_000,
      maxAffinitySessions: 100_000,
      maxNodes: 65_536,
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ strategy: 'random' }, 'strategy'],
    [{ adaptiveWeights: { load: -1 } }, 'adaptiveWeights.load'],
    [{ adaptiveWeights: { load: 0, latency: 0, resource: 0, locality: 0 } }, 'adaptiveWeights'],
    [{ hotspotThresholdQps: 0 }, 'hotspotThresholdQps'],
    [{ hotspotWindowMs: 1.5 }, 'hotspotWindowMs'],
    [{ hotspotBucketMs: 120_000 }, 'hotspotBucketMs'],
    [{ hotspotWindowMs: 3_600_000, hotspotBucketMs: 10 }, 'hotspotBucketMs'],
    [{ hotspotCoolRatio: 1.5 }, 'hotspotCoolRatio'],
    [{ affinityTimeoutMs: 0 }, 'affinityTimeoutMs'],
    [{ maxAffinitySessions: -1 }, 'maxAffinitySessions'],
    [{ maxNodes: 0 }, 'maxNodes'],
    [{ datacenter: 3 }, 'datacenter'],
  ])('rejects %j naming %s', (input, field) => {
    try {
      resolveRouterOptions(input as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidConfigError);
      expect((e as InvalidConfigError).field).toBe(field);
    }
  });
});
