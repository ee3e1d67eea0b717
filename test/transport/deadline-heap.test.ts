// The deadline heap against a sorted-array reference: push, pop, remove and
// update in any order keep the earliest (due, order) on top.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type Deadline } from '../../src/main/transport/deadline-heap.js';

const entry = (order: number, due: number): Deadline => ({ order, due, heapIndex: -1 });

describe('DeadlineHeap', () => {
  it('pops by due time, ties by order', () => {
    const h = new DeadlineHeap<Deadline>();
    for (const [o, d] of [[3, 10], [1, 10], [2, 5], [4, 1]]) h.push(entry(o, d));
    expect(h.nextDue).toBe(1);
    expect([h.pop(), h.pop(), h.pop(), h.pop()].map((e) => e?.order)).toEqual([4, 2, 1, 3]);
    expect(h.pop()).toBeUndefined();
    expect(h.nextDue).toBe(Number.POSITIVE_INFINITY);
  });

  it('removes and moves entries anywhere in the heap', () => {
    const h = new DeadlineHeap<Deadline>();
    const es = Array.from({ length: 8 }, (_, i) => entry(i, i * 10));
    for (const e of es) h.push(e);
    expect(h.remove(es[0])).toBe(true);
    expect(h.remove(es[0])).toBe(false);
    expect(es[0].heapIndex).toBe(-1);
    h.update(es[7], 1);
    expect(h.peek()).toBe(es[7]);
    h.update(es[0], 0); // not queued: update queues it
    expect(h.pop()).toBe(es[0]);
    expect(() => h.push(es[7])).toThrow(RangeError);
    h.clear();
    expect(h.size).toBe(0);
    expect(es[7].heapIndex).toBe(-1);
  });

  it('agrees with a sorted reference under any sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('push', 'pop', 'remove', 'update'), fc.nat(30), fc.integer({ min: 0, max: 50 })), { maxLength: 200 }),
        (ops) => {
          const h = new DeadlineHeap<Deadline>();
          const all = Array.from({ length: 31 }, (_, i) => entry(i, 0));
          const queued = new Set<Deadline>();
          const sorted = (): Deadline[] => [...queued].sort((a, b) => a.due - b.due || a.order - b.order);
          for (const [op, k, due] of ops) {
            const e = all[k];
            if (op === 'push' && !queued.has(e)) {
              e.due = due;
              h.push(e);
              queued.add(e);
            } else if (op === 'pop') {
              expect(h.pop()).toBe(sorted()[0]);
              queued.delete(sorted()[0]);
            } else if (op === 'remove') {
              expect(h.remove(e)).toBe(queued.delete(e));
            } else if (op === 'update') {
              h.update(e, due);
              queued.add(e);
            }
            expect(h.size).toBe(queued.size);
            expect(h.peek()).toBe(sorted()[0]);
          }
        },
      ),
    );
  });
});
