// Random fault schedules over many seeds, checking two invariants:
//   1. no member is declared dead (or suspected, counted once) by a correct
//      node while it was up and reachable, outside the rule's budget after a
//      fault (the simulator's grace window);
//   2. after every fault is healed, all live views converge: every live node
//      sees every other live node alive and every crashed node dead.
// A failure names the seed; replay it with SWEEP_SEED=<seed>.
import { describe, expect, it } from 'vitest';
import { Sfc32 } from '../../src/main/simulator/prng.js';
import { Simulation } from '../../src/main/simulator/simulation.js';

const SEEDS = Number(process.env.SWEEP_SEEDS ?? 1000);
const ONLY = process.env.SWEEP_SEED === undefined ? null : Number(process.env.SWEEP_SEED);

interface Outcome {
  seed: number;
  script: string[];
  falseDeaths: number;
  unconverged: string[];
}

function runSeed(seed: number): Outcome {
  const rng = new Sfc32(seed, 0x5eed);
  const n = 3 + rng.nextInt(5);
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const loss = rng.nextFloat() * 0.3;
  const duplicate = rng.nextFloat() * 0.5;
  const reorder = rng.nextFloat() * 0.3;
  const script: string[] = [`n=${n} loss=${loss.toFixed(3)} dup=${duplicate.toFixed(3)} reorder=${reorder.toFixed(3)}`];
  const sim = new Simulation({ nodes: n, seed, network: { loss, duplicate, reorder } });
  const crashed = new Set<string>();
  const paused = new Set<string>();
  for (let step = 0; step < 6; step++) {
    const roll = rng.nextFloat();
    const who = names[rng.nextInt(n)];
    if (roll < 0.2 && crashed.size < n - 2 && !crashed.has(who) && !paused.has(who)) {
      sim.crash(who);
      crashed.add(who);
      script.push(`${sim.now} crash ${who}`);
    } else if (roll < 0.3 && crashed.has(who)) {
      sim.restart(who, { seeds: names.filter((x) => x !== who && !crashed.has(x)) });
      crashed.delete(who);
      script.push(`${sim.now} restart ${who}`);
    } else if (roll < 0.4 && !crashed.has(who) && !paused.has(who)) {
      sim.pause(who);
      paused.add(who);
      script.push(`${sim.now} pause ${who}`);
    } else if (roll < 0.5 && paused.has(who)) {
      sim.resume(who);
      paused.delete(who);
      script.push(`${sim.now} resume ${who}`);
    } else if (roll < 0.65) {
      const side = names.filter(() => rng.nextFloat() < 0.5);
      sim.partition([side]);
      script.push(`${sim.now} partition ${side.join(',')}`);
    } else if (roll < 0.75) {
      const to = names[rng.nextInt(n)];
      if (to !== who) {
        sim.cut(who, to);
        script.push(`${sim.now} cut ${who}->${to}`);
      }
    } else if (roll < 0.85) {
      sim.heal();
      script.push(`${sim.now} heal`);
    }
    sim.advance(2_000 + rng.nextInt(8_000));
  }
  sim.heal();
  sim.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
  for (const p of paused) sim.resume(p);
  script.push(`${sim.now} heal all`);
  sim.advance(45_000);
  return { seed, script, falseDeaths: sim.report().falseDeaths, unconverged: sim.converged() };
}

describe('random fault sweep', () => {
  it(`holds the invariants over ${ONLY === null ? SEEDS : 1} seeds (loss 0-30 %, duplication 0-50 %, partitions, cuts, crashes, pauses, restarts)`, () => {
    const seeds = ONLY === null ? Array.from({ length: SEEDS }, (_, i) => i + 1) : [ONLY];
    const failures: Outcome[] = [];
    for (const seed of seeds) {
      const o = runSeed(seed);
      if (o.falseDeaths > 0 || o.unconverged.length > 0) failures.push(o);
    }
    for (const f of failures.slice(0, 5)) {
      console.error(`sweep seed ${f.seed} failed (replay: SWEEP_SEED=${f.seed}): falseDeaths=${f.falseDeaths} unconverged=${JSON.stringify(f.unconverged.slice(0, 4))}\n  ${f.script.join('\n  ')}`);
    }
    expect(failures.map((f) => f.seed)).toEqual([]);
  });
});
