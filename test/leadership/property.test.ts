// Random fault schedules (fast-check): crashes, restarts, pauses, partitions,
// one-way cuts, loss, duplication, transfers, over 3 to 7 nodes with and
// without pre-vote and check-quorum. Invariants:
//   1. safety: never two leaders in one term (the ledger saw every event);
//   2. liveness: once every fault is healed and every node is back, one
//      leader is agreed on within a few election timeouts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ElectionSimulation } from '../../src/main/leadership/simulation.js';

type Op =
  | { kind: 'advance'; ms: number }
  | { kind: 'crash' | 'restart' | 'pause' | 'resume' | 'isolate' | 'transfer'; node: number }
  | { kind: 'split'; mask: number }
  | { kind: 'cut'; from: number; to: number }
  | { kind: 'heal' }
  | { kind: 'network'; loss: number; duplicate: number; reorder: number };

const node = fc.nat(6);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_500 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('crash' as const, 'restart' as const, 'pause' as const, 'resume' as const, 'isolate' as const, 'transfer' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), mask: fc.nat(127) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), from: node, to: node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('network' as const), loss: fc.double({ min: 0, max: 0.3, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }), reorder: fc.double({ min: 0, max: 0.3, noNaN: true }) }) },
);

function apply(sim: ElectionSimulation, o: Op): void {
  const names = sim.names;
  const n = (i: number): string => names[i % names.length];
  switch (o.kind) {
    case 'advance':
      sim.advance(o.ms);
      break;
    case 'crash':
      sim.crash(n(o.node));
      break;
    case 'restart':
      if (sim.status(n(o.node)) === 'crashed') sim.restart(n(o.node));
      break;
    case 'pause':
      sim.pause(n(o.node));
      break;
    case 'resume':
      sim.resume(n(o.node));
      break;
    case 'isolate':
      sim.isolate(n(o.node));
      break;
    case 'transfer': {
      const [leader] = sim.leaders();
      const to = n(o.node);
      if (leader !== undefined && leader !== to) sim.transfer(leader, to);
      break;
    }
    case 'split':
      sim.partition([names.filter((_, i) => (o.mask >> i) & 1)]);
      break;
    case 'cut':
      if (o.from % names.length !== o.to % names.length) sim.cut(n(o.from), n(o.to));
      break;
    case 'heal':
      sim.heal();
      break;
    case 'network':
      sim.setNetwork({ loss: o.loss, duplicate: o.duplicate, reorder: o.reorder });
      break;
  }
}

describe('random fault schedules', () => {
  it('never two leaders in a term; one agreed leader after healing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 7 }),
        fc.integer(),
        fc.constantFrom('on' as const, 'off' as const),
        fc.constantFrom('on' as const, 'off' as const),
        fc.array(op, { maxLength: 30 }),
        (nodes, seed, preVote, checkQuorum, ops) => {
          const sim = new ElectionSimulation({ nodes, seed, raft: { preset: 'local', preVote, checkQuorum } });
          for (const o of ops) {
            apply(sim, o);
            expect(sim.ledger.violations).toEqual([]);
          }
          sim.heal();
          sim.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
          for (const name of sim.names) {
            if (sim.status(name) === 'crashed') sim.restart(name);
            else if (sim.status(name) === 'paused') sim.resume(name);
          }
          const waited = sim.until(() => sim.agreedLeader() !== null, 10_000);
          expect(waited, 'no agreed leader 10 s after healing').toBeGreaterThanOrEqual(0);
          expect(sim.ledger.violations).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.RAFT_PROPERTY_RUNS ?? 1000) },
    );
  });
});
