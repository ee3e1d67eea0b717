// The chunk assembler: reassembly, each refusal with its typed error, the
// bounds (size, count, bytes), idle timeouts, options.
import { describe, expect, it } from 'vitest';
import {
  ChunkSequenceError,
  ClusterwireError,
  InvalidConfigError,
  MessageTooLargeError,
  ReassemblyLimitError,
} from '../../src/shared/errors.js';
import { ChunkAssembler, DEFAULT_CHUNK_ASSEMBLER, resolveChunkAssemblerOptions } from '../../src/main/transport/chunk-assembler.js';
import type { Chunk } from '../../src/shared/schema/layout.js';

function chunk(messageId: number, offset: number, totalBytes: number, data: Uint8Array | number): Chunk {
  return { messageId, offset, totalBytes, data: typeof data === 'number' ? new Uint8Array(data).fill(offset & 0xff) : data };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('ChunkAssembler reassembly', () => {
  it('joins contiguous pieces into the whole envelope', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions());
    const whole = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    expect(a.push(chunk(1, 0, 10, whole.subarray(0, 4)), 0)).toBeNull();
    expect(a.partialCount).toBe(1);
    expect(a.partialBytes).toBe(10);
    expect(a.push(chunk(1, 4, 10, whole.subarray(4, 5)), 0)).toBeNull();
    const out = a.push(chunk(1, 5, 10, whole.subarray(5)), 0);
    expect(out).toEqual(whole);
    expect(a.partialCount).toBe(0);
    expect(a.partialBytes).toBe(0);
  });

  it('interleaves the pieces of several messages', () => {
    const a = new ChunkAssembler();
    expect(a.push(chunk(1, 0, 4, 2), 0)).toBeNull();
    expect(a.push(chunk(2, 0, 3, 1), 0)).toBeNull();
    expect(a.push(chunk(2, 1, 3, 2), 0)).toEqual(Uint8Array.from([0, 1, 1]));
    expect(a.push(chunk(1, 2, 4, 2), 0)).toEqual(Uint8Array.from([0, 0, 2, 2]));
  });

  it('returns a message that came in one piece as a copy, holding nothing', () => {
    const a = new ChunkAssembler();
    const data = Uint8Array.from([9, 8, 7]);
    const out = a.push(chunk(5, 0, 3, data), 0);
    expect(out).toEqual(data);
    expect(out?.buffer).not.toBe(data.buffer);
    expect(a.partialCount).toBe(0);
  });

  it('copies pieces out of the receive buffer (later reuse of it does not change the message)', () => {
    const a = new ChunkAssembler();
    const recv = Uint8Array.from([1, 2]);
    a.push(chunk(1, 0, 4, recv), 0);
    recv.fill(0);
    expect(a.push(chunk(1, 2, 4, Uint8Array.from([3, 4])), 0)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });
});

describe('ChunkAssembler refusals', () => {
  it('refuses a total above maxMessageBytes before allocating (ERR_MESSAGE_TOO_LARGE)', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxMessageBytes: 1000 }));
    const e = thrown(() => a.push(chunk(3, 0, 2 ** 40, 10), 0)) as MessageTooLargeError;
    expect(e).toBeInstanceOf(MessageTooLargeError);
    expect(e.code).toBe('ERR_MESSAGE_TOO_LARGE');
    expect([e.messageId, e.totalBytes, e.limit]).toEqual([3, 2 ** 40, 1000]);
    expect(a.partialBytes).toBe(0);
    expect(a.push(chunk(4, 0, 1000, 1000), 0)).not.toBeNull();
  });

  it.each([
    ['a first piece not at offset 0', [chunk(1, 5, 10, 5)]],
    ['a total of 0', [chunk(1, 0, 0, 0)]],
    ['an empty first piece', [chunk(1, 0, 10, 0)]],
    ['a first piece past the total', [chunk(1, 0, 10, 11)]],
    ['a gap', [chunk(1, 0, 10, 4), chunk(1, 5, 10, 5)]],
    ['an overlap', [chunk(1, 0, 10, 4), chunk(1, 3, 10, 7)]],
    ['a repeated piece', [chunk(1, 0, 10, 4), chunk(1, 0, 10, 4)]],
    ['an empty later piece', [chunk(1, 0, 10, 4), chunk(1, 4, 10, 0)]],
    ['a later piece past the total', [chunk(1, 0, 10, 4), chunk(1, 4, 10, 7)]],
    ['a changed total', [chunk(1, 0, 10, 4), chunk(1, 4, 12, 6)]],
  ])('refuses %s (ERR_CHUNK_SEQUENCE) and releases the message', (_, pieces) => {
    const a = new ChunkAssembler();
    const last = pieces.at(-1) as Chunk;
    for (const p of pieces.slice(0, -1)) a.push(p, 0);
    const e = thrown(() => a.push(last, 0));
    expect(e).toBeInstanceOf(ChunkSequenceError);
    expect((e as ChunkSequenceError).code).toBe('ERR_CHUNK_SEQUENCE');
    expect((e as ChunkSequenceError).messageId).toBe(1);
    expect(a.partialCount).toBe(0);
    expect(a.partialBytes).toBe(0);
  });

  it('holds at most maxPartialMessages incomplete messages (ERR_REASSEMBLY_LIMIT)', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxPartialMessages: 3 }));
    for (let id = 1; id <= 3; id++) a.push(chunk(id, 0, 10, 1), 0);
    const e = thrown(() => a.push(chunk(4, 0, 10, 1), 0)) as ReassemblyLimitError;
    expect(e).toBeInstanceOf(ReassemblyLimitError);
    expect(e.resource).toBe('maxPartialMessages');
    expect(e.limit).toBe(3);
    expect(a.partialCount).toBe(3);
    // A message in one piece needs no slot.
    expect(a.push(chunk(5, 0, 2, 2), 0)).not.toBeNull();
    // Completing one frees a slot.
    a.push(chunk(1, 1, 10, 9), 0);
    expect(a.push(chunk(4, 0, 10, 1), 0)).toBeNull();
  });

  it('keeps declared totals within maxPartialBytes (ERR_REASSEMBLY_LIMIT)', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxMessageBytes: 600, maxPartialBytes: 1000 }));
    a.push(chunk(1, 0, 600, 1), 0);
    const e = thrown(() => a.push(chunk(2, 0, 401, 1), 0)) as ReassemblyLimitError;
    expect(e.resource).toBe('maxPartialBytes');
    expect(e.limit).toBe(1000);
    expect(a.push(chunk(2, 0, 400, 1), 0)).toBeNull();
    expect(a.partialBytes).toBe(1000);
  });
});

describe('ChunkAssembler timeouts', () => {
  it('drops a message with no piece for partialTimeoutMs on tick, and reports the deadline', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ partialTimeoutMs: 1000 }));
    expect(a.nextDeadline()).toBe(Infinity);
    a.push(chunk(1, 0, 10, 2), 100);
    a.push(chunk(2, 0, 10, 2), 500);
    a.push(chunk(1, 2, 10, 2), 700); // progress keeps message 1 alive
    expect(a.nextDeadline()).toBe(1500);
    expect(a.tick(1499)).toEqual([]);
    expect(a.tick(1500)).toEqual([2]);
    expect(a.partialCount).toBe(1);
    expect(a.partialBytes).toBe(10);
    expect(a.nextDeadline()).toBe(1700);
    expect(a.tick(1700)).toEqual([1]);
    expect(a.droppedCount).toBe(2);
    expect(a.partialBytes).toBe(0);
  });

  it('discards the rest of a dropped message, still checking its order', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ partialTimeoutMs: 10 }));
    a.push(chunk(1, 0, 10, 4), 0);
    a.tick(10);
    expect(a.push(chunk(1, 4, 10, 3), 11)).toBeNull();
    expect(a.partialCount).toBe(0);
    expect(thrown(() => a.push(chunk(1, 8, 10, 2), 11))).toBeInstanceOf(ChunkSequenceError);
    expect(a.push(chunk(1, 7, 10, 3), 11)).toBeNull();
    // The id is forgotten once its last piece passed: a new message may start.
    expect(thrown(() => a.push(chunk(1, 4, 10, 6), 12))).toBeInstanceOf(ChunkSequenceError);
  });

  it('remembers at most maxPartialMessages dropped ids', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ partialTimeoutMs: 10, maxPartialMessages: 2 }));
    for (let id = 1; id <= 3; id++) {
      a.push(chunk(id, 0, 10, 1), 0);
      a.tick(100);
    }
    // id 1 was forgotten; 2 and 3 are still discarded quietly.
    expect(thrown(() => a.push(chunk(1, 1, 10, 1), 100))).toBeInstanceOf(ChunkSequenceError);
    expect(a.push(chunk(2, 1, 10, 1), 100)).toBeNull();
    expect(a.push(chunk(3, 1, 10, 1), 100)).toBeNull();
  });

  it('clear() releases everything', () => {
    const a = new ChunkAssembler();
    a.push(chunk(1, 0, 10, 1), 0);
    a.clear();
    expect([a.partialCount, a.partialBytes, a.nextDeadline()]).toEqual([0, 0, Infinity]);
  });

  it('every refusal is a ClusterwireError with a wire code', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxMessageBytes: 10 }));
    for (const bad of [chunk(1, 0, 11, 1), chunk(1, 3, 10, 1)]) {
      const e = thrown(() => a.push(bad, 0)) as ClusterwireError;
      expect(e).toBeInstanceOf(ClusterwireError);
      expect(e.wireCode).toBeGreaterThan(0);
    }
  });
});

describe('resolveChunkAssemblerOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveChunkAssemblerOptions()).toEqual({
      maxMessageBytes: 128 * 1024 * 1024,
      maxPartialMessages: 16,
      maxPartialBytes: 256 * 1024 * 1024,
      partialTimeoutMs: 30_000,
    });
    expect(DEFAULT_CHUNK_ASSEMBLER).toEqual(resolveChunkAssemblerOptions());
  });

  it('raises the default byte budget to maxMessageBytes', () => {
    expect(resolveChunkAssemblerOptions({ maxMessageBytes: 2 ** 30 }).maxPartialBytes).toBe(2 ** 30);
  });

  it.each([
    ['maxMessageBytes', { maxMessageBytes: 0 }],
    ['maxMessageBytes', { maxMessageBytes: 2 ** 32 }],
    ['maxPartialMessages', { maxPartialMessages: 0 }],
    ['maxPartialBytes', { maxMessageBytes: 1000, maxPartialBytes: 999 }],
    ['partialTimeoutMs', { partialTimeoutMs: 1.5 }],
  ])('names %s when it is invalid', (field, input) => {
    expect(() => resolveChunkAssemblerOptions(input)).toThrow(InvalidConfigError);
    expect(() => resolveChunkAssemblerOptions(input)).toThrow(new RegExp(`invalid option ${field}`));
  });
});
