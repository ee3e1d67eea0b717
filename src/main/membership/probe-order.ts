// SWIM's randomized round-robin probe order (SWIM paper section 4.3): members
// are probed in a shuffled list, reshuffled after each full pass, and newcomers
// are inserted at a random position. Every member is probed within one pass
// (a bounded detection time), yet probers do not move in lockstep.
//
// Entries are member slots (MemberTable) in one Int32Array: four bytes per
// member, and a pass's end filters it in place.
import type { Random } from './random.js';
import { shuffle } from './random.js';

export class ProbeOrder {
  private order = new Int32Array(16);
  private count = 0;
  private next = 0;

  /**
   * @param eligible whether a slot may be probed now
   * @param keep whether a slot stays in the order at the next reshuffle
   */
  constructor(
    private readonly rng: Random,
    private readonly eligible: (slot: number) => boolean,
    private readonly keep: (slot: number) => boolean,
  ) {}

  get length(): number {
    return this.count;
  }

  /** Adds a slot at a random position of the current pass. */
  add(slot: number): void {
    const at = this.rng.nextInt(this.count + 1);
    this.reserve(this.count + 1);
    const order = this.order;
    order.copyWithin(at + 1, at, this.count);
    order[at] = slot;
    this.count++;
    if (at < this.next) this.next++;
  }

  /** Adds many slots at once and reshuffles the whole order (a warm start). */
  addAll(slots: Int32Array, from: number, to: number): void {
    this.reserve(this.count + to - from);
    this.order.set(slots.subarray(from, to), this.count);
    this.count += to - from;
    shuffle(this.order, this.rng, this.count);
    this.next = 0;
  }

  /** Takes `slot` out of the order (it was forgotten); the others keep their places. */
  remove(slot: number): void {
    const i = this.order.subarray(0, this.count).indexOf(slot);
    if (i < 0) return;
    this.order.copyWithin(i, i + 1, this.count);
    this.count--;
    if (i < this.next) this.next--;
  }

  /** The next eligible slot, or -1 when none is. */
  pick(): number {
    for (let scanned = 0; scanned <= this.count; scanned++) {
      if (this.next >= this.count) {
        if (this.count === 0) return -1;
        this.compact();
        shuffle(this.order, this.rng, this.count);
        this.next = 0;
        if (this.count === 0) return -1;
      }
      const slot = this.order[this.next++];
      if (this.eligible(slot)) return slot;
    }
    return -1;
  }

  /** Keeps the slots `keep` accepts, in order. */
  private compact(): void {
    const order = this.order;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = order[i];
      if (this.keep(slot)) order[n++] = slot;
    }
    this.count = n;
  }

  private reserve(n: number): void {
    if (n <= this.order.length) return;
    const grown = new Int32Array(Math.max(n, this.order.length * 2));
    grown.set(this.order.subarray(0, this.count));
    this.order = grown;
  }
}
