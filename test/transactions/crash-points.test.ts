// The issue's main test: crash the coordinator and a participant at every step
// of the protocol — before and after each log append, after each message sent,
// before each message handled — alone and in pairs, and check that
//   1. every participant reaches the same outcome (none commits while another
//      aborts), and the outcome told to the coordinator's application never
//      changes and matches theirs (TransactionSimulation.check());
//   2. once the crashed nodes are back, every transaction is decided
//      everywhere and nothing is left open (liveness).
// The crash points are found by running each scenario once without a crash
// and recording every point each node passes; every one of them is then a
// crash site. The leader's termination protocol runs whenever the coordinator
// is down longer than the failure detection time.
import { describe, expect, it } from 'vitest';
import { TransactionSimulation, type CrashPoint } from '../../src/main/transactions/simulation.js';

interface Scenario {
  readonly name: string;
  readonly nodes: string[];
  readonly leader: string;
  readonly coordinator: string;
  readonly participants: string[];
  readonly voteNo?: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'coordinator and two participants, a separate leader', nodes: ['c', 'p1', 'p2', 'l'], leader: 'l', coordinator: 'c', participants: ['p1', 'p2'] },
  { name: 'a participant votes no', nodes: ['c', 'p1', 'p2', 'l'], leader: 'l', coordinator: 'c', participants: ['p1', 'p2'], voteNo: 'p2' },
  { name: 'the coordinator is also a participant', nodes: ['c', 'p1', 'p2', 'l'], leader: 'l', coordinator: 'c', participants: ['c', 'p1', 'p2'] },
  { name: 'the leader is a participant', nodes: ['c', 'p1', 'p2'], leader: 'p2', coordinator: 'c', participants: ['p1', 'p2'] },
];

const TX = { prepareTimeoutMs: 1_000, retransmitIntervalMs: 100, maxRetransmitIntervalMs: 400, statusIntervalMs: 300, recoveryPollMs: 200, outcomeRetentionMs: 3_600_000, compactAfterRecords: 4 };

type Site = Pick<CrashPoint, 'node' | 'kind' | 'n'>;

function label(s: Site): string {
  return `${s.node} ${s.kind} #${s.n}`;
}

function simulate(sc: Scenario, seed: number): TransactionSimulation {
  return new TransactionSimulation({
    nodes: sc.nodes,
    seed,
    leader: sc.leader,
    tx: TX,
    failureDetectionMs: 300,
    appDelayMs: 2,
    vote: (node) => (node === sc.voteNo ? 'no' : 'yes'),
  });
}

/** Every crash point of the nodes that take part, from a run without faults. */
function sitesOf(sc: Scenario): Site[] {
  const sim = simulate(sc, 1);
  const sites: Site[] = [];
  const actors = new Set([sc.coordinator, ...sc.participants]);
  sim.crashWhen((p) => {
    if (actors.has(p.node)) sites.push({ node: p.node, kind: p.kind, n: p.n });
    return false;
  });
  sim.begin(sc.coordinator, sc.participants);
  sim.advance(5_000);
  expect(sim.check()).toEqual([]);
  expect(sim.quiescent()).toBe(true);
  return sites;
}

interface Outcome {
  readonly problems: string[];
  readonly fired: number;
}

/** Runs the scenario with a crash at each of `sites` (each fires once); crashed nodes restart `restartAfterMs` later. */
function runWithCrashes(sc: Scenario, sites: readonly Site[], restartAfterMs: number | null, seed = 1): Outcome {
  const sim = simulate(sc, seed);
  const pending = new Set(sites.map(label));
  const crashedAt = new Map<string, number>();
  sim.crashWhen((p) => {
    const key = label(p);
    if (!pending.has(key)) return false;
    pending.delete(key);
    crashedAt.set(p.node, sim.now);
    return true;
  });
  const txId = sim.begin(sc.coordinator, sc.participants);
  const problems: string[] = [];
  for (let t = 0; t < 8_000; t += 50) {
    sim.advance(50);
    if (restartAfterMs !== null) {
      for (const [node, at] of crashedAt) {
        if (sim.now - at >= restartAfterMs && sim.status(node) === 'crashed') {
          crashedAt.delete(node);
          sim.restart(node);
        }
      }
    }
  }
  problems.push(...sim.check());
  if (restartAfterMs !== null) {
    for (const n of sim.names) if (sim.status(n) === 'crashed') sim.restart(n);
    const waited = sim.until(() => sim.quiescent() && sim.allDecided(), 60_000, 50);
    if (waited < 0) problems.push(`not finished: ${sc.participants.map((p) => `${p} ${String(sim.loggedState(p, txId ?? ''))}`).join(', ')}`);
    problems.push(...sim.check());
    for (const p of sc.participants) if (sim.participant(p).conflicts > 0) problems.push(`${p} saw ${sim.participant(p).conflicts} conflicting decisions`);
  }
  return { problems: [...new Set(problems)].map((x) => `[${sites.map(label).join(' + ')}] ${x}`), fired: sites.length - pending.size };
}

describe('a crash at every step (one node)', () => {
  for (const sc of SCENARIOS) {
    it(sc.name, () => {
      const sites = sitesOf(sc);
      expect(sites.length).toBeGreaterThan(15);
      const problems: string[] = [];
      for (const site of sites) {
        // Back before failure detection (the node's own log finishes the job), and after it (the leader's recovery runs first).
        for (const restart of [150, 2_000]) {
          const r = runWithCrashes(sc, [site], restart);
          expect(r.fired).toBe(1);
          problems.push(...r.problems);
        }
        // Never back: participants must still agree (decided by the recovery, or blocked without deciding).
        problems.push(...runWithCrashes(sc, [site], null).problems);
      }
      expect(problems).toEqual([]);
    });
  }
});

describe('the coordinator and a participant both crash, at every pair of steps', () => {
  for (const sc of SCENARIOS.slice(0, 3)) {
    it(sc.name, () => {
      const sites = sitesOf(sc);
      const coordinator = sites.filter((s) => s.node === sc.coordinator);
      const participant = sites.filter((s) => s.node === sc.participants.find((p) => p !== sc.coordinator));
      const problems: string[] = [];
      let runs = 0;
      let bothFired = 0;
      for (const a of coordinator) {
        for (const b of participant) {
          const r = runWithCrashes(sc, [a, b], 1_000);
          runs++;
          if (r.fired === 2) bothFired++;
          problems.push(...r.problems);
        }
      }
      expect(problems).toEqual([]);
      expect(runs).toBeGreaterThan(50);
      expect(bothFired).toBeGreaterThan(runs / 3);
    });
  }
});

describe('the blocking case', () => {
  const sc = SCENARIOS[0];

  it('every participant prepared and the coordinator down with a logged commit: the recovery blocks, then finishes when the coordinator returns with its log', () => {
    const sim = simulate(sc, 3);
    sim.crashWhen((p) => p.node === 'c' && p.kind === 'appended' && p.record.kind === 'decision');
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(3_000);
    expect(sim.status('c')).toBe('crashed');
    expect(sim.recovery('l').phaseOf(id)).toBe('blocked');
    expect(sim.blocked).toBe(1);
    expect([sim.participant('p1').stateOf(id), sim.participant('p2').stateOf(id)]).toEqual(['prepared', 'prepared']);
    sim.advance(10_000); // blocked stays blocked: nothing is guessed
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['prepared', 'prepared']);
    sim.crashWhen(null);
    sim.restart('c');
    expect(sim.until(() => sim.quiescent(), 5_000)).toBeGreaterThanOrEqual(0);
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['committed', 'committed']);
    expect(sim.record(id)?.applied).toEqual(new Set(['p1', 'p2']));
    expect(sim.check()).toEqual([]);
  });

  it('the coordinator down before logging its decision: blocked, then aborted when it returns (it never decided)', () => {
    const sim = simulate(sc, 4);
    sim.crashWhen((p) => p.node === 'c' && p.kind === 'append' && p.record.kind === 'decision');
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(3_000);
    expect(sim.recovery('l').phaseOf(id)).toBe('blocked');
    sim.crashWhen(null);
    sim.restart('c');
    expect(sim.until(() => sim.quiescent(), 5_000)).toBeGreaterThanOrEqual(0);
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['aborted', 'aborted']);
    expect(sim.record(id)?.told).toEqual(['aborted']);
    expect(sim.check()).toEqual([]);
  });

  it('one participant never prepared: the recovery aborts without the coordinator', () => {
    const sim = simulate(sc, 5);
    // The coordinator dies right after its first TxPrepare leaves: p2 never hears of the transaction.
    sim.crashWhen((p) => p.node === 'c' && p.kind === 'send' && p.message.type === 'TxPrepare');
    const id = sim.begin('c', ['p1', 'p2']) as string;
    expect(sim.until(() => sim.recoveries === 1, 5_000)).toBeGreaterThanOrEqual(0);
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['aborted', 'aborted']);
    expect(sim.status('c')).toBe('crashed');
    expect(sim.check()).toEqual([]);
  });

  it('one participant committed before the coordinator died: the recovery commits the rest', () => {
    const sim = simulate(sc, 6);
    sim.crashWhen((p) => p.node === 'c' && p.kind === 'send' && p.message.type === 'TxCommit');
    const id = sim.begin('c', ['p1', 'p2']) as string;
    expect(sim.until(() => sim.recoveries === 1, 5_000)).toBeGreaterThanOrEqual(0);
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['committed', 'committed']);
    expect(sim.check()).toEqual([]);
  });

  it('a new leader picks up a recovery the old one left unfinished', () => {
    const sim = simulate(sc, 7);
    sim.crashWhen((p) => (p.node === 'c' && p.kind === 'send' && p.message.type === 'TxCommit') || (p.node === 'l' && p.kind === 'receive' && p.message.type === 'TxStatusResponse'));
    const id = sim.begin('c', ['p1', 'p2']) as string;
    expect(sim.until(() => sim.status('l') === 'crashed', 5_000)).toBeGreaterThanOrEqual(0);
    expect(sim.until(() => sim.recoveries === 1, 10_000)).toBeGreaterThanOrEqual(0);
    expect(sim.leader).not.toBe('l');
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['committed', 'committed']);
    expect(sim.check()).toEqual([]);
  });
});
