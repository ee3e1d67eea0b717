// A bandwidth limit as a token bucket that starts empty and may go into
// debt. Pure: the caller passes the time (ms) and waits what it is told.
//
// reserve(n, now) takes n bytes from the bucket and returns how long to wait
// before sending them, so that the bytes sent by time t never exceed
// bytesPerSec * t + burstBytes. Reservations queue up as debt: several
// transfers sharing one bucket get their turns in the order they asked, and
// a chunk larger than the burst is still admitted, after its time. Tokens
// accrue while idle up to burstBytes, no more, so a pause does not turn into
// a burst above the limit afterwards.

export class TokenBucket {
  #tokens = 0;
  #at: number;

  constructor(
    readonly bytesPerSec: number,
    readonly burstBytes: number,
    now: number,
  ) {
    this.#at = now;
  }

  /** Takes `bytes`; returns the ms to wait before they may be sent (0: now). */
  reserve(bytes: number, now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burstBytes, this.#tokens + ((now - this.#at) * this.bytesPerSec) / 1000);
      this.#at = now;
    }
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.bytesPerSec;
  }
}
