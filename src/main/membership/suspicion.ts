// One suspicion: a member some node could not reach, with the Lifeguard
// dynamic timeout (Dadgar et al., "Lifeguard: Local Health Awareness for More
// Accurate Failure Detection", section IV-B).
//
// The timeout starts at its maximum and shrinks towards the minimum as other
// members independently suspect the same node at the same incarnation: a real
// failure is soon confirmed by many probers, a false one (a slow prober, a
// lossy link) rarely is, so it keeps the long timeout and time to be refuted.
//
//   timeout(c) = max(min, max - (max - min) * log(c + 1) / log(k + 1))
//
// with c confirmations so far and k the confirmations expected.

/** The suspicion timeout after `confirmations` of `expected` independent confirmations. */
export function suspicionTimeoutMs(minMs: number, maxMs: number, expected: number, confirmations: number): number {
  if (expected < 1 || maxMs <= minMs) return minMs;
  const fraction = Math.log(confirmations + 1) / Math.log(expected + 1);
  const timeout = Math.floor(maxMs - fraction * (maxMs - minMs));
  return timeout < minMs ? minMs : timeout;
}

export class Suspicion {
  private readonly confirmers = new Set<string>();
  private deadlineAt: number;

  /**
   * @param node the suspected member
   * @param incarnation the incarnation it is suspected at
   * @param from the member that raised the suspicion (not counted as a confirmation)
   */
  constructor(
    readonly node: string,
    readonly incarnation: number,
    readonly from: string,
    readonly startedAt: number,
    readonly minMs: number,
    readonly maxMs: number,
    readonly expected: number,
  ) {
    this.deadlineAt = startedAt + suspicionTimeoutMs(minMs, maxMs, expected, 0);
  }

  /** When the member is declared dead unless refuted first. */
  get deadline(): number {
    return this.deadlineAt;
  }

  get confirmations(): number {
    return this.confirmers.size;
  }

  /**
   * Records an independent suspicion from `from`. Returns true when it is new
   * (a distinct member, not the originator, below the expected count): the
   * deadline moved closer and the confirmation is worth re-gossiping.
   */
  confirm(from: string): boolean {
    if (from === this.from || this.confirmers.has(from) || this.confirmers.size >= this.expected) return false;
    this.confirmers.add(from);
    this.deadlineAt = this.startedAt + suspicionTimeoutMs(this.minMs, this.maxMs, this.expected, this.confirmers.size);
    return true;
  }
}
