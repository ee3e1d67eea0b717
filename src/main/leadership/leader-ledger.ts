// The election safety check (Raft, figure 3: "at most one leader can be
// elected in a given term"), observed from outside: the ledger sees every
// node's events and records who became leader of which term. A second leader
// for a term, or a follower told of a leader the ledger does not know for
// that term, is a violation. The simulator feeds it every event of every
// run; tests feed it the events of the cores they drive by hand.
import type { RaftEvent } from './events.js';

export interface LedgerViolation {
  readonly at: number;
  readonly term: number;
  readonly observer: string;
  readonly problem: string;
}

export class LeaderLedger {
  /** term -> the node that became leader of it. */
  private readonly leaders = new Map<number, string>();
  readonly violations: LedgerViolation[] = [];

  /** Records the events one node reported at time `at`. */
  observe(node: string, events: readonly RaftEvent[], at: number): void {
    for (const e of events) {
      if (e.type === 'role-changed' && e.role === 'leader') {
        const prior = this.leaders.get(e.term);
        if (prior !== undefined && prior !== node) this.violations.push({ at, term: e.term, observer: node, problem: `${node} became leader of term ${e.term}, already led by ${prior}` });
        else this.leaders.set(e.term, node);
      } else if (e.type === 'leader-changed' && e.leader !== null && e.leader !== node) {
        const known = this.leaders.get(e.term);
        if (known !== e.leader) this.violations.push({ at, term: e.term, observer: node, problem: `${node} follows ${e.leader} in term ${e.term}, whose leader is ${known ?? 'unknown'}` });
      }
    }
  }

  leaderOf(term: number): string | undefined {
    return this.leaders.get(term);
  }

  /** How many terms had a leader. */
  get terms(): number {
    return this.leaders.size;
  }

  get highestTerm(): number {
    let t = 0;
    for (const k of this.leaders.keys()) if (k > t) t = k;
    return t;
  }
}
