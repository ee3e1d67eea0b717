// The send scheduler: strict priority, FIFO within a class, chunking, the
// starvation guard, the high-water mark and the hard limit, options.
import { describe, expect, it } from 'vitest';
import { BackpressureError, InvalidConfigError, InvalidMessageError } from '../../src/shared/errors.js';
import {
  DEFAULT_SEND_SCHEDULER,
  ITEM_OVERHEAD_BYTES,
  PieceKind,
  resolveSendSchedulerOptions,
  SendScheduler,
  type SendBatch,
} from '../../src/main/transport/send-scheduler.js';

const CRITICAL = 0;
const HIGH = 1;
const NORMAL = 2;
const LOW = 3;

function bytes(n: number, fill = 0): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** Pulls one piece at a time until empty; returns [priority, kind, length, first byte] per piece. */
function pullAll(s: SendScheduler): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let guard = 0; guard < 100_000 && s.queuedItems > 0; guard++) {
    const b = s.pull(1);
    for (let i = 0; i < b.length; i++) out.push([b.priorities[i], b.kinds[i], b.lengths[i], b.data(i)[0] ?? -1]);
  }
  return out;
}

function pieces(b: SendBatch): { kind: number; priority: number; data: number[]; offset: number; total: number; id: number }[] {
  return Array.from({ length: b.length }, (_, i) => ({
    kind: b.kinds[i],
    priority: b.priorities[i],
    data: [...b.data(i)],
    offset: b.offsets[i],
    total: b.totalBytes(i),
    id: b.messageIds[i],
  }));
}

describe('SendScheduler order', () => {
  it('serves classes in strict priority (Critical, High, Normal, Low) and FIFO within a class', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions());
    s.enqueue(bytes(3, 31), LOW);
    s.enqueue(bytes(3, 21), NORMAL);
    s.enqueue(bytes(3, 11), HIGH);
    s.enqueue(bytes(3, 1), CRITICAL);
    s.enqueue(bytes(3, 22), NORMAL);
    s.enqueue(bytes(3, 2), CRITICAL);
    expect(pullAll(s).map((p) => p[3])).toEqual([1, 2, 11, 21, 22, 31]);
  });

  it('fills a batch up to maxBytes but always hands out at least one piece', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions());
    for (let i = 0; i < 5; i++) s.enqueue(bytes(100, i), NORMAL);
    const first = s.pull(250);
    expect(first.length).toBe(2);
    expect(first.bytes).toBe(200);
    const second = s.pull(50);
    expect(second.length).toBe(1);
    expect(second.bytes).toBe(100);
    const third = s.pull(10_000, 1);
    expect(third.length).toBe(1);
    expect(s.pull(10_000).length).toBe(1);
    expect(s.pull(10_000).length).toBe(0);
  });

  it('hands out whole envelopes up to chunkBytes as they are', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    const item = bytes(1024, 7);
    s.enqueue(item, NORMAL, 99);
    const b = s.pull(1 << 20);
    expect(b.length).toBe(1);
    expect(b.kinds[0]).toBe(PieceKind.Whole);
    expect(b.isChunk(0)).toBe(false);
    expect(b.data(0)).toBe(item);
    expect(b.messageIds[0]).toBe(0);
  });
});

describe('SendScheduler chunking', () => {
  it('cuts an envelope longer than chunkBytes into Chunk pieces that reassemble to it', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    const item = Uint8Array.from({ length: 2_500 }, (_, i) => i & 0xff);
    s.enqueue(item, LOW, 42);
    const b = s.pull(1 << 20);
    expect(pieces(b).map((p) => [p.kind, p.offset, p.data.length, p.total, p.id])).toEqual([
      [PieceKind.Chunk, 0, 1024, 2_500, 42],
      [PieceKind.Chunk, 1024, 1024, 2_500, 42],
      [PieceKind.Chunk, 2048, 452, 2_500, 42],
    ]);
    const joined = new Uint8Array(2_500);
    for (let i = 0; i < b.length; i++) joined.set(b.data(i), b.offsets[i]);
    expect(joined).toEqual(item);
    // Chunk data are views of the queued envelope, not copies.
    expect(b.data(1).buffer).toBe(item.buffer);
    expect(s.queuedBytes).toBe(0);
    expect(s.queuedItems).toBe(0);
  });

  it('hands out a last piece of a single byte', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    s.enqueue(bytes(2049, 1), NORMAL, 5);
    const b = s.pull(1 << 20);
    expect(Array.from({ length: b.length }, (_, i) => [b.offsets[i], b.lengths[i]])).toEqual([
      [0, 1024],
      [1024, 1024],
      [2048, 1],
    ]);
    expect(s.queuedItems).toBe(0);
  });

  it('a Critical envelope enqueued during a large Low transfer goes out after the piece in progress', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    s.enqueue(bytes(100 * 1024, 3), LOW, 1);
    expect(s.pull(1).isChunk(0)).toBe(true);
    expect(s.pull(1).isChunk(0)).toBe(true);
    s.enqueue(bytes(40, 0), CRITICAL);
    const next = s.pull(1);
    expect(next.priorities[0]).toBe(CRITICAL);
    expect(next.kinds[0]).toBe(PieceKind.Whole);
    // The transfer resumes where it stopped.
    const resumed = s.pull(1);
    expect(resumed.priorities[0]).toBe(LOW);
    expect(resumed.offsets[0]).toBe(2048);
  });

  it('refuses a chunked item without a usable messageId', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    expect(() => s.enqueue(bytes(2048), LOW, -1)).toThrow(InvalidMessageError);
    expect(() => s.enqueue(bytes(2048), LOW, 2 ** 53)).toThrow(InvalidMessageError);
    expect(() => s.enqueue(bytes(2048), LOW, 1.5)).toThrow(InvalidMessageError);
    expect(s.enqueue(bytes(10), LOW, -1)).toBe(true);
  });

  it('refuses a priority outside 0..3', () => {
    const s = new SendScheduler();
    for (const p of [-1, 4, 1.5, Number.NaN]) expect(() => s.enqueue(bytes(1), p)).toThrow(InvalidMessageError);
    expect(s.queuedItems).toBe(0);
  });
});

describe('SendScheduler starvation guard', () => {
  it('gives a waiting Low item the 16th pick while Critical stays busy', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions());
    s.enqueue(bytes(1, 99), LOW);
    for (let i = 0; i < 40; i++) s.enqueue(bytes(1, i), CRITICAL);
    const order = pullAll(s).map((p) => p[0]);
    expect(order.indexOf(LOW)).toBe(15);
    expect(order.filter((p) => p === LOW)).toHaveLength(1);
  });

  it('serves the lower class whose head is oldest', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ starvationGuardInterval: 2 }));
    s.enqueue(bytes(1, 30), LOW);
    s.enqueue(bytes(1, 20), NORMAL);
    for (let i = 0; i < 6; i++) s.enqueue(bytes(1, i), CRITICAL);
    // Every second pick goes to the oldest waiting lower head: Low (older), then Normal.
    expect(pullAll(s).map((p) => p[3])).toEqual([0, 30, 1, 20, 2, 3, 4, 5]);
  });

  it('does not fire while no lower class waits', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ starvationGuardInterval: 2 }));
    for (let i = 0; i < 10; i++) s.enqueue(bytes(1, i), HIGH);
    expect(pullAll(s).map((p) => p[3])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The count started over: a Low item now waits a full interval.
    s.enqueue(bytes(1, 50), HIGH);
    s.enqueue(bytes(1, 51), HIGH);
    s.enqueue(bytes(1, 99), LOW);
    expect(pullAll(s).map((p) => p[3])).toEqual([50, 99, 51]);
  });
});

describe('SendScheduler backpressure', () => {
  it('charges each item its length plus ITEM_OVERHEAD_BYTES and releases it piece by piece', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024 }));
    s.enqueue(bytes(3000), LOW, 1);
    s.enqueue(bytes(10), HIGH);
    expect(s.queuedBytes).toBe(3010 + 2 * ITEM_OVERHEAD_BYTES);
    s.pull(1); // the High item
    expect(s.queuedBytes).toBe(3000 + ITEM_OVERHEAD_BYTES);
    s.pull(1); // first chunk
    expect(s.queuedBytes).toBe(3000 - 1024 + ITEM_OVERHEAD_BYTES);
    s.pull(1 << 20);
    expect(s.queuedBytes).toBe(0);
  });

  it("'wait': returns false above the high-water mark and raises drain once at half of it", () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ highWaterMarkBytes: 1000, maxQueuedBytes: 10_000 }));
    const item = 200 - ITEM_OVERHEAD_BYTES; // charged 200
    for (let i = 0; i < 5; i++) expect(s.enqueue(bytes(item), NORMAL)).toBe(true); // 1000: at the mark
    expect(s.overHighWater).toBe(false);
    expect(s.enqueue(bytes(item), NORMAL)).toBe(false); // 1200
    expect(s.overHighWater).toBe(true);
    expect(s.pull(1).drain).toBe(false); // 1000
    expect(s.pull(1).drain).toBe(false); // 800
    expect(s.pull(1).drain).toBe(false); // 600
    expect(s.pull(1).drain).toBe(true); // 400 <= 500
    expect(s.pull(1).drain).toBe(false); // only once
  });

  it("'wait': admits past the high-water mark up to maxQueuedBytes, then refuses with ERR_BACKPRESSURE", () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ highWaterMarkBytes: 1000, maxQueuedBytes: 2000 }));
    const item = 500 - ITEM_OVERHEAD_BYTES;
    for (let i = 0; i < 4; i++) s.enqueue(bytes(item), LOW);
    expect(s.queuedBytes).toBe(2000);
    const err = (() => {
      try {
        s.enqueue(bytes(0), CRITICAL);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BackpressureError);
    expect((err as BackpressureError).code).toBe('ERR_BACKPRESSURE');
    expect((err as BackpressureError).resource).toBe('maxQueuedBytes');
    expect((err as BackpressureError).limit).toBe(2000);
    expect(s.queuedItems).toBe(4); // nothing was queued
  });

  it("'fail': refuses non-Critical items above the high-water mark; Critical still goes in", () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ highWaterMarkBytes: 1000, maxQueuedBytes: 4000, overflow: 'fail' }));
    // Admitted whole while at or below the mark, however long.
    expect(s.enqueue(bytes(1500), LOW, 1)).toBe(false);
    expect(() => s.enqueue(bytes(1), HIGH)).toThrow(BackpressureError);
    expect(() => s.enqueue(bytes(1), LOW)).toThrow(/highWaterMarkBytes/);
    expect(s.enqueue(bytes(1), CRITICAL)).toBe(false);
    expect(s.queuedItems).toBe(2);
  });

  it('a 100 MB envelope fits the defaults, and heartbeats still go in above the high-water mark', () => {
    const s = new SendScheduler();
    expect(s.enqueue(new Uint8Array(100_000_000), LOW, 7)).toBe(false);
    expect(s.enqueue(bytes(48), CRITICAL)).toBe(false);
    expect(s.pull(1).priorities[0]).toBe(CRITICAL);
  });

  it('clear() drops everything and resets the accounting', () => {
    const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 1024, highWaterMarkBytes: 1000 }));
    s.enqueue(bytes(5000), LOW, 1);
    s.enqueue(bytes(5), HIGH);
    s.pull(1);
    expect(s.clear()).toBe(1);
    expect(s.queuedBytes).toBe(0);
    expect(s.queuedIn(LOW)).toBe(0);
    expect(s.pull(1 << 20).length).toBe(0);
    expect(s.enqueue(bytes(5), NORMAL)).toBe(true);
  });

  it('grows its rings past their first capacity and keeps FIFO order', () => {
    const s = new SendScheduler();
    for (let i = 0; i < 1000; i++) s.enqueue(bytes(1, i & 0xff), NORMAL);
    const b = s.pull(1 << 20, 2000);
    expect(b.length).toBe(1000);
    expect(Array.from({ length: 1000 }, (_, i) => b.data(i)[0])).toEqual(Array.from({ length: 1000 }, (_, i) => i & 0xff));
  });
});

describe('resolveSendSchedulerOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveSendSchedulerOptions()).toEqual({
      chunkBytes: 65_536,
      highWaterMarkBytes: 8 * 1024 * 1024,
      maxQueuedBytes: 128 * 1024 * 1024,
      starvationGuardInterval: 16,
      overflow: 'wait',
    });
    expect(DEFAULT_SEND_SCHEDULER).toEqual(resolveSendSchedulerOptions());
    expect(Object.isFrozen(resolveSendSchedulerOptions())).toBe(true);
  });

  it.each([
    ['chunkBytes', { chunkBytes: 100 }],
    ['chunkBytes', { chunkBytes: 1000.5 }],
    ['highWaterMarkBytes', { highWaterMarkBytes: 0 }],
    ['maxQueuedBytes', { highWaterMarkBytes: 2000, maxQueuedBytes: 1000 }],
    ['starvationGuardInterval', { starvationGuardInterval: 1 }],
    ['overflow', { overflow: 'drop' as never }],
  ])('names %s when it is invalid', (field, input) => {
    expect(() => resolveSendSchedulerOptions(input)).toThrow(InvalidConfigError);
    expect(() => resolveSendSchedulerOptions(input)).toThrow(new RegExp(`invalid option ${field}`));
  });
});
