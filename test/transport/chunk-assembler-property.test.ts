// Properties of the chunk assembler: random messages split at random points
// and interleaved (each message's pieces in order, as one connection delivers
// them) reassemble exactly; the scheduler's own output reassembles exactly;
// hostile piece sequences raise only typed errors and never exceed a bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterwireError } from '../../src/shared/errors.js';
import { ChunkAssembler, resolveChunkAssemblerOptions } from '../../src/main/transport/chunk-assembler.js';
import { resolveSendSchedulerOptions, SendScheduler } from '../../src/main/transport/send-scheduler.js';
import type { Chunk } from '../../src/shared/schema/layout.js';

/** A message: its bytes and the cut points (sorted, inside the message). */
const messageArb = fc
  .uint8Array({ minLength: 1, maxLength: 600 })
  .chain((bytes) => fc.tuple(fc.constant(bytes), fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 8 })));

function split(id: number, bytes: Uint8Array, cuts: number[]): Chunk[] {
  const points = [0, ...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length];
  const out: Chunk[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    out.push({ messageId: id, offset: points[i], totalBytes: bytes.length, data: bytes.subarray(points[i], points[i + 1]) });
  }
  return out;
}

describe('ChunkAssembler properties', () => {
  it('random messages split randomly and interleaved reassemble exactly, within every bound', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (messages, choices, concurrency) => {
        const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxMessageBytes: 600, maxPartialMessages: concurrency, maxPartialBytes: 600 * concurrency }));
        const queues = messages.map(([bytes, cuts], i) => split(i + 1, bytes, cuts));
        // At most `concurrency` messages started and unfinished at once.
        const active: number[] = [];
        let next = 0;
        const done = new Map<number, Uint8Array>();
        let step = 0;
        while (done.size < messages.length) {
          while (active.length < concurrency && next < queues.length) active.push(next++);
          const slot = (choices[step++ % Math.max(1, choices.length)] ?? 0) % active.length;
          const m = active[slot];
          const piece = queues[m].shift() as Chunk;
          const out = a.push(piece, step);
          expect(a.partialCount).toBeLessThanOrEqual(concurrency);
          expect(a.partialBytes).toBeLessThanOrEqual(600 * concurrency);
          if (queues[m].length === 0) {
            expect(out).not.toBeNull();
            done.set(m, out as Uint8Array);
            active.splice(slot, 1);
          } else {
            expect(out).toBeNull();
          }
        }
        messages.forEach(([bytes], i) => expect(done.get(i)).toEqual(bytes));
        expect(a.partialCount).toBe(0);
        expect(a.partialBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("the scheduler's pieces reassemble to the envelopes it was given", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ priority: fc.integer({ min: 0, max: 3 }), length: fc.integer({ min: 1, max: 3000 }), seed: fc.nat(255) }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5000 }),
        (items, maxBytes) => {
          const s = new SendScheduler(resolveSendSchedulerOptions({ chunkBytes: 256 }));
          const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxPartialMessages: 4 }));
          const sent = items.map((it, i) => {
            const bytes = Uint8Array.from({ length: it.length }, (_, k) => (it.seed + k * 13) & 0xff);
            s.enqueue(bytes, it.priority, i + 1);
            return bytes;
          });
          const received: Uint8Array[] = [];
          const byId = new Map<number, Uint8Array>();
          while (s.queuedItems > 0) {
            const b = s.pull(maxBytes);
            for (let i = 0; i < b.length; i++) {
              if (!b.isChunk(i)) {
                received.push(b.data(i));
                continue;
              }
              const out = a.push({ messageId: b.messageIds[i], offset: b.offsets[i], totalBytes: b.totalBytes(i), data: b.data(i) }, 0);
              // One chunked message in progress per class at most.
              expect(a.partialCount).toBeLessThanOrEqual(4);
              if (out !== null) byId.set(b.messageIds[i], out);
            }
          }
          sent.forEach((bytes, i) => {
            if (bytes.length > 256) expect(byId.get(i + 1)).toEqual(bytes);
          });
          expect(received.length + byId.size).toBe(sent.length);
          expect(a.partialCount).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hostile pieces raise only ClusterwireErrors and never exceed a bound', () => {
    const pieceArb = fc.record({
      messageId: fc.integer({ min: 0, max: 5 }),
      offset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 })),
      totalBytes: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(2 ** 40)),
      data: fc.uint8Array({ maxLength: 400 }),
      nowMs: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(pieceArb, { maxLength: 100 }), (pieces) => {
        const a = new ChunkAssembler(resolveChunkAssemblerOptions({ maxMessageBytes: 2000, maxPartialMessages: 3, maxPartialBytes: 4000, partialTimeoutMs: 30 }));
        let now = 0;
        for (const p of pieces) {
          now += p.nowMs;
          try {
            const out = a.push(p, now);
            if (out !== null) expect(out.length).toBe(p.totalBytes);
          } catch (e) {
            expect(e).toBeInstanceOf(ClusterwireError);
          }
          a.tick(now);
          expect(a.partialCount).toBeLessThanOrEqual(3);
          expect(a.partialBytes).toBeLessThanOrEqual(4000);
          expect(a.partialBytes).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
