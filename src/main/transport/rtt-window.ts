// A rolling window of the last N round-trip times (heartbeat.ts keeps 100
// per peer connection): the average and percentiles (p99) the health
// metrics report. Samples go into a fixed ring, so memory is N numbers
// whatever the traffic; the statistics are computed when read (an O(N)
// average and an O(N log N) sort, cached until the next sample), not on
// every sample.
import { InvalidConfigError } from '../../shared/errors.js';

export class RttWindow {
  readonly capacity: number;
  readonly #ring: Float64Array;
  #next = 0;
  #count = 0;
  #last = 0;
  /** The samples sorted ascending, or null when a sample arrived since. */
  #sorted: Float64Array | null = null;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidConfigError('rttSamples', `expected a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.#ring = new Float64Array(capacity);
  }

  /** Samples held (at most capacity). */
  get count(): number {
    return this.#count;
  }

  /** The latest sample in ms; 0 before any. */
  get lastMs(): number {
    return this.#last;
  }

  /** Mean of the samples held, in ms; 0 before any. */
  get averageMs(): number {
    if (this.#count === 0) return 0;
    let sum = 0;
    for (let i = 0; i < this.#count; i++) sum += this.#ring[i];
    return sum / this.#count;
  }

  /** 99th percentile of the samples held (nearest rank), in ms; 0 before any. */
  get p99Ms(): number {
    return this.percentile(0.99);
  }

  /** Adds one round trip, in ms (negative values count as 0); the oldest is dropped at capacity. */
  add(rttMs: number): void {
    const v = rttMs > 0 ? rttMs : 0;
    this.#ring[this.#next] = v;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
    this.#last = v;
    this.#sorted = null;
  }

  /** The nearest-rank percentile `q` in (0, 1] of the samples held, in ms; 0 before any. */
  percentile(q: number): number {
    if (!(q > 0 && q <= 1)) throw new RangeError(`percentile must be in (0, 1], got ${q}`);
    if (this.#count === 0) return 0;
    this.#sorted ??= this.#ring.slice(0, this.#count).sort();
    return this.#sorted[Math.ceil(q * this.#count) - 1];
  }

  /** Forgets every sample. */
  clear(): void {
    this.#next = 0;
    this.#count = 0;
    this.#last = 0;
    this.#sorted = null;
  }
}
