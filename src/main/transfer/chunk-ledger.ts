// The receiver's account of a transfer's chunks, and the credit it gives the
// sender. Pure: no IO, no clock.
//
// The receiver drives the transfer: it grants the sender the chunks it may
// send (FileTransferAck.missing), at most `windowChunks` granted or arriving
// at once, lowest index first, and grants the next one each time a chunk is
// verified and written. A chunk that was not granted is a protocol violation
// (the sender is ignoring its credit), so what a receiver holds in memory for
// one transfer is at most windowChunks chunks, whatever the sender does.
//
//   missing ──grant──▶ granted ──arrive──▶ arriving ──verified──▶ held
//                         ▲                    │
//                         └──── corrupt ───────┘  (at most maxRetries times per chunk)
//
// Held chunks are known from the manifest on resume, and never granted.

const MISSING = 0;
const GRANTED = 1;
const ARRIVING = 2;
const HELD = 3;

export type Arrival = 'take' | 'duplicate' | 'not-granted';

export class ChunkLedger {
  readonly #state: Uint8Array;
  readonly #retries = new Map<number, number>();
  /** Lowest index that may still be missing. */
  #cursor = 0;
  #outstanding = 0;
  heldCount = 0;

  constructor(
    readonly count: number,
    readonly windowChunks: number,
    readonly maxRetries: number,
    /** Chunks already held (from a manifest). */
    held: Iterable<number> = [],
  ) {
    this.#state = new Uint8Array(count);
    for (const i of held) {
      if (this.#state[i] !== HELD) this.heldCount++;
      this.#state[i] = HELD;
    }
  }

  get complete(): boolean {
    return this.heldCount === this.count;
  }

  isHeld(index: number): boolean {
    return this.#state[index] === HELD;
  }

  /** Every held index, ascending. */
  held(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.#state[i] === HELD) out.push(i);
    return out;
  }

  /** Grants missing chunks up to the window; returns them. */
  grant(): number[] {
    const out: number[] = [];
    const state = this.#state;
    while (this.#outstanding < this.windowChunks && this.#cursor < this.count) {
      const i = this.#cursor++;
      if (state[i] !== MISSING) continue;
      state[i] = GRANTED;
      this.#outstanding++;
      out.push(i);
    }
    return out;
  }

  /** A chunk arrived: 'take' it when it was granted; a held one is a harmless duplicate. */
  arrive(index: number): Arrival {
    const s = this.#state[index];
    if (s === HELD) return 'duplicate';
    if (s !== GRANTED) return 'not-granted';
    this.#state[index] = ARRIVING;
    return 'take';
  }

  /** The chunk matched its digest and is written: it is held, and its slot of the window is free again. */
  verified(index: number): void {
    if (this.#state[index] !== ARRIVING) return;
    this.#state[index] = HELD;
    this.heldCount++;
    this.#outstanding--;
    this.#retries.delete(index);
  }

  /** The chunk did not match its digest: granted again, or false once it failed maxRetries times. */
  corrupt(index: number): boolean {
    if (this.#state[index] !== ARRIVING) return false;
    const tries = (this.#retries.get(index) ?? 0) + 1;
    if (tries > this.maxRetries) return false;
    this.#retries.set(index, tries);
    this.#state[index] = GRANTED;
    return true;
  }
}
