// The one-leader-per-term checker and the membership-driven voter set.
import { describe, expect, it } from 'vitest';
import { LeaderLedger } from '../../src/main/leadership/leader-ledger.js';
import { MembershipVoters } from '../../src/main/leadership/voters.js';
import type { MemberView } from '../../src/main/membership/member.js';

describe('LeaderLedger', () => {
  it('accepts one leader per term, and the same node leading again in a newer term', () => {
    const l = new LeaderLedger();
    l.observe('a', [{ type: 'role-changed', role: 'leader', term: 1, reason: 'elected' }, { type: 'leader-changed', leader: 'a', term: 1 }], 0);
    l.observe('b', [{ type: 'leader-changed', leader: 'a', term: 1 }], 1);
    l.observe('a', [{ type: 'role-changed', role: 'leader', term: 3, reason: 'elected' }], 2);
    expect(l.violations).toEqual([]);
    expect([l.terms, l.highestTerm, l.leaderOf(1)]).toEqual([2, 3, 'a']);
  });

  it('reports a second leader in a term, and a follower of a leader nobody elected', () => {
    const l = new LeaderLedger();
    l.observe('a', [{ type: 'role-changed', role: 'leader', term: 2, reason: 'elected' }], 0);
    l.observe('b', [{ type: 'role-changed', role: 'leader', term: 2, reason: 'elected' }], 5);
    l.observe('c', [{ type: 'leader-changed', leader: 'b', term: 4 }], 6);
    expect(l.violations.map((v) => [v.at, v.term, v.observer])).toEqual([
      [5, 2, 'b'],
      [6, 4, 'c'],
    ]);
  });
});

describe('MembershipVoters', () => {
  const view = (name: string): MemberView => ({ name }) as unknown as MemberView;

  it('adds joined and returning members, keeps suspected and dead ones, drops members that left', () => {
    const v = new MembershipVoters(['a', 'b', 'c']);
    expect(v.apply([{ type: 'member-joined', member: view('d') }])).toBe(true);
    expect(v.apply([{ type: 'member-joined', member: view('d') }])).toBe(false);
    expect(v.apply([{ type: 'member-dead', member: view('b'), from: 'a' }, { type: 'member-suspected', member: view('c'), from: 'a' }])).toBe(false);
    expect(v.list).toEqual(['a', 'b', 'c', 'd']);
    expect(v.apply([{ type: 'member-left', member: view('c') }])).toBe(true);
    expect(v.list).toEqual(['a', 'b', 'd']);
    expect(v.remove('b')).toBe(true);
    expect(v.has('b')).toBe(false);
  });
});
