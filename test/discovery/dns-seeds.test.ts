import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError, SeedSourceError } from '../../src/shared/errors.js';
import { DnsSeeds, resolveDnsSeedsOptions } from '../../src/main/discovery/dns-seeds.js';
import type { Seed } from '../../src/main/discovery/seed-source.js';
import { TestDnsServer } from './dns-server.js';
import { ManualScheduler } from './manual-scheduler.js';

let dns: TestDnsServer;
let server: string;

beforeAll(async () => {
  dns = new TestDnsServer();
  server = await dns.start();
  // a headless service: one A/AAAA record per ready pod
  dns.zone.a.set('gossip.cluster.test', ['10.0.0.2', '10.0.0.1', '10.0.0.2']);
  dns.zone.aaaa.set('gossip.cluster.test', ['fd00::1']);
  dns.zone.a.set('v4only.cluster.test', ['10.0.1.1']);
  // its SRV records, targets named per pod
  dns.zone.srv.set('_gossip._tcp.gossip.cluster.test', [
    { priority: 10, weight: 5, port: 7946, target: 'pod-0.gossip.cluster.test' },
    { priority: 10, weight: 5, port: 7946, target: 'pod-1.gossip.cluster.test' },
    { priority: 20, weight: 1, port: 8946, target: 'pod-1.gossip.cluster.test' },
  ]);
  dns.zone.a.set('pod-0.gossip.cluster.test', ['10.0.0.10']);
  dns.zone.a.set('pod-1.gossip.cluster.test', ['10.0.0.11']);
  dns.zone.aaaa.set('pod-1.gossip.cluster.test', ['fd00::11']);
  dns.zone.a.set('broken.cluster.test', []);
  dns.zone.failing.add('broken.cluster.test');
});

afterAll(async () => {
  await dns.close();
});

const hosts = (seeds: readonly Seed[]): string[] => seeds.map((s) => `${s.host}:${s.port}`);

describe('DnsSeeds against a DNS server on loopback', () => {
  it('reads A and AAAA records with the configured port, deduplicated', async () => {
    const src = new DnsSeeds({ name: 'gossip.cluster.test', servers: [server], port: 7000 });
    expect(hosts(await src.resolve())).toEqual(['10.0.0.1:7000', '10.0.0.2:7000', 'fd00::1:7000']);
    expect(src.seeds).toHaveLength(3);
    expect(dns.queries).toEqual(expect.arrayContaining(['A gossip.cluster.test', 'AAAA gossip.cluster.test']));
    src.close();
  });

  it('treats a missing record type as none', async () => {
    const src = new DnsSeeds({ name: 'v4only.cluster.test', servers: [server] });
    expect(hosts(await src.resolve())).toEqual(['10.0.1.1:7946']);
    src.close();
  });

  it('gives no seeds for a name that does not exist', async () => {
    const src = new DnsSeeds({ name: 'nobody.cluster.test', servers: [server] });
    expect(await src.resolve()).toEqual([]);
    src.close();
  });

  it('reads SRV records and resolves their targets, each with the record port', async () => {
    const src = new DnsSeeds({ name: '_gossip._tcp.gossip.cluster.test', records: 'srv', servers: [server] });
    expect(hosts(await src.resolve())).toEqual(['10.0.0.10:7946', '10.0.0.11:7946', '10.0.0.11:8946', 'fd00::11:7946', 'fd00::11:8946']);
    src.close();
  });

  it('can keep SRV target names as seeds', async () => {
    const src = new DnsSeeds({ name: '_gossip._tcp.gossip.cluster.test', records: 'srv', resolveSrvTargets: false, servers: [server] });
    expect(hosts(await src.resolve())).toEqual(['pod-0.gossip.cluster.test:7946', 'pod-1.gossip.cluster.test:7946', 'pod-1.gossip.cluster.test:8946']);
    src.close();
  });

  it('rejects with SeedSourceError when the server fails', async () => {
    const src = new DnsSeeds({ name: 'broken.cluster.test', servers: [server], tries: 1, timeoutMs: 500 });
    await expect(src.resolve()).rejects.toThrow(SeedSourceError);
    await expect(src.resolve()).rejects.toMatchObject({ code: 'ERR_SEED_SOURCE', source: 'dns:broken.cluster.test' });
    src.close();
  });

  it('re-resolves on its schedule, tells subscribers about changes only, and keeps the last seeds on failure', async () => {
    dns.zone.a.set('scale.cluster.test', ['10.1.0.1']);
    const scheduler = new ManualScheduler();
    const src = new DnsSeeds({ name: 'scale.cluster.test', servers: [server], reResolveIntervalMs: 10_000, tries: 1, timeoutMs: 500 }, { scheduler });
    const changes: string[][] = [];
    const errors: SeedSourceError[] = [];
    let wake: () => void = () => {};
    src.subscribe(
      (seeds) => {
        changes.push(hosts(seeds));
        wake();
      },
      (e) => {
        errors.push(e);
        wake();
      },
    );
    const next = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    let event = next();
    src.start();
    expect([...scheduler.tasks.values()].map((t) => t.intervalMs)).toEqual([10_000]);
    await event;
    expect(changes).toEqual([['10.1.0.1:7946']]);

    dns.zone.a.set('scale.cluster.test', ['10.1.0.1', '10.1.0.2']); // scaled up
    event = next();
    scheduler.fire();
    await event;
    expect(changes.at(-1)).toEqual(['10.1.0.1:7946', '10.1.0.2:7946']);

    await src.resolve(); // the same set again: no change reported
    expect(changes).toHaveLength(2);

    dns.zone.failing.add('scale.cluster.test');
    event = next();
    scheduler.fire();
    await event;
    expect(errors).toHaveLength(1);
    expect(src.seeds.map((s) => s.host)).toEqual(['10.1.0.1', '10.1.0.2']);

    dns.zone.failing.delete('scale.cluster.test');
    dns.zone.a.set('scale.cluster.test', ['10.1.0.2']); // scaled down
    event = next();
    scheduler.fire();
    await event;
    expect(changes.at(-1)).toEqual(['10.1.0.2:7946']);
    src.close();
    expect(scheduler.tasks.size).toBe(0);
  });

  it('validates its options, naming the field', () => {
    for (const [input, field] of [
      [{ name: '' }, 'name'],
      [{ name: 'x', records: 'mx' }, 'records'],
      [{ name: 'x', port: 0 }, 'port'],
      [{ name: 'x', servers: [] }, 'servers'],
      [{ name: 'x', reResolveIntervalMs: 5 }, 'reResolveIntervalMs'],
      [{ name: 'x', tries: 0 }, 'tries'],
    ] as const) {
      try {
        resolveDnsSeedsOptions(input as never);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidConfigError);
        expect((e as InvalidConfigError).field).toBe(field);
      }
    }
    expect(() => new DnsSeeds({ name: 'x', servers: ['not an address'] })).toThrow(InvalidConfigError);
  });
});
