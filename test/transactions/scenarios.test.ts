// Simulator scenarios with fixed seeds: what each guarantee looks like in a
// run, including the cases no crash point reaches (a live coordinator
// declared failed, a lossy and duplicating network, many transactions).
import { describe, expect, it } from 'vitest';
import { TransactionSimulation } from '../../src/main/transactions/simulation.js';

const TX = { prepareTimeoutMs: 1_000, retransmitIntervalMs: 100, maxRetransmitIntervalMs: 400, statusIntervalMs: 300, recoveryPollMs: 200 };

describe('simulated transactions', () => {
  it('commit with no faults: four messages per participant and one of each event', () => {
    const sim = new TransactionSimulation({ nodes: ['c', 'p1', 'p2', 'l'], seed: 1, tx: TX });
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(1_000);
    expect(sim.record(id)).toMatchObject({ told: ['committed'], applied: new Set(['p1', 'p2']), aborts: new Set() });
    expect(sim.messagesSent).toBe(8); // prepare, vote, commit, ack per participant
    expect(sim.quiescent()).toBe(true);
    expect(sim.coordinator('c').outcomeOf(id)).toBeUndefined(); // forgotten after every ack
  });

  it('a No vote aborts everywhere; the No voter is not sent the abort', () => {
    const sim = new TransactionSimulation({ nodes: ['c', 'p1', 'p2', 'l'], seed: 2, tx: TX, vote: (n) => (n === 'p2' ? 'no' : 'yes') });
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(1_000);
    expect(sim.record(id)).toMatchObject({ told: ['aborted'], applied: new Set(), aborts: new Set(['p1', 'p2']) });
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['aborted', 'aborted']);
    expect(sim.quiescent()).toBe(true);
  });

  it('a live coordinator declared failed while a participant is still preparing: the recovery and the coordinator agree (binding)', () => {
    // p2's application is slow; p1 is prepared and asks the leader, which runs
    // the termination although c is alive. The recovery's abort to p2 is lost,
    // and so is p1's acknowledgement of it to c: only p2's promise not to vote
    // Yes after answering keeps c from committing.
    const sim = new TransactionSimulation({ nodes: ['c', 'p1', 'p2', 'l'], seed: 3, tx: TX, appDelayMs: (n) => (n === 'p2' ? 700 : 1) });
    sim.declareFailed('c');
    sim.dropWhen((from, to, m) => (from === 'l' && to === 'p2' && m.type === 'TxAbort') || (from === 'p1' && to === 'c' && m.type === 'TxStatusResponse'));
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(3_000);
    expect(sim.recoveries + sim.recovery('l').active).toBeGreaterThan(0);
    expect(sim.check()).toEqual([]);
    expect([sim.loggedState('p1', id), sim.loggedState('p2', id)]).toEqual(['aborted', 'aborted']);
    expect(sim.record(id)?.told).toEqual(['aborted']);
  });

  it('a participant restarted while prepared reports it restored, asks, and commits', () => {
    const sim = new TransactionSimulation({ nodes: ['c', 'p1', 'p2', 'l'], seed: 4, tx: TX });
    sim.crashWhen((p) => p.node === 'p1' && p.kind === 'send' && p.message.type === 'TxVote');
    const id = sim.begin('c', ['p1', 'p2']) as string;
    sim.advance(200);
    expect(sim.status('p1')).toBe('crashed');
    expect(sim.loggedState('p1', id)).toBe('prepared');
    expect(sim.coordinator('c').outcomeOf(id)).toBe('committed'); // the vote left before the crash
    sim.crashWhen(null);
    sim.restart('p1');
    sim.advance(1_000);
    expect(sim.loggedState('p1', id)).toBe('committed');
    expect(sim.quiescent()).toBe(true);
    expect(sim.check()).toEqual([]);
  });

  it('200 transactions over a network that loses, duplicates and reorders 20 %, with crashes: all atomic, all finished', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const sim = new TransactionSimulation({ nodes: names, seed: 5, tx: TX, network: { loss: 0.2, duplicate: 0.2, reorder: 0.2 }, appDelayMs: 5, vote: (n, tx) => (tx.txId.endsWith('7') && n === 'c' ? 'no' : 'yes') });
    for (let i = 0; i < 200; i++) {
      const coordinator = names[i % 5];
      sim.begin(coordinator, names.filter((_, j) => j !== i % 5 && (i + j) % 3 !== 0));
      sim.advance(37);
      if (i === 50) sim.crash('b');
      if (i === 90) sim.restart('b');
      if (i === 120) sim.crash('a');
      if (i === 170) sim.restart('a');
      expect(sim.check()).toEqual([]);
    }
    sim.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
    expect(sim.until(() => sim.quiescent() && sim.allDecided(), 60_000)).toBeGreaterThanOrEqual(0);
    expect(sim.check()).toEqual([]);
    const told = sim.transactions().map((t) => t.told[0] ?? 'none');
    expect(told.filter((t) => t === 'committed').length).toBeGreaterThan(100);
    for (const n of names) expect(sim.participant(n).conflicts).toBe(0);
  });

  it('is deterministic: the same seed gives the same run', () => {
    const run = (): string => {
      const sim = new TransactionSimulation({ nodes: ['a', 'b', 'c'], seed: 9, tx: TX, network: { loss: 0.1, duplicate: 0.1, reorder: 0.1 } });
      for (let i = 0; i < 20; i++) {
        sim.begin('a', ['b', 'c']);
        sim.advance(13);
        if (i === 5) sim.crash('a');
        if (i === 12) sim.restart('a');
      }
      sim.advance(10_000);
      return JSON.stringify([sim.messagesSent, sim.recoveries, sim.transactions().map((t) => [t.txId, t.told, [...t.applied]])]);
    };
    expect(run()).toBe(run());
  });
});
