// The standard measurement run behind `clusterwire simulate` and
// bench/membership.ts: a warm cluster under a steady trickle of faults.
//
//   t = 0 .. warmupMs      no faults
//   every crashEveryMs     crash one random live node; restart it
//                          restartAfterMs later (it rejoins through 3 seeds)
//   every broadcastEveryMs a user broadcast from a random live node
//
// Detection, false declarations, dissemination and load come from the
// simulator's report.
import { InvalidConfigError } from '../../shared/errors.js';
import type { LifeguardMode, PresetName } from '../membership/options.js';
import { Presets } from '../membership/options.js';
import type { LinkModel } from './network.js';
import { Sfc32 } from './prng.js';
import { Simulation, type SimulationReport } from './simulation.js';

export interface WorkloadOptions {
  readonly nodes: number;
  readonly minutes: number;
  readonly seed: number;
  readonly preset: PresetName;
  readonly loss: number;
  readonly lifeguard?: LifeguardMode;
  readonly duplicate?: number;
  readonly network?: Partial<LinkModel>;
  readonly warmupMs?: number;
  readonly crashEveryMs?: number;
  readonly restartAfterMs?: number;
  readonly broadcastEveryMs?: number;
  /**
   * Share of members that are degraded (overloaded hosts): every link to and
   * from them gets `degradedLink`. These are the members Lifeguard is about:
   * slow to answer, and slow to hear answers.
   */
  readonly degraded?: number;
  readonly degradedLink?: Partial<LinkModel>;
}

/** A degraded member's links: 150 ms one way plus a 100 ms mean tail. */
export const DEGRADED_LINK: Partial<LinkModel> = Object.freeze({ latencyMs: 150, jitterMs: 100 });

export interface WorkloadResult {
  readonly options: Required<Omit<WorkloadOptions, 'network'>>;
  readonly report: SimulationReport;
  /** Wall-clock time of the run, setup included (ms). */
  readonly wallMs: number;
  /** Dissemination p50 in gossip rounds (gossipIntervalMs). */
  readonly disseminationRounds: number;
  /** ceil(log2 N): what epidemic dissemination should take, in rounds. */
  readonly log2N: number;
  /** SWIM's per-member message bound per probe period: 2 + 4k. */
  readonly swimBound: number;
}

export function runWorkload(input: WorkloadOptions, clock: () => number = () => 0): WorkloadResult {
  const o = {
    nodes: input.nodes,
    minutes: input.minutes,
    seed: input.seed,
    preset: input.preset,
    loss: input.loss,
    lifeguard: input.lifeguard ?? 'on',
    duplicate: input.duplicate ?? 0,
    warmupMs: input.warmupMs ?? 10_000,
    crashEveryMs: input.crashEveryMs ?? 20_000,
    restartAfterMs: input.restartAfterMs ?? 30_000,
    broadcastEveryMs: input.broadcastEveryMs ?? 5_000,
    degraded: input.degraded ?? 0,
    degradedLink: input.degradedLink ?? DEGRADED_LINK,
  };
  if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new InvalidConfigError('nodes', `expected an integer >= 2, got ${String(o.nodes)}`);
  if (!(o.minutes > 0)) throw new InvalidConfigError('minutes', `expected a positive number, got ${String(o.minutes)}`);
  if (!Object.hasOwn(Presets, o.preset)) throw new InvalidConfigError('preset', `expected one of ${Object.keys(Presets).join(', ')}`);
  const started = clock();
  const sim = new Simulation({
    nodes: o.nodes,
    seed: o.seed,
    swim: { preset: o.preset, lifeguard: o.lifeguard },
    network: { ...input.network, loss: o.loss, duplicate: o.duplicate },
  });
  const rng = new Sfc32(o.seed, 0x10ad);
  const names = sim.names;
  const slow = names.slice(names.length - Math.round(o.degraded * names.length));
  for (const a of slow) {
    for (const b of names) {
      if (a === b) continue;
      sim.setLink(a, b, o.degradedLink);
      sim.setLink(b, a, o.degradedLink);
    }
  }
  const endMs = o.minutes * 60_000;
  const restarts: { at: number; name: string }[] = [];
  let nextCrash = o.warmupMs;
  let nextBroadcast = o.warmupMs / 2;
  const healthy = names.slice(0, names.length - slow.length);
  const pick = (): string | null => {
    for (let tries = 0; tries < 100; tries++) {
      const n = healthy[rng.nextInt(healthy.length)];
      if (sim.status(n) === 'up') return n;
    }
    return null;
  };
  while (sim.now < endMs) {
    const nextRestart = restarts.length > 0 ? restarts[0].at : Infinity;
    const next = Math.min(nextCrash, nextBroadcast, nextRestart, endMs);
    sim.advance(next - sim.now);
    if (sim.now >= endMs) break;
    if (sim.now === nextRestart) {
      const r = restarts.shift() as { at: number; name: string };
      const seeds = names.filter((x) => x !== r.name && sim.status(x) === 'up').slice(0, 3);
      sim.restart(r.name, { seeds });
    }
    if (sim.now === nextCrash) {
      const victim = pick();
      if (victim !== null) {
        sim.crash(victim);
        restarts.push({ at: sim.now + o.restartAfterMs, name: victim });
      }
      nextCrash += o.crashEveryMs;
    }
    if (sim.now === nextBroadcast) {
      const from = pick();
      if (from !== null) sim.broadcast(from);
      nextBroadcast += o.broadcastEveryMs;
    }
  }
  const report = sim.report();
  const k = sim.options.indirectChecks;
  return {
    options: o,
    report,
    wallMs: clock() - started,
    disseminationRounds: report.dissemination.p50 / sim.options.gossipIntervalMs,
    log2N: Math.ceil(Math.log2(o.nodes)),
    swimBound: 2 + 4 * k,
  };
}
