// The ids of the last `capacity` ended requests and how each ended: what the
// request tracker asks when an answer names a request no longer in flight
// (was it resolved, so the answer is a duplicate, or had it failed, so the
// answer is late?).
//
// Every request ends once and adds one id, so this is on the path of every
// request: it allocates nothing after construction. The ids sit in a ring,
// in the order they ended, which says which one to forget when a new one
// comes and the ring is full, and in an open-addressing hash table (linear
// probing, at most half full, deletion by shifting the following entries
// back), which answers a lookup in O(1).
//
//   const settled = new SettledIds(4096);
//   settled.add(id, true);          // resolved
//   settled.outcome(id);            // 'resolved' | 'failed' | null (not remembered)
//
// Ids are safe integers >= 1 (0 marks an empty slot). Adding an id that is
// held already updates its outcome in place and takes a ring slot again;
// when the older slot comes round it forgets the id (as a Map keyed by id
// would).

const EMPTY = 0;
const RESOLVED = 1;
const FAILED = 2;

export type SettledOutcome = 'resolved' | 'failed';

export class SettledIds {
  readonly capacity: number;
  /** Ended ids, oldest first from `next` once the ring is full. */
  readonly #ring: Float64Array;
  #next = 0;
  #filled = 0;
  /** Hash table: key 0 is an empty slot. */
  readonly #keys: Float64Array;
  readonly #outcomes: Uint8Array;
  readonly #mask: number;
  /** 32 - log2(slots): a hash's top bits pick the home slot. */
  readonly #shift: number;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`capacity ${capacity} outside [1, 2^24]`);
    this.capacity = capacity;
    this.#ring = new Float64Array(capacity);
    let slots = 2;
    let bits = 1;
    while (slots < 2 * capacity) {
      slots *= 2;
      bits++;
    }
    this.#shift = 32 - bits;
    this.#keys = new Float64Array(slots);
    this.#outcomes = new Uint8Array(slots);
    this.#mask = slots - 1;
  }

  /** Ids remembered. */
  get size(): number {
    return this.#size;
  }

  /** Records that request `id` ended (resolved or not); forgets the oldest when full. */
  add(id: number, resolved: boolean): void {
    const slot = this.#next;
    if (this.#filled === this.capacity) this.delete(this.#ring[slot]);
    else this.#filled++;
    this.#ring[slot] = id;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    const keys = this.#keys;
    const mask = this.#mask;
    let i = hash(id) >>> this.#shift;
    while (keys[i] !== EMPTY && keys[i] !== id) i = (i + 1) & mask;
    if (keys[i] === EMPTY) {
      keys[i] = id;
      this.#size++;
    }
    this.#outcomes[i] = resolved ? RESOLVED : FAILED;
  }

  /** How request `id` ended, or null when it is not remembered. */
  outcome(id: number): SettledOutcome | null {
    const i = this.find(id);
    if (i < 0) return null;
    return this.#outcomes[i] === RESOLVED ? 'resolved' : 'failed';
  }

  /** Forgets `id`; false when it was not remembered. Its ring slot stays until it comes round. */
  delete(id: number): boolean {
    let i = this.find(id);
    if (i < 0) return false;
    const keys = this.#keys;
    const outcomes = this.#outcomes;
    const mask = this.#mask;
    // shift back the entries after it whose probe path crosses the freed slot
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const key = keys[j];
      if (key === EMPTY) break;
      const home = hash(key) >>> this.#shift;
      // the entry at j may move to i when its home is not within (i, j] (cyclically)
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (inRange) continue;
      keys[i] = key;
      outcomes[i] = outcomes[j];
      i = j;
    }
    keys[i] = EMPTY;
    outcomes[i] = EMPTY;
    this.#size--;
    return true;
  }

  private find(id: number): number {
    if (id === EMPTY) return -1;
    const keys = this.#keys;
    const mask = this.#mask;
    let i = hash(id) >>> this.#shift;
    for (;;) {
      const key = keys[i];
      if (key === id) return i;
      if (key === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }
}

/** Mixes both 32-bit halves of a safe integer into 32 bits (multiplicative: the top bits are the good ones). */
function hash(id: number): number {
  const high = (id / 0x1_0000_0000) >>> 0;
  return Math.imul((id >>> 0) ^ Math.imul(high, 0x85eb_ca6b), 0x9e37_79b1) >>> 0;
}
