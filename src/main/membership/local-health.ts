// Lifeguard local health awareness (Dadgar et al., section IV-A): a small
// saturating score that says how likely it is that this node, not its peers,
// is the slow one. While the score is high the node probes less often and
// waits longer for acks, so a CPU-starved or lossy node stops accusing
// healthy members.
//
// Score changes (the paper's "local health multiplier" events):
//   probe acked                          -1
//   probe failed, nacks missing          +1  (the helpers could not answer us either)
//   probe failed, no helpers to ask      +1
//   refuted a suspicion about itself     +1  (others could not reach us)

export class LocalHealth {
  private current = 0;

  /** @param maxMultiplier intervals are stretched by at most this factor (score <= maxMultiplier - 1) */
  constructor(readonly maxMultiplier: number) {}

  get score(): number {
    return this.current;
  }

  /** Applies a score change, saturating at [0, maxMultiplier - 1]. */
  apply(delta: number): void {
    const next = this.current + delta;
    const max = this.maxMultiplier - 1;
    this.current = next < 0 ? 0 : next > max ? max : next;
  }

  /** A base interval or timeout stretched by the current score. */
  scale(ms: number): number {
    return ms * (this.current + 1);
  }
}
