import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import { StaticSeeds } from '../../src/main/discovery/static-seeds.js';
import { dedupeSeeds, parseSeed, seedAddress } from '../../src/main/discovery/seed-source.js';

describe('parseSeed', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 7946],
    ['10.0.0.1:8000', '10.0.0.1', 8000],
    ['Node-A.Example.com:1', 'node-a.example.com', 1],
    ['[fd00::1]:9000', 'fd00::1', 9000],
    ['[fd00::1]', 'fd00::1', 7946],
    ['fd00::1', 'fd00::1', 7946],
    ['  seed.local  ', 'seed.local', 7946],
  ])('reads %j', (text, host, port) => {
    expect(parseSeed(text)).toEqual({ host, port });
  });

  it.each(['', 'host:', 'host:0', 'host:65536', 'host:12a', '[fd00::1', '[10.0.0.1]:5', 'bad host', '-lead.example', '[fd00::1]x'])('refuses %j', (text) => {
    expect(parseSeed(text)).toBeNull();
  });

  it('writes IPv6 seeds back with brackets', () => {
    expect(seedAddress({ host: 'fd00::1', port: 5 })).toBe('[fd00::1]:5');
    expect(seedAddress({ host: 'a.example', port: 5 })).toBe('a.example:5');
  });
});

describe('StaticSeeds', () => {
  it('gives its list normalized, deduplicated and sorted', async () => {
    const src = new StaticSeeds({ seeds: ['b.example', { host: 'A.example', port: 9 }, 'b.example:7946', '[::1]:5'], defaultPort: 7946 });
    const seeds = await src.resolve();
    expect(seeds.map(seedAddress)).toEqual(['[::1]:5', 'a.example:9', 'b.example:7946']);
    expect(src.seeds).toBe(seeds);
    expect(dedupeSeeds(seeds)).toEqual(seeds);
  });

  it('refuses a bad seed naming its index', () => {
    try {
      new StaticSeeds({ seeds: ['ok.example', 'bad host'] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidConfigError);
      expect((e as InvalidConfigError).field).toBe('seeds[1]');
    }
    expect(() => new StaticSeeds({ seeds: [], defaultPort: 0 })).toThrow(InvalidConfigError);
  });
});
