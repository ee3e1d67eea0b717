// What an election core must remember across a restart: the current term and
// the vote it gave in that term (Raft, figure 2: "updated on stable storage
// before responding to RPCs"). Without it a restarted node could vote twice in
// one term and let two candidates win it.
//
// The interface is synchronous on purpose: the core calls save() before it
// returns the messages that depend on the state (a vote, a RequestVote for a
// new term), so "persist before send" cannot be got wrong by a host. It is
// called only when the term or the vote changes, a handful of times per
// election, never per heartbeat.

export interface ElectionState {
  readonly term: number;
  /** The candidate voted for in `term`, or null. */
  readonly votedFor: string | null;
}

export interface ElectionStore {
  /** The last saved state, or null for a node that never saved one. */
  load(): ElectionState | null;
  /** Makes `state` durable before returning. */
  save(state: ElectionState): void;
}

/**
 * A store in memory: for tests and the simulator, where the object outliving a
 * simulated crash plays the disk. `saves` counts the writes.
 */
export class MemoryElectionStore implements ElectionStore {
  private state: ElectionState | null;
  saves = 0;

  constructor(initial: ElectionState | null = null) {
    this.state = initial;
  }

  load(): ElectionState | null {
    return this.state;
  }

  save(state: ElectionState): void {
    this.state = { term: state.term, votedFor: state.votedFor };
    this.saves++;
  }
}
