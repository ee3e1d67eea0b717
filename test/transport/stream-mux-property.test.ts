// Properties of the stream mux over an ordered link: no stream ever sends more
// than it was granted; with 100+ concurrent streams one reader that never
// consumes stops only its own stream while all the others complete; the
// connection window's invariant holds throughout.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pair, type Side } from './stream-mux-pair.js';

/** Credit granted to `side` per stream (0 = connection) by what the other side sent so far, counted at delivery. */
function grantedTo(p: Pair, side: Side): Map<number, number> {
  const granted = new Map<number, number>();
  const other = p.other(side);
  const originalDeliver = p.deliver.bind(p);
  p.deliver = (from: Side, n = Infinity) => {
    if (from === other) {
      for (const w of from.link.slice(0, n)) {
        if (w.kind === 'out' && w.out.body.type === 'StreamCredit') granted.set(w.out.streamId, (granted.get(w.out.streamId) ?? 0) + w.out.body.bytes);
        if (w.kind === 'out' && w.out.body.type === 'StreamControl' && w.out.body.event === 0) granted.set(w.out.streamId, w.out.body.initialCredit);
      }
    }
    return originalDeliver(from, n);
  };
  return granted;
}

describe('StreamMux properties', () => {
  it('120 streams, one reader never consumes: the other 119 complete, and no stream exceeds its credit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 119 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 20_000, max: 60_000 }),
        (stalled, seed, perStream) => {
          let r = seed;
          const rand = (n: number): number => {
            r = (Math.imul(r, 1103515245) + 12345) & 0x7fffffff;
            return r % n;
          };
          // Small windows so credit runs out many times over: 8 KiB per stream, 256 KiB for the connection.
          const p = new Pair({}, { initialStreamCreditBytes: 8 * 1024, connectionCreditBytes: 256 * 1024 });
          const granted = grantedTo(p, p.a);
          p.settle();
          const ids = Array.from({ length: 120 }, () => p.a.mux.open());
          p.collect(p.a);
          p.settle();
          const sentBytes = new Map<number, number>(ids.map((id) => [id, 0]));
          const remaining = new Map<number, number>(ids.map((id) => [id, perStream]));
          const done = new Set<number>();
          for (let step = 0; step < 20_000 && done.size < 119; step++) {
            // Writers: each stream sends what it may, in random pieces.
            for (const id of ids) {
              const left = remaining.get(id) ?? 0;
              const can = p.a.mux.sendable(id);
              if (left === 0 || can === 0) continue;
              const n = Math.min(left, can, 1 + rand(4096));
              p.send(p.a, id, n, n === left);
              remaining.set(id, left - n);
              sentBytes.set(id, (sentBytes.get(id) ?? 0) + n);
              // Never more than the stream and the connection granted.
              expect(sentBytes.get(id)).toBeLessThanOrEqual(granted.get(id) ?? 0);
            }
            const totalSent = [...sentBytes.values()].reduce((x, y) => x + y, 0);
            expect(totalSent).toBeLessThanOrEqual(granted.get(0) ?? 0);
            p.deliver(p.a, 1 + rand(200));
            // Readers: every stream but the stalled one consumes some of what arrived.
            for (const id of ids) {
              if (id === ids[stalled]) continue;
              const w = p.b.mux.streamWindow(id);
              if (w === undefined || w.buffered === 0) continue;
              p.b.mux.consume(id, rand(2) === 0 ? w.buffered : 1 + rand(w.buffered));
            }
            p.collect(p.b);
            p.deliver(p.b, 1 + rand(200));
            const cw = p.b.mux.connectionWindow;
            expect(cw.outstanding + cw.buffered + cw.pending).toBe(256 * 1024);
            for (const e of p.b.events) if (e.type === 'ended') done.add(e.streamId);
            p.b.events.length = 0;
          }
          for (const id of ids) {
            if (id === ids[stalled]) continue;
            expect(p.b.delivered.get(id)).toBe(perStream);
            expect(done.has(id)).toBe(true);
          }
          // The stalled stream got exactly its window and stopped.
          expect(p.b.delivered.get(ids[stalled])).toBe(8 * 1024);
          expect(p.a.mux.sendable(ids[stalled])).toBe(0);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('random interleavings of sends, deliveries and consumption never violate flow control', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('open', 'send', 'deliverA', 'deliverB', 'consume', 'close', 'reset'), fc.nat(10), fc.nat(5000)), { maxLength: 300 }),
        (ops) => {
          const p = new Pair({ initialStreamCreditBytes: 3000, connectionCreditBytes: 9000 }, { initialStreamCreditBytes: 3000, connectionCreditBytes: 9000, maxStreams: 6 });
          p.settle();
          const ids: number[] = [];
          for (const [op, which, n] of ops) {
            const id = ids.length === 0 ? 0 : ids[which % ids.length];
            switch (op) {
              case 'open':
                if (p.a.mux.streamCount < 6) ids.push(p.a.mux.open());
                break;
              case 'send': {
                const can = id === 0 ? 0 : p.a.mux.sendable(id);
                if (can > 0) p.send(p.a, id, Math.min(can, n), n % 7 === 0);
                break;
              }
              case 'deliverA':
                p.deliver(p.a, 1 + (n % 20));
                break;
              case 'deliverB':
                p.deliver(p.b, 1 + (n % 20));
                break;
              case 'consume': {
                const w = id === 0 ? undefined : p.b.mux.streamWindow(id);
                if (w !== undefined && w.buffered > 0) p.b.mux.consume(id, Math.min(w.buffered, 1 + n));
                break;
              }
              case 'close':
                if (id !== 0 && p.a.mux.sendable(id) >= 0 && p.a.mux.streamSendCredit(id) >= 0) {
                  try {
                    p.a.mux.close(id);
                  } catch (e) {
                    expect((e as { code: string }).code).toBe('ERR_STREAM_STATE');
                  }
                }
                break;
              case 'reset':
                if (id !== 0) p.a.mux.reset(id, 'test');
                break;
            }
            p.collect(p.a);
            p.collect(p.b);
            for (const side of [p.a, p.b]) {
              const w = side.mux.connectionWindow;
              expect(w.outstanding + w.buffered + w.pending).toBe(9000);
            }
          }
          p.settle();
        },
      ),
      { numRuns: 300 },
    );
  });
});
