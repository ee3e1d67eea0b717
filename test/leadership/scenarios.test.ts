// Election scenarios in the deterministic simulator, with fixed seeds. Every
// scenario ends by checking the ledger: no term ever had two leaders.
import { describe, expect, it } from 'vitest';
import { runElectionWorkload } from '../../src/main/leadership/election-workload.js';
import { ElectionSimulation } from '../../src/main/leadership/simulation.js';

const LOCAL = { preset: 'local' } as const; // heartbeat 50 ms, election timeout 150-300 ms
const agreed = (sim: ElectionSimulation) => (): boolean => sim.agreedLeader() !== null;

function settled(sim: ElectionSimulation): string {
  expect(sim.until(agreed(sim), 5_000)).toBeGreaterThanOrEqual(0);
  return sim.agreedLeader() as string;
}

describe('election scenarios (fixed seeds)', () => {
  it('is deterministic: one seed gives the same run', () => {
    const run = (seed: number): string => {
      const sim = new ElectionSimulation({ nodes: 5, seed, raft: LOCAL, network: { loss: 0.05 } });
      sim.advance(1_000);
      sim.crash(sim.leaders()[0] ?? 'n0');
      sim.partition([['n1', 'n2']]);
      sim.advance(2_000);
      sim.heal();
      sim.advance(2_000);
      return JSON.stringify(sim.report()) + sim.names.map((n) => `${n}:${sim.raft(n).role}:${sim.raft(n).term}`).join(',');
    };
    expect(run(11)).toBe(run(11));
    expect(run(12)).not.toBe(run(11));
  });

  it('leader crash: a new leader within 2 x election timeout + 1 RTT (p99 over 300 seeds), under 500 ms with 150-300 ms timeouts', () => {
    const r = runElectionWorkload({ nodes: 5, runs: 300, seed: 1000, preset: 'local', crashesPerRun: 2 });
    expect(r.violations).toEqual([]);
    expect(r.unfinished).toBe(0);
    expect(r.failover.count).toBe(600);
    expect(r.failover.p99).toBeLessThanOrEqual(r.boundMs);
    expect(r.failover.p99).toBeLessThan(500);
    // Never faster than a follower can give up on the leader: min timeout minus one heartbeat.
    expect(r.failover.p50).toBeGreaterThan(150 - 50);
  });

  it('leader crash with 10 % loss and the lan preset: still within the bound', () => {
    const r = runElectionWorkload({ nodes: 5, runs: 40, seed: 77, preset: 'lan', loss: 0.1, crashesPerRun: 2 });
    expect(r.violations).toEqual([]);
    expect(r.unfinished).toBe(0);
    expect(r.failover.p99).toBeLessThanOrEqual(r.boundMs);
  });

  for (const leaderSide of ['minority', 'majority'] as const) {
    it(`partition 2|3 with the leader in the ${leaderSide}: the minority never has a leader, the majority has one; after healing one leader and no term inflation`, () => {
      const sim = new ElectionSimulation({ nodes: 5, seed: leaderSide === 'minority' ? 21 : 22, raft: LOCAL });
      const leader = settled(sim);
      const others = sim.names.filter((n) => n !== leader);
      const minority = leaderSide === 'minority' ? [leader, others[0]] : [others[0], others[1]];
      const majority = sim.names.filter((n) => !minority.includes(n));
      sim.partition([minority, majority]);
      // An old leader in the minority steps down within two check-quorum windows.
      sim.advance(2 * 150 + 50);
      for (let t = 0; t < 10_000; t += 10) {
        for (const n of minority) expect(sim.raft(n).isLeader, `${n} leads in the minority at +${t} ms`).toBe(false);
        // nor does a minority node name a leader it cannot hear (after one election timeout)
        if (t >= 300) for (const n of minority) expect(sim.raft(n).leader, `${n} names a leader in the minority at +${t} ms`).toBeNull();
        sim.advance(10);
      }
      const leaders = sim.leaders();
      expect(leaders).toHaveLength(1);
      expect(majority).toContain(leaders[0]);
      // Pre-vote: the minority tried to campaign all along without raising its term.
      const majorityTerm = sim.raft(leaders[0]).term;
      for (const n of minority) expect(sim.raft(n).term).toBeLessThanOrEqual(majorityTerm);
      sim.heal();
      sim.advance(3_000);
      expect(sim.leaders()).toEqual(leaders);
      expect(sim.agreedLeader()).toBe(leaders[0]);
      for (const n of sim.names) expect(sim.raft(n).term).toBe(majorityTerm);
      expect(sim.ledger.violations).toEqual([]);
    });
  }

  it('without pre-vote the healed minority inflates the term and deposes the leader (what pre-vote prevents)', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 23, raft: { ...LOCAL, preVote: 'off' } });
    const leader = settled(sim);
    const lonely = sim.names.find((n) => n !== leader) as string;
    const before = sim.raft(leader).term;
    sim.isolate(lonely);
    sim.advance(5_000);
    expect(sim.raft(lonely).term).toBeGreaterThan(before + 10);
    sim.heal();
    sim.advance(3_000);
    expect(sim.raft(sim.agreedLeader() ?? leader).term).toBeGreaterThan(before + 10);
    expect(sim.ledger.violations).toEqual([]);
  });

  it('pause (SIGSTOP) of the leader: the others elect; on resume the old leader steps down at once', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 31, raft: LOCAL });
    const old = settled(sim);
    const oldTerm = sim.raft(old).term;
    sim.pause(old);
    sim.advance(2_000);
    const next = sim.leaders();
    expect(next).toHaveLength(1);
    expect(next[0]).not.toBe(old);
    expect(sim.raft(old).isLeader).toBe(true); // frozen: it still believes it leads term oldTerm
    sim.resume(old);
    // Its first tick finds no quorum contact within the window, before any heartbeat is sent.
    expect(sim.raft(old).isLeader).toBe(false);
    sim.advance(1_000);
    expect(sim.agreedLeader()).toBe(next[0]);
    expect(sim.raft(next[0]).term).toBeGreaterThan(oldTerm);
    expect(sim.ledger.violations).toEqual([]);
  });

  it('a restarted node keeps its persisted term and vote', () => {
    const sim = new ElectionSimulation({ nodes: 3, seed: 41, raft: LOCAL });
    const leader = settled(sim);
    const follower = sim.names.find((n) => n !== leader) as string;
    const { term, votedFor } = sim.raft(follower);
    sim.crash(follower);
    sim.restart(follower);
    expect([sim.raft(follower).term, sim.raft(follower).votedFor]).toEqual([term, votedFor]);
    sim.advance(1_000);
    expect(sim.agreedLeader()).toBe(leader);
  });

  it('leadership transfer moves the leader to the chosen node in the next term', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 51, raft: LOCAL });
    const leader = settled(sim);
    const target = sim.names.find((n) => n !== leader) as string;
    const term = sim.raft(leader).term;
    sim.transfer(leader, target);
    sim.advance(50);
    expect(sim.agreedLeader()).toBe(target);
    expect(sim.raft(target).term).toBe(term + 1);
    expect(sim.ledger.violations).toEqual([]);
  });

  it('ring and one-way partitions keep one leader per term', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 61, raft: LOCAL });
    settled(sim);
    const n = sim.names;
    // Each node hears only its neighbours.
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) if (i !== j && Math.abs(i - j) !== 1 && Math.abs(i - j) !== 4) sim.cut(n[i], n[j]);
    sim.advance(10_000);
    sim.heal();
    const l = sim.leaders()[0] ?? n[0];
    for (const x of n) if (x !== l) sim.cut(l, x); // the leader can hear but not speak
    sim.advance(5_000);
    expect(sim.leaders()).not.toContain(l);
    sim.heal();
    sim.advance(3_000);
    expect(sim.agreedLeader()).not.toBeNull();
    expect(sim.ledger.violations).toEqual([]);
  });
});

describe('with SWIM membership beside Raft', () => {
  it('voters from membership: a 2|3 partition in which SWIM declares the far side dead still gives the minority no leader', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 71, raft: LOCAL, membership: 'swim', voters: 'membership' });
    const leader = settled(sim);
    const minority = [leader, sim.names.find((n) => n !== leader) as string];
    sim.partition([minority]);
    sim.advance(15_000);
    const swim = sim.swim(minority[0]);
    expect(swim).not.toBeNull();
    const dead = swim?.members().filter((m) => m.state === 'dead').length ?? 0;
    expect(dead).toBe(3);
    for (const n of minority) expect(sim.raft(n).isLeader).toBe(false);
    expect(sim.raft(minority[0]).voters).toHaveLength(5);
    expect(sim.leaders()).toHaveLength(1);
    sim.heal();
    sim.advance(15_000);
    expect(sim.agreedLeader()).not.toBeNull();
    expect(sim.ledger.violations).toEqual([]);
  });

  it('the leader dies in a 5-node cluster while it runs SWIM: a new leader, SWIM declares the old one dead, the voter set keeps it', () => {
    const sim = new ElectionSimulation({ nodes: 5, seed: 91, raft: LOCAL, membership: 'swim', voters: 'membership' });
    const leader = settled(sim);
    sim.crash(leader);
    expect(sim.until(agreed(sim), 1_000)).toBeGreaterThanOrEqual(0);
    sim.advance(10_000);
    const next = sim.agreedLeader() as string;
    expect(next).not.toBe(leader);
    expect(sim.swim(next)?.stateOf(leader)).toBe('dead');
    expect(sim.raft(next).voters).toContain(leader);
    expect(sim.ledger.violations).toEqual([]);
  });
});

describe('local health gates campaigns', () => {
  it('an unhealthy follower never campaigns; the healthy one takes over', () => {
    for (let seed = 100; seed < 120; seed++) {
      const sim = new ElectionSimulation({ nodes: 3, seed, raft: LOCAL });
      const leader = settled(sim);
      const [sick, well] = sim.names.filter((n) => n !== leader);
      sim.raft(sick).setHealthy(false);
      const term = sim.raft(sick).term;
      sim.crash(leader);
      sim.advance(2_000);
      expect(sim.leaders()).toEqual([well]);
      expect(sim.raft(sick).leader).toBe(well);
      expect(sim.raft(well).term).toBe(term + 1);
      expect(sim.ledger.violations).toEqual([]);
    }
  });
});
