// Raft leader election as a pure state machine (Ongaro & Ousterhout 2014,
// section 5.2; Ongaro's thesis 2014, sections 3.10, 6.2 and 9.6). Like the
// SWIM core it never touches a socket, a timer, the wall clock or
// Math.random: the host drives it and performs what it returns.
//
// How a host drives it
//
//   const raft = new RaftElection({ name: 'a', voters: ['a', 'b', 'c'], preset: 'lan' },
//                                 { rng, now: clock(), store: new FileElectionStore(dir + '/raft') });
//   perform(raft.tick(clock()));                       // at raft.nextDeadline(), or on any timer
//   perform(raft.receive(sender, body, clock()));      // each RequestVote / RequestVoteResponse /
//                                                      // AppendEntries / AppendEntriesResponse body
//   raft.setVoters(ids, clock());                      // the voter set (voters.ts derives one from SWIM)
//   raft.setHealthScore(swim.healthScore);             // after each SWIM step
//   perform(raft.transferLeadership('b'));             // on the leader only
//
//   perform(step): for each { to, message } of step.sends, send `message` (an
//   Envelope body, unchanged) to member `to`; for each event of step.events,
//   update what the application sees: 'leader-changed' { leader, term } is
//   ClusterNode's leader() and its event, 'role-changed' says what this node
//   is. The step's arrays are reused by the next call: copy what outlives it.
//
//   `sender` is the member name the transport authenticated for the
//   connection; a message whose candidate / leader / voter / responder field
//   names someone else is dropped. Names, not addresses, are used throughout.
//
//   raft.term is the fencing token: a leader stamps its term on what it
//   orders, and a resource refuses anything with a lower term than it has
//   seen. raft.fencingToken() is the term while this node leads, else null.
//
// Rules
//
//   terms            every message carries the sender's term; a newer term
//                    makes the receiver a follower of it (5.1); an older one is
//                    refused with the current term, so its sender catches up
//   election         a follower that hears no leader for a random time in
//                    [electionTimeoutMinMs, electionTimeoutMaxMs) campaigns:
//                    term + 1, votes for itself (persisted), asks every voter
//   vote granting    one vote per term, persisted before the answer leaves;
//                    only to a candidate whose log is at least as up to date
//                    (last log term, then last log index, 5.4.1)
//   leader lost      a follower that hears nothing from its leader for an
//                    election timeout reports no leader (leader-changed null),
//                    even when it cannot campaign (a partition minority)
//   pre-vote         before raising its term a node asks "would you vote for
//                    me in term + 1?"; voters answer without changing state;
//                    only with a majority of yeses does it campaign (9.6).
//                    A node cut off from a majority never raises its term, so
//                    it does not depose a healthy leader when it comes back
//   leader           sends an empty AppendEntries to every peer each
//                    heartbeatIntervalMs
//   check-quorum     a leader that has not heard from a majority (itself
//                    included) within electionTimeoutMinMs steps down (6.2);
//                    a follower that heard a leader within electionTimeoutMinMs
//                    refuses votes and pre-votes (leader stickiness), so a
//                    node that only lost contact itself cannot depose it
//   health           no campaign while the Lifeguard local health score is
//                    above campaignHealthScoreMax: the node is likely the slow
//                    one and would win only to fail its followers
//   transfer         the leader sends its chosen voter a RequestVote naming
//                    that voter as candidate with leadership_transfer set (the
//                    thesis's TimeoutNow); the voter campaigns at once, its
//                    requests flagged so voters skip stickiness (3.10)
//
// This core elects; it keeps no log. lastLogIndex / lastLogTerm come from
// setLastLog() (0 / 0 until a replicated log supplies them) and are compared
// as Raft compares them. AppendEntries with entries counts as leader contact
// and is answered success = false: entries belong to a log layer.
import { InvalidConfigError, NotLeaderError } from '../../shared/errors.js';
import type { Random } from '../membership/random.js';
import type { RaftEvent, RaftRole, RaftStep, RoleChangeReason } from './events.js';
import type { AppendEntries, AppendEntriesResponse, RaftMessage, RequestVote, RequestVoteResponse } from './messages.js';
import { nameList, resolveRaftOptions, type RaftOptions, type RaftOptionsInput } from './options.js';
import { RaftOutbox } from './outbox.js';
import { quorumOf, VoteTally } from './quorum.js';
import { MemoryElectionStore, type ElectionStore } from './store.js';

export type { RaftEvent, RaftRole, RaftStep };

/** What is nondeterministic or durable, injected. */
export interface RaftDeps {
  readonly rng: Random;
  /** The time the core starts at (the host's clock, ms). */
  readonly now: number;
  /** Where the term and vote survive a restart (default: memory, which does not). */
  readonly store?: ElectionStore;
}

const EMPTY: never[] = [];

export class RaftElection {
  readonly options: RaftOptions;
  readonly name: string;
  private readonly rng: Random;
  private readonly store: ElectionStore;
  private readonly out = new RaftOutbox();
  private readonly tally = new VoteTally();

  private roleValue: RaftRole = 'follower';
  private termValue = 0;
  private votedForValue: string | null = null;
  private leaderValue: string | null = null;
  private voterSet: Set<string>;
  private peers: string[] = [];
  private learnerList: readonly string[];
  private healthScoreValue = 0;
  private lastLogIndex = 0;
  private lastLogTerm = 0;

  /** Follower and candidate: when the election timer fires. */
  private electionAt: number;
  /** Leader: the next heartbeat round and the next check-quorum. */
  private heartbeatAt = Infinity;
  private quorumCheckAt = Infinity;
  /** Follower: when the current leader last spoke (leader stickiness). */
  private leaderContactAt = -Infinity;
  /** Leader: when each peer last answered in the current term. */
  private readonly lastAckAt = new Map<string, number>();
  /** The term of the last leader-changed event. */
  private lastReportedTerm = 0;

  constructor(input: RaftOptionsInput | RaftOptions, deps: RaftDeps) {
    const o = resolveRaftOptions(input);
    this.options = o;
    this.name = o.name;
    this.rng = deps.rng;
    this.store = deps.store ?? new MemoryElectionStore();
    const saved = this.store.load();
    if (saved !== null) {
      this.termValue = saved.term;
      this.votedForValue = saved.votedFor;
    }
    this.voterSet = new Set(o.voters);
    this.learnerList = o.learners;
    this.refreshPeers();
    this.electionAt = deps.now + this.randomTimeout();
  }

  // ------------------------------------------------------------ queries

  get role(): RaftRole {
    return this.roleValue;
  }

  /** The current term: the fencing token of whatever the leader of this term orders. */
  get term(): number {
    return this.termValue;
  }

  /** The leader this node follows (itself when leading), or null. */
  get leader(): string | null {
    return this.leaderValue;
  }

  get votedFor(): string | null {
    return this.votedForValue;
  }

  get isLeader(): boolean {
    return this.roleValue === 'leader';
  }

  /** The term while this node leads, else null. */
  fencingToken(): number | null {
    return this.roleValue === 'leader' ? this.termValue : null;
  }

  get voters(): readonly string[] {
    return [...this.voterSet];
  }

  get healthScore(): number {
    return this.healthScoreValue;
  }

  /** The earliest time at which tick() has work to do. */
  nextDeadline(): number {
    if (this.roleValue === 'leader') return Math.min(this.heartbeatAt, this.quorumCheckAt);
    return this.electionAt;
  }

  // ------------------------------------------------------------ inputs

  /** Replaces the voter set. A leader that is no longer a voter steps down; new peers get a full window before check-quorum counts them. */
  setVoters(ids: readonly string[], now: number): RaftStep {
    const list = nameList('voters', ids);
    const before = this.voterSet;
    this.voterSet = new Set(list);
    this.refreshPeers();
    if (this.roleValue === 'leader') {
      if (!this.voterSet.has(this.name)) this.becomeFollower(this.termValue, null, now, 'removed');
      else for (const p of this.peers) if (!before.has(p)) this.lastAckAt.set(p, now);
    } else if (this.roleValue !== 'follower') {
      if (!this.voterSet.has(this.name)) this.becomeFollower(this.termValue, null, now, 'removed');
      else this.settle(this.tally.outcome(this.voterSet), now);
    }
    return this.out.flush();
  }

  /** Non-voting members: the leader heartbeats them so they know who leads; they never vote or campaign. */
  setLearners(ids: readonly string[]): void {
    this.learnerList = nameList('learners', ids);
    this.refreshPeers();
  }

  /** The Lifeguard local health score (0 = healthy); above campaignHealthScoreMax the node does not campaign. */
  setHealthScore(score: number): void {
    this.healthScoreValue = score;
  }

  setHealthy(healthy: boolean): void {
    this.healthScoreValue = healthy ? 0 : Infinity;
  }

  /** The position of the last entry of this node's log, compared in votes. */
  setLastLog(index: number, term: number): void {
    this.lastLogIndex = index;
    this.lastLogTerm = term;
  }

  // ------------------------------------------------------------ driving

  tick(now: number): RaftStep {
    if (this.roleValue === 'leader') {
      if (now >= this.quorumCheckAt) {
        if (!this.hasQuorumContact(now)) {
          this.becomeFollower(this.termValue, null, now, 'check-quorum');
          return this.out.flush();
        }
        this.quorumCheckAt = now + this.options.electionTimeoutMinMs;
      }
      if (now >= this.heartbeatAt) {
        this.heartbeat();
        this.heartbeatAt = now + this.options.heartbeatIntervalMs;
      }
    } else if (now >= this.electionAt) {
      this.electionAt = now + this.randomTimeout();
      // a whole election timeout without a word from the leader: this node no
      // longer knows one, whether or not it may (or can) campaign
      this.setLeader(null);
      if (!this.voterSet.has(this.name)) return this.out.flush();
      if (this.healthScoreValue > this.options.campaignHealthScoreMax) {
        this.out.event({ type: 'campaign-deferred', healthScore: this.healthScoreValue, term: this.termValue });
      } else if (this.options.preVote === 'on') {
        this.preCampaign(now);
      } else {
        this.campaign(now, 'election-timeout', false);
      }
    }
    return this.out.flush();
  }

  /** Handles one message from member `from` (as the transport authenticated it). */
  receive(from: string, message: RaftMessage, now: number): RaftStep {
    switch (message.type) {
      case 'RequestVote':
        this.onRequestVote(from, message, now);
        break;
      case 'RequestVoteResponse':
        this.onVoteResponse(from, message, now);
        break;
      case 'AppendEntries':
        this.onAppendEntries(from, message, now);
        break;
      case 'AppendEntriesResponse':
        this.onAppendEntriesResponse(from, message, now);
        break;
    }
    return this.out.flush();
  }

  /** Hands leadership to voter `to`: it campaigns at once and wins unless its log is behind. Throws NotLeaderError off the leader. */
  transferLeadership(to: string): RaftStep {
    if (this.roleValue !== 'leader') throw new NotLeaderError(this.leaderValue, this.termValue);
    if (to === this.name || !this.voterSet.has(to)) throw new InvalidConfigError('to', `expected another voter, got ${JSON.stringify(to)}`);
    this.out.send(to, { type: 'RequestVote', term: this.termValue, candidate: to, lastLogIndex: this.lastLogIndex, lastLogTerm: this.lastLogTerm, preVote: false, leadershipTransfer: true });
    return this.out.flush();
  }

  // ------------------------------------------------------------ receiving

  private onRequestVote(from: string, m: RequestVote, now: number): void {
    if (m.candidate === this.name) {
      // The leader of this term hands over: campaign now.
      if (m.leadershipTransfer && !m.preVote && m.term === this.termValue && from === this.leaderValue && this.roleValue === 'follower' && this.voterSet.has(this.name)) {
        this.campaign(now, 'transfer', true);
      }
      return;
    }
    if (from !== m.candidate) return;
    const sticky = this.options.checkQuorum === 'on' && !m.leadershipTransfer && this.leaderValue !== null && (this.roleValue === 'leader' || now - this.leaderContactAt < this.options.electionTimeoutMinMs);
    if (m.preVote) {
      const granted = !sticky && m.term > this.termValue && this.upToDate(m);
      this.out.send(from, { type: 'RequestVoteResponse', term: granted ? m.term : this.termValue, granted, preVote: true, voter: this.name });
      return;
    }
    if (m.term < this.termValue || sticky) {
      this.out.send(from, { type: 'RequestVoteResponse', term: this.termValue, granted: false, preVote: false, voter: this.name });
      return;
    }
    if (m.term > this.termValue) this.becomeFollower(m.term, null, now, 'higher-term', false);
    const granted = (this.votedForValue === null || this.votedForValue === m.candidate) && this.upToDate(m);
    if (granted && this.votedForValue === null) {
      this.votedForValue = m.candidate;
      this.persist();
    }
    if (granted) this.electionAt = now + this.randomTimeout();
    this.out.send(from, { type: 'RequestVoteResponse', term: this.termValue, granted, preVote: false, voter: this.name });
  }

  private onVoteResponse(from: string, m: RequestVoteResponse, now: number): void {
    if (from !== m.voter) return;
    if (m.term > this.termValue && !(m.preVote && m.granted)) {
      this.becomeFollower(m.term, null, now, 'higher-term');
      return;
    }
    if (m.preVote ? this.roleValue === 'pre-candidate' && (!m.granted || m.term === this.termValue + 1) : this.roleValue === 'candidate' && m.term === this.termValue) {
      this.settle(this.tally.record(from, m.granted, this.voterSet), now);
    }
  }

  private onAppendEntries(from: string, m: AppendEntries, now: number): void {
    if (from !== m.leader) return;
    if (m.term < this.termValue) {
      this.out.send(from, { type: 'AppendEntriesResponse', term: this.termValue, success: false, matchIndex: 0, conflictIndex: 0, responder: this.name });
      return;
    }
    // Two leaders of one term cannot exist (one vote per voter per term);
    // a leader ignores such a message rather than act on it.
    if (m.term === this.termValue && this.roleValue === 'leader') return;
    if (m.term > this.termValue || this.roleValue !== 'follower') this.becomeFollower(m.term, m.leader, now, m.term > this.termValue ? 'higher-term' : 'leader-seen');
    else this.setLeader(m.leader);
    this.leaderContactAt = now;
    this.electionAt = now + this.randomTimeout();
    const heartbeat = m.entries.length === 0;
    this.out.send(from, {
      type: 'AppendEntriesResponse',
      term: this.termValue,
      success: heartbeat,
      matchIndex: this.lastLogIndex,
      conflictIndex: heartbeat ? 0 : this.lastLogIndex + 1,
      responder: this.name,
    });
  }

  private onAppendEntriesResponse(from: string, m: AppendEntriesResponse, now: number): void {
    if (from !== m.responder) return;
    if (m.term > this.termValue) {
      this.becomeFollower(m.term, null, now, 'higher-term');
      return;
    }
    if (this.roleValue === 'leader' && m.term === this.termValue && this.voterSet.has(from)) this.lastAckAt.set(from, now);
  }

  // ------------------------------------------------------------ transitions

  private preCampaign(now: number): void {
    this.setRole('pre-candidate', 'election-timeout');
    this.tally.reset(this.name, this.voterSet);
    this.requestVotes(this.termValue + 1, true, false);
    this.settle(this.tally.outcome(this.voterSet), now);
  }

  private campaign(now: number, reason: RoleChangeReason, transfer: boolean): void {
    this.termValue++;
    this.votedForValue = this.name;
    this.persist();
    this.setLeader(null);
    this.setRole('candidate', reason);
    this.electionAt = now + this.randomTimeout();
    this.tally.reset(this.name, this.voterSet);
    this.requestVotes(this.termValue, false, transfer);
    this.settle(this.tally.outcome(this.voterSet), now);
  }

  private requestVotes(term: number, preVote: boolean, transfer: boolean): void {
    for (const v of this.voterSet) {
      if (v === this.name) continue;
      this.out.send(v, { type: 'RequestVote', term, candidate: this.name, lastLogIndex: this.lastLogIndex, lastLogTerm: this.lastLogTerm, preVote, leadershipTransfer: transfer });
    }
  }

  private settle(outcome: 'pending' | 'won' | 'lost', now: number): void {
    if (outcome === 'pending') return;
    if (outcome === 'lost') this.becomeFollower(this.termValue, null, now, 'election-lost');
    else if (this.roleValue === 'pre-candidate') this.campaign(now, 'pre-vote-won', false);
    else if (this.roleValue === 'candidate') this.becomeLeader(now);
  }

  private becomeLeader(now: number): void {
    this.setRole('leader', 'elected');
    this.setLeader(this.name);
    this.electionAt = Infinity;
    this.lastAckAt.clear();
    for (const p of this.peers) if (this.voterSet.has(p)) this.lastAckAt.set(p, now);
    this.quorumCheckAt = this.options.checkQuorum === 'on' ? now + this.options.electionTimeoutMinMs : Infinity;
    this.heartbeat();
    this.heartbeatAt = now + this.options.heartbeatIntervalMs;
  }

  /** Becomes a follower of `term` (persisting a newer term with no vote) and, when `resetTimer`, restarts the election timer. */
  private becomeFollower(term: number, leader: string | null, now: number, reason: RoleChangeReason, resetTimer = true): void {
    if (term > this.termValue) {
      this.termValue = term;
      this.votedForValue = null;
      this.persist();
    }
    const wasFollower = this.roleValue === 'follower';
    this.setRole('follower', reason);
    this.setLeader(leader);
    this.heartbeatAt = Infinity;
    this.quorumCheckAt = Infinity;
    this.lastAckAt.clear();
    if (resetTimer || !wasFollower) this.electionAt = now + this.randomTimeout();
  }

  private setRole(role: RaftRole, reason: RoleChangeReason): void {
    if (this.roleValue === role) return;
    this.roleValue = role;
    this.out.event({ type: 'role-changed', role, term: this.termValue, reason });
  }

  /** Reports a leader change: a new leader, the same leader in a newer term, or none (once). */
  private setLeader(leader: string | null): void {
    if (this.leaderValue === leader && (leader === null || this.lastReportedTerm === this.termValue)) return;
    this.leaderValue = leader;
    this.lastReportedTerm = this.termValue;
    this.out.event({ type: 'leader-changed', leader, term: this.termValue });
  }

  // ------------------------------------------------------------ helpers

  private heartbeat(): void {
    const term = this.termValue;
    for (const p of this.peers) {
      this.out.send(p, { type: 'AppendEntries', term, leader: this.name, prevLogIndex: this.lastLogIndex, prevLogTerm: this.lastLogTerm, leaderCommit: 0, entries: EMPTY });
    }
  }

  private hasQuorumContact(now: number): boolean {
    const since = now - this.options.electionTimeoutMinMs;
    let heard = this.voterSet.has(this.name) ? 1 : 0;
    for (const v of this.voterSet) {
      if (v === this.name) continue;
      const at = this.lastAckAt.get(v);
      if (at !== undefined && at > since) heard++;
    }
    return heard >= quorumOf(this.voterSet.size);
  }

  /** Raft 5.4.1: the candidate's last entry has a later term, or the same term and an index at least as high. */
  private upToDate(m: RequestVote): boolean {
    return m.lastLogTerm > this.lastLogTerm || (m.lastLogTerm === this.lastLogTerm && m.lastLogIndex >= this.lastLogIndex);
  }

  private randomTimeout(): number {
    const o = this.options;
    return o.electionTimeoutMinMs + this.rng.nextInt(o.electionTimeoutMaxMs - o.electionTimeoutMinMs);
  }

  private persist(): void {
    this.store.save({ term: this.termValue, votedFor: this.votedForValue });
  }

  private refreshPeers(): void {
    const peers = new Set<string>();
    for (const v of this.voterSet) if (v !== this.name) peers.add(v);
    for (const l of this.learnerList) if (l !== this.name) peers.add(l);
    this.peers = [...peers];
  }
}
