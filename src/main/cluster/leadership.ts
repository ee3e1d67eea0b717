// The election adapter of a ClusterNode: drives a RaftElection core with a
// real timer and the node's data connections, and derives its voter set from
// membership (MembershipVoters: joins add voters, graceful leaves remove
// them, suspected and dead members keep their seat so a partition minority
// can never elect).
//
// Bootstrap. A node that has just started knows only itself; were it a voter
// set of one, it would elect itself before its join completes. The core is
// therefore created only once `bootstrapExpect` voters are known, or when a
// Raft message arrives (an existing cluster's leader is talking to it). A
// single-node deployment sets bootstrapExpect to 1.
//
// Raft messages travel on the data connections at Critical priority, so bulk
// traffic never delays a leader's heartbeats; a message for a member with no
// open connection starts a dial and is dropped (Raft tolerates lost messages,
// and the next heartbeat or vote request follows within a heartbeat interval).
import crypto from 'node:crypto';
import type { SwimEvent } from '../membership/events.js';
import { FileElectionStore } from '../leadership/file-store.js';
import type { RaftEvent, RaftStep } from '../leadership/events.js';
import type { RaftMessage } from '../leadership/messages.js';
import type { RaftPresetName, RaftTuning } from '../leadership/options.js';
import { RaftElection } from '../leadership/raft.js';
import { MembershipVoters } from '../leadership/voters.js';
import { Sfc32 } from '../simulator/prng.js';

export interface LeadershipOptionsInput extends Partial<RaftTuning> {
  /** false: this node takes no part in elections (leader() stays null). Default true. */
  enabled?: boolean;
  /** Voters known before the first election (this node included). Default 3. */
  bootstrapExpect?: number;
  /** A fixed voter set instead of the membership-derived one. */
  voters?: readonly string[];
  /** File keeping the term and vote across restarts (fsync'd); without it a restarted node forgets its vote. */
  stateFile?: string;
  /** Timing preset; default: the node's membership preset. */
  preset?: RaftPresetName;
}

export interface LeaderInfo {
  readonly nodeId: string;
  /** The term: a fencing token that only grows. */
  readonly term: number;
}

export interface LeadershipHost {
  /** Sends a Raft message to a member now, or returns false (no open connection: the host starts one). */
  send(to: string, message: RaftMessage): boolean;
  onEvent(event: RaftEvent): void;
}

export class Leadership {
  private core: RaftElection | null = null;
  private readonly voters: MembershipVoters;
  private readonly fixed: boolean;
  private readonly expect: number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private healthScore = 0;
  private closed = false;
  /** Raft messages that found no open connection. */
  dropped = 0;

  constructor(
    private readonly self: string,
    private readonly options: LeadershipOptionsInput,
    private readonly preset: RaftPresetName,
    private readonly host: LeadershipHost,
  ) {
    this.fixed = options.voters !== undefined;
    this.voters = new MembershipVoters(options.voters ?? [self]);
    this.expect = options.bootstrapExpect ?? 3;
    this.maybeStart();
  }

  get started(): boolean {
    return this.core !== null;
  }

  leader(): LeaderInfo | null {
    const core = this.core;
    if (core === null || core.leader === null) return null;
    return { nodeId: core.leader, term: core.term };
  }

  get term(): number {
    return this.core?.term ?? 0;
  }

  get role(): string {
    return this.core?.role ?? 'follower';
  }

  /** The term while this node leads, else null: stamp it on what the leader orders. */
  fencingToken(): number | null {
    return this.core?.fencingToken() ?? null;
  }

  membership(events: readonly SwimEvent[], healthScore: number): void {
    if (this.closed) return;
    this.healthScore = healthScore;
    this.core?.setHealthScore(healthScore);
    if (!this.fixed && this.voters.apply(events)) {
      if (this.core !== null) this.perform(this.core.setVoters(this.voters.list, performance.now()));
      else this.maybeStart();
    }
  }

  receive(from: string, message: RaftMessage): void {
    if (this.closed) return;
    if (this.core === null) this.start();
    this.perform((this.core as RaftElection).receive(from, message, performance.now()));
  }

  /** Asks the leader (this node) to hand leadership to `to`. Throws ERR_NOT_LEADER elsewhere. */
  transfer(to: string): void {
    if (this.core === null) this.start();
    this.perform((this.core as RaftElection).transferLeadership(to));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private maybeStart(): void {
    if (this.core === null && this.options.enabled !== false && this.voters.list.length >= this.expect) this.start();
  }

  private start(): void {
    const { enabled: _e, bootstrapExpect: _b, voters: _v, stateFile, preset, ...tuning } = this.options;
    this.core = new RaftElection(
      { ...tuning, preset: preset ?? this.preset, name: this.self, voters: this.voters.list },
      {
        rng: new Sfc32(crypto.randomInt(2 ** 31), crypto.randomInt(2 ** 31)),
        now: performance.now(),
        store: stateFile === undefined ? undefined : new FileElectionStore(stateFile),
      },
    );
    this.core.setHealthScore(this.healthScore);
    this.arm();
  }

  private perform(step: RaftStep): void {
    for (const s of step.sends) if (!this.host.send(s.to, s.message)) this.dropped++;
    for (const e of step.events) this.host.onEvent(e);
    this.arm();
  }

  private arm(): void {
    const core = this.core;
    if (core === null || this.closed) return;
    const at = core.nextDeadline();
    if (at === this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        if (!this.closed) this.perform(core.tick(performance.now()));
      },
      Math.max(0, at - performance.now()),
    );
    this.timer.unref();
  }
}
