// Request traffic an agent can generate (`--traffic RATE`) and the per-second
// record of what it saw: requests completed, failed (by error code) and their
// latency distribution. The status page charts the last minute of it.
// Mode 'random' (default): echoes to a random alive member, so a member that
// fails or is cut off shows in the errors. Mode 'routed': idempotent echoes to
// the member the router picks, which goes around suspected, failed and
// drained members the way an application's traffic would.
import { ClusterwireError } from '../../shared/errors.js';
import type { ClusterNode } from '../cluster/cluster-node.js';

/** The topic every agent answers (its payload echoed back). */
export const ECHO_TOPIC = 'agent.echo';

export interface TrafficSecond {
  /** Wall-clock ms of the second's start. */
  readonly at: number;
  readonly completed: number;
  readonly failed: number;
  /** The longest a request that failed in this second took, ms (how far within its deadline it failed). */
  readonly failedMaxMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface TrafficStats {
  readonly ratePerSec: number;
  readonly completed: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  /** The last full second. */
  readonly last: TrafficSecond | null;
  /** Up to the last 60 seconds, oldest first. */
  readonly history: readonly TrafficSecond[];
}

const HISTORY = 60;
const TICK_MS = 10;

export class TrafficGenerator {
  private timer: NodeJS.Timeout | null = null;
  private credit = 0;
  private lastTick = 0;
  private inFlight = 0;
  private completed = 0;
  private failed = 0;
  private readonly errors: Record<string, number> = {};
  private second: number[] = [];
  private secondFailed = 0;
  private secondFailedMaxMs = 0;
  private secondStart = Date.now();
  private readonly history: TrafficSecond[] = [];
  private readonly payload: Uint8Array;
  private roller: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: ClusterNode,
    readonly ratePerSec: number,
    payloadBytes = 64,
    /** Requests in flight at most; beyond it ticks skip (the cluster is the bottleneck). */
    private readonly maxInFlight = 1_000,
    readonly mode: 'random' | 'routed' = 'random',
  ) {
    this.payload = new Uint8Array(payloadBytes);
  }

  start(): void {
    this.roller = setInterval(() => this.roll(), 1_000);
    this.roller.unref();
    if (this.ratePerSec <= 0) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.roller !== null) clearInterval(this.roller);
    this.timer = this.roller = null;
  }

  stats(): TrafficStats {
    return {
      ratePerSec: this.ratePerSec,
      completed: this.completed,
      failed: this.failed,
      errors: { ...this.errors },
      last: this.history.length === 0 ? null : this.history[this.history.length - 1],
      history: [...this.history],
    };
  }

  private tick(): void {
    const now = performance.now();
    this.credit = Math.min(this.ratePerSec, this.credit + ((now - this.lastTick) * this.ratePerSec) / 1000);
    this.lastTick = now;
    const peers = this.node.aliveMembers().filter((m) => !m.self && m.dataPort !== 0);
    if (peers.length === 0) {
      this.credit = 0;
      return;
    }
    const routed = this.mode === 'routed';
    while (this.credit >= 1 && this.inFlight < this.maxInFlight) {
      this.credit--;
      let target: string;
      if (routed) {
        // the router's choice: never a suspected, dead or drained member
        try {
          target = this.node.route();
        } catch (error) {
          this.count(error);
          continue;
        }
      } else {
        target = peers[Math.floor(Math.random() * peers.length)].nodeId;
      }
      this.inFlight++;
      const start = performance.now();
      this.node.request(target, ECHO_TOPIC, this.payload, { timeoutMs: 2_000, idempotent: routed }).then(
        () => {
          this.inFlight--;
          this.completed++;
          this.second.push(performance.now() - start);
        },
        (error: unknown) => {
          this.inFlight--;
          this.secondFailedMaxMs = Math.max(this.secondFailedMaxMs, performance.now() - start);
          this.count(error);
        },
      );
    }
  }

  private count(error: unknown): void {
    this.failed++;
    this.secondFailed++;
    const code = error instanceof ClusterwireError ? error.code : 'ERR_UNKNOWN';
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** Resolves once no request is in flight (or after `timeoutMs`). */
  async settle(timeoutMs = 5_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.inFlight > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  }

  private roll(): void {
    const samples = this.second.sort((a, b) => a - b);
    const pick = (q: number): number => (samples.length === 0 ? 0 : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]);
    this.history.push({ at: this.secondStart, completed: samples.length, failed: this.secondFailed, failedMaxMs: this.secondFailedMaxMs, p50Ms: pick(0.5), p99Ms: pick(0.99) });
    if (this.history.length > HISTORY) this.history.shift();
    this.second = [];
    this.secondFailed = 0;
    this.secondFailedMaxMs = 0;
    this.secondStart = Date.now();
  }
}
