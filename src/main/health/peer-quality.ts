// Link quality per peer: latency from probes and pings over a rolling window
// (100 samples: average and p99), the loss rate over the last probes, a
// bandwidth estimate, the route (direct, or only through a relay), and one
// quality score in [0, 1] to rank peers by.
//
// Route and relay: SWIM probes a peer directly and, when that fails, asks
// other members to probe it (ping-req). A peer whose last relayAfterProbes
// probes all failed directly but were acked through a helper is reachable
// only indirectly: route() says 'indirect' and suggests as relay the helper
// that acked most recently. One direct ack makes the route direct again;
// relayAfterProbes probes in a row with no ack at all make it 'unreachable'.
//
// The score multiplies three factors: delivery (1 - loss rate), latency
// (referenceLatencyMs / (referenceLatencyMs + effective latency), where the
// effective latency weighs the average 3:1 against the p99, so jitter
// counts), and the route (direct 1, indirect 0.5, unreachable 0). A peer with
// no sample yet scores 0.5 for latency and 1 for delivery.
import { InvalidConfigError } from '../../shared/errors.js';
import { RttWindow } from '../transport/rtt-window.js';

export type PeerRoute = 'unknown' | 'direct' | 'indirect' | 'unreachable';

export interface PeerQualityOptionsInput {
  /** RTT samples kept per peer (default 100). */
  latencySamples?: number;
  /** Probe outcomes the loss rate is taken over (default 100). */
  lossWindow?: number;
  /** Consecutive indirect-only (or failed) probes before the route changes (default 3). */
  relayAfterProbes?: number;
  /** The latency that halves the latency factor of the score, ms (default 50). */
  referenceLatencyMs?: number;
  /** Weight of a new bandwidth sample in its moving average, (0, 1] (default 0.2). */
  bandwidthSmoothing?: number;
}

export type PeerQualityOptions = Readonly<Required<PeerQualityOptionsInput>>;

export const DEFAULT_PEER_QUALITY_OPTIONS: PeerQualityOptions = Object.freeze({
  latencySamples: 100,
  lossWindow: 100,
  relayAfterProbes: 3,
  referenceLatencyMs: 50,
  bandwidthSmoothing: 0.2,
});

export function resolvePeerQualityOptions(input: PeerQualityOptionsInput = {}): PeerQualityOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const d = DEFAULT_PEER_QUALITY_OPTIONS;
  const integer = (field: keyof PeerQualityOptionsInput, min: number, max: number): number => {
    const v = input[field] ?? d[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidConfigError(field, `expected an integer in [${min}, ${max}], got ${String(v)}`);
    return v;
  };
  const referenceLatencyMs = input.referenceLatencyMs ?? d.referenceLatencyMs;
  if (typeof referenceLatencyMs !== 'number' || !Number.isFinite(referenceLatencyMs) || referenceLatencyMs <= 0) {
    throw new InvalidConfigError('referenceLatencyMs', `expected a finite number above 0, got ${String(referenceLatencyMs)}`);
  }
  const bandwidthSmoothing = input.bandwidthSmoothing ?? d.bandwidthSmoothing;
  if (typeof bandwidthSmoothing !== 'number' || !(bandwidthSmoothing > 0 && bandwidthSmoothing <= 1)) {
    throw new InvalidConfigError('bandwidthSmoothing', `expected a number in (0, 1], got ${String(bandwidthSmoothing)}`);
  }
  return Object.freeze({
    latencySamples: integer('latencySamples', 1, 65_536),
    lossWindow: integer('lossWindow', 1, 65_536),
    relayAfterProbes: integer('relayAfterProbes', 1, 1_000),
    referenceLatencyMs,
    bandwidthSmoothing,
  });
}

/** What one probe of the peer came to. */
export type ProbeOutcome =
  /** The peer acked directly (a probe or a ping), after rttMs. */
  | { readonly kind: 'ack'; readonly rttMs: number }
  /** The direct probe failed; a ping-req through `via` was acked. */
  | { readonly kind: 'indirect-ack'; readonly via: string }
  /** No ack at all, directly or through helpers. */
  | { readonly kind: 'lost' };

export interface PeerQualitySnapshot {
  readonly averageMs: number;
  readonly p99Ms: number;
  readonly samples: number;
  /** Fraction of the last probes with no direct ack, in [0, 1]. */
  readonly lossRate: number;
  /** Smoothed transfer rate, bytes per second; 0 before any transfer. */
  readonly bandwidthBytesPerSec: number;
  readonly route: PeerRoute;
  /** The helper to relay through when the route is indirect, else null. */
  readonly relay: string | null;
  readonly score: number;
}

export class PeerQuality {
  readonly options: PeerQualityOptions;
  private readonly rtt: RttWindow;
  /** 1 = the probe got no direct ack. */
  private readonly outcomes: Uint8Array;
  private outcomeNext = 0;
  private outcomeCount = 0;
  private misses = 0;
  private bandwidth = 0;
  private streakIndirect = 0;
  private streakLost = 0;
  private lastRelay: string | null = null;
  private currentRoute: PeerRoute = 'unknown';

  constructor(options: PeerQualityOptionsInput | PeerQualityOptions = {}) {
    this.options = resolvePeerQualityOptions(options);
    this.rtt = new RttWindow(this.options.latencySamples);
    this.outcomes = new Uint8Array(this.options.lossWindow);
  }

  /** Records a probe outcome. */
  probe(outcome: ProbeOutcome): void {
    const threshold = this.options.relayAfterProbes;
    switch (outcome.kind) {
      case 'ack':
        this.sample(outcome.rttMs);
        this.outcome(0);
        this.streakIndirect = 0;
        this.streakLost = 0;
        this.currentRoute = 'direct';
        break;
      case 'indirect-ack':
        this.outcome(1);
        this.lastRelay = outcome.via;
        this.streakLost = 0;
        if (++this.streakIndirect >= threshold || this.currentRoute === 'unreachable' || this.currentRoute === 'unknown') this.currentRoute = 'indirect';
        break;
      case 'lost':
        this.outcome(1);
        this.streakIndirect = 0;
        if (++this.streakLost >= threshold) this.currentRoute = 'unreachable';
        break;
    }
  }

  /** An RTT measured outside probing (a heartbeat ping over a connection); counts for latency only. */
  sample(rttMs: number): void {
    if (Number.isFinite(rttMs) && rttMs >= 0) this.rtt.add(rttMs);
  }

  /** A transfer of `bytes` that took `durationMs`; folds its rate into the bandwidth estimate. */
  transfer(bytes: number, durationMs: number): void {
    if (!(bytes > 0 && durationMs > 0 && Number.isFinite(bytes) && Number.isFinite(durationMs))) return;
    const rate = (bytes * 1000) / durationMs;
    const a = this.options.bandwidthSmoothing;
    this.bandwidth = this.bandwidth === 0 ? rate : a * rate + (1 - a) * this.bandwidth;
  }

  get averageMs(): number {
    return this.rtt.averageMs;
  }

  get p99Ms(): number {
    return this.rtt.p99Ms;
  }

  get lossRate(): number {
    return this.outcomeCount === 0 ? 0 : this.misses / this.outcomeCount;
  }

  get bandwidthBytesPerSec(): number {
    return this.bandwidth;
  }

  get route(): PeerRoute {
    return this.currentRoute;
  }

  /** The helper to send through while the peer is reachable only indirectly. */
  get relay(): string | null {
    return this.currentRoute === 'indirect' ? this.lastRelay : null;
  }

  /** The quality score in [0, 1]; higher is better. */
  get score(): number {
    const routeFactor = this.currentRoute === 'indirect' ? 0.5 : this.currentRoute === 'unreachable' ? 0 : 1;
    if (routeFactor === 0) return 0;
    const ref = this.options.referenceLatencyMs;
    const latencyFactor = this.rtt.count === 0 ? 0.5 : ref / (ref + 0.75 * this.rtt.averageMs + 0.25 * this.rtt.p99Ms);
    return (1 - this.lossRate) * latencyFactor * routeFactor;
  }

  snapshot(): PeerQualitySnapshot {
    return {
      averageMs: this.averageMs,
      p99Ms: this.p99Ms,
      samples: this.rtt.count,
      lossRate: this.lossRate,
      bandwidthBytesPerSec: this.bandwidth,
      route: this.currentRoute,
      relay: this.relay,
      score: this.score,
    };
  }

  private outcome(missed: 0 | 1): void {
    const n = this.outcomes.length;
    if (this.outcomeCount === n) this.misses -= this.outcomes[this.outcomeNext];
    else this.outcomeCount++;
    this.outcomes[this.outcomeNext] = missed;
    this.misses += missed;
    this.outcomeNext = (this.outcomeNext + 1) % n;
  }
}

/**
 * PeerQuality for every peer, bounded: beyond maxPeers the peer updated
 * least recently is dropped. `ranked()` orders peers by score.
 */
export class PeerQualityTable {
  private readonly peers = new Map<string, PeerQuality>();
  readonly options: PeerQualityOptions;

  constructor(
    options: PeerQualityOptionsInput = {},
    readonly maxPeers = 4_096,
  ) {
    if (!Number.isInteger(maxPeers) || maxPeers < 1) throw new InvalidConfigError('maxPeers', `expected a positive integer, got ${String(maxPeers)}`);
    this.options = resolvePeerQualityOptions(options);
  }

  /** The record of `peer`, created on first use and marked most recently used. */
  of(peer: string): PeerQuality {
    let q = this.peers.get(peer);
    if (q !== undefined) {
      this.peers.delete(peer);
    } else {
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value as string);
      q = new PeerQuality(this.options);
    }
    this.peers.set(peer, q);
    return q;
  }

  get(peer: string): PeerQuality | undefined {
    return this.peers.get(peer);
  }

  forget(peer: string): boolean {
    return this.peers.delete(peer);
  }

  get size(): number {
    return this.peers.size;
  }

  /** Peers by score, best first (ties by name). */
  ranked(): { readonly peer: string; readonly score: number }[] {
    return [...this.peers].map(([peer, q]) => ({ peer, score: q.score })).sort((a, b) => b.score - a.score || (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }
}
