// The simulated network: per-link latency, loss, duplication and reordering
// for datagrams; retransmitted (delayed, not lost) segments for streams; and
// faults between nodes: symmetric partitions (groups that cannot reach each
// other) and one-way cuts (a -> b dropped while b -> a flows).
import { InvalidConfigError } from '../../shared/errors.js';
import type { Sfc32 } from './prng.js';

export interface LinkModel {
  /** Fixed one-way delay. */
  readonly latencyMs: number;
  /** Mean of an exponentially distributed extra delay (the latency tail). */
  readonly jitterMs: number;
  /** Probability that a datagram is lost; for streams, that a segment must be resent. */
  readonly loss: number;
  /** Probability that a datagram arrives twice. */
  readonly duplicate: number;
  /** Probability that a datagram is held back (arrives after later ones). */
  readonly reorder: number;
  /** A held-back datagram is delayed by up to this much more. */
  readonly reorderDelayMs: number;
  /** First stream retransmission delay; doubles per resend, the stream fails after 6. */
  readonly streamRetransmitMs: number;
}

export const DEFAULT_LINK: LinkModel = Object.freeze({
  latencyMs: 0.3,
  jitterMs: 0.4,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 20,
  streamRetransmitMs: 200,
});

const MAX_STREAM_RESENDS = 6;

export function resolveLinkModel(input: Partial<LinkModel>, base: LinkModel = DEFAULT_LINK): LinkModel {
  const m = { ...base, ...input };
  const check = (field: keyof LinkModel, max: number): void => {
    const v = m[field];
    if (typeof v !== 'number' || !(v >= 0 && v <= max)) throw new InvalidConfigError(`network.${field}`, `expected a number in [0, ${max}], got ${String(v)}`);
  };
  check('latencyMs', 60_000);
  check('jitterMs', 60_000);
  check('loss', 1);
  check('duplicate', 1);
  check('reorder', 1);
  check('reorderDelayMs', 60_000);
  check('streamRetransmitMs', 60_000);
  return Object.freeze(m);
}

export class SimNetwork {
  private model: LinkModel;
  private readonly links = new Map<number, LinkModel>();
  private readonly group: Int32Array;
  private nextGroup = 1;
  private readonly cuts = new Set<number>();
  /** Delays of the copies of the last routed message (0, 1 or 2 of them). */
  readonly delays: number[] = [0, 0];

  constructor(
    private readonly size: number,
    private readonly rng: Sfc32,
    model: LinkModel,
  ) {
    this.model = model;
    this.group = new Int32Array(size);
  }

  get defaultLink(): LinkModel {
    return this.model;
  }

  setDefaultLink(model: LinkModel): void {
    this.model = model;
  }

  /** Overrides the model of the one-way link from -> to. */
  setLink(from: number, to: number, model: LinkModel): void {
    this.links.set(from * this.size + to, model);
  }

  /** Splits the nodes into groups that cannot reach each other; unlisted nodes form one more group. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const g of groups) {
      const id = this.nextGroup++;
      for (const n of g) this.group[n] = id;
    }
  }

  /** Drops everything sent from `from` to `to` (one direction only). */
  cut(from: number, to: number): void {
    this.cuts.add(from * this.size + to);
  }

  heal(): void {
    this.group.fill(0);
    this.cuts.clear();
  }

  reachable(from: number, to: number): boolean {
    return this.group[from] === this.group[to] && (this.cuts.size === 0 || !this.cuts.has(from * this.size + to));
  }

  /** True while any partition or cut is in force. */
  get faulted(): boolean {
    if (this.cuts.size > 0) return true;
    for (let i = 0; i < this.size; i++) if (this.group[i] !== 0) return true;
    return false;
  }

  /**
   * Decides the fate of one message: fills `delays` with the delivery delay of
   * each copy and returns how many copies arrive.
   */
  route(from: number, to: number, stream: boolean): number {
    if (!this.reachable(from, to)) return 0;
    const m = this.links.size === 0 ? this.model : (this.links.get(from * this.size + to) ?? this.model);
    const rng = this.rng;
    let d = m.latencyMs + (m.jitterMs > 0 ? rng.nextExponential(m.jitterMs) : 0);
    if (stream) {
      let resends = 0;
      let rto = m.streamRetransmitMs;
      while (m.loss > 0 && rng.nextFloat() < m.loss) {
        if (++resends > MAX_STREAM_RESENDS) return 0;
        d += rto;
        rto *= 2;
      }
      this.delays[0] = d;
      return 1;
    }
    if (m.loss > 0 && rng.nextFloat() < m.loss) return 0;
    if (m.reorder > 0 && rng.nextFloat() < m.reorder) d += rng.nextFloat() * m.reorderDelayMs;
    this.delays[0] = d;
    if (m.duplicate > 0 && rng.nextFloat() < m.duplicate) {
      this.delays[1] = d + (m.jitterMs > 0 ? rng.nextExponential(m.jitterMs) : 0.1);
      return 2;
    }
    return 1;
  }
}
