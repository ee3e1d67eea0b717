// A min-heap of deadlines whose entries can be moved and removed in
// O(log n): what a core needs so that its driver arms ONE timer for the
// earliest of many deadlines (request-tracker.ts keeps one entry per request
// in flight).
//
// Entries are the callers' own records: each carries its deadline (`due`), a
// tie-breaker (`order`, unique, e.g. the request id: equal deadlines come out
// in a fixed order, so a run does not depend on heap internals) and the slot
// the heap keeps it in (`heapIndex`, -1 when not queued), which is what makes
// remove() and update() logarithmic instead of a scan.

export interface Deadline {
  /** When the entry falls due (monotonic ms). Change it only through update(). */
  due: number;
  /** Unique among queued entries; orders entries with the same `due`. */
  readonly order: number;
  /** Position in the heap; -1 when not queued. Owned by the heap. */
  heapIndex: number;
}

export class DeadlineHeap<E extends Deadline> {
  readonly #heap: E[] = [];

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest due time, or Infinity when empty. */
  get nextDue(): number {
    return this.#heap.length > 0 ? this.#heap[0].due : Number.POSITIVE_INFINITY;
  }

  /** The earliest entry without removing it. */
  peek(): E | undefined {
    return this.#heap[0];
  }

  push(entry: E): void {
    if (entry.heapIndex !== -1) throw new RangeError('entry is already queued');
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.up(entry.heapIndex);
  }

  /** Removes and returns the earliest entry. */
  pop(): E | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Takes `entry` out of the heap; false when it was not queued. */
  remove(entry: E): boolean {
    const i = entry.heapIndex;
    const h = this.#heap;
    if (i < 0 || h[i] !== entry) return false;
    const last = h.pop() as E;
    entry.heapIndex = -1;
    if (last !== entry) {
      h[i] = last;
      last.heapIndex = i;
      if (!this.up(i)) this.down(i);
    }
    return true;
  }

  /** Moves `entry` to deadline `due`, queueing it when it was not queued. */
  update(entry: E, due: number): void {
    entry.due = due;
    if (entry.heapIndex === -1) {
      this.push(entry);
      return;
    }
    if (!this.up(entry.heapIndex)) this.down(entry.heapIndex);
  }

  /** Empties the heap; every entry's heapIndex becomes -1. */
  clear(): void {
    for (const e of this.#heap) e.heapIndex = -1;
    this.#heap.length = 0;
  }

  /** Sifts the entry at `i` towards the root; true when it moved. */
  private up(i: number): boolean {
    const h = this.#heap;
    const e = h[i];
    const start = i;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (!before(e, p)) break;
      h[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    h[i] = e;
    e.heapIndex = i;
    return i !== start;
  }

  private down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const e = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r], h[l]) ? r : l;
      const child = h[c];
      if (!before(child, e)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = e;
    e.heapIndex = i;
  }
}

function before(a: Deadline, b: Deadline): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}
