// Random fault schedules (fast-check) over 3 to 5 nodes running concurrent
// transactions: crashes and restarts, false failure declarations (a live
// coordinator's transactions handed to the recovery), lost, duplicated and
// reordered messages, partitions, slow and refusing applications. Invariants:
//   1. safety, checked during and after the run: participants of a
//      transaction never disagree, no commit is applied where another
//      participant aborted, and the outcome told to the coordinator's
//      application never changes (TransactionSimulation.check());
//   2. liveness: once every fault is healed and every node is back, every
//      transaction is decided everywhere and nothing stays open.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TransactionSimulation } from '../../src/main/transactions/simulation.js';

type Op =
  | { kind: 'begin'; coordinator: number; mask: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'crash' | 'restart' | 'suspect' | 'unsuspect'; node: number }
  | { kind: 'split'; mask: number }
  | { kind: 'heal' }
  | { kind: 'network'; loss: number; duplicate: number; reorder: number };

const node = fc.nat(4);
const rate = fc.double({ min: 0, max: 0.3, noNaN: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('begin' as const), coordinator: node, mask: fc.integer({ min: 1, max: 31 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_500 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('crash' as const, 'restart' as const, 'suspect' as const, 'unsuspect' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), mask: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('network' as const), loss: rate, duplicate: rate, reorder: rate }) },
);

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function apply(sim: TransactionSimulation, o: Op): void {
  const names = sim.names;
  const n = (i: number): string => names[i % names.length];
  switch (o.kind) {
    case 'begin': {
      const parts = names.filter((_, i) => (o.mask >> i) & 1);
      if (parts.length > 0) sim.begin(n(o.coordinator), parts);
      break;
    }
    case 'advance':
      sim.advance(o.ms);
      break;
    case 'crash':
      sim.crash(n(o.node));
      break;
    case 'restart':
      if (sim.status(n(o.node)) === 'crashed') sim.restart(n(o.node));
      break;
    case 'suspect':
      sim.declareFailed(n(o.node));
      break;
    case 'unsuspect':
      if (sim.status(n(o.node)) === 'up') sim.declareAlive(n(o.node));
      break;
    case 'split':
      sim.partition([names.filter((_, i) => (o.mask >> i) & 1)]);
      break;
    case 'heal':
      sim.heal();
      break;
    case 'network':
      sim.setNetwork({ loss: o.loss, duplicate: o.duplicate, reorder: o.reorder });
      break;
  }
}

describe('random crash and loss schedules', () => {
  it('keep every transaction atomic, and finish every one once healed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 600 }),
        fc.array(op, { minLength: 5, maxLength: 40 }),
        (size, seed, appDelayMaxMs, ops) => {
          const sim = new TransactionSimulation({
            nodes: Array.from({ length: size }, (_, i) => `n${i}`),
            seed,
            tx: { prepareTimeoutMs: 800, retransmitIntervalMs: 50, maxRetransmitIntervalMs: 400, statusIntervalMs: 300, recoveryPollMs: 150, compactAfterRecords: 8 },
            failureDetectionMs: 300,
            appDelayMs: (name, tx) => 1 + (hash(`${name} ${tx.txId}`) % appDelayMaxMs),
            vote: (name, tx) => (hash(`${seed} ${name} ${tx.txId}`) % 8 === 0 ? 'no' : 'yes'),
          });
          for (const o of ops) {
            apply(sim, o);
            expect(sim.check()).toEqual([]);
          }
          sim.heal();
          sim.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
          for (const name of sim.names) {
            if (sim.status(name) === 'crashed') sim.restart(name);
            sim.declareAlive(name);
          }
          if (sim.leader === null) sim.setLeader(sim.names[0]);
          const waited = sim.until(() => sim.quiescent() && sim.allDecided(), 120_000, 100);
          expect(sim.check()).toEqual([]);
          expect(waited).toBeGreaterThanOrEqual(0);
          for (const name of sim.names) expect(sim.participant(name).conflicts).toBe(0);
        },
      ),
      { numRuns: 300, seed: 20_507 },
    );
  });
});
