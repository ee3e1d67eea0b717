// Progress of a transfer as its sender reports it: bytes and chunks the
// receiver acknowledged, the rate over the last few seconds, and the time
// left at that rate. Pure: the caller passes the time (ms).
//
// The rate is measured over a sliding window of RATE_WINDOW_MS (samples at
// each acknowledgement), so it follows a throttle change or a slower disk
// within seconds; before the window has two samples it is the average since
// the transfer started.

export interface TransferProgress {
  /** Bytes the receiver holds verified (chunks resumed from an earlier attempt included). */
  readonly bytes: number;
  readonly totalBytes: number;
  /** Chunks the receiver holds verified. */
  readonly chunks: number;
  readonly totalChunks: number;
  /** Bytes per second acknowledged, recently. */
  readonly rateBytesPerSec: number;
  /** Time left at that rate, in ms; Infinity while the rate is 0. */
  readonly etaMs: number;
}

const RATE_WINDOW_MS = 3000;

export class ProgressMeter {
  readonly #samples: Array<{ at: number; bytes: number }> = [];

  constructor(
    readonly totalBytes: number,
    readonly totalChunks: number,
    private readonly startedAt: number,
    /** Bytes already held when this attempt began (a resume): not counted in the rate. */
    private readonly baseBytes = 0,
  ) {
    this.#samples.push({ at: startedAt, bytes: baseBytes });
  }

  /** The progress once the receiver holds `bytes` in `chunks` chunks, at `now`. */
  update(bytes: number, chunks: number, now: number): TransferProgress {
    const samples = this.#samples;
    samples.push({ at: now, bytes });
    while (samples.length > 2 && now - samples[1].at >= RATE_WINDOW_MS) samples.shift();
    const first = samples[0];
    const span = now - first.at;
    const rate = span > 0 ? ((bytes - first.bytes) * 1000) / span : 0;
    const left = this.totalBytes - bytes;
    return {
      bytes,
      totalBytes: this.totalBytes,
      chunks,
      totalChunks: this.totalChunks,
      rateBytesPerSec: rate,
      etaMs: left === 0 ? 0 : rate > 0 ? (left * 1000) / rate : Infinity,
    };
  }

  /** Average rate of this attempt, bytes per second. */
  averageRate(bytes: number, now: number): number {
    const span = now - this.startedAt;
    return span > 0 ? ((bytes - this.baseBytes) * 1000) / span : 0;
  }
}
