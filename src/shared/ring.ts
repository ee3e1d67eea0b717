// A single-producer / single-consumer ring of variable-size records in a
// SharedArrayBuffer: the one map of that memory, imported by both threads.
//
//   byte 0              64                  128                 192
//   +-------------------+-------------------+-------------------+----------------------+
//   | HEAD    i32       | TAIL      i32     | CAPACITY  i32     | data: CAPACITY bytes |
//   | CLOSED  i32       | CONSUMER_WAITING  | MAGIC     i32     | (records)            |
//   | PRODUCER_WAITING  |           i32     |                   |                      |
//   +-------------------+-------------------+-------------------+----------------------+
//     written by the      written by the      written once,
//     producer            consumer            at creation
//
// Each group of control words has its own 64-byte cache line, so the two
// threads do not write to the same line.
//
// HEAD and TAIL are byte positions that only grow (mod 2^32): HEAD counts
// bytes published by the producer, TAIL bytes released by the consumer.
// `HEAD - TAIL` (unsigned) is the bytes in use; a position's offset in the
// data area is `position & (CAPACITY - 1)` (CAPACITY is a power of two).
//
// A record in the data area:
//
//   +-------------+------------------+---------+
//   | length u32  | bytes (length)   | padding |   padded to a multiple of 4
//   +-------------+------------------+---------+
//
// The length is native-endian (both threads share the machine). Every record
// starts at a multiple of 4, so a length word never straddles the end of the
// data area. A record that does not fit before the end is preceded by a wrap
// marker (length 0xFFFFFFFF): the consumer skips to offset 0. The skipped
// bytes count as used until the consumer passes them. The largest record is
// CAPACITY - 4 bytes.
//
// Publishing: the producer writes records at its private head and makes them
// visible with one Atomics.store of HEAD (`publish()`), so a batch of records
// costs one atomic store. The consumer likewise releases what it read with
// one store of TAIL (`release()`). Plain writes before the store are visible
// to the thread whose Atomics.load sees the new value.
//
// Wake-ups: a consumer with nothing to read sets CONSUMER_WAITING, re-checks
// HEAD, then waits on HEAD (Atomics.wait in a worker, Atomics.waitAsync on
// the main thread, which must never block). The producer notifies HEAD after
// a store only when CONSUMER_WAITING is set, so a busy ring makes no wake-up
// calls. A full ring works the same way in reverse, on TAIL with
// PRODUCER_WAITING. CLOSED set by the producer means no record will follow
// the ones published.
import { InvalidConfigError } from './errors.js';

/** Int32 indexes of the control words. */
export const RingIndex = {
  head: 0,
  closed: 1,
  producerWaiting: 2,
  tail: 16,
  consumerWaiting: 17,
  capacity: 32,
  magic: 33,
} as const;

export const RING_CONTROL_BYTES = 192;
export const RING_RECORD_HEADER_BYTES = 4;
export const RING_WRAP_MARKER = 0xffff_ffff;
export const RING_MIN_CAPACITY = 64;
export const RING_MAX_CAPACITY = 1 << 30;
/** "RNG1": checked when a thread attaches to a buffer. */
const RING_MAGIC = 0x524e_4731;

/** Bytes a record of `length` bytes takes in the data area. */
export function ringRecordBytes(length: number): number {
  return RING_RECORD_HEADER_BYTES + ((length + 3) & ~3);
}

/** A new ring of `capacity` data bytes (a power of two), to hand to both threads. */
export function createRing(capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new InvalidConfigError('ring capacity', `must be a power of two in [${RING_MIN_CAPACITY}, 2^30], got ${capacity}`);
  }
  const sab = new SharedArrayBuffer(RING_CONTROL_BYTES + capacity);
  const control = new Int32Array(sab, 0, RING_CONTROL_BYTES / 4);
  control[RingIndex.capacity] = capacity;
  Atomics.store(control, RingIndex.magic, RING_MAGIC);
  return sab;
}

interface WaitAsyncResult {
  async: boolean;
  value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** What a wait ended with. */
export type RingWaitResult = 'ready' | 'timed-out';

class RingView {
  readonly control: Int32Array;
  readonly data: Uint8Array;
  /** The data area as 32-bit words, for the length prefixes. */
  protected readonly words: Uint32Array;
  readonly capacity: number;
  protected readonly mask: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    if (buffer.byteLength < RING_CONTROL_BYTES + RING_MIN_CAPACITY) throw new InvalidConfigError('ring', `buffer of ${buffer.byteLength} bytes is too small`);
    this.control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
    if (Atomics.load(this.control, RingIndex.magic) !== RING_MAGIC) throw new InvalidConfigError('ring', 'buffer was not made by createRing');
    this.capacity = this.control[RingIndex.capacity];
    if (buffer.byteLength !== RING_CONTROL_BYTES + this.capacity) throw new InvalidConfigError('ring', 'buffer length does not match its capacity');
    this.mask = this.capacity - 1;
    this.data = new Uint8Array(buffer, RING_CONTROL_BYTES, this.capacity);
    this.words = new Uint32Array(buffer, RING_CONTROL_BYTES, this.capacity / 4);
  }

  /** Bytes published and not yet released (as seen now). */
  get usedBytes(): number {
    return (Atomics.load(this.control, RingIndex.head) - Atomics.load(this.control, RingIndex.tail)) >>> 0;
  }

  /** Blocks this thread until `index` no longer holds `seen` (workers only). */
  protected block(index: number, flag: number, seen: number, timeoutMs: number): RingWaitResult {
    const c = this.control;
    Atomics.store(c, flag, 1);
    try {
      if (Atomics.load(c, index) !== seen) return 'ready';
      return Atomics.wait(c, index, seen, timeoutMs) === 'timed-out' ? 'timed-out' : 'ready';
    } finally {
      Atomics.store(c, flag, 0);
    }
  }

  /** Resolves once `index` no longer holds `seen`, without blocking the thread. */
  protected async park(index: number, flag: number, seen: number, timeoutMs: number): Promise<RingWaitResult> {
    const c = this.control;
    Atomics.store(c, flag, 1);
    try {
      if (Atomics.load(c, index) !== seen) return 'ready';
      const result = waitAsync(c, index, seen, timeoutMs);
      const value = result.async ? await (result.value as Promise<'ok' | 'timed-out'>) : result.value;
      return value === 'timed-out' ? 'timed-out' : 'ready';
    } finally {
      Atomics.store(c, flag, 0);
    }
  }
}

/** The producer's end: one thread only. */
export class RingWriter extends RingView {
  /** Private head: records written but not published end here. */
  private head: number;
  /** Last TAIL seen; re-read only when it says the ring is full. */
  private tail: number;
  /** Start of the record reserved by the last tryReserve. */
  private reservedAt = -1;
  private reservedBytes = 0;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.head = Atomics.load(this.control, RingIndex.head) >>> 0;
    this.tail = Atomics.load(this.control, RingIndex.tail) >>> 0;
  }

  /** Bytes written since the last publish. */
  get unpublishedBytes(): number {
    return (this.head - (Atomics.load(this.control, RingIndex.head) >>> 0)) >>> 0;
  }

  /** Largest record this ring can ever take. */
  get maxRecordBytes(): number {
    return this.capacity - RING_RECORD_HEADER_BYTES;
  }

  private free(): number {
    return this.capacity - ((this.head - this.tail) >>> 0);
  }

  private refreshTail(): number {
    this.tail = Atomics.load(this.control, RingIndex.tail) >>> 0;
    return this.capacity - ((this.head - this.tail) >>> 0);
  }

  /**
   * Reserves room for a record of `length` bytes and returns the view to
   * fill, or null when the ring has no room now. The record becomes part of
   * the ring at `commit()` and visible to the consumer at `publish()`.
   */
  tryReserve(length: number): Uint8Array | null {
    if (length > this.capacity - RING_RECORD_HEADER_BYTES || length < 0) {
      throw new RangeError(`record of ${length} bytes does not fit a ring of ${this.capacity} bytes`);
    }
    const size = ringRecordBytes(length);
    let offset = this.head & this.mask;
    const toEnd = this.capacity - offset;
    if (size > toEnd) {
      // The record goes at offset 0, after a wrap marker filling the rest.
      if (this.free() < toEnd && this.refreshTail() < toEnd) return null;
      this.words[offset >>> 2] = RING_WRAP_MARKER;
      this.head = (this.head + toEnd) >>> 0;
      offset = 0;
    }
    if (this.free() < size && this.refreshTail() < size) return null;
    this.words[offset >>> 2] = length;
    this.reservedAt = offset;
    this.reservedBytes = size;
    const start = offset + RING_RECORD_HEADER_BYTES;
    return this.data.subarray(start, start + length);
  }

  /** Adds the record last reserved to the ring (not yet visible). */
  commit(): void {
    if (this.reservedAt < 0) throw new Error('commit without a reserved record');
    this.head = (this.head + this.reservedBytes) >>> 0;
    this.reservedAt = -1;
  }

  /** Copies `bytes` in as one record; false when the ring has no room now. */
  tryWrite(bytes: Uint8Array): boolean {
    const view = this.tryReserve(bytes.length);
    if (view === null) return false;
    view.set(bytes);
    this.commit();
    return true;
  }

  /** Makes every committed record visible, and wakes a waiting consumer. */
  publish(): void {
    const c = this.control;
    Atomics.store(c, RingIndex.head, this.head | 0);
    if (Atomics.load(c, RingIndex.consumerWaiting) !== 0) Atomics.notify(c, RingIndex.head);
  }

  /** Publishes what is committed and marks the end: no record follows. */
  close(): void {
    Atomics.store(this.control, RingIndex.closed, 1);
    this.publish();
    Atomics.notify(this.control, RingIndex.head);
  }

  /** Blocks until the consumer releases bytes (worker threads only). */
  waitForSpace(timeoutMs = Infinity): RingWaitResult {
    return this.block(RingIndex.tail, RingIndex.producerWaiting, this.tail | 0, timeoutMs);
  }

  /** Resolves when the consumer releases bytes; never blocks the thread. */
  writable(timeoutMs = Infinity): Promise<RingWaitResult> {
    return this.park(RingIndex.tail, RingIndex.producerWaiting, this.tail | 0, timeoutMs);
  }
}

/** The consumer's end: one thread only. */
export class RingReader extends RingView {
  /** Private tail: records read but not released end here. */
  private tail: number;
  /** Last HEAD seen; re-read only when the ring looks empty. */
  private head: number;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.tail = Atomics.load(this.control, RingIndex.tail) >>> 0;
    this.head = Atomics.load(this.control, RingIndex.head) >>> 0;
  }

  /**
   * The next published record as a view into the ring, or null when none is
   * published. The view stays valid until `release()`: copy what outlives it.
   */
  tryRead(): Uint8Array | null {
    if (this.tail === this.head) {
      this.head = Atomics.load(this.control, RingIndex.head) >>> 0;
      if (this.tail === this.head) return null;
    }
    let offset = this.tail & this.mask;
    let length = this.words[offset >>> 2];
    if (length === RING_WRAP_MARKER) {
      this.tail = (this.tail + this.capacity - offset) >>> 0;
      if (this.tail === this.head) return null; // a marker published ahead of its record
      offset = 0;
      length = this.words[0];
    }
    this.tail = (this.tail + ringRecordBytes(length)) >>> 0;
    const start = offset + RING_RECORD_HEADER_BYTES;
    return this.data.subarray(start, start + length);
  }

  /** Hands the space of every record read so far back to the producer. */
  release(): void {
    const c = this.control;
    Atomics.store(c, RingIndex.tail, this.tail | 0);
    if (Atomics.load(c, RingIndex.producerWaiting) !== 0) Atomics.notify(c, RingIndex.tail);
  }

  /** True when the producer closed the ring and every record was read. */
  get drained(): boolean {
    if (Atomics.load(this.control, RingIndex.closed) === 0) return false;
    return this.tail === Atomics.load(this.control, RingIndex.head) >>> 0;
  }

  /** Blocks until more is published or the ring is closed (worker threads only). */
  waitForData(timeoutMs = Infinity): RingWaitResult {
    if (Atomics.load(this.control, RingIndex.closed) !== 0) return 'ready';
    return this.block(RingIndex.head, RingIndex.consumerWaiting, this.tail | 0, timeoutMs);
  }

  /** Resolves when more is published or the ring is closed; never blocks the thread. */
  readable(timeoutMs = Infinity): Promise<RingWaitResult> {
    if (Atomics.load(this.control, RingIndex.closed) !== 0) return Promise.resolve('ready');
    return this.park(RingIndex.head, RingIndex.consumerWaiting, this.tail | 0, timeoutMs);
  }
}
