// The chunk assembler: reassembly, each refusal with its typed error, the
// bounds (size, count, bytes), idle timeouts, options.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';
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

describe('ChunkAssembler buffers given back (recycle)', () => {
  /** Pushes message `id` of `total` bytes (filled with `fill`) in pieces of `piece`; returns the whole. */
  function assemble(a: ChunkAssembler, id: number, total: number, piece: number, fill: number): Uint8Array {
    const bytes = new Uint8Array(total).map((_, i) => (i * 7 + fill) & 0xff);
    let out: Uint8Array | null = null;
    for (let at = 0; at < total; at += piece) out = a.push(chunk(id, at, total, bytes.subarray(at, Math.min(total, at + piece))), 0);
    expect(out).not.toBeNull();
    // Buffer.equals, not toEqual: an element-by-element deep comparison makes the property test crawl
    expect(Buffer.from(out!.buffer, out!.byteOffset, out!.length).equals(bytes)).toBe(true);
    return out as Uint8Array;
  }

  it('reassembles the next message of a fitting size in a buffer given back, and only in one given back', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions());
    const first = assemble(a, 1, 1000, 300, 1);
    const second = assemble(a, 2, 1000, 300, 2); // the first was not given back: a new buffer
    expect(second.buffer).not.toBe(first.buffer);
    expect(first[5]).toBe((5 * 7 + 1) & 0xff);
    a.recycle(first);
    expect(a.spare).toEqual({ buffers: 1, bytes: 1000 });
    const third = assemble(a, 3, 900, 300, 3); // fits: in the first's buffer, as a view of its length
    expect(third.buffer).toBe(first.buffer);
    expect(third.length).toBe(900);
    expect(a.spare.buffers).toBe(0);
    a.recycle(third);
    const small = assemble(a, 4, 400, 300, 4); // less than half the spare: a buffer of its own
    expect(small.buffer).not.toBe(first.buffer);
    const big = assemble(a, 5, 1001, 300, 5); // longer than the spare: its own too
    expect(big.buffer).not.toBe(first.buffer);
    expect(a.spare.buffers).toBe(1);
  });

  it('ignores bytes it did not hand out, a second give-back, and a detached buffer', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions());
    a.recycle(new Uint8Array(100));
    a.recycle(chunk(9, 0, 10, 10).data);
    const single = a.push(chunk(1, 0, 10, 10), 0) as Uint8Array; // one piece: a copy, not a reassembly buffer
    a.recycle(single);
    expect(a.spare.buffers).toBe(0);
    const whole = assemble(a, 2, 500, 200, 1);
    a.recycle(whole);
    a.recycle(whole);
    expect(a.spare.buffers).toBe(1);
    const moved = assemble(a, 3, 450, 200, 2); // in the spare
    structuredClone(moved.buffer, { transfer: [moved.buffer as ArrayBuffer] }); // detaches it
    a.recycle(moved);
    expect(moved.buffer.byteLength).toBe(0);
    expect(a.spare.buffers).toBe(0); // the spare went to message 3, whose detached buffer is not kept
  });

  it('keeps at most four spare buffers and 16 MiB, and none after clear()', () => {
    const a = new ChunkAssembler(resolveChunkAssemblerOptions());
    const wholes = [1, 2, 3, 4, 5, 6].map((id) => a.push(chunk(id, 0, 100, 50), 0) ?? a.push(chunk(id, 50, 100, 50), 0));
    for (const w of wholes) a.recycle(w as Uint8Array);
    expect(a.spare).toEqual({ buffers: 4, bytes: 400 });
    a.clear();
    expect(a.spare).toEqual({ buffers: 0, bytes: 0 });
    const big = 9 * 1024 * 1024;
    const x = a.push(chunk(7, 0, big, 1), 0) ?? a.push(chunk(7, 1, big, big - 1), 0);
    const y = a.push(chunk(8, 0, big, 1), 0) ?? a.push(chunk(8, 1, big, big - 1), 0);
    a.recycle(x as Uint8Array);
    a.recycle(y as Uint8Array);
    expect(a.spare).toEqual({ buffers: 1, bytes: big });
  });

  it('keeps no message it handed out alive: those never given back are collected, and one given back late is still reused', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const a = new ChunkAssembler(resolveChunkAssemblerOptions());
    const refs: WeakRef<ArrayBufferLike>[] = [];
    for (let id = 1; id <= 80; id++) refs.push(new WeakRef(assemble(a, id, 64 * 1024, 16 * 1024, id).buffer));
    await new Promise((r) => setImmediate(r)); // a WeakRef holds its target until the job that made it ends
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);

    const late = assemble(a, 81, 4096, 1024, 81); // given back after many others were handed out
    for (let id = 82; id <= 200; id++) assemble(a, id, 4096, 1024, id);
    a.recycle(late);
    expect(a.spare.buffers).toBe(1);
  });

  it('every message reassembles exactly whatever is given back when (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ total: fc.integer({ min: 2, max: 3000 }), piece: fc.integer({ min: 1, max: 1200 }), giveBack: fc.boolean() }), { minLength: 1, maxLength: 30 }),
        (messages) => {
          const a = new ChunkAssembler(resolveChunkAssemblerOptions());
          const kept: Array<[Uint8Array, string]> = [];
          messages.forEach((m, i) => {
            const whole = assemble(a, i + 1, m.total, Math.min(m.piece, m.total - 1), i);
            if (m.giveBack) a.recycle(whole);
            else kept.push([whole, Buffer.from(whole).toString('hex')]);
          });
          // messages not given back were never written again
          for (const [whole, hex] of kept) expect(Buffer.from(whole).toString('hex')).toBe(hex);
        },
      ),
      { numRuns: Math.min(PROPERTY_RUNS, 1000), seed: propertySeed() },
    );
  });
});

describe('ChunkAssembler pieces assembled in place (place)', () => {
  /** A message of `total` bytes whose byte i is (i * 7 + 3) & 0xff. */
  const message = (total: number) => Uint8Array.from({ length: total }, (_, i) => (i * 7 + 3) & 0xff);
  /** What the frame decoder does with a place: writes a frame head of `head` bytes, then the piece, then a trailer. */
  function assembleInto(place: Uint8Array, head: number, piece: Uint8Array): Uint8Array {
    place.fill(0xee, 0, head); // the frame's header and envelope: not the message's bytes
    place.set(piece, head);
    place.fill(0xdd, head + piece.length); // the trailer, past the piece
    return place.subarray(head, head + piece.length); // the decoded Chunk's data: a view of the frame
  }

  it('gives the next piece a place in its message, finds it there, and restores the bytes the frame head covered', () => {
    const a = new ChunkAssembler();
    const whole = message(1000);
    expect(a.push(chunk(1, 0, 1000, whole.subarray(0, 400)), 0)).toBeNull();
    const place = a.place(1, 400, 1000, 60, 60 + 300 + 4);
    expect(place).not.toBeNull();
    expect(place!.buffer).toBeDefined();
    const data = assembleInto(place!, 60, whole.subarray(400, 700));
    expect(a.push(chunk(1, 400, 1000, data), 0)).toBeNull();
    expect(a.inPlaceCount).toBe(1);
    const out = a.push(chunk(1, 700, 1000, whole.subarray(700)), 0);
    expect(out).toEqual(whole); // bytes 340..399, under the frame's head, came back
    expect(a.inPlaceCount).toBe(1);
  });

  it('restores the covered bytes even when the next piece is another message’s, or is not where it was placed', () => {
    const a = new ChunkAssembler();
    const whole = message(1000);
    a.push(chunk(1, 0, 1000, whole.subarray(0, 400)), 0);
    a.push(chunk(2, 0, 10, 4), 0);
    const place = a.place(1, 400, 1000, 60, 364);
    assembleInto(place!, 60, whole.subarray(400, 700));
    expect(a.push(chunk(2, 4, 10, 6), 0)).toEqual(Uint8Array.from([0, 0, 0, 0, 4, 4, 4, 4, 4, 4]));
    // the piece of message 1 arrives as a copy elsewhere: copied, and the head's bytes are already back
    expect(a.push(chunk(1, 400, 1000, whole.slice(400, 700)), 0)).toBeNull();
    expect(a.push(chunk(1, 700, 1000, whole.subarray(700)), 0)).toEqual(whole);
    expect(a.inPlaceCount).toBe(0);

    // placed, but the piece decoded from the frame is not at the place (a head that said otherwise): copied from it, still right
    const b = new ChunkAssembler();
    b.push(chunk(3, 0, 1000, whole.subarray(0, 400)), 0);
    const at = b.place(3, 400, 1000, 60, 364)!;
    at.fill(0xee, 0, 64);
    at.set(whole.subarray(400, 700), 64); // the piece 4 bytes later than placed
    expect(b.push(chunk(3, 400, 1000, at.subarray(64, 364)), 0)).toBeNull();
    expect(b.push(chunk(3, 700, 1000, whole.subarray(700)), 0)).toEqual(whole);
    expect(b.inPlaceCount).toBe(0);
  });

  it('has no place for a message it does not hold, a piece that is not the next, another total, a long head, or a frame past the end', () => {
    const a = new ChunkAssembler();
    a.push(chunk(1, 0, 1000, 400), 0);
    expect(a.place(9, 400, 1000, 60, 364)).toBeNull(); // not held
    expect(a.place(1, 500, 1000, 60, 364)).toBeNull(); // not the next piece
    expect(a.place(1, 400, 999, 60, 364)).toBeNull(); // another total
    expect(a.place(1, 400, 1000, 513, 900)).toBeNull(); // a head longer than any frame's
    expect(a.place(1, 400, 1000, 60, 60 + 600 + 4)).toBeNull(); // the last piece with its trailer: past the buffer
    expect(a.place(1, 400, 1000, 401, 500)).toBeNull(); // a head longer than what the message holds
    expect(a.place(1, 400, 1000, 60, 60 + 600)).not.toBeNull(); // without a trailer it fits
    expect(a.place(1, 400, 1000, 60, 364)).toBeNull(); // one place at a time, until the next push
  });

  it('drops a placed message like any other when its connection goes: nothing is restored into a buffer it no longer holds', () => {
    const a = new ChunkAssembler();
    a.push(chunk(1, 0, 1000, 400), 0);
    expect(a.place(1, 400, 1000, 60, 364)).not.toBeNull();
    a.clear();
    expect(a.partialCount).toBe(0);
    a.push(chunk(1, 0, 1000, 400), 0); // a fresh message: a place is given again
    expect(a.place(1, 400, 1000, 60, 364)).not.toBeNull();
  });
});
