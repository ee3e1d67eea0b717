// Majorities over a voter set, and the tally of one campaign (a pre-vote round
// or an election). A quorum is floor(n / 2) + 1 of the voters: any two
// quorums of the same set share a voter, and a voter grants one vote per term,
// so no two candidates can both win a term (Raft, section 5.2).

export function quorumOf(voters: number): number {
  return (voters >> 1) + 1;
}

export type TallyOutcome = 'pending' | 'won' | 'lost';

export class VoteTally {
  private readonly answers = new Map<string, boolean>();

  /** Starts a new campaign; the candidate votes for itself when it is a voter. */
  reset(self: string, voters: ReadonlySet<string>): void {
    this.answers.clear();
    if (voters.has(self)) this.answers.set(self, true);
  }

  /** Records `voter`'s answer (a repeated answer replaces the first) and says where the campaign stands. */
  record(voter: string, granted: boolean, voters: ReadonlySet<string>): TallyOutcome {
    if (voters.has(voter)) this.answers.set(voter, granted);
    return this.outcome(voters);
  }

  /** Counts only current voters, so a voter set changed mid-campaign is respected. */
  outcome(voters: ReadonlySet<string>): TallyOutcome {
    let yes = 0;
    let no = 0;
    for (const [v, granted] of this.answers) {
      if (!voters.has(v)) continue;
      if (granted) yes++;
      else no++;
    }
    const q = quorumOf(voters.size);
    if (voters.size > 0 && yes >= q) return 'won';
    if (no > voters.size - q) return 'lost';
    return 'pending';
  }
}
