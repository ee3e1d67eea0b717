// The compact member table: slots from the directory, columns, the maps for
// what is rare, forgetting and recycling, and a shared directory.
import { describe, expect, it } from 'vitest';
import { MemberDirectory } from '../../src/main/membership/member-directory.js';
import { MemberTable } from '../../src/main/membership/member-table.js';
import { MemberState } from '../../src/main/membership/messages.js';
import { Swim } from '../../src/main/membership/swim.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';
import { addr, gossipOf, record } from './helpers.js';

const NO_META = new Uint8Array(0);

function table(directory = new MemberDirectory(), seed = 1): MemberTable {
  return new MemberTable(new Sfc32(seed), directory);
}

/** The names of the next `picks` probe targets. */
function probes(t: MemberTable, picks: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < picks; i++) {
    const s = t.nextProbeTarget();
    if (s < 0) break;
    out.push(t.name(s));
  }
  return out;
}

describe('member table', () => {
  it('keeps state, incarnation, since and endpoint per slot, and reports them as views', () => {
    const t = table();
    const s = t.add('b', 'hb', 7000, 4, MemberState.Alive, NO_META, 10);
    expect(t.find('b')).toBe(s);
    expect(t.find('zz')).toBe(-1);
    expect(t.view(s)).toEqual({ name: 'b', address: 'hb:7000', host: 'hb', port: 7000, incarnation: 4, state: 'alive', meta: NO_META, since: 10 });
    t.set(s, MemberState.Suspect, 4, 20, '', 0, null);
    expect(t.view(s)).toMatchObject({ state: 'suspect', since: 20, address: 'hb:7000' });
    t.set(s, MemberState.Suspect, 5, 30, '', 0, null);
    expect(t.since(s)).toBe(20);
    expect(t.liveCount).toBe(1);
    t.set(s, MemberState.Dead, 5, 40, '', 0, null);
    expect(t.liveCount).toBe(0);
  });

  it('holds incarnations of 2^32 - 1 and above exactly', () => {
    const t = table();
    const big = 2 ** 40 + 3;
    const s = t.add('b', 'hb', 1, 0xffff_fffe, MemberState.Alive, NO_META, 0);
    expect(t.incarnation(s)).toBe(0xffff_fffe);
    t.set(s, MemberState.Alive, 0xffff_ffff, 1, '', 0, null);
    expect(t.incarnation(s)).toBe(0xffff_ffff);
    t.set(s, MemberState.Alive, big, 2, '', 0, null);
    expect(t.incarnation(s)).toBe(big);
    expect(t.record(s).incarnation).toBe(big);
  });

  it('an alive claim with a new address moves the member; the shared canonical endpoint stays for others', () => {
    const dir = new MemberDirectory();
    const a = table(dir);
    const b = table(dir);
    const sa = a.add('x', 'h1', 1, 0, MemberState.Alive, NO_META, 0);
    const sb = b.add('x', 'h1', 1, 0, MemberState.Alive, NO_META, 0);
    expect(sa).toBe(sb);
    a.set(sa, MemberState.Alive, 1, 5, 'h2', 2, null);
    expect(a.address(sa)).toBe('h2:2');
    expect(b.address(sb)).toBe('h1:1');
    a.set(sa, MemberState.Alive, 2, 6, 'h1', 1, null);
    expect(a.endpoint(sa)).toBe(b.endpoint(sb));
  });

  it('keeps non-empty metadata per member, and drops it when replaced by none', () => {
    const t = table();
    const meta = Uint8Array.of(1, 2, 3);
    const s = t.add('b', 'hb', 1, 0, MemberState.Alive, meta, 0);
    const other = t.add('c', 'hc', 1, 0, MemberState.Alive, NO_META, 0);
    expect(t.meta(s)).toEqual(meta);
    expect(t.meta(other).length).toBe(0);
    expect(t.update(s, 'a').meta).toEqual(meta);
    t.set(s, MemberState.Suspect, 0, 1, '', 0, null);
    expect(t.update(s, 'a').meta.length).toBe(0);
    t.set(s, MemberState.Alive, 1, 2, 'hb', 1, new Uint8Array(0));
    expect(t.meta(s).length).toBe(0);
  });

  it('SWIM 4.3: every live member once per pass; dead ones leave the order', () => {
    const t = table();
    const names = ['b', 'c', 'd', 'e', 'f'];
    t.addAll(names.map((n) => record(n)), 'a', 0);
    expect(probes(t, 5).sort()).toEqual(names);
    t.set(t.find('d'), MemberState.Dead, 0, 1, '', 0, null);
    expect(probes(t, 4).sort()).toEqual(['b', 'c', 'e', 'f']);
    t.set(t.find('d'), MemberState.Alive, 1, 2, '', 0, null);
    expect(probes(t, 10).sort()).toEqual(['b', 'b', 'c', 'c', 'd', 'd', 'e', 'e', 'f', 'f']);
  });

  it('forgets long-dead members, recycles their slot, and a recycled slot is probed once per pass', () => {
    const dir = new MemberDirectory();
    const t = table(dir);
    t.addAll(['b', 'c', 'd'].map((n) => record(n)), 'a', 0);
    const c = t.find('c');
    t.set(c, MemberState.Dead, 0, 100, '', 0, null);
    t.reap(50);
    expect(t.find('c')).toBe(c);
    t.reap(101);
    expect(t.find('c')).toBe(-1);
    expect(t.size).toBe(2);
    expect(dir.size).toBe(2);
    // The forgotten slot goes to the next new name.
    const e = t.add('e', 'e', 7946, 0, MemberState.Alive, NO_META, 200);
    expect(e).toBe(c);
    expect(probes(t, 6).sort()).toEqual(['b', 'b', 'd', 'd', 'e', 'e']);
  });

  it('a shared directory keeps a name while any table holds it', () => {
    const dir = new MemberDirectory();
    const a = table(dir);
    const b = table(dir);
    a.add('x', 'x', 1, 0, MemberState.Alive, NO_META, 0);
    const sb = b.add('x', 'x', 1, 0, MemberState.Alive, NO_META, 0);
    a.set(a.find('x'), MemberState.Left, 0, 1, '', 0, null);
    a.reap(10);
    expect(a.find('x')).toBe(-1);
    expect(b.find('x')).toBe(sb);
    expect(dir.lookup('x')).toBe(sb);
    b.set(sb, MemberState.Dead, 0, 1, '', 0, null);
    b.reap(10);
    expect(dir.lookup('x')).toBe(-1);
  });

  it('samples distinct members that pass the filter, never the excluded one', () => {
    const t = table();
    t.addAll(['b', 'c', 'd', 'e', 'f', 'g'].map((n) => record(n)), 'a', 0);
    t.set(t.find('g'), MemberState.Dead, 0, 1, '', 0, null);
    const out: number[] = [];
    t.sample(10, t.find('b'), (s) => t.isLive(s), out, 0);
    expect(out.map((s) => t.name(s)).sort()).toEqual(['c', 'd', 'e', 'f']);
    expect(t.nextDead()).toBe(t.find('g'));
  });
});

describe('cores sharing a directory', () => {
  it('keep separate views: what one core learns, another does not', () => {
    const dir = new MemberDirectory();
    const names = ['a', 'b', 'c', 'd'];
    const make = (name: string, shared: boolean) => {
      const s = new Swim({ name, host: name, port: 7946 }, { rng: new Sfc32(3), now: 0, ...(shared ? { directory: dir } : {}) });
      s.restore(names.map((n) => record(n)), 0);
      return s;
    };
    for (const shared of [false, true]) {
      const cores = names.map((n) => make(n, shared));
      const a = cores[0];
      a.receive(addr('b'), gossipOf('b', [{ node: 'c', state: MemberState.Suspect, incarnation: 0 }]), 10);
      a.receive(addr('b'), gossipOf('b', [{ node: 'e', state: MemberState.Alive, incarnation: 2 }]), 20);
      expect(a.stateOf('c')).toBe('suspect');
      expect(a.member('e')).toMatchObject({ incarnation: 2, address: 'e:7946' });
      expect(cores[1].stateOf('e')).toBeUndefined();
      expect(cores[1].members().map((m) => m.name).sort()).toEqual(['a', 'c', 'd']);
    }
  });
});
