// The simulator's agenda: a binary min-heap of timed events. Ties are broken
// by insertion order, so the run does not depend on heap internals.

export interface TimedEvent {
  at: number;
  seq: number;
}

export class EventQueue<E extends TimedEvent> {
  private heap: E[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: E): void {
    event.seq = this.counter++;
    const h = this.heap;
    let i = h.length;
    h.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (p.at < event.at || (p.at === event.at && p.seq < event.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = event;
  }

  /** The time of the earliest event, or Infinity. */
  peekTime(): number {
    return this.heap.length > 0 ? this.heap[0].at : Infinity;
  }

  pop(): E | undefined {
    const h = this.heap;
    const n = h.length;
    if (n === 0) return undefined;
    const top = h[0];
    const last = h.pop() as E;
    if (n > 1) {
      const size = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        let c = l;
        let ce = h[l];
        if (r < size) {
          const re = h[r];
          if (re.at < ce.at || (re.at === ce.at && re.seq < ce.seq)) {
            c = r;
            ce = re;
          }
        }
        if (last.at < ce.at || (last.at === ce.at && last.seq < ce.seq)) break;
        h[i] = ce;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
