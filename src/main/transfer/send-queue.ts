// The sender's account of a transfer's chunks: what the receiver granted and
// acknowledged, and what to send next. Pure: no IO, no clock.
//
// The receiver grants chunks (FileTransferAck.missing) and acknowledges the
// ones it verified and wrote (FileTransferAck.acked); a grant for a chunk
// already sent is a request to send it again (a corrupted copy). Indexes
// outside the transfer are the receiver's violation and are reported, not
// trusted. The queue holds at most one entry per chunk.

const IDLE = 0;
const QUEUED = 1;
const SENT = 2;
const ACKED = 3;

export class SendQueue {
  readonly #state: Uint8Array;
  readonly #queue: number[] = [];
  #head = 0;
  ackedCount = 0;

  constructor(readonly count: number) {
    this.#state = new Uint8Array(count);
  }

  get complete(): boolean {
    return this.ackedCount === this.count;
  }

  /** Chunks granted and not sent yet. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Chunks sent and not acknowledged yet. */
  inFlight = 0;

  isAcked(index: number): boolean {
    return this.#state[index] === ACKED;
  }

  /** Takes grants; returns false when one is outside the transfer. */
  grant(indexes: readonly number[]): boolean {
    for (const i of indexes) {
      if (!this.#valid(i)) return false;
      const s = this.#state[i];
      if (s === ACKED || s === QUEUED) continue;
      if (s === SENT) this.inFlight--;
      this.#state[i] = QUEUED;
      this.#queue.push(i);
    }
    return true;
  }

  /** Takes acknowledgements; returns false when one is outside the transfer. */
  ack(indexes: readonly number[]): boolean {
    for (const i of indexes) {
      if (!this.#valid(i)) return false;
      const s = this.#state[i];
      if (s === ACKED) continue;
      if (s === SENT) this.inFlight--;
      this.#state[i] = ACKED;
      this.ackedCount++;
    }
    return true;
  }

  /** The next granted chunk to send (now counted as sent), or -1. */
  next(): number {
    while (this.#head < this.#queue.length) {
      const i = this.#queue[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.#state[i] !== QUEUED) continue;
      this.#state[i] = SENT;
      this.inFlight++;
      return i;
    }
    return -1;
  }

  /** The next granted chunk without taking it, or -1. */
  peek(): number {
    for (let h = this.#head; h < this.#queue.length; h++) if (this.#state[this.#queue[h]] === QUEUED) return this.#queue[h];
    return -1;
  }

  #valid(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.count;
  }
}
