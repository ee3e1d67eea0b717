import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/main/simulator/simulation.js';

describe('simulator scenarios (fixed seeds)', () => {
  it('is deterministic: one seed gives the same run bit for bit', () => {
    const run = (seed: number) => {
      const sim = new Simulation({ nodes: 12, seed, network: { loss: 0.05, duplicate: 0.1, reorder: 0.1 } });
      sim.advance(10_000);
      sim.crash('n3');
      sim.partition([['n1', 'n2']]);
      sim.advance(20_000);
      sim.heal();
      sim.broadcast('n0');
      sim.advance(30_000);
      const views = sim.names.map((n) => JSON.stringify(sim.node(n).members().map((m) => [m.name, m.state, m.incarnation, m.since])));
      return JSON.stringify(sim.report()) + views.join('|');
    };
    const a = run(7);
    expect(run(7)).toBe(a);
    expect(run(8)).not.toBe(a);
  });

  it('steady state: no suspicion at all without faults', () => {
    const sim = new Simulation({ nodes: 30, seed: 1 });
    sim.advance(120_000);
    const r = sim.report();
    expect(r.falseSuspicions).toBe(0);
    expect(r.falseDeaths).toBe(0);
    expect(sim.converged()).toEqual([]);
    // SWIM: about one ping and one ack per member per period when nothing happens.
    expect(r.messagesPerProbePeriod).toBeLessThan(2.5);
  });

  it('crash: every node declares the crashed node dead within the bound (p99 <= 6 s)', () => {
    const sim = new Simulation({ nodes: 50, seed: 2 });
    sim.advance(5_000);
    for (let i = 1; i <= 10; i++) {
      sim.crash(`n${i}`);
      sim.advance(10_000);
    }
    const r = sim.report();
    expect(r.detection.count).toBe(10);
    expect(r.detection.p99).toBeLessThanOrEqual(6_000);
    expect(r.falseDeaths).toBe(0);
    expect(sim.converged()).toEqual([]);
    for (let i = 1; i <= 10; i++) expect(sim.view('n0').dead).toContain(`n${i}`);
  });

  it('pause 10 s then resume: declared dead while frozen, then refutes and is alive everywhere', () => {
    const sim = new Simulation({ nodes: 10, seed: 3 });
    sim.advance(5_000);
    const before = sim.node('n4').incarnation;
    sim.pause('n4');
    sim.advance(10_000);
    expect(sim.view('n0').dead).toContain('n4');
    sim.resume('n4');
    sim.advance(15_000);
    expect(sim.node('n4').incarnation).toBeGreaterThan(before);
    expect(sim.converged()).toEqual([]);
    expect(sim.report().falseDeaths).toBe(0);
  });

  it('partition longer than the dead timeout, then heal: the halves re-merge without a manual join', () => {
    const sim = new Simulation({ nodes: 10, seed: 4 });
    sim.advance(5_000);
    sim.partition([['n0', 'n1', 'n2', 'n3', 'n4']]);
    sim.advance(60_000);
    expect(sim.view('n0').dead.sort()).toEqual(['n5', 'n6', 'n7', 'n8', 'n9']);
    expect(sim.view('n9').dead.sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    sim.heal();
    sim.advance(40_000);
    expect(sim.converged()).toEqual([]);
  });

  it('a member that missed the gossip of a join learns the joiner from its first probe, without waiting for push-pull', () => {
    // joins spread only by piggybacking, each update sent once: most members miss most joins
    const swim = { gossipNodes: 0, retransmitMult: 1, pushPullIntervalMs: 0 };
    for (const seed of [1, 2, 3]) {
      const sim = new Simulation({ nodes: 8, seed, start: 'join', swim });
      sim.advance(15_000);
      expect(sim.converged()).toEqual([]);
    }
  });

  it('one-way partition: a member that cannot be pinged directly is still reached through helpers', () => {
    const sim = new Simulation({ nodes: 10, seed: 5 });
    sim.advance(5_000);
    sim.cut('n0', 'n1');
    sim.advance(60_000);
    for (const n of sim.names) if (n !== 'n1') expect(sim.node(n).stateOf('n1')).toBe('alive');
    sim.heal();
    sim.advance(10_000);
    expect(sim.converged()).toEqual([]);
  });

  it('10 % packet loss: no false death', () => {
    const sim = new Simulation({ nodes: 40, seed: 6, network: { loss: 0.1 } });
    sim.advance(180_000);
    const r = sim.report();
    expect(r.falseDeaths).toBe(0);
  });

  it('30 % packet loss: suspicions happen, deaths do not; a real crash is still detected', () => {
    const sim = new Simulation({ nodes: 20, seed: 7, network: { loss: 0.3 } });
    sim.advance(60_000);
    sim.crash('n7');
    sim.advance(60_000);
    const r = sim.report();
    expect(r.falseDeaths).toBe(0);
    expect(r.detection.count).toBe(1);
    sim.setNetwork({ loss: 0 });
    sim.advance(20_000);
    expect(sim.converged()).toEqual([]);
  });

  it('crash and restart: the restarted node (incarnation 0) refutes its old death and is re-admitted', () => {
    const sim = new Simulation({ nodes: 8, seed: 8 });
    sim.advance(5_000);
    sim.crash('n2');
    sim.advance(15_000);
    expect(sim.view('n0').dead).toContain('n2');
    sim.restart('n2');
    sim.advance(15_000);
    expect(sim.converged()).toEqual([]);
    expect(sim.node('n2').state).toBe('alive');
  });

  it('crash and restart with a persisted incarnation counter', () => {
    const sim = new Simulation({ nodes: 8, seed: 9 });
    sim.advance(5_000);
    sim.crash('n2');
    sim.advance(15_000);
    sim.restart('n2', { persistIncarnation: true });
    sim.advance(15_000);
    expect(sim.converged()).toEqual([]);
  });

  it('cold start: nodes that join through one seed converge', () => {
    const sim = new Simulation({ nodes: 15, seed: 10, start: 'join' });
    sim.advance(30_000);
    expect(sim.converged()).toEqual([]);
  });

  it('graceful leave: everybody marks the node left, nobody declares it dead', () => {
    const sim = new Simulation({ nodes: 10, seed: 11 });
    sim.advance(5_000);
    sim.leave('n3');
    sim.advance(20_000);
    for (const n of sim.names) if (n !== 'n3') expect(sim.node(n).stateOf('n3')).toBe('left');
    expect(sim.report().falseDeaths).toBe(0);
  });

  it('graceful leave missed by one member: it suspects the node, is told it left, and marks it left, not dead', () => {
    for (const seed of [21, 22, 23]) {
      const sim = new Simulation({ nodes: 5, seed });
      sim.advance(5_000);
      // n0 hears nothing while the leave spreads, then the link heals.
      for (const n of sim.names) if (n !== 'n0') sim.cut(n, 'n0');
      sim.leave('n4');
      sim.advance(1_000);
      sim.heal();
      sim.advance(5_000);
      for (const n of ['n0', 'n1', 'n2', 'n3']) expect(sim.node(n).stateOf('n4')).toBe('left');
    }
  });

  it('broadcasts reach every node, in about log N gossip rounds', () => {
    const sim = new Simulation({ nodes: 64, seed: 12 });
    sim.advance(2_000);
    for (let i = 0; i < 5; i++) {
      sim.broadcast(`n${i}`);
      sim.advance(5_000);
    }
    const r = sim.report();
    expect(r.dissemination.count).toBe(5);
    expect(r.dissemination.max).toBeLessThan(2_000);
  });
});

describe('user broadcasts under loss', () => {
  it('reach every member at 10 % loss (5 nodes, 2 000 broadcasts; with the membership retransmit limit alone about 1 in 200 missed a member)', () => {
    let sent = 0;
    let complete = 0;
    for (const seed of [1, 2, 3, 4]) {
      const sim = new Simulation({ nodes: 5, seed, network: { loss: 0.1 } });
      sim.advance(5_000);
      for (let i = 0; i < 500; i++) {
        sim.broadcast(`n${i % 5}`);
        sent++;
        sim.advance(500);
      }
      sim.advance(10_000);
      complete += sim.report().samples.dissemination.length;
    }
    expect(complete).toBe(sent);
  });
});
