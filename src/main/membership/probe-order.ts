// SWIM's randomized round-robin probe order (SWIM paper section 4.3): members
// are probed in a shuffled list, reshuffled after each full pass, and newcomers
// are inserted at a random position. Every member is probed within one pass
// (a bounded detection time), yet probers do not move in lockstep.
import type { Random } from './random.js';
import { shuffle } from './random.js';

export class ProbeOrder {
  private order: string[] = [];
  private next = 0;

  constructor(private readonly rng: Random) {}

  get length(): number {
    return this.order.length;
  }

  /** Adds a member at a random position of the current pass. */
  add(name: string): void {
    const at = this.rng.nextInt(this.order.length + 1);
    this.order.splice(at, 0, name);
    if (at < this.next) this.next++;
  }

  /**
   * The next member to probe for which `eligible` holds, or null when none is.
   * Members for which `keep` is false are dropped from the order.
   */
  pick(eligible: (name: string) => boolean, keep: (name: string) => boolean): string | null {
    for (let scanned = 0; scanned <= this.order.length; scanned++) {
      if (this.next >= this.order.length) {
        if (this.order.length === 0) return null;
        this.order = this.order.filter(keep);
        shuffle(this.order, this.rng);
        this.next = 0;
        if (this.order.length === 0) return null;
      }
      const name = this.order[this.next++];
      if (eligible(name)) return name;
    }
    return null;
  }
}
