// Properties of the send scheduler against a naive reference (arrays with
// shift(), the rules written out plainly): the same pieces in the same order,
// every item out exactly once, FIFO within a class, chunks reassembling to
// the original bytes, the accounting exact and bounded, and the latency bound
// for Critical items.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackpressureError } from '../../src/shared/errors.js';
import { ITEM_OVERHEAD_BYTES, resolveSendSchedulerOptions, SendScheduler, type SendSchedulerOptions } from '../../src/main/transport/send-scheduler.js';

interface RefItem {
  bytes: Uint8Array;
  id: number;
  seq: number;
  offset: number;
}

interface Piece {
  priority: number;
  chunk: boolean;
  id: number;
  offset: number;
  length: number;
  total: number;
  /** Which enqueue this piece came from (the item's first byte pair). */
  tag: number;
}

/** The policy, written as plainly as possible. */
class ReferenceScheduler {
  readonly classes: RefItem[][] = [[], [], [], []];
  queued = 0;
  seq = 0;
  passedOver = 0;
  constructor(readonly o: SendSchedulerOptions) {}

  enqueue(bytes: Uint8Array, priority: number, id: number): 'ok' | 'wait' | 'refused' {
    const charge = bytes.length + ITEM_OVERHEAD_BYTES;
    if (this.queued + charge > this.o.maxQueuedBytes) return 'refused';
    if (this.o.overflow === 'fail' && priority !== 0 && this.queued > this.o.highWaterMarkBytes) return 'refused';
    this.classes[priority].push({ bytes, id, seq: this.seq++, offset: 0 });
    this.queued += charge;
    return this.queued > this.o.highWaterMarkBytes ? 'wait' : 'ok';
  }

  pick(): Piece | null {
    const nonEmpty = [0, 1, 2, 3].filter((c) => this.classes[c].length > 0);
    if (nonEmpty.length === 0) return null;
    const top = nonEmpty[0];
    const lower = nonEmpty.slice(1).sort((a, b) => this.classes[a][0].seq - this.classes[b][0].seq);
    let pick = top;
    if (lower.length > 0 && this.passedOver === this.o.starvationGuardInterval - 1) {
      pick = lower[0];
      this.passedOver = 0;
    } else if (lower.length > 0) {
      this.passedOver++;
    } else {
      this.passedOver = 0;
    }
    const item = this.classes[pick][0];
    const chunk = item.bytes.length > this.o.chunkBytes;
    const length = chunk ? Math.min(this.o.chunkBytes, item.bytes.length - item.offset) : item.bytes.length;
    const piece: Piece = { priority: pick, chunk, id: chunk ? item.id : 0, offset: item.offset, length, total: item.bytes.length, tag: tagOf(item.bytes) };
    item.offset += length;
    this.queued -= length;
    if (item.offset === item.bytes.length) {
      this.classes[pick].shift();
      this.queued -= ITEM_OVERHEAD_BYTES;
    }
    return piece;
  }
}

function tagOf(bytes: Uint8Array): number {
  return bytes.length < 2 ? -1 : bytes[0] | (bytes[1] << 8);
}

/** An item of `length` bytes whose first two bytes carry `tag` and whose rest is a pattern of it. */
function itemBytes(tag: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (tag * 31 + i * 7) & 0xff;
  if (length >= 2) {
    b[0] = tag & 0xff;
    b[1] = tag >> 8;
  }
  return b;
}

type Op = { kind: 'enqueue'; priority: number; length: number } | { kind: 'pull'; maxBytes: number; maxItems: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), priority: fc.integer({ min: 0, max: 3 }), length: fc.oneof(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 2, max: 3000 }), fc.constantFrom(255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2049, 3073)) }),
  fc.record({ kind: fc.constant('pull' as const), maxBytes: fc.integer({ min: 1, max: 4000 }), maxItems: fc.integer({ min: 1, max: 8 }) }),
);

const optionsArb = fc.record({
  chunkBytes: fc.constantFrom(256, 512, 1024),
  highWaterMarkBytes: fc.integer({ min: 500, max: 6000 }),
  extra: fc.integer({ min: 0, max: 6000 }),
  starvationGuardInterval: fc.integer({ min: 2, max: 6 }),
  overflow: fc.constantFrom('wait' as const, 'fail' as const),
});

describe('SendScheduler against the reference', () => {
  it('hands out the same pieces in the same order, each item exactly once, reassembling exactly', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(opArb, { maxLength: 120 }), (o, ops) => {
        const options = resolveSendSchedulerOptions({ ...o, maxQueuedBytes: o.highWaterMarkBytes + o.extra });
        const s = new SendScheduler(options);
        const ref = new ReferenceScheduler(options);
        const enqueued = new Map<number, { bytes: Uint8Array; priority: number }>();
        const rebuilt = new Map<number, Uint8Array>();
        const completed: number[][] = [[], [], [], []];
        let tag = 0;

        const take = (p: Piece, data: Uint8Array): void => {
          const want = ref.pick();
          expect(p).toEqual(want);
          const buf = rebuilt.get(p.tag) ?? new Uint8Array(p.total);
          rebuilt.set(p.tag, buf);
          buf.set(data, p.offset);
          if (p.offset + p.length === p.total) {
            expect(buf).toEqual(enqueued.get(p.tag)?.bytes);
            expect(enqueued.get(p.tag)?.priority).toBe(p.priority);
            completed[p.priority].push(p.tag);
            enqueued.delete(p.tag);
            rebuilt.delete(p.tag);
          }
        };
        const pullInto = (maxBytes: number, maxItems: number): void => {
          const b = s.pull(maxBytes, maxItems);
          expect(b.length).toBeLessThanOrEqual(maxItems);
          if (b.length > 1) expect(b.bytes).toBeLessThanOrEqual(maxBytes);
          if (s.queuedItems + b.length > 0 && b.length === 0) throw new Error('pull handed out nothing while items were queued');
          for (let i = 0; i < b.length; i++) {
            const p: Piece = { priority: b.priorities[i], chunk: b.isChunk(i), id: b.messageIds[i], offset: b.offsets[i], length: b.lengths[i], total: b.totalBytes(i), tag: tagOf(b.sources[i] as Uint8Array) };
            take(p, b.data(i));
          }
        };

        for (const op of ops) {
          if (op.kind === 'enqueue') {
            const t = tag++;
            const bytes = itemBytes(t, op.length);
            const want = ref.enqueue(bytes, op.priority, 1000 + t);
            let got: 'ok' | 'wait' | 'refused';
            try {
              got = s.enqueue(bytes, op.priority, 1000 + t) ? 'ok' : 'wait';
            } catch (e) {
              expect(e).toBeInstanceOf(BackpressureError);
              got = 'refused';
            }
            expect(got).toBe(want);
            if (got !== 'refused') enqueued.set(t, { bytes, priority: op.priority });
          } else {
            pullInto(op.maxBytes, op.maxItems);
          }
          expect(s.queuedBytes).toBe(ref.queued);
          expect(s.queuedBytes).toBeLessThanOrEqual(options.maxQueuedBytes);
        }
        while (s.queuedItems > 0) pullInto(1 << 20, 16);
        expect(ref.pick()).toBeNull();
        expect(s.queuedBytes).toBe(0);
        expect(enqueued.size).toBe(0);
        // FIFO within a class: tags were handed out increasing.
        for (const c of completed) expect(c).toEqual([...c].sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });

  it('a Critical item waits at most one piece of a lower class when no other Critical item is ahead of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.record({ priority: fc.integer({ min: 1, max: 3 }), length: fc.integer({ min: 1, max: 5000 }) }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 10 }),
        (interval, background, criticalAt) => {
          const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 256, starvationGuardInterval: interval }));
          background.forEach((b, i) => s.enqueue(new Uint8Array(b.length), b.priority, i));
          const at = new Set(criticalAt);
          let pick = 0;
          let lowerSinceCritical = -1; // -1: no Critical item waiting
          while (s.queuedItems > 0 || at.has(pick)) {
            if (at.has(pick) && s.queuedIn(0) === 0) {
              s.enqueue(new Uint8Array(8), 0);
              lowerSinceCritical = 0;
            }
            const b = s.pull(1);
            if (b.priorities[0] === 0) {
              expect(lowerSinceCritical).toBeLessThanOrEqual(1);
              lowerSinceCritical = -1;
            } else if (lowerSinceCritical >= 0) {
              lowerSinceCritical++;
            }
            pick++;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no item starves: with Critical always busy, every Low item is picked within a bounded number of picks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 20 }), (interval, lows) => {
        const s = new SendScheduler(resolveSendSchedulerOptions({ starvationGuardInterval: interval }));
        for (let i = 0; i < lows; i++) s.enqueue(new Uint8Array(4), 3);
        let served = 0;
        let picks = 0;
        while (served < lows) {
          s.enqueue(new Uint8Array(4), 0); // one new Critical item per pick: Critical never runs dry
          const b = s.pull(1);
          if (b.priorities[0] === 3) served++;
          picks++;
          expect(picks).toBeLessThanOrEqual(lows * interval);
        }
      }),
    );
  });
});
