// Unit tests of the election core, one Raft rule each (section numbers of
// Ongaro & Ousterhout 2014 and of Ongaro's thesis), with a virtual clock.
// Every test ends by checking the ledger: no term ever had two leaders.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, NotLeaderError } from '../../src/shared/errors.js';
import { RaftElection } from '../../src/main/leadership/raft.js';
import { resolveRaftOptions } from '../../src/main/leadership/options.js';
import { MemoryElectionStore } from '../../src/main/leadership/store.js';
import type { RequestVote } from '../../src/main/leadership/messages.js';
import { aFirst, Bench, lowRng } from './harness.js';

const OPTS = { electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20 } as const;

function core(name: string, voters: string[], extra: object = {}, store = new MemoryElectionStore()): RaftElection {
  return new RaftElection({ ...OPTS, ...extra, name, voters }, { rng: lowRng, now: 0, store });
}

function vote(candidate: string, term: number, more: Partial<RequestVote> = {}): RequestVote & { type: 'RequestVote' } {
  return { type: 'RequestVote', term, candidate, lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false, ...more };
}

let bench: Bench | null = null;
afterEach(() => {
  if (bench !== null) expect(bench.ledger.violations).toEqual([]);
  bench = null;
});

describe('options', () => {
  it('fills the preset and validates every field, naming it', () => {
    const o = resolveRaftOptions({ name: 'a', preset: 'local' });
    expect([o.heartbeatIntervalMs, o.electionTimeoutMinMs, o.electionTimeoutMaxMs]).toEqual([50, 150, 300]);
    expect(o.voters).toEqual(['a']);
    expect(() => resolveRaftOptions({ name: 'a', electionTimeoutMinMs: 300, electionTimeoutMaxMs: 300 })).toThrow(/electionTimeoutMaxMs/);
    expect(() => resolveRaftOptions({ name: 'a', preset: 'local', heartbeatIntervalMs: 100 })).toThrow(/heartbeatIntervalMs/);
    expect(() => resolveRaftOptions({ name: '' })).toThrow(InvalidConfigError);
    expect(() => resolveRaftOptions({ name: 'a', preVote: 'yes' as 'on' })).toThrow(/preVote/);
    expect(() => resolveRaftOptions({ name: 'a', voters: ['a', 'a'] })).toThrow(/voters/);
    expect(() => resolveRaftOptions({ name: 'a', voters: ['a', 'b'], learners: ['b'] })).toThrow(/learners/);
  });
});

describe('election (5.2) and pre-vote (thesis 9.6)', () => {
  it('a single voter elects itself at its first timeout', () => {
    const c = core('a', ['a']);
    expect(c.nextDeadline()).toBe(100);
    expect(c.tick(99).events).toEqual([]);
    const step = c.tick(100);
    expect(step.events.map((e) => e.type)).toEqual(['role-changed', 'role-changed', 'role-changed', 'leader-changed']);
    expect(c.isLeader).toBe(true);
    expect(c.term).toBe(1);
    expect(c.fencingToken()).toBe(1);
  });

  it('pre-votes first without raising its term, then campaigns in term + 1 once a majority would vote', () => {
    const c = core('a', ['a', 'b', 'c']);
    const pre = c.tick(100);
    expect(c.role).toBe('pre-candidate');
    expect(c.term).toBe(0);
    expect(pre.sends.map((s) => [s.to, s.message.type, (s.message as RequestVote).term, (s.message as RequestVote).preVote])).toEqual([
      ['b', 'RequestVote', 1, true],
      ['c', 'RequestVote', 1, true],
    ]);
    const real = c.receive('b', { type: 'RequestVoteResponse', term: 1, granted: true, preVote: true, voter: 'b' }, 101);
    expect(c.role).toBe('candidate');
    expect(c.term).toBe(1);
    expect(c.votedFor).toBe('a');
    expect(real.sends.every((s) => s.message.type === 'RequestVote' && !s.message.preVote && s.message.term === 1)).toBe(true);
    const won = c.receive('c', { type: 'RequestVoteResponse', term: 1, granted: true, preVote: false, voter: 'c' }, 102);
    expect(c.isLeader).toBe(true);
    // A new leader heartbeats every peer at once.
    expect(won.sends.map((s) => [s.to, s.message.type])).toEqual([
      ['b', 'AppendEntries'],
      ['c', 'AppendEntries'],
    ]);
    expect(won.events).toContainEqual({ type: 'leader-changed', leader: 'a', term: 1 });
  });

  it('a pre-vote rejected by a majority leaves the term alone and waits another timeout', () => {
    const c = core('a', ['a', 'b', 'c']);
    c.tick(100);
    c.receive('b', { type: 'RequestVoteResponse', term: 0, granted: false, preVote: true, voter: 'b' }, 101);
    expect(c.role).toBe('pre-candidate');
    c.receive('c', { type: 'RequestVoteResponse', term: 0, granted: false, preVote: true, voter: 'c' }, 101);
    expect(c.role).toBe('follower');
    expect(c.term).toBe(0);
    expect(c.nextDeadline()).toBe(201);
  });

  it('answering a pre-vote changes neither the term nor the vote', () => {
    const store = new MemoryElectionStore();
    const b = core('b', ['a', 'b', 'c'], {}, store);
    const step = b.receive('a', vote('a', 1, { preVote: true }), 10);
    expect(step.sends[0].message).toEqual({ type: 'RequestVoteResponse', term: 1, granted: true, preVote: true, voter: 'b' });
    expect([b.term, b.votedFor, store.saves]).toEqual([0, null, 0]);
  });

  it('without pre-vote a timeout raises the term directly', () => {
    const c = core('a', ['a', 'b', 'c'], { preVote: 'off' });
    c.tick(100);
    expect([c.role, c.term, c.votedFor]).toEqual(['candidate', 1, 'a']);
  });

  it('a candidate that hears the leader of its term becomes its follower', () => {
    const c = core('a', ['a', 'b', 'c'], { preVote: 'off' });
    c.tick(100);
    const step = c.receive('b', { type: 'AppendEntries', term: 1, leader: 'b', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 101);
    expect([c.role, c.leader]).toEqual(['follower', 'b']);
    expect(step.sends[0].message).toMatchObject({ type: 'AppendEntriesResponse', term: 1, success: true, responder: 'a' });
  });

  it('a majority of refusals ends a campaign; an even voter set needs more than half', () => {
    const c = core('a', ['a', 'b', 'c', 'd'], { preVote: 'off' });
    c.tick(100);
    c.receive('b', { type: 'RequestVoteResponse', term: 1, granted: true, preVote: false, voter: 'b' }, 101);
    expect(c.role).toBe('candidate'); // 2 of 4 is not a majority
    c.receive('c', { type: 'RequestVoteResponse', term: 1, granted: false, preVote: false, voter: 'c' }, 101);
    expect(c.role).toBe('candidate');
    c.receive('d', { type: 'RequestVoteResponse', term: 1, granted: false, preVote: false, voter: 'd' }, 101);
    expect(c.role).toBe('follower');
  });
});

describe('vote granting (5.2, 5.4.1)', () => {
  it('grants one vote per term, persisted before the answer', () => {
    const store = new MemoryElectionStore();
    const c = core('c', ['a', 'b', 'c'], { checkQuorum: 'off' }, store);
    expect(c.receive('a', vote('a', 3), 1).sends[0].message).toMatchObject({ granted: true, term: 3 });
    expect(store.load()).toEqual({ term: 3, votedFor: 'a' });
    expect(c.receive('b', vote('b', 3), 2).sends[0].message).toMatchObject({ granted: false, term: 3 });
    // The same candidate asking again (a retransmission) gets the same answer.
    expect(c.receive('a', vote('a', 3), 3).sends[0].message).toMatchObject({ granted: true });
    // A newer term frees the vote.
    expect(c.receive('b', vote('b', 4), 4).sends[0].message).toMatchObject({ granted: true, term: 4 });
    expect(store.load()).toEqual({ term: 4, votedFor: 'b' });
  });

  it('refuses a stale term and tells the candidate the current one', () => {
    const c = core('c', ['a', 'b', 'c'], {}, new MemoryElectionStore({ term: 5, votedFor: null }));
    expect(c.receive('a', vote('a', 4), 1).sends[0].message).toEqual({ type: 'RequestVoteResponse', term: 5, granted: false, preVote: false, voter: 'c' });
  });

  it('grants only to a candidate whose log is at least as up to date (last term, then index)', () => {
    const check = (lastLogTerm: number, lastLogIndex: number): boolean => {
      const c = core('c', ['a', 'b', 'c'], { checkQuorum: 'off' });
      c.setLastLog(10, 3);
      const m = c.receive('a', vote('a', 5, { lastLogTerm, lastLogIndex }), 1).sends[0].message;
      return m.type === 'RequestVoteResponse' && m.granted;
    };
    expect(check(2, 50)).toBe(false); // older last term, however long
    expect(check(3, 9)).toBe(false); // same term, shorter
    expect(check(3, 10)).toBe(true); // same term, same length
    expect(check(4, 1)).toBe(true); // newer last term, however short
    // Pre-votes apply the same check.
    const c = core('c', ['a', 'b', 'c']);
    c.setLastLog(10, 3);
    expect(c.receive('a', vote('a', 1, { preVote: true, lastLogTerm: 3, lastLogIndex: 9 }), 1).sends[0].message).toMatchObject({ granted: false, term: 0 });
  });

  it('drops a vote request whose candidate is not the authenticated sender', () => {
    const c = core('c', ['a', 'b', 'c']);
    expect(c.receive('b', vote('a', 2), 1).sends).toEqual([]);
    expect(c.term).toBe(0);
  });

  it('a node that restarts from its store never votes twice in a term', () => {
    const store = new MemoryElectionStore();
    const before = core('c', ['a', 'b', 'c'], { checkQuorum: 'off' }, store);
    before.receive('a', vote('a', 7), 1);
    const after = core('c', ['a', 'b', 'c'], { checkQuorum: 'off' }, store);
    expect([after.term, after.votedFor]).toEqual([7, 'a']);
    expect(after.receive('b', vote('b', 7), 2).sends[0].message).toMatchObject({ granted: false, term: 7 });
  });
});

describe('terms (5.1)', () => {
  it('a leader that sees a newer term steps down and forgets its vote', () => {
    const c = core('a', ['a'], {});
    c.tick(100);
    c.setVoters(['a', 'b', 'c'], 100);
    expect(c.isLeader).toBe(true);
    const step = c.receive('b', { type: 'AppendEntriesResponse', term: 9, success: false, matchIndex: 0, conflictIndex: 0, responder: 'b' }, 110);
    expect([c.role, c.term, c.votedFor, c.leader]).toEqual(['follower', 9, null, null]);
    expect(step.events).toContainEqual({ type: 'role-changed', role: 'follower', term: 9, reason: 'higher-term' });
    expect(step.events).toContainEqual({ type: 'leader-changed', leader: null, term: 9 });
    expect(c.fencingToken()).toBeNull();
  });

  it('answers a stale leader with the current term so it steps down', () => {
    const c = core('b', ['a', 'b', 'c'], {}, new MemoryElectionStore({ term: 4, votedFor: null }));
    const step = c.receive('a', { type: 'AppendEntries', term: 3, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 1);
    expect(step.sends[0].message).toMatchObject({ type: 'AppendEntriesResponse', term: 4, success: false });
    expect(c.leader).toBeNull();
  });

  it('entries are not this core\'s business: counted as leader contact, answered success = false', () => {
    const c = core('b', ['a', 'b', 'c']);
    const step = c.receive('a', { type: 'AppendEntries', term: 1, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [{ index: 1, term: 1, kind: 0, data: new Uint8Array(1) }] }, 1);
    expect(step.sends[0].message).toMatchObject({ success: false, conflictIndex: 1 });
    expect(c.leader).toBe('a');
  });
});

describe('check-quorum and leader stickiness (thesis 6.2)', () => {
  it('a leader that hears from no majority within electionTimeoutMinMs steps down', () => {
    bench = new Bench(['a', 'b', 'c'], {}, aFirst);
    bench.runUntil(150);
    expect(bench.leaders()).toEqual(['a']);
    // Cut a off (nothing delivered either way); b and c never hear a again.
    bench.link = (e) => e.from !== 'a' && e.to !== 'a';
    const cutAt = bench.now;
    let downAt = -1;
    for (let t = cutAt; t < cutAt + 400 && downAt < 0; t += 5) {
      bench.runUntil(t);
      if (!bench.core('a').isLeader) downAt = t;
    }
    expect(downAt).toBeGreaterThan(cutAt);
    expect(downAt - cutAt).toBeLessThanOrEqual(2 * 100 + 5);
    const last = bench.events.filter((e) => e.node === 'a' && e.event.type === 'role-changed').at(-1)?.event;
    expect(last).toMatchObject({ role: 'follower', reason: 'check-quorum' });
  });

  it('a leader with a majority answering stays, across many check periods', () => {
    bench = new Bench(['a', 'b', 'c'], {}, aFirst);
    bench.runUntil(150);
    bench.link = (e) => e.from !== 'c' && e.to !== 'c'; // one of three lost: a + b is a majority
    bench.runUntil(2_000, new Set(['c']));
    expect(bench.core('a').isLeader).toBe(true);
    expect(bench.core('a').term).toBe(1);
  });

  it('a follower that heard the leader within electionTimeoutMinMs refuses votes and pre-votes, keeping its term', () => {
    const c = core('c', ['a', 'b', 'c']);
    c.receive('a', { type: 'AppendEntries', term: 2, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 1000);
    expect(c.receive('b', vote('b', 3, { preVote: true }), 1050).sends[0].message).toMatchObject({ granted: false, term: 2 });
    expect(c.receive('b', vote('b', 3), 1050).sends[0].message).toMatchObject({ granted: false, term: 2 });
    expect(c.term).toBe(2);
    // After the window the leader is presumed gone.
    expect(c.receive('b', vote('b', 3, { preVote: true }), 1100).sends[0].message).toMatchObject({ granted: true, term: 3 });
    // A transfer-flagged request passes at once.
    c.receive('a', { type: 'AppendEntries', term: 2, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 1200);
    expect(c.receive('b', vote('b', 3, { leadershipTransfer: true }), 1201).sends[0].message).toMatchObject({ granted: true, term: 3 });
  });

  it('with checkQuorum off, a vote for a newer term is granted at once', () => {
    const c = core('c', ['a', 'b', 'c'], { checkQuorum: 'off' });
    c.receive('a', { type: 'AppendEntries', term: 2, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 1000);
    expect(c.receive('b', vote('b', 3), 1001).sends[0].message).toMatchObject({ granted: true });
  });
});

describe('local health (Lifeguard) gates campaigns', () => {
  it('does not campaign while its health score is above campaignHealthScoreMax, and does once healthy', () => {
    const c = core('a', ['a', 'b', 'c']);
    c.setHealthScore(3);
    const step = c.tick(100);
    expect(step.sends).toEqual([]);
    expect(step.events).toEqual([{ type: 'campaign-deferred', healthScore: 3, term: 0 }]);
    expect(c.role).toBe('follower');
    c.setHealthScore(1);
    c.tick(200);
    expect(c.role).toBe('pre-candidate');
    c.setHealthy(false);
    expect(c.healthScore).toBe(Infinity);
  });

  it('a node outside the voter set never campaigns but follows a leader', () => {
    const c = core('z', ['a', 'b', 'c']);
    expect(c.tick(100).sends).toEqual([]);
    expect(c.tick(1000).sends).toEqual([]);
    c.receive('a', { type: 'AppendEntries', term: 1, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 1001);
    expect(c.leader).toBe('a');
  });
});

describe('voter set changes', () => {
  it('a leader removed from the voter set steps down; learners get heartbeats', () => {
    const c = core('a', ['a']);
    c.tick(100);
    c.setLearners(['x']);
    const hb = c.tick(120);
    expect(hb.sends.map((s) => s.to)).toEqual(['x']);
    const step = c.setVoters(['b', 'c', 'd'], 130);
    expect(c.role).toBe('follower');
    expect(step.events).toContainEqual({ type: 'role-changed', role: 'follower', term: 1, reason: 'removed' });
    expect(() => c.setVoters(['b', 'b'], 131)).toThrow(InvalidConfigError);
  });
});

describe('leadership transfer (thesis 3.10)', () => {
  it('the chosen voter campaigns at once, passes stickiness and wins the next term', () => {
    bench = new Bench(['a', 'b', 'c'], {}, aFirst);
    bench.runUntil(150);
    expect(bench.leaders()).toEqual(['a']);
    expect(() => bench?.core('b').transferLeadership('c')).toThrow(NotLeaderError);
    expect(() => bench?.core('a').transferLeadership('a')).toThrow(InvalidConfigError);
    bench.take('a', bench.core('a').transferLeadership('c'));
    bench.flush();
    expect(bench.leaders()).toEqual(['c']);
    expect(bench.core('c').term).toBe(2);
    expect(bench.core('a').leader).toBe('c');
    expect(bench.core('b').leader).toBe('c');
  });

  it('ignores a transfer that does not come from its leader', () => {
    const c = core('c', ['a', 'b', 'c']);
    c.receive('a', { type: 'AppendEntries', term: 2, leader: 'a', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] }, 10);
    expect(c.receive('b', vote('c', 2, { leadershipTransfer: true }), 11).sends).toEqual([]);
    expect(c.role).toBe('follower');
  });
});

describe('a three-node cluster end to end', () => {
  it('elects one leader, keeps it while heartbeats flow, and every node follows it', () => {
    bench = new Bench(['a', 'b', 'c'], {}, aFirst);
    bench.runUntil(5_000);
    expect(bench.leaders()).toEqual(['a']);
    for (const n of ['a', 'b', 'c']) expect([bench.core(n).leader, bench.core(n).term]).toEqual(['a', 1]);
  });

  it('after the leader dies the next node to time out takes over in the next term', () => {
    bench = new Bench(['a', 'b', 'c'], {}, aFirst);
    bench.runUntil(150);
    bench.link = (e) => e.from !== 'a' && e.to !== 'a';
    bench.runUntil(600, new Set(['a']));
    expect(bench.leaders().filter((l) => l !== 'a')).toEqual(['b']);
    expect(bench.core('b').term).toBe(2);
    expect(bench.core('c').leader).toBe('b');
  });
});
