// A hash table from request or message ids to values, for tables that every
// request passes through (the requests in flight, the ids of those that
// ended). Open addressing with linear probing, at most half full, deletion
// by shifting the following entries back; the keys in a Float64Array, the
// values in an array whose slot is emptied when its entry goes.
//
// Why not a Map: measured on pipelined requests, a Map that takes and drops
// an entry per request had the sender promote 1.6-4 MB per young collection
// (a mark-compact every 200 ms), although a request lives 0.5 ms on average;
// the promoted objects were allocated by the Map's set/delete and were the
// values it held. A Map rebuilds its table every few hundred such
// operations and V8 keeps a retired table linked to its successor (for
// iterators), which would let one promoted table keep the next alive; that
// is the likely path, not a traced one. This table promotes nothing.
//
//   const t = new IdTable<Pending>();
//   t.set(id, pending); t.get(id); t.delete(id);
//
// Ids are safe integers >= 1 (0 marks an empty slot).

const EMPTY = 0;

export class IdTable<V> {
  #keys: Float64Array;
  #values: (V | undefined)[];
  #mask: number;
  /** 32 - log2(slots): a hash's top bits pick the home slot. */
  #shift: number;
  #size = 0;
  /** Entries at most (a table that does not grow), else Infinity. */
  readonly #max: number;

  /** Room for `entries` without growing; `grows` false holds it to that many. */
  constructor(entries = 32, grows = true) {
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 24) throw new RangeError(`entries ${entries} outside [1, 2^24]`);
    let bits = 1;
    while (1 << bits < 2 * entries) bits++;
    this.#keys = new Float64Array(1 << bits);
    this.#values = new Array<V | undefined>(1 << bits).fill(undefined);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
    this.#max = grows ? Infinity : entries;
  }

  get size(): number {
    return this.#size;
  }

  has(id: number): boolean {
    return this.#find(id) >= 0;
  }

  get(id: number): V | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : this.#values[i];
  }

  /** Adds or replaces the value of `id`. */
  set(id: number, value: V): void {
    if (!(id >= 1)) throw new RangeError(`id ${id} is not >= 1`);
    let i = this.#home(id);
    const keys = this.#keys;
    while (keys[i] !== EMPTY && keys[i] !== id) i = (i + 1) & this.#mask;
    if (keys[i] === EMPTY) {
      if (this.#size === this.#max) throw new RangeError(`table full at ${this.#size} entries`);
      if (2 * (this.#size + 1) > keys.length) {
        this.#grow();
        this.set(id, value);
        return;
      }
      keys[i] = id;
      this.#size++;
    }
    this.#values[i] = value;
  }

  /** Removes `id`; false when it was not there. */
  delete(id: number): boolean {
    let i = this.#find(id);
    if (i < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    // shift back the entries after it whose probe path crosses the freed slot
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const key = keys[j];
      if (key === EMPTY) break;
      const home = this.#home(key);
      // the entry at j may move to i when its home is not within (i, j] (cyclically)
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (inRange) continue;
      keys[i] = key;
      values[i] = values[j];
      i = j;
    }
    keys[i] = EMPTY;
    values[i] = undefined;
    this.#size--;
    return true;
  }

  /** The values, in no particular order (a copy: the table may change while it is read). */
  values(): V[] {
    const out: V[] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) out.push(this.#values[i] as V);
    return out;
  }

  clear(): void {
    this.#keys.fill(EMPTY);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  #find(id: number): number {
    if (id === EMPTY) return -1;
    const keys = this.#keys;
    const mask = this.#mask;
    let i = this.#home(id);
    for (;;) {
      const key = keys[i];
      if (key === id) return i;
      if (key === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  #home(id: number): number {
    return hash(id) >>> this.#shift;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const slots = keys.length * 2;
    this.#keys = new Float64Array(slots);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
    this.#shift--;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i], values[i] as V);
  }
}

/** Mixes both 32-bit halves of a safe integer into 32 bits (multiplicative: the top bits are the good ones). */
function hash(id: number): number {
  const high = (id / 0x1_0000_0000) >>> 0;
  return Math.imul((id >>> 0) ^ Math.imul(high, 0x85eb_ca6b), 0x9e37_79b1) >>> 0;
}
