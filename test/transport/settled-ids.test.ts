// SettledIds against a naive reference (a Map and an array in end order):
// any sequence of adds, deletes and lookups gives the same answers, with ids
// that collide in the table and ids near 2^53.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SettledIds } from '../../src/main/transport/settled-ids.js';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';

/** What SettledIds promises, written the obvious way. */
class Reference {
  readonly outcomes = new Map<number, 'resolved' | 'failed'>();
  readonly ring: number[] = [];
  constructor(readonly capacity: number) {}
  add(id: number, resolved: boolean): void {
    if (this.ring.length === this.capacity) this.outcomes.delete(this.ring.shift()!);
    this.ring.push(id);
    this.outcomes.set(id, resolved ? 'resolved' : 'failed');
  }
  delete(id: number): boolean {
    return this.outcomes.delete(id);
  }
}

type Op = { kind: 'add'; id: number; resolved: boolean } | { kind: 'delete'; id: number } | { kind: 'outcome'; id: number };

describe('SettledIds', () => {
  it('remembers the last `capacity` ids and how each ended', () => {
    const s = new SettledIds(3);
    s.add(1, true);
    s.add(2, false);
    s.add(3, true);
    expect([s.outcome(1), s.outcome(2), s.outcome(3), s.outcome(4)]).toEqual(['resolved', 'failed', 'resolved', null]);
    s.add(4, false);
    expect(s.outcome(1)).toBeNull();
    expect(s.outcome(4)).toBe('failed');
    expect(s.size).toBe(3);
    expect(s.delete(3)).toBe(true);
    expect(s.delete(3)).toBe(false);
    expect(s.outcome(3)).toBeNull();
    expect(s.outcome(0)).toBeNull();
  });

  it('refuses a capacity it cannot hold', () => {
    for (const bad of [0, -1, 1.5, 2 ** 25]) expect(() => new SettledIds(bad)).toThrow(RangeError);
  });

  it('keeps working past many times its capacity (ids counting up, as a connection makes them)', () => {
    const s = new SettledIds(4096);
    for (let id = 1; id <= 100_000; id++) s.add(id, id % 3 !== 0);
    expect(s.size).toBe(4096);
    expect(s.outcome(100_000 - 4096)).toBeNull();
    expect(s.outcome(100_000 - 4095)).toBe('resolved');
    expect(s.outcome(99_999)).toBe('failed');
  });

  it('answers as the reference does for any sequence of operations (property)', () => {
    // few distinct ids so that they collide, repeat and are deleted while held
    const id = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2 ** 53 - 40, max: 2 ** 53 - 1 }), fc.integer({ min: 1, max: 2 ** 53 - 1 }));
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id, resolved: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), id }),
      fc.record({ kind: fc.constant('outcome' as const), id }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const s = new SettledIds(capacity);
        const ref = new Reference(capacity);
        for (const o of ops) {
          if (o.kind === 'add') {
            s.add(o.id, o.resolved);
            ref.add(o.id, o.resolved);
          } else if (o.kind === 'delete') {
            expect(s.delete(o.id)).toBe(ref.delete(o.id));
          } else {
            expect(s.outcome(o.id)).toBe(ref.outcomes.get(o.id) ?? null);
          }
          expect(s.size).toBe(ref.outcomes.size);
        }
        for (const [k, v] of ref.outcomes) expect(s.outcome(k)).toBe(v);
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 3000), seed: propertySeed() },
    );
  });
});
