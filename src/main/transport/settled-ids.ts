// The ids of the last `capacity` ended requests and how each ended: what the
// request tracker asks when an answer names a request no longer in flight
// (was it resolved, so the answer is a duplicate, or had it failed, so the
// answer is late?).
//
// Every request ends once and adds one id, so this is on the path of every
// request: it allocates nothing after construction. The ids sit in a ring,
// in the order they ended, which says which one to forget when a new one
// comes and the ring is full, and in an IdTable of fixed size (id-table.ts),
// which answers a lookup in O(1).
//
//   const settled = new SettledIds(4096);
//   settled.add(id, true);          // resolved
//   settled.outcome(id);            // 'resolved' | 'failed' | null (not remembered)
//
// Ids are safe integers >= 1 (0 marks an empty slot). Adding an id that is
// held already updates its outcome in place and takes a ring slot again;
// when the older slot comes round it forgets the id (as a Map keyed by id
// would).

import { IdTable } from './id-table.js';

export type SettledOutcome = 'resolved' | 'failed';

export class SettledIds {
  readonly capacity: number;
  /** Ended ids, oldest first from `next` once the ring is full. */
  readonly #ring: Float64Array;
  #next = 0;
  #filled = 0;
  /** Id -> resolved (true) or failed (false). */
  readonly #outcomes: IdTable<boolean>;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`capacity ${capacity} outside [1, 2^24]`);
    this.capacity = capacity;
    this.#ring = new Float64Array(capacity);
    this.#outcomes = new IdTable<boolean>(capacity, false);
  }

  /** Ids remembered. */
  get size(): number {
    return this.#outcomes.size;
  }

  /** Records that request `id` ended (resolved or not); forgets the oldest when full. */
  add(id: number, resolved: boolean): void {
    const slot = this.#next;
    if (this.#filled === this.capacity) this.#outcomes.delete(this.#ring[slot]);
    else this.#filled++;
    this.#ring[slot] = id;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    this.#outcomes.set(id, resolved);
  }

  /** How request `id` ended, or null when it is not remembered. */
  outcome(id: number): SettledOutcome | null {
    const resolved = this.#outcomes.get(id);
    return resolved === undefined ? null : resolved ? 'resolved' : 'failed';
  }

  /** Forgets `id`; false when it was not remembered. Its ring slot stays until it comes round. */
  delete(id: number): boolean {
    return this.#outcomes.delete(id);
  }
}
