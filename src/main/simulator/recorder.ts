// What a simulated run measured, against the ground truth only the simulator
// knows (who is really up, who can really reach whom):
//
//   detection       crash -> the last live node declares the crashed one dead
//   first detection crash -> the first declaration
//   false suspicion a suspect raised about a node that was up and reachable
//   false death     a dead declared about a node that was up and reachable
//                   (each counted once per member and incarnation, however
//                   many nodes heard it; falseDeclarations lists every one)
//   dissemination   broadcast -> the last live node delivers it
//
// Declarations within `graceMs` of a fault involving either node (a crash, a
// pause, a restart, a partition change) are not counted as false: the rule's
// budget allows them.
import type { SwimEvent } from '../membership/swim.js';

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function distribution(samples: readonly number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const q = (p: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  let sum = 0;
  for (const v of s) sum += v;
  return { count: n, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[n - 1], mean: sum / n };
}

export interface FalseDeclaration {
  readonly at: number;
  readonly observer: string;
  readonly target: string;
  readonly kind: 'suspect' | 'dead';
}

/** What the recorder needs to know about the world. */
export interface GroundTruth {
  readonly names: readonly string[];
  index(name: string): number;
  isUp(node: number): boolean;
  reachable(from: number, to: number): boolean;
  lastFaultAt(node: number): number;
}

interface Crash {
  readonly node: number;
  readonly at: number;
  readonly pending: Set<number>;
  firstAt: number;
  lastAt: number;
}

interface Spread {
  readonly at: number;
  readonly pending: Set<number>;
  /** Delivery offsets (ms after the broadcast), in arrival order. */
  readonly arrivals: number[];
  readonly receivers: number;
}

export class Recorder {
  readonly detections: number[] = [];
  readonly firstDetections: number[] = [];
  readonly disseminations: number[] = [];
  /** For each broadcast that reached every node: delivery offsets in arrival order (the infection curve). */
  readonly infectionCurves: { receivers: number; arrivals: number[] }[] = [];
  readonly falseDeclarations: FalseDeclaration[] = [];
  falseSuspicions = 0;
  falseDeaths = 0;
  undetectedCrashes = 0;
  private readonly crashes = new Map<number, Crash>();
  /** (target, incarnation) pairs already counted, so one false suspicion heard by many counts once. */
  private readonly counted = new Set<string>();
  private readonly spreads = new Map<string, Spread>();

  constructor(
    private readonly world: GroundTruth,
    private readonly graceMs: number,
  ) {}

  /** `node` crashed; every node in `observers` should declare it dead. */
  crashed(node: number, observers: Set<number>, now: number): void {
    this.closeCrash(node);
    for (const c of this.crashes.values()) c.pending.delete(node);
    this.crashes.set(node, { node, at: now, pending: observers, firstAt: -1, lastAt: -1 });
  }

  /** `node` came back (restart or resume): stop waiting for its detection. */
  recovered(node: number): void {
    this.closeCrash(node);
  }

  /** A broadcast under `topic` was injected; every node in `receivers` should deliver it. */
  broadcastSent(topic: string, receivers: Set<number>, now: number): void {
    this.spreads.set(topic, { at: now, pending: receivers, arrivals: [], receivers: receivers.size });
  }

  onEvents(observer: number, events: readonly SwimEvent[], now: number): void {
    for (const e of events) {
      switch (e.type) {
        case 'member-dead':
          this.onDead(observer, this.world.index(e.member.name), e.member.incarnation, now);
          break;
        case 'member-suspected':
          if (this.isFalse(observer, this.world.index(e.member.name), now) && this.first('s', e.member.name, e.member.incarnation)) {
            this.falseSuspicions++;
            this.falseDeclarations.push({ at: now, observer: this.world.names[observer], target: e.member.name, kind: 'suspect' });
          }
          break;
        case 'broadcast': {
          const s = this.spreads.get(e.topic);
          if (s !== undefined && s.pending.delete(observer)) {
            s.arrivals.push(now - s.at);
            if (s.pending.size === 0) this.finishSpread(e.topic, s, now);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  private first(kind: string, target: string, incarnation: number): boolean {
    const key = `${kind}/${target}/${incarnation}`;
    if (this.counted.has(key)) return false;
    this.counted.add(key);
    return true;
  }

  private onDead(observer: number, target: number, incarnation: number, now: number): void {
    if (target < 0) return;
    const c = this.crashes.get(target);
    if (c !== undefined) {
      if (c.firstAt < 0) c.firstAt = now;
      if (c.pending.has(observer)) c.lastAt = now;
      if (c.pending.delete(observer) && c.pending.size === 0) {
        this.detections.push(now - c.at);
        this.firstDetections.push(c.firstAt - c.at);
        this.crashes.delete(target);
      }
      return;
    }
    if (this.isFalse(observer, target, now) && this.first('d', this.world.names[target], incarnation)) {
      this.falseDeaths++;
      this.falseDeclarations.push({ at: now, observer: this.world.names[observer], target: this.world.names[target], kind: 'dead' });
    }
  }

  private isFalse(observer: number, target: number, now: number): boolean {
    const w = this.world;
    if (target < 0 || !w.isUp(target)) return false;
    if (!w.reachable(observer, target) || !w.reachable(target, observer)) return false;
    const last = Math.max(w.lastFaultAt(target), w.lastFaultAt(observer), w.lastFaultAt(-1));
    return now - last > this.graceMs;
  }

  /** A node that stopped being a live observer (crashed, restarted) no longer owes a detection. */
  observerGone(node: number): void {
    for (const c of this.crashes.values()) {
      if (c.pending.delete(node) && c.pending.size === 0) {
        if (c.lastAt >= 0) {
          this.detections.push(c.lastAt - c.at);
          this.firstDetections.push(c.firstAt - c.at);
        }
        this.crashes.delete(c.node);
      }
    }
    for (const [topic, s] of this.spreads) {
      if (s.pending.delete(node) && s.pending.size === 0) this.finishSpread(topic, s, s.at + (s.arrivals.length > 0 ? s.arrivals[s.arrivals.length - 1] : 0));
    }
  }

  private finishSpread(topic: string, s: Spread, now: number): void {
    this.disseminations.push(now - s.at);
    this.infectionCurves.push({ receivers: s.receivers, arrivals: s.arrivals });
    this.spreads.delete(topic);
  }

  /** Broadcasts that have not reached every live node (yet). */
  get pendingSpreads(): number {
    return this.spreads.size;
  }

  /** Crashes still waiting for some node's declaration. */
  get pendingCrashes(): number {
    return this.crashes.size;
  }

  private closeCrash(node: number): void {
    if (this.crashes.delete(node)) this.undetectedCrashes++;
  }
}
