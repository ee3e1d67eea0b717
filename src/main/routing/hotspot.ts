// Hotspot detection: requests per second routed to each node over a rolling
// window (60 s by default, in 1 s buckets). A node whose rate rises above the
// threshold (1000 QPS by default) becomes hot and the router stops choosing
// it while a cooler alive node exists; it cools, and takes traffic again,
// once its rate falls below threshold * coolRatio (0.9 by default). The gap
// keeps a node near the threshold from flapping every bucket.
//
// Memory per node is one counter per bucket, whatever the traffic. The rate
// divides the requests in the window by the time the window covers: the full
// buckets before the current one plus the part of the current one that has
// passed, and less while a node is new (but never less than one bucket), so
// a node flooded from its first second is caught at once.

export interface HotspotSettings {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly thresholdQps: number;
  readonly coolRatio: number;
}

/** The request counts of one node. */
export class QpsCounter {
  private readonly counts: Uint32Array;
  /** The absolute bucket number (time / bucketMs) last written. */
  private bucket = -1;
  private sum = 0;
  /** When the first request was counted; -1 before. */
  private since = -1;
  hot = false;

  constructor(private readonly settings: HotspotSettings) {
    this.counts = new Uint32Array(Math.ceil(settings.windowMs / settings.bucketMs));
  }

  /** Requests per second over the window at `nowMs`. */
  qps(nowMs: number): number {
    this.advance(nowMs);
    if (this.sum === 0) return 0;
    const { bucketMs } = this.settings;
    // The window is the current, partial bucket and the full ones before it.
    const covered = (this.counts.length - 1) * bucketMs + (nowMs - this.bucket * bucketMs);
    let span = nowMs - this.since;
    if (span > covered) span = covered;
    if (span < bucketMs) span = bucketMs;
    return (this.sum * 1000) / span;
  }

  /** Counts `count` requests at `nowMs`; true when the node turned hot or cool. */
  record(nowMs: number, count = 1): boolean {
    this.advance(nowMs);
    if (this.since < 0) this.since = nowMs;
    this.counts[this.bucket % this.counts.length] += count;
    this.sum += count;
    return this.evaluate(nowMs);
  }

  /** Re-reads the rate at `nowMs` (for a node that gets no requests while hot); true on a change. */
  evaluate(nowMs: number): boolean {
    const q = this.qps(nowMs);
    const { thresholdQps, coolRatio } = this.settings;
    if (!this.hot && q > thresholdQps) {
      this.hot = true;
      return true;
    }
    if (this.hot && q < thresholdQps * coolRatio) {
      this.hot = false;
      return true;
    }
    return false;
  }

  private advance(nowMs: number): void {
    const b = Math.floor(nowMs / this.settings.bucketMs);
    if (b <= this.bucket) return;
    const n = this.counts.length;
    if (this.bucket < 0 || b - this.bucket >= n) {
      this.counts.fill(0);
      this.sum = 0;
    } else {
      for (let k = this.bucket + 1; k <= b; k++) {
        const i = k % n;
        this.sum -= this.counts[i];
        this.counts[i] = 0;
      }
    }
    this.bucket = b;
  }
}
