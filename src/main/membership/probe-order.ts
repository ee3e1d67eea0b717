// SWIM's randomized round-robin probe order (SWIM paper section 4.3): members
// are probed in a shuffled list, reshuffled after each full pass, and newcomers
// are inserted at a random position. Every member is probed within one pass
// (a bounded detection time), yet probers do not move in lockstep.
import type { Random } from './random.js';
import { shuffle } from './random.js';

export class ProbeOrder<T> {
  private order: T[] = [];
  private next = 0;

  /**
   * @param eligible whether an entry may be probed now
   * @param keep whether an entry stays in the order at the next reshuffle
   */
  constructor(
    private readonly rng: Random,
    private readonly eligible: (item: T) => boolean,
    private readonly keep: (item: T) => boolean,
  ) {}

  get length(): number {
    return this.order.length;
  }

  /** Adds an entry at a random position of the current pass. */
  add(item: T): void {
    const at = this.rng.nextInt(this.order.length + 1);
    this.order.splice(at, 0, item);
    if (at < this.next) this.next++;
  }

  /** Adds many entries at once and reshuffles the whole order (a warm start). */
  addAll(items: readonly T[]): void {
    for (const item of items) this.order.push(item);
    shuffle(this.order, this.rng);
    this.next = 0;
  }

  /** The next eligible entry, or null when none is. */
  pick(): T | null {
    for (let scanned = 0; scanned <= this.order.length; scanned++) {
      if (this.next >= this.order.length) {
        if (this.order.length === 0) return null;
        this.order = this.order.filter(this.keep);
        shuffle(this.order, this.rng);
        this.next = 0;
        if (this.order.length === 0) return null;
      }
      const item = this.order[this.next++];
      if (this.eligible(item)) return item;
    }
    return null;
  }
}
