// Vivaldi network coordinates (Dabek, Cox, Kaashoek, Morris: "Vivaldi: A
// Decentralized Network Coordinate System", SIGCOMM 2004), with the
// refinements Serf's network tomography adds (Ledlie, Gardner, Seltzer:
// "Network Coordinates in the Wild", NSDI 2007):
//
//   - height vectors: a coordinate is a Euclidean point plus a height, the
//     latency of the node's access link, which every path pays twice;
//   - adaptive timestep: a sample moves a node by cc * w, with
//     w = e_local / (e_local + e_remote), so a confident node moves little for
//     an unsure peer, and the error estimate is an exponentially weighted
//     moving average of the relative error with gain ce * w;
//   - a latency filter: the median of the last few RTTs to a peer is used, so
//     one delayed packet does not throw the coordinate;
//   - a non-Euclidean adjustment: the average residual (rtt - distance) over a
//     window of samples, halved, added to distances to correct what the
//     Euclidean model cannot express;
//   - gravity: a pull towards the origin growing with the square of the
//     distance from it, so the whole system does not drift away.
//
// Units are milliseconds. The core is pure: randomness (a direction when two
// nodes sit on the same point) comes from the injected source.
import type { Random } from '../membership/random.js';
import { resolveVivaldiOptions, type VivaldiOptions, type VivaldiOptionsInput } from './vivaldi-options.js';

/** A node's coordinate as it is shared with peers (e.g. in probe acks). */
export interface Coordinate {
  readonly vec: readonly number[];
  /** The access-link latency every path to the node pays, ms. */
  readonly heightMs: number;
  /** The node's estimate of its own relative error (0 = exact). */
  readonly error: number;
  /** The non-Euclidean correction added to distances, ms. */
  readonly adjustmentMs: number;
}

const ZERO = 1e-9;

/** The estimated round-trip time between two coordinates, in ms. */
export function distanceMs(a: Coordinate, b: Coordinate): number {
  const raw = rawDistanceMs(a.vec, a.heightMs, b.vec, b.heightMs);
  const adjusted = raw + a.adjustmentMs + b.adjustmentMs;
  return adjusted > 0 ? adjusted : raw;
}

function rawDistanceMs(av: ArrayLike<number>, ah: number, bv: ArrayLike<number>, bh: number): number {
  let sq = 0;
  for (let i = 0; i < av.length; i++) {
    const d = av[i] - bv[i];
    sq += d * d;
  }
  return Math.sqrt(sq) + ah + bh;
}

/** True when `c` is a coordinate of `dimensions` with finite, sane fields (a peer's coordinate is checked before use). */
export function isValidCoordinate(c: unknown, dimensions: number): c is Coordinate {
  if (c === null || typeof c !== 'object') return false;
  const k = c as Coordinate;
  if (!Array.isArray(k.vec) || k.vec.length !== dimensions) return false;
  for (const x of k.vec) if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  return Number.isFinite(k.heightMs) && k.heightMs >= 0 && Number.isFinite(k.error) && k.error >= 0 && Number.isFinite(k.adjustmentMs);
}

interface LatencyFilter {
  readonly samples: Float64Array;
  next: number;
  count: number;
}

export class Vivaldi {
  readonly options: VivaldiOptions;
  private readonly vec: Float64Array;
  private heightMs: number;
  private error: number;
  private adjustmentMs = 0;
  private readonly residuals: Float64Array;
  private residualNext = 0;
  private residualSum = 0;
  private readonly filters = new Map<string, LatencyFilter>();
  private readonly scratch: Float64Array;
  /** The origin's vector (for gravity), all zeros. */
  private readonly origin: Float64Array;
  private readonly unit: Float64Array;
  private snapshot: Coordinate | null = null;
  private readonly rng: Random;
  /** Samples ignored: a bad RTT or an invalid peer coordinate. */
  rejected = 0;
  /** Times the coordinate went non-finite and was reset. */
  resets = 0;

  constructor(options: VivaldiOptionsInput, deps: { readonly rng: Random }) {
    this.options = resolveVivaldiOptions(options);
    this.rng = deps.rng;
    this.vec = new Float64Array(this.options.dimensions);
    this.origin = new Float64Array(this.options.dimensions);
    this.unit = new Float64Array(this.options.dimensions);
    this.heightMs = this.options.minHeightMs;
    this.error = this.options.maxError;
    this.residuals = new Float64Array(this.options.adjustmentWindow);
    this.scratch = new Float64Array(this.options.latencyFilterSize);
  }

  /** This node's coordinate (a frozen copy, cached until the next sample). */
  get coordinate(): Coordinate {
    this.snapshot ??= Object.freeze({ vec: Object.freeze(Array.from(this.vec)), heightMs: this.heightMs, error: this.error, adjustmentMs: this.adjustmentMs }) as Coordinate;
    return this.snapshot;
  }

  /** The estimated RTT from this node to a peer with coordinate `other`, in ms. */
  estimateMs(other: Coordinate): number {
    return distanceMs(this.coordinate, other);
  }

  /**
   * Takes one RTT sample to `peer`, whose coordinate is `other`. Returns false
   * (and changes nothing) when the RTT is not in (0, maxRttMs] or the
   * coordinate is not valid.
   */
  observe(peer: string, other: Coordinate, rttMs: number): boolean {
    if (!(rttMs > 0 && rttMs <= this.options.maxRttMs) || !isValidCoordinate(other, this.options.dimensions)) {
      this.rejected++;
      return false;
    }
    const rtt = this.filtered(peer, rttMs);
    this.moveTowards(other, rtt);
    this.adjust(other, rtt);
    this.applyGravity();
    if (!this.finite()) this.reset();
    this.snapshot = null;
    return true;
  }

  /** Drops the latency filter of a peer that left. */
  forget(peer: string): void {
    this.filters.delete(peer);
  }

  /** Back to the origin with the largest error (also done when the coordinate goes non-finite). */
  reset(): void {
    this.vec.fill(0);
    this.heightMs = this.options.minHeightMs;
    this.error = this.options.maxError;
    this.adjustmentMs = 0;
    this.residuals.fill(0);
    this.residualSum = 0;
    this.residualNext = 0;
    this.snapshot = null;
    this.resets++;
  }

  /** The median of the peer's last latencyFilterSize RTTs, this one included. */
  private filtered(peer: string, rttMs: number): number {
    const size = this.options.latencyFilterSize;
    if (size === 1) return rttMs;
    let f = this.filters.get(peer);
    if (f === undefined) {
      if (this.filters.size >= this.options.maxPeers) this.filters.delete(this.filters.keys().next().value as string);
      f = { samples: new Float64Array(size), next: 0, count: 0 };
    } else {
      this.filters.delete(peer);
    }
    this.filters.set(peer, f);
    f.samples[f.next] = rttMs;
    f.next = (f.next + 1) % size;
    if (f.count < size) f.count++;
    const s = this.scratch.subarray(0, f.count);
    s.set(f.samples.subarray(0, f.count));
    s.sort();
    return s[f.count >> 1];
  }

  /** The Vivaldi step: move along the line to `other` by the weighted error of the prediction. */
  private moveTowards(other: Coordinate, rttMs: number): void {
    const o = this.options;
    const raw = rawDistanceMs(this.vec, this.heightMs, other.vec, other.heightMs);
    const adjusted = raw + this.adjustmentMs + other.adjustmentMs;
    const dist = adjusted > 0 ? adjusted : raw;
    const relativeError = Math.abs(dist - rttMs) / rttMs;
    let total = this.error + other.error;
    if (total < ZERO) total = ZERO;
    const w = this.error / total;
    this.error = o.errorGain * w * relativeError + this.error * (1 - o.errorGain * w);
    if (this.error > o.maxError) this.error = o.maxError;
    this.applyForce(o.moveGain * w * (rttMs - dist), other.vec, other.heightMs);
  }

  /** The non-Euclidean adjustment: half the mean residual over the window. */
  private adjust(other: Coordinate, rttMs: number): void {
    const n = this.residuals.length;
    if (n === 0) return;
    const residual = rttMs - rawDistanceMs(this.vec, this.heightMs, other.vec, other.heightMs);
    this.residualSum += residual - this.residuals[this.residualNext];
    this.residuals[this.residualNext] = residual;
    this.residualNext = (this.residualNext + 1) % n;
    this.adjustmentMs = this.residualSum / (2 * n);
  }

  /** Gravity: a pull to the origin of (distance / rho)^2. */
  private applyGravity(): void {
    const o = this.options;
    let sq = 0;
    for (let i = 0; i < this.vec.length; i++) sq += this.vec[i] * this.vec[i];
    const raw = Math.sqrt(sq) + this.heightMs + o.minHeightMs;
    const adjusted = raw + this.adjustmentMs;
    const d = adjusted > 0 ? adjusted : raw;
    const force = -((d / o.gravityRhoMs) ** 2);
    this.applyForce(force, this.origin, o.minHeightMs);
  }

  /**
   * Moves this coordinate by `force` along the unit vector from `otherVec`
   * to it (a random direction when the two coincide); a positive force pushes
   * away, a negative one pulls closer. The height moves in proportion.
   */
  private applyForce(force: number, otherVec: ArrayLike<number>, otherHeightMs: number): void {
    const dims = this.vec.length;
    const unit = this.unit;
    let mag = 0;
    for (let i = 0; i < dims; i++) {
      unit[i] = this.vec[i] - otherVec[i];
      mag += unit[i] * unit[i];
    }
    mag = Math.sqrt(mag);
    if (mag > ZERO) {
      for (let i = 0; i < dims; i++) unit[i] /= mag;
    } else {
      this.randomUnit(unit);
    }
    for (let i = 0; i < dims; i++) this.vec[i] += unit[i] * force;
    if (mag > ZERO) {
      this.heightMs = ((this.heightMs + otherHeightMs) * force) / mag + this.heightMs;
      if (this.heightMs < this.options.minHeightMs) this.heightMs = this.options.minHeightMs;
    }
  }

  private randomUnit(out: Float64Array): void {
    const dims = this.vec.length;
    for (;;) {
      let mag = 0;
      for (let i = 0; i < dims; i++) {
        out[i] = this.rng.nextFloat() - 0.5;
        mag += out[i] * out[i];
      }
      mag = Math.sqrt(mag);
      if (mag > ZERO) {
        for (let i = 0; i < dims; i++) out[i] /= mag;
        return;
      }
    }
  }

  private finite(): boolean {
    for (let i = 0; i < this.vec.length; i++) if (!Number.isFinite(this.vec[i])) return false;
    return Number.isFinite(this.heightMs) && Number.isFinite(this.error) && Number.isFinite(this.adjustmentMs);
  }
}
