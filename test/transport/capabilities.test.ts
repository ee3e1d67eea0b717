// Capability negotiation and option validation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import type { Capabilities } from '../../src/shared/schema/layout.js';
import { capabilitiesProblem, negotiateCapabilities } from '../../src/main/transport/capabilities.js';
import { resolveHandshakeOptions } from '../../src/main/transport/handshake-options.js';

describe('negotiateCapabilities', () => {
  it('keeps the initiator order, drops unknown and duplicate entries', () => {
    const initiator: Capabilities = { compression: [2, 9, 1, 2, 0], maxFrameBytes: 4096, maxStreams: 10, features: ['b', 'a', 'b', 'z'] };
    const acceptor: Capabilities = { compression: [0, 1, 2], maxFrameBytes: 2048, maxStreams: 20, features: ['a', 'b', 'c'] };
    expect(negotiateCapabilities(initiator, acceptor)).toEqual({ compression: [2, 1, 0], maxFrameBytes: 2048, maxStreams: 10, features: ['b', 'a'] });
  });

  it('gives both sides one answer for the same announcements, whichever order they are applied from', () => {
    const caps = fc.record({
      compression: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 6 }),
      maxFrameBytes: fc.integer({ min: 1024, max: 2 ** 32 - 1 }),
      maxStreams: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      features: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(caps, caps, (i, a) => {
        const r = negotiateCapabilities(i, a);
        // Sets: the intersection, whichever way round.
        const back = negotiateCapabilities(a, i);
        expect(new Set(r.compression)).toEqual(new Set(back.compression));
        expect(new Set(r.features)).toEqual(new Set(back.features));
        for (const c of r.compression) expect(i.compression.includes(c) && a.compression.includes(c)).toBe(true);
        expect(new Set(r.compression).size).toBe(r.compression.length);
        // Order: as the initiator listed them.
        const order = r.compression.map((c) => i.compression.indexOf(c));
        expect([...order].sort((x, y) => x - y)).toEqual(order);
        expect(r.maxFrameBytes).toBe(Math.min(i.maxFrameBytes, a.maxFrameBytes));
        expect(r.maxStreams).toBe(Math.min(i.maxStreams, a.maxStreams));
      }),
    );
  });
});

describe('capabilitiesProblem', () => {
  const good: Capabilities = { compression: [1], maxFrameBytes: 65_536, maxStreams: 8, features: [] };
  it('accepts a valid announcement, unknown ids included', () => {
    expect(capabilitiesProblem(good)).toBeNull();
    expect(capabilitiesProblem({ ...good, compression: [200, 7] })).toBeNull();
  });
  it('refuses missing or out-of-range values', () => {
    expect(capabilitiesProblem(null)).toMatch(/missing/);
    expect(capabilitiesProblem({ ...good, maxFrameBytes: 0 })).toMatch(/maxFrameBytes/);
    expect(capabilitiesProblem({ ...good, maxStreams: -1 })).toMatch(/maxStreams/);
    expect(capabilitiesProblem({ ...good, compression: [256] })).toMatch(/compression/);
    expect(capabilitiesProblem({ ...good, compression: new Array(257).fill(1) })).toMatch(/compression/);
    expect(capabilitiesProblem({ ...good, features: [1 as unknown as string] })).toMatch(/features/);
  });
});

describe('resolveHandshakeOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveHandshakeOptions({ nodeId: 'n1', cluster: 'c' });
    expect(o.clockSkewMs).toBe(30_000);
    expect(o.handshakeTimeoutMs).toBe(10_000);
    expect(o.nonceBytes).toBe(16);
    expect(o.replayCacheMaxEntries).toBe(65_536);
    expect(o.versions).toEqual([1]);
    expect(o.secret).toBeNull();
    expect(o.advertise).toBe('');
    expect(o.capabilities).toEqual({ compression: [1, 2], maxFrameBytes: 16 * 1024 * 1024, maxStreams: 256, features: [] });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('sorts versions highest first and copies the secret', () => {
    const secret = Buffer.from('0123456789abcdef');
    const o = resolveHandshakeOptions({ nodeId: 'n1', cluster: 'c', versions: [1, 3, 2, 3], secret });
    expect(o.versions).toEqual([3, 2, 1]);
    secret[0] = 0;
    expect(o.secret![0]).toBe('0'.charCodeAt(0));
  });

  const bad: [string, Record<string, unknown>][] = [
    ['nodeId', { nodeId: '' }],
    ['nodeId', { nodeId: 'x'.repeat(256) }],
    ['nodeId', { nodeId: '\ud800' }],
    ['cluster', { cluster: 5 }],
    ['advertise', { advertise: 'a'.repeat(300) }],
    ['versions', { versions: [] }],
    ['versions', { versions: [0] }],
    ['versions', { versions: [16] }],
    ['compression', { compression: ['gzip'] }],
    ['compression', { compression: ['lz4', 'lz4'] }],
    ['maxFrameBytes', { maxFrameBytes: 100 }],
    ['maxStreams', { maxStreams: -1 }],
    ['features', { features: ['a', 'a'] }],
    ['features', { features: [''] }],
    ['secret', { secret: 'short' }],
    ['secret', { secret: 42 }],
    ['clockSkewMs', { clockSkewMs: 0 }],
    ['clockSkewMs', { clockSkewMs: 1.5 }],
    ['handshakeTimeoutMs', { handshakeTimeoutMs: -5 }],
    ['nonceBytes', { nonceBytes: 8 }],
    ['nonceBytes', { nonceBytes: 65 }],
    ['replayCacheMaxEntries', { replayCacheMaxEntries: 0 }],
  ];
  for (const [field, change] of bad) {
    it(`refuses ${JSON.stringify(change).slice(0, 50)} naming ${field}`, () => {
      let error: unknown;
      try {
        resolveHandshakeOptions({ nodeId: 'n1', cluster: 'c', ...change } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    });
  }
});
