// Key rotation under traffic in the simulator: every node seals with its own
// keyring and opens with the keys it holds when a packet arrives
// (sealed-network.ts). The documented order (install everywhere, use
// everywhere, remove everywhere) must drop nothing and kill nobody; the two
// wrong orders must drop packets, and the failure detector must notice.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/main/simulator/simulation.js';

const NODES = 10;
/** Between two nodes' keyring changes: several probe and gossip rounds (lan: 500 ms / 200 ms). */
const STEP_MS = 700;

function keys(seed: number): [Uint8Array, Uint8Array] {
  const h = (s: string) => crypto.createHash('sha256').update(s).digest();
  return [h(`k1/${seed}`), h(`k2/${seed}`)];
}

/** A keyed cluster that has run for a while, broadcasting every second. */
function cluster(seed: number, k1: Uint8Array, loss = 0) {
  const sim = new Simulation({ nodes: NODES, seed, keys: [k1], cluster: 'rotation', network: { loss } });
  sim.advance(5_000);
  return sim;
}

/** Runs `ms` of traffic with a broadcast from a rotating node every second. */
function traffic(sim: Simulation, ms: number): void {
  for (let t = 0; t < ms; t += 1_000) {
    sim.broadcast(sim.names[Math.floor(sim.now / 1_000) % NODES]);
    sim.advance(Math.min(1_000, ms - t));
  }
}

describe('simulator: key rotation under traffic', () => {
  for (const loss of [0, 0.1]) {
    it(`install everywhere, then use everywhere, then remove everywhere: no packet dropped, no false suspicion or death (loss ${loss * 100} %)`, () => {
      const [k1, k2] = keys(1);
      const sim = cluster(1, k1, loss);
      for (const n of sim.names) {
        sim.keyring(n).install(k2);
        traffic(sim, STEP_MS);
      }
      for (const n of sim.names) {
        sim.keyring(n).use(k2);
        traffic(sim, STEP_MS);
      }
      for (const n of sim.names) {
        sim.keyring(n).remove(k1);
        traffic(sim, STEP_MS);
      }
      traffic(sim, 20_000);
      const r = sim.report();
      expect(r.rejectedPackets).toBe(0);
      expect(r.falseDeaths).toBe(0);
      if (loss === 0) expect(r.falseSuspicions).toBe(0);
      expect(r.undeliveredBroadcasts).toBe(0);
      expect(r.dissemination.count).toBeGreaterThan(40);
      expect(sim.converged()).toEqual([]);
      // The cluster now runs on k2 alone.
      expect(sim.names.every((n) => sim.keyring(n).keys.length === 1 && Buffer.compare(sim.keyring(n).primary, k2) === 0)).toBe(true);
    });
  }

  it('wrong order: one node switches its primary before the others installed the key; it is cut off and declared dead', () => {
    const [k1, k2] = keys(2);
    const sim = cluster(2, k1);
    sim.keyring('n0').install(k2);
    sim.keyring('n0').use(k2);
    traffic(sim, 30_000);
    const r = sim.report();
    expect(r.rejectedPackets).toBeGreaterThan(0);
    // n0 still opens what the others seal with k1, but nobody can open its acks and gossip.
    expect(r.falseDeaths).toBeGreaterThan(0);
    expect(sim.names.slice(1).every((n) => sim.view(n).dead.includes('n0'))).toBe(true);
    // Installing the key everywhere repairs it: n0 refutes and is alive again.
    for (const n of sim.names.slice(1)) sim.keyring(n).install(k2);
    traffic(sim, 30_000);
    expect(sim.converged()).toEqual([]);
  });

  it('wrong order: the old key removed everywhere before every node switched its primary; those still on it are declared dead', () => {
    const [k1, k2] = keys(3);
    const sim = cluster(3, k1);
    for (const n of sim.names) sim.keyring(n).install(k2);
    traffic(sim, 2_000);
    const switched = sim.names.slice(0, NODES / 2);
    for (const n of switched) sim.keyring(n).use(k2);
    traffic(sim, 2_000);
    for (const n of switched) sim.keyring(n).remove(k1);
    traffic(sim, 30_000);
    const r = sim.report();
    expect(r.rejectedPackets).toBeGreaterThan(0);
    expect(r.falseDeaths).toBeGreaterThan(0);
    const lagging = sim.names.slice(NODES / 2);
    for (const n of switched) for (const m of lagging) expect(sim.view(n).dead).toContain(m);
  });

  it('a node without the cluster key at all is never admitted', () => {
    const [k1, k2] = keys(4);
    const sim = cluster(4, k1);
    sim.crash('n9');
    traffic(sim, 20_000);
    sim.keyring('n9').install(k2);
    sim.keyring('n9').use(k2);
    sim.keyring('n9').remove(k1);
    sim.restart('n9');
    traffic(sim, 20_000);
    expect(sim.report().rejectedPackets).toBeGreaterThan(0);
    expect(sim.names.slice(0, 9).every((n) => sim.node(n).stateOf('n9') === 'dead')).toBe(true);
    expect(sim.node('n9').members().filter((m) => m.state === 'alive')).toEqual([]);
  });

  it('without keys, keyring() is refused with a typed error', () => {
    const sim = new Simulation({ nodes: 3, seed: 1 });
    expect(() => sim.keyring('n0')).toThrow(/keys/);
  });
});
