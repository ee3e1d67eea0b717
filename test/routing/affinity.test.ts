import { describe, expect, it } from 'vitest';
import { AffinityTable } from '../../src/main/routing/affinity.js';
import { routerWith } from './helpers.js';

const HOUR = 3_600_000;

describe('sticky sessions in the Router', () => {
  it('sends a session to the node that first served it, whatever the strategy would pick', () => {
    const r = routerWith(5, { strategy: 'round-robin' });
    const first = r.route({ session: 'alice' }, 0);
    for (let i = 1; i <= 20; i++) expect(r.route({ session: 'alice' }, i * 1_000)).toBe(first);
    expect(r.stats.affinityHits).toBe(20);
  });

  it('forgets a session idle for the 1 h timeout; each use renews it (virtual clock)', () => {
    const r = routerWith(5, { strategy: 'round-robin' });
    expect(r.options.affinityTimeoutMs).toBe(HOUR);
    const first = r.route({ session: 'alice' }, 0);
    r.route({}, 1); // move the round-robin cursor
    expect(r.route({ session: 'alice' }, HOUR - 1)).toBe(first); // renewed until 2 h - 1
    expect(r.route({ session: 'alice' }, 2 * HOUR - 2)).toBe(first);
    const hits = r.stats.affinityHits;
    const later = r.route({ session: 'alice' }, 3 * HOUR - 1); // idle exactly the timeout
    expect(r.stats.affinityHits).toBe(hits);
    expect(later).not.toBe(first);
    expect(r.sessions).toBe(1);
  });

  it('drops expired sessions without being asked about them', () => {
    const r = routerWith(3);
    for (let i = 0; i < 100; i++) r.route({ session: `s${i}` }, 0);
    expect(r.sessions).toBe(100);
    r.route({}, HOUR + 1_000);
    expect(r.sessions).toBe(0);
  });

  it('moves a session whose node is suspected or gone, and keeps it on the new node', () => {
    const r = routerWith(4, { strategy: 'round-robin' });
    const first = r.route({ session: 'bob' }, 0);
    r.setState(first, 'suspect');
    const second = r.route({ session: 'bob' }, 10);
    expect(second).not.toBe(first);
    expect(r.stats.affinityMoves).toBe(1);
    r.setState(first, 'alive');
    expect(r.route({ session: 'bob' }, 20)).toBe(second);
    r.removeNode(second);
    const third = r.route({ session: 'bob' }, 30);
    expect([first, second]).not.toContain(third === first ? '' : third);
    expect(third).not.toBe(second);
  });

  it('binds a keyed session where its key lives', () => {
    const r = routerWith(6, { strategy: 'round-robin' });
    const owner = r.route({ key: 'cart-17' }, 0);
    expect(r.route({ key: 'cart-17', session: 'carol' }, 0)).toBe(owner);
  });

  it('is off with maxAffinitySessions 0', () => {
    const r = routerWith(3, { strategy: 'round-robin', maxAffinitySessions: 0 });
    const a = r.route({ session: 'x' }, 0);
    expect(r.route({ session: 'x' }, 0)).not.toBe(a);
    expect(r.sessions).toBe(0);
  });
});

describe('AffinityTable', () => {
  it('holds at most maxEntries, evicting the least recently used', () => {
    const t = new AffinityTable<string>(HOUR, 3);
    t.bind('a', 'n1', 0);
    t.bind('b', 'n2', 1);
    t.bind('c', 'n3', 2);
    expect(t.lookup('a', 3)).toBe('n1'); // a is now the most recent
    t.bind('d', 'n4', 4);
    expect(t.size).toBe(3);
    expect(t.evictions).toBe(1);
    expect(t.lookup('b', 5)).toBeUndefined();
    expect(t.lookup('a', 5)).toBe('n1');
    expect(t.lookup('d', 5)).toBe('n4');
  });

  it('expires from the front only as far as needed, and counts it', () => {
    const t = new AffinityTable<number>(100, 10);
    for (let i = 0; i < 5; i++) t.bind(`s${i}`, i, i * 10);
    expect(t.sweep(125)).toBe(3); // s0, s1, s2 expire at 100, 110, 120
    expect(t.size).toBe(2);
    expect(t.expirations).toBe(3);
    expect(t.lookup('s3', 129)).toBe(3);
    expect(t.lookup('s4', 140)).toBe(undefined);
    expect(t.unbindWhere((n) => n === 3)).toBe(1);
    expect(t.size).toBe(0);
  });
});
