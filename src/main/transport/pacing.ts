// Pacing of bulk writes by acknowledgement: how much a connection may have
// written and not yet know to have arrived. Pure: the connection reports the
// bytes it writes and the Pongs it receives, and sends the Pings this asks for.
//
// Bytes handed to a socket sit in the kernel's buffers (megabytes on a fast
// link) where nothing can overtake them, so a Critical message written after
// them waits for all of them. While a large transfer is being cut into
// pieces, the connection counts what it writes; after every windowBytes /
// probes bytes it sends a Ping whose sequence number marks that point, and
// when the Pong comes back everything written before the mark has reached the
// peer. Writing stops while windowBytes or more are unacknowledged, so at most
// about one window is ever ahead of a Critical message.
//
// Probe sequence numbers start at PACING_SEQ_BASE (2^40), far above those of
// application pings; a Pong at or above it belongs here.

export const PACING_SEQ_BASE = 2 ** 40;
/** Probes per window by default. */
export const DEFAULT_PACING_PROBES = 4;

export class PacingWindow {
  readonly windowBytes: number;
  readonly #probeEvery: number;
  #written = 0;
  #acked = 0;
  #lastProbe = 0;
  #nextSeq = PACING_SEQ_BASE;
  /** Probes sent and not yet answered, oldest first: seq and the bytes written before it. */
  readonly #probes: Array<{ seq: number; mark: number }> = [];

  /** windowBytes 0: never blocked, never probes. */
  constructor(windowBytes: number, probes = DEFAULT_PACING_PROBES) {
    this.windowBytes = windowBytes;
    this.#probeEvery = windowBytes / probes;
  }

  /** True for the sequence number of a probe (its Pong belongs to pacing). */
  static isProbe(seq: number): boolean {
    return seq >= PACING_SEQ_BASE;
  }

  /** Bytes written and not yet acknowledged. */
  get inFlight(): number {
    return this.#written - this.#acked;
  }

  /** Bytes counted by wrote() since creation. */
  get writtenBytes(): number {
    return this.#written;
  }

  /** True while no more may be written: a window's worth awaits its Pong. */
  get blocked(): boolean {
    return this.windowBytes > 0 && this.#written - this.#acked >= this.windowBytes;
  }

  /** Counts `bytes` written; returns the seq of a Ping to send after them, or -1 when none is due. */
  wrote(bytes: number): number {
    if (this.windowBytes === 0) return -1;
    this.#written += bytes;
    if (this.#written - this.#lastProbe < this.#probeEvery) return -1;
    this.#lastProbe = this.#written;
    const seq = this.#nextSeq++;
    this.#probes.push({ seq, mark: this.#written });
    return seq;
  }

  /** A Pong for probe `seq`: true when it acknowledged bytes (writing may resume), false for a stray one. */
  answered(seq: number): boolean {
    const probes = this.#probes;
    let mark = -1;
    while (probes.length > 0 && probes[0].seq <= seq) mark = (probes.shift() as { mark: number }).mark;
    if (mark < 0) return false;
    this.#acked = Math.max(this.#acked, mark);
    return true;
  }
}
