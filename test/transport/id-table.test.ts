// IdTable against a Map: any sequence of sets, deletes and lookups gives the
// same answers, with ids that collide in the table, ids near 2^53, and the
// table growing under the sequence; a fixed-size table refuses to grow.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from '../../src/main/transport/id-table.js';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';

type Op = { kind: 'set'; id: number; value: number } | { kind: 'delete'; id: number } | { kind: 'get'; id: number };

/** Ids from a few ranges: small, consecutive from a large random start (as message ids are), and near 2^53. */
const id = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 0, max: 40 }).map((i) => 0x3a_5c_7e_91_20_00 + i),
  fc.integer({ min: 0, max: 40 }).map((i) => Number.MAX_SAFE_INTEGER - i),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), id, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), id }),
  fc.record({ kind: fc.constant('get' as const), id }),
);

describe('IdTable', () => {
  it('answers as a Map would under any sequence of sets, deletes and lookups (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 400 }), (initial, ops) => {
        const table = new IdTable<number>(initial);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            table.set(o.id, o.value);
            model.set(o.id, o.value);
          } else if (o.kind === 'delete') {
            expect(table.delete(o.id)).toBe(model.delete(o.id));
          } else {
            expect(table.get(o.id)).toBe(model.get(o.id));
            expect(table.has(o.id)).toBe(model.has(o.id));
          }
          expect(table.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(table.get(k)).toBe(v);
        expect(table.values().sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
        table.clear();
        expect(table.size).toBe(0);
        for (const k of model.keys()) expect(table.has(k)).toBe(false);
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 2000), seed: propertySeed() },
    );
  });

  it('holds a fixed-size table to its size, refuses ids below 1, and finds no id 0', () => {
    const fixed = new IdTable<string>(3, false);
    for (const i of [10, 11, 12]) fixed.set(i, `v${i}`);
    expect(() => fixed.set(13, 'v13')).toThrow(RangeError);
    fixed.set(12, 'again'); // replacing is not growing
    expect(fixed.get(12)).toBe('again');
    expect(fixed.delete(10)).toBe(true);
    fixed.set(13, 'v13');
    expect(fixed.size).toBe(3);
    expect(() => fixed.set(0, 'zero')).toThrow(RangeError);
    expect(() => fixed.set(-1, 'minus')).toThrow(RangeError);
    expect(fixed.has(0)).toBe(false);
    expect(() => new IdTable(0)).toThrow(RangeError);
  });

  it('lets go of a value once its entry is deleted', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const table = new IdTable<object>();
    const fill = (): WeakRef<object>[] =>
      Array.from({ length: 100 }, (_, i) => {
        const value = { i };
        table.set(2 ** 44 + i, value);
        return new WeakRef(value);
      });
    const refs = fill();
    for (let i = 0; i < 100; i++) table.delete(2 ** 44 + i);
    await new Promise((r) => setImmediate(r)); // a WeakRef holds its target until the job that made it ends
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });
});
