// The failover measurement behind `clusterwire simulate --raft` and
// bench/leadership.ts: many seeded runs of a small cluster, each crashing the
// leader a few times at a random moment and timing the new election.
//
//   per run (seed, seed + 1, ...)
//     wait until one leader is agreed on
//     repeat crashesPerRun times:
//       wait a random time in [0, electionTimeoutMaxMs)
//       crash the leader; time until another node wins a newer term
//       (failover) and until every up node follows it (agreement)
//       restart the old leader; let the cluster settle
//
// The goal it is checked against: failover p99 within 2 x electionTimeoutMaxMs
// + 1 RTT. Every run also feeds the one-leader-per-term ledger.
import { InvalidConfigError } from '../../shared/errors.js';
import { DEFAULT_LINK, type LinkModel } from '../simulator/network.js';
import { Sfc32 } from '../simulator/prng.js';
import { distribution, type Distribution } from '../simulator/recorder.js';
import { RaftPresets, type RaftPresetName } from './options.js';
import { ElectionSimulation } from './simulation.js';

export interface ElectionWorkloadOptions {
  readonly nodes: number;
  readonly runs: number;
  readonly seed: number;
  readonly preset: RaftPresetName;
  readonly crashesPerRun?: number;
  readonly loss?: number;
  readonly network?: Partial<LinkModel>;
  /** 'swim': SWIM cores run beside the election cores (health from Lifeguard). */
  readonly membership?: 'swim' | 'none';
}

export interface ElectionWorkloadResult {
  readonly options: Required<Omit<ElectionWorkloadOptions, 'network'>>;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  /** Mean round trip of the simulated link. */
  readonly rttMs: number;
  /** 2 x electionTimeoutMaxMs + 1 RTT. */
  readonly boundMs: number;
  readonly failover: Distribution;
  readonly agreement: Distribution;
  /** Share of failovers within boundMs. */
  readonly withinBound: number;
  /** Crashes after which no new leader was agreed on within 20 election timeouts. */
  readonly unfinished: number;
  readonly violations: readonly string[];
  readonly highestTerm: number;
  readonly samples: readonly number[];
  readonly wallMs: number;
}

export function runElectionWorkload(input: ElectionWorkloadOptions, clock: () => number = () => 0): ElectionWorkloadResult {
  const o = {
    nodes: input.nodes,
    runs: input.runs,
    seed: input.seed,
    preset: input.preset,
    crashesPerRun: input.crashesPerRun ?? 3,
    loss: input.loss ?? 0,
    membership: input.membership ?? 'none',
  };
  if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new InvalidConfigError('nodes', `expected an integer >= 2, got ${String(o.nodes)}`);
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new InvalidConfigError('runs', `expected an integer >= 1, got ${String(o.runs)}`);
  if (!Object.hasOwn(RaftPresets, o.preset)) throw new InvalidConfigError('preset', `expected one of ${Object.keys(RaftPresets).join(', ')}`);
  const started = clock();
  const tuning = RaftPresets[o.preset];
  const max = tuning.electionTimeoutMaxMs;
  const link = { ...DEFAULT_LINK, ...input.network, loss: o.loss };
  const rttMs = 2 * (link.latencyMs + link.jitterMs);
  const failovers: number[] = [];
  const agreements: number[] = [];
  const violations: string[] = [];
  let unfinished = 0;
  let highestTerm = 0;
  for (let r = 0; r < o.runs; r++) {
    const seed = o.seed + r;
    const sim = new ElectionSimulation({ nodes: o.nodes, seed, raft: { preset: o.preset }, network: { ...input.network, loss: o.loss }, membership: o.membership });
    const rng = new Sfc32(seed, 0xfa11);
    const agreed = (): boolean => sim.agreedLeader() !== null;
    if (sim.until(agreed, 20 * max) < 0) {
      unfinished++;
      continue;
    }
    for (let k = 0; k < o.crashesPerRun; k++) {
      sim.advance(rng.nextInt(max));
      const leader = sim.agreedLeader();
      if (leader === null) {
        sim.until(agreed, 20 * max);
        continue;
      }
      sim.crash(leader);
      if (sim.until(agreed, 20 * max, 1) < 0) unfinished++;
      sim.restart(leader);
      sim.advance(2 * max);
    }
    const rep = sim.report();
    failovers.push(...rep.samples.failover);
    agreements.push(...rep.samples.agreement);
    for (const v of rep.violations) violations.push(`seed ${seed}: ${v}`);
    highestTerm = Math.max(highestTerm, rep.highestTerm);
  }
  const boundMs = 2 * max + rttMs;
  return {
    options: o,
    electionTimeoutMinMs: tuning.electionTimeoutMinMs,
    electionTimeoutMaxMs: max,
    rttMs,
    boundMs,
    failover: distribution(failovers),
    agreement: distribution(agreements),
    withinBound: failovers.length === 0 ? NaN : failovers.filter((f) => f <= boundMs).length / failovers.length,
    unfinished,
    violations,
    highestTerm,
    samples: failovers,
    wallMs: clock() - started,
  };
}
