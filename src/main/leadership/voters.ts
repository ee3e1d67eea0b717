// Which members vote, derived from SWIM membership events.
//
// Raft's safety rests on quorum intersection: any two majorities of the voter
// set share a member. Deriving the voter set from each node's *alive* view
// would break it: in a 2|3 partition each side sees the other as dead, and a
// two-node side whose voter set had shrunk to itself would elect a leader of
// its own. So the set follows membership only in the directions that keep
// majorities intersecting:
//
//   member joined / alive again   added (a new member becomes a voter)
//   member left (graceful leave)  removed: it said goodbye, it will not vote
//   member suspected / dead       kept: unreachable is not gone, and the
//                                 majority is still counted over it
//
// Consequences. A partition minority can never elect (dead voters still count
// in the majority it cannot reach). A crashed node that never comes back keeps
// its seat until an operator removes it (remove(name)); more than half of the
// voters lost for good stalls elections, as in any Raft. Growth is safe one
// member at a time: the sets of n and n + 1 voters always have intersecting
// majorities (Ongaro's thesis, 4.1), and two nodes whose views differ by one
// joined member cannot both gather disjoint majorities. Many members joining
// at once while an election runs can leave two views more than one member
// apart; a deployment that needs strict safety then fixes the voter set in
// configuration (the `voters` option) and keeps SWIM for health only.
import type { SwimEvent } from '../membership/events.js';

export class MembershipVoters {
  private readonly set: Set<string>;

  /** @param initial the configured voters (this node included) */
  constructor(initial: readonly string[]) {
    this.set = new Set(initial);
  }

  get list(): readonly string[] {
    return [...this.set].sort();
  }

  has(name: string): boolean {
    return this.set.has(name);
  }

  /** Applies SWIM events; true when the voter set changed (then pass `list` to setVoters). */
  apply(events: readonly SwimEvent[]): boolean {
    let changed = false;
    for (const e of events) {
      if (e.type === 'member-joined' || e.type === 'member-alive') {
        if (!this.set.has(e.member.name)) {
          this.set.add(e.member.name);
          changed = true;
        }
      } else if (e.type === 'member-left') {
        changed = this.set.delete(e.member.name) || changed;
      }
    }
    return changed;
  }

  /** Removes a voter by hand (a member gone for good). */
  remove(name: string): boolean {
    return this.set.delete(name);
  }
}
