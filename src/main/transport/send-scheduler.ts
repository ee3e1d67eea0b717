// The per-connection send queue: four priority classes, large envelopes cut
// into chunks and interleaved, byte accounting with a high-water mark and a
// hard limit. Pure: the caller enqueues encoded envelopes and pulls what to
// write this turn; no socket, timer or clock in here.
//
// Order. Strict priority between classes (Critical, High, Normal, Low: the
// schema's Priority enum), FIFO within a class. An envelope longer than
// chunkBytes leaves as a sequence of Chunk pieces of at most chunkBytes, one
// piece per pick, so any item waits for at most one piece of a lower class
// that is already being written, never for a whole 100 MB transfer.
//
// Starvation guard. Strict priority alone lets a busy class starve the ones
// below it forever. After starvationGuardInterval - 1 (default 15) consecutive
// picks from the top non-empty class while a lower class waits, the next pick
// goes to the lower class whose head item was enqueued first (the oldest
// waiting head), and the count starts over. So:
//   - lower classes get at least 1 pick in N while they wait, and the guard
//     serves them oldest-first, so every queued item is picked after a
//     bounded number of picks (no class is starved, Low included);
//   - a higher item is delayed by the guard by at most one piece (at most
//     chunkBytes) per N picks: a Critical item enqueued while no other
//     Critical item waits is picked after at most one piece of a lower class.
// Counting picks rather than bytes keeps the decision a counter compare, and
// the latency bound for Critical is stated in pieces, which is what matters
// for heartbeats. Bulk transfers belong in Low (or on a stream): within a
// class, a chunked item holds the head until its last piece (FIFO).
//
// Accounting. Each queued item is charged its length plus ITEM_OVERHEAD_BYTES
// (about the frame and envelope header it will cost on the wire), so a flood
// of tiny envelopes still reaches the marks. The charge is released piece by
// piece as the item is pulled.
//   - queued bytes above highWaterMarkBytes: enqueue() returns false (the
//     caller waits for the batch's `drain` flag, raised once the queue has
//     fallen to half the high-water mark); with overflow 'fail', an enqueue of
//     a non-Critical item while the queue is above the mark throws
//     ERR_BACKPRESSURE (resource "highWaterMarkBytes") instead. An item is
//     admitted whole when the queue is at or below the mark, however long.
//   - an item that would take the queue past maxQueuedBytes is refused with
//     ERR_BACKPRESSURE (resource "maxQueuedBytes") in either mode, Critical
//     included; nothing is queued.
// Critical items ignore the high-water mark, so back-pressured application
// traffic never holds back heartbeats and protocol control; only the hard
// limit bounds them.
//
//   option                    default     meaning
//   chunkBytes                64 KiB      longest piece; longer envelopes are chunked
//   highWaterMarkBytes        8 MiB       above it enqueue() says "wait"
//   maxQueuedBytes            128 MiB     hard limit of queued bytes (charged)
//   starvationGuardInterval   16          every Nth pick may go to a starved lower class
//   overflow                  'wait'      'wait': return false; 'fail': throw ERR_BACKPRESSURE
import { BackpressureError, InvalidConfigError, InvalidMessageError } from '../../shared/errors.js';
import { SendBatch, type QueuedBytes } from './send-batch.js';
import { integerOption as integer } from '../../shared/options.js';

export { PieceKind, SendBatch } from './send-batch.js';

/** Bytes charged per queued item on top of its length. */
export const ITEM_OVERHEAD_BYTES = 64;
/** Priority classes: Critical = 0, High = 1, Normal = 2, Low = 3. */
export const PRIORITY_CLASSES = 4;
/** The default for pull()'s maxItems. */
export const DEFAULT_MAX_BATCH_ITEMS = 1024;

export type OverflowMode = 'wait' | 'fail';

export interface SendSchedulerOptions {
  /** Longest piece written at once, in bytes. Default 65 536. */
  readonly chunkBytes: number;
  /** Above this many queued bytes enqueue() returns false. Default 8 MiB. */
  readonly highWaterMarkBytes: number;
  /** Queued bytes never exceed this. Default 128 MiB. */
  readonly maxQueuedBytes: number;
  /** One pick in this many may serve a starved lower class. Default 16. */
  readonly starvationGuardInterval: number;
  /** What enqueue does above the high-water mark. Default 'wait'. */
  readonly overflow: OverflowMode;
}

export const DEFAULT_SEND_SCHEDULER: SendSchedulerOptions = Object.freeze({
  chunkBytes: 65_536,
  highWaterMarkBytes: 8 * 1024 * 1024,
  maxQueuedBytes: 128 * 1024 * 1024,
  starvationGuardInterval: 16,
  overflow: 'wait',
});

const MIN_CHUNK_BYTES = 256;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** 2^50: far above any real queue, and byte sums stay exact doubles. */
const MAX_QUEUE_LIMIT = 2 ** 50;

export function resolveSendSchedulerOptions(input: Partial<SendSchedulerOptions> = {}): SendSchedulerOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const d = DEFAULT_SEND_SCHEDULER;
  const chunkBytes = integer('chunkBytes', input.chunkBytes ?? d.chunkBytes, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
  const highWaterMarkBytes = integer('highWaterMarkBytes', input.highWaterMarkBytes ?? d.highWaterMarkBytes, 1, MAX_QUEUE_LIMIT);
  const maxQueuedBytes = integer('maxQueuedBytes', input.maxQueuedBytes ?? d.maxQueuedBytes, highWaterMarkBytes, MAX_QUEUE_LIMIT);
  const starvationGuardInterval = integer('starvationGuardInterval', input.starvationGuardInterval ?? d.starvationGuardInterval, 2, 65_536);
  const overflow = input.overflow ?? d.overflow;
  if (overflow !== 'wait' && overflow !== 'fail') {
    throw new InvalidConfigError('overflow', `expected 'wait' or 'fail', got ${String(overflow)}`);
  }
  return Object.freeze({ chunkBytes, highWaterMarkBytes, maxQueuedBytes, starvationGuardInterval, overflow });
}

/** One priority class: a ring of items (parallel arrays, capacity a power of two). */
class ClassQueue {
  items: (QueuedBytes | undefined)[] = new Array(16);
  messageIds: number[] = new Array(16).fill(0);
  /** Enqueue order across all classes: the guard's notion of age. */
  seqs: number[] = new Array(16).fill(0);
  mask = 15;
  head = 0;
  count = 0;
  /** Bytes of the head item already pulled as pieces. */
  headOffset = 0;

  push(item: QueuedBytes, messageId: number, seq: number): void {
    if (this.count > this.mask) this.grow();
    const at = (this.head + this.count) & this.mask;
    this.items[at] = item;
    this.messageIds[at] = messageId;
    this.seqs[at] = seq;
    this.count++;
  }

  shift(): void {
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    this.headOffset = 0;
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.items[(this.head + i) & this.mask] = undefined;
    this.head = 0;
    this.count = 0;
    this.headOffset = 0;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const items: (QueuedBytes | undefined)[] = new Array(size);
    const ids: number[] = new Array(size).fill(0);
    const seqs: number[] = new Array(size).fill(0);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & this.mask;
      items[i] = this.items[from];
      ids[i] = this.messageIds[from];
      seqs[i] = this.seqs[from];
    }
    this.items = items;
    this.messageIds = ids;
    this.seqs = seqs;
    this.mask = size - 1;
    this.head = 0;
  }
}

export class SendScheduler {
  readonly options: SendSchedulerOptions;
  readonly #chunkBytes: number;
  readonly #highWater: number;
  readonly #lowWater: number;
  readonly #maxQueued: number;
  readonly #guardAfter: number;
  readonly #failOverHighWater: boolean;
  readonly #queues: ClassQueue[] = [];
  readonly #batch = new SendBatch();
  #queuedBytes = 0;
  #queuedItems = 0;
  #seq = 0;
  /** Consecutive picks of the top class while a lower class waited. */
  #passedOver = 0;
  /** An enqueue reported "wait" and no drain has been signalled since. */
  #waiting = false;

  constructor(options: SendSchedulerOptions = DEFAULT_SEND_SCHEDULER) {
    this.options = options;
    this.#chunkBytes = options.chunkBytes;
    this.#highWater = options.highWaterMarkBytes;
    this.#lowWater = Math.floor(options.highWaterMarkBytes / 2);
    this.#maxQueued = options.maxQueuedBytes;
    this.#guardAfter = options.starvationGuardInterval - 1;
    this.#failOverHighWater = options.overflow === 'fail';
    for (let c = 0; c < PRIORITY_CLASSES; c++) this.#queues.push(new ClassQueue());
  }

  /** Bytes charged for queued items (lengths not yet pulled plus ITEM_OVERHEAD_BYTES each). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Items (whole or partly pulled) still queued. */
  get queuedItems(): number {
    return this.#queuedItems;
  }

  /** True while queued bytes are above the high-water mark. */
  get overHighWater(): boolean {
    return this.#queuedBytes > this.#highWater;
  }

  /** Items queued in one class. */
  queuedIn(priority: number): number {
    return this.#queues[priority].count;
  }

  /**
   * Queues an encoded envelope. `messageId` names it in its Chunk pieces when
   * it is longer than chunkBytes (ignored otherwise). Returns true while the
   * queue is at or below the high-water mark, false when the caller should
   * wait for a batch with `drain` set. Throws ERR_BACKPRESSURE past
   * maxQueuedBytes (and, with overflow 'fail', for a non-Critical item while
   * the queue is above the high-water mark); nothing is queued then.
   */
  enqueue(bytes: QueuedBytes, priority: number, messageId = 0): boolean {
    if (priority !== (priority & 3)) throw new InvalidMessageError('header.priority', `expected 0..3, got ${String(priority)}`);
    const length = bytes.length;
    if (length > this.#chunkBytes && !(Number.isSafeInteger(messageId) && messageId >= 0)) {
      throw new InvalidMessageError('Chunk.messageId', `expected a non-negative safe integer, got ${String(messageId)}`);
    }
    const charge = length + ITEM_OVERHEAD_BYTES;
    if (this.#queuedBytes + charge > this.#maxQueued) throw new BackpressureError('maxQueuedBytes', this.#maxQueued);
    if (this.#failOverHighWater && priority !== 0 && this.#queuedBytes > this.#highWater) {
      throw new BackpressureError('highWaterMarkBytes', this.#highWater);
    }
    this.#queues[priority].push(bytes, messageId, this.#seq++);
    this.#queuedBytes += charge;
    this.#queuedItems++;
    if (this.#queuedBytes > this.#highWater) {
      this.#waiting = true;
      return false;
    }
    return true;
  }

  /**
   * The pieces to write this turn, in order: at least one when anything is
   * queued, then more while their bytes stay within maxBytes, at most
   * maxItems. The batch is reused: read it before the next pull.
   */
  pull(maxBytes: number, maxItems: number = DEFAULT_MAX_BATCH_ITEMS): SendBatch {
    const batch = this.#batch;
    batch.reset();
    const queues = this.#queues;
    const chunkBytes = this.#chunkBytes;
    while (batch.length < maxItems && this.#queuedItems > 0) {
      // The top non-empty class, and whether a lower class waits.
      let top = 0;
      while (queues[top].count === 0) top++;
      let lower = -1;
      let oldest = Infinity;
      for (let c = top + 1; c < PRIORITY_CLASSES; c++) {
        const q = queues[c];
        if (q.count > 0 && q.seqs[q.head] < oldest) {
          oldest = q.seqs[q.head];
          lower = c;
        }
      }
      const guard = lower >= 0 && this.#passedOver >= this.#guardAfter;
      const pick = guard ? lower : top;
      const q = queues[pick];
      const item = q.items[q.head] as QueuedBytes;
      const chunked = item.length > chunkBytes;
      const offset = q.headOffset;
      const size = chunked ? Math.min(chunkBytes, item.length - offset) : item.length;
      if (batch.length > 0 && batch.bytes + size > maxBytes) break;

      this.#passedOver = guard || lower < 0 ? 0 : this.#passedOver + 1;
      batch.push(chunked, pick, item, q.messageIds[q.head], offset, size);
      this.#queuedBytes -= size;
      if (!chunked || offset + size === item.length) {
        this.#queuedBytes -= ITEM_OVERHEAD_BYTES;
        this.#queuedItems--;
        q.shift();
      } else {
        q.headOffset = offset + size;
      }
    }
    if (this.#waiting && this.#queuedBytes <= this.#lowWater) {
      this.#waiting = false;
      batch.drain = true;
    }
    return batch;
  }

  /** Drops everything queued (the connection closed); returns how many items were dropped. */
  clear(): number {
    const dropped = this.#queuedItems;
    for (const q of this.#queues) q.clear();
    this.#queuedBytes = 0;
    this.#queuedItems = 0;
    this.#passedOver = 0;
    this.#waiting = false;
    this.#batch.reset();
    return dropped;
  }
}
