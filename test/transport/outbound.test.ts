// Outbound, the pure sending half of a connection: which way each envelope
// takes (direct, block, chunked), the order frames leave in, and that what
// leaves decodes (Chunk pieces reassembled) to exactly what was added.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';
import { Outbound, type OutboundOptions } from '../../src/main/transport/outbound.js';
import { ChunkAssembler } from '../../src/main/transport/chunk-assembler.js';
import { FrameDecoder } from '../../src/shared/frame-decoder.js';
import { decodeMessage, readEnvelope, type Envelope } from '../../src/shared/envelope/index.js';
import { InvalidMessageError } from '../../src/shared/errors.js';

const CHUNK = 4096;
const OPTIONS: OutboundOptions = {
  chunkBytes: CHUNK,
  checksum: true,
  compression: 'none',
  compressMinBytes: 512,
  maxFrameBytes: 1 << 20,
  highWaterMarkBytes: 1 << 20,
  maxQueuedBytes: 8 << 20,
  maxMessageBytes: 4 << 20,
  sender: 9,
};

let nextId = 1;
function message(bytes: number, priority = 2, topic = `m${nextId}`): Envelope {
  const id = nextId++;
  return {
    header: { messageId: id, correlationId: 0, sender: 9, timestampUs: 0, streamId: 0, priority },
    body: { type: 'Message', topic, payload: new Uint8Array(bytes).fill(id & 0xff) },
  };
}

/** Decodes everything written, reassembling chunked envelopes; returns topics in arrival order. */
class Peer {
  readonly decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  readonly assembler = new ChunkAssembler();
  readonly topics: string[] = [];
  readonly sizes: number[] = [];
  /** Messages whose payload is not the fill message() gave it. */
  readonly damaged: string[] = [];
  chunkFrames = 0;

  take(buffers: Uint8Array[]): void {
    for (const b of buffers) {
      for (const frame of this.decoder.push(b)) {
        let envelope = decodeMessage(frame);
        if (envelope.body.type === 'Chunk') {
          this.chunkFrames++;
          const whole = this.assembler.push(envelope.body, 0);
          if (whole === null) continue;
          envelope = readEnvelope(whole);
        }
        const body = envelope.body as { type: string; topic?: string; payload?: Uint8Array; data?: Uint8Array };
        this.topics.push(body.topic ?? body.type);
        const bytes = body.payload ?? body.data ?? new Uint8Array(0);
        this.sizes.push(bytes.length);
        const fill = Number(body.topic?.slice(1)) & 0xff;
        if (body.topic?.startsWith('m') && bytes.some((b) => b !== fill)) this.damaged.push(body.topic);
      }
    }
  }
}

/** Ends the turn and pulls everything, as the connection does. */
function drainAll(out: Outbound): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  out.takeTurn(buffers);
  while (out.scheduled) out.pull(buffers, 0);
  return buffers;
}

describe('Outbound', () => {
  it('frames small envelopes directly while nothing is scheduled and the socket is not backed up', () => {
    const out = new Outbound(OPTIONS);
    for (let i = 0; i < 10; i++) expect(out.add(message(10), 0)).toBeNull();
    expect(out.scheduled).toBe(false);
    expect(out.queuedBytes).toBeGreaterThan(0);
    const buffers: Uint8Array[] = [];
    out.takeTurn(buffers);
    expect(buffers).toHaveLength(1); // one gathered write
    expect(out.queuedBytes).toBe(0);
    const peer = new Peer();
    peer.take(buffers);
    expect(peer.topics).toHaveLength(10);
  });

  it('hands direct frames out as soon as they reach eight chunks', () => {
    const out = new Outbound(OPTIONS);
    let handed: Uint8Array | null = null;
    for (let i = 0; i < 200 && handed === null; i++) handed = out.add(message(400), 0);
    expect(handed).not.toBeNull();
    expect((handed as Uint8Array).length).toBeGreaterThanOrEqual(8 * CHUNK);
  });

  it('schedules by priority when the socket is backed up: Critical first, FIFO within a class', () => {
    const out = new Outbound(OPTIONS);
    const backedUp = CHUNK;
    out.add(message(100, 3, 'low-1'), backedUp);
    out.add(message(100, 2, 'normal-1'), backedUp);
    out.add(message(100, 3, 'low-2'), backedUp);
    out.add(message(100, 0, 'critical'), backedUp);
    out.add(message(100, 1, 'high'), backedUp);
    out.add(message(100, 2, 'normal-2'), 0); // something is scheduled now: no direct frame may overtake it
    const peer = new Peer();
    peer.take(drainAll(out));
    expect(peer.topics).toEqual(['critical', 'high', 'normal-1', 'normal-2', 'low-1', 'low-2']);
  });

  it('cuts envelopes longer than a chunk into Chunk pieces that reassemble exactly, interleaved with Critical frames', () => {
    const out = new Outbound(OPTIONS);
    out.add(message(10 * CHUNK, 3, 'bulk'), 0);
    expect(out.scheduled).toBe(true);
    expect(out.chunking).toBe(true);
    const peer = new Peer();
    const buffers: Uint8Array[] = [];
    out.takeTurn(buffers);
    out.pull(buffers, 0); // the first piece is on its way
    out.add(message(20, 0, 'heartbeat'), 0);
    out.takeTurn(buffers); // Critical frames leave at the end of their turn, before the next piece
    while (out.scheduled) out.pull(buffers, 0);
    peer.take(buffers);
    expect(peer.topics).toEqual(['heartbeat', 'bulk']);
    expect(peer.sizes[1]).toBe(10 * CHUNK);
    expect(peer.chunkFrames).toBe(11); // 10 chunks of payload plus the envelope's own bytes
    expect(out.chunking).toBe(false);
    expect(out.queuedBytes).toBe(0);
  });

  it('carries envelopes around the chunk size, whose frame is longer than a chunk while they are not, intact and in order', () => {
    const out = new Outbound(OPTIONS);
    const topics: string[] = [];
    for (let n = CHUNK - 120; n <= CHUNK + 8; n += 4) {
      const m = message(n, 2);
      topics.push((m.body as { topic: string }).topic);
      out.add(m, CHUNK); // backed up: every one goes through the blocks
    }
    const peer = new Peer();
    peer.take(drainAll(out));
    expect(peer.topics).toEqual(topics);
  });

  it('refuses a priority outside 0..3 and an envelope above maxMessageBytes, queuing nothing', () => {
    const out = new Outbound(OPTIONS);
    expect(() => out.add(message(10, 4), 0)).toThrow(InvalidMessageError);
    expect(() => out.add(message(5 << 20, 3), 0)).toThrow(/above the limit/);
    expect(out.queuedBytes).toBe(0);
    expect(out.scheduled).toBe(false);
  });

  it('sends a lent payload without copying it: the same bytes on the wire as a copied one, pieces pointing into it', () => {
    const wire = (lend: boolean, compression: 'none' | 'lz4') => {
      const out = new Outbound({ ...OPTIONS, compression });
      const payload = new Uint8Array(10 * CHUNK + 123);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
      const header = { messageId: 77, correlationId: 0, sender: 9, timestampUs: 0, streamId: 0, priority: 3 };
      out.add({ header, body: { type: 'Message', topic: 'lent', payload } }, 0, lend);
      out.add({ header: { ...header, messageId: 78 }, body: { type: 'FileTransferChunk', transferId: 5, index: 2, offset: 0, sha256: new Uint8Array(32).fill(1), data: payload } }, 0, lend);
      const buffers = drainAll(out);
      const views = buffers.filter((b) => b.buffer === payload.buffer).length;
      return { bytes: Buffer.concat(buffers), views, buffers };
    };
    const copied = wire(false, 'none');
    const lent = wire(true, 'none');
    expect(lent.bytes.equals(copied.bytes)).toBe(true);
    expect(copied.views).toBe(0);
    expect(lent.views).toBeGreaterThanOrEqual(20); // every piece of both messages is a view of the payload
    const peer = new Peer();
    peer.take(lent.buffers.slice(0, 1)); // nothing is lost across the seams: decode it all
    peer.take(lent.buffers.slice(1));
    expect(peer.topics).toEqual(['lent', 'FileTransferChunk']);
    expect(peer.sizes).toEqual([10 * CHUNK + 123, 10 * CHUNK + 123]);
    // compressed pieces are copied to be compressed, and still decode
    const compressed = wire(true, 'lz4');
    expect(compressed.views).toBe(0);
  });

  it('hands direct frames out in buffers that come back once written, and never one still held', () => {
    const out = new Outbound(OPTIONS);
    const written: Uint8Array[] = [];
    const turn = () => {
      for (let i = 0; i < 20; i++) out.add(message(100), 0);
      const buffers: Uint8Array[] = [];
      out.takeTurn(buffers);
      return buffers[0];
    };
    const a = turn();
    expect(out.recyclable(a)).toBe(true);
    const b = turn();
    expect(b.buffer).not.toBe(a.buffer);
    const aCopy = Buffer.from(a);
    turn();
    expect(Buffer.from(a).equals(aCopy)).toBe(true); // held by the socket: untouched
    out.recycle(a);
    for (let i = 0; i < 3; i++) written.push(turn());
    expect(written.some((w) => w.buffer === a.buffer)).toBe(true);
    const peer = new Peer();
    peer.take(written);
    expect(peer.topics).toHaveLength(60);
  });

  it('reuses the buffer of a large envelope only once the socket has written its last piece (property)', () => {
    const step = fc.record({
      size: fc.integer({ min: CHUNK - 300, max: 6 * CHUNK }),
      lend: fc.boolean(),
      pulls: fc.nat({ max: 3 }),
      writes: fc.nat({ max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const out = new Outbound(OPTIONS);
        const peer = new Peer();
        // what the socket holds: views it reads only when the write completes, and the buffers that come back then
        const socket: Array<{ buffers: Uint8Array[]; retired: ArrayBufferLike[] | null }> = [];
        const pull = () => {
          const buffers: Uint8Array[] = [];
          out.takeTurn(buffers);
          if (out.scheduled) out.pull(buffers, 0);
          socket.push({ buffers, retired: out.takeRetired() });
        };
        let retired = 0;
        const write = () => {
          const w = socket.shift();
          if (w === undefined) return;
          peer.take(w.buffers);
          if (w.retired !== null) out.giveBack(w.retired);
          retired += w.retired?.length ?? 0;
        };
        let sent = 0;
        // every envelope encoded into a buffer of its own gives it back, whether it left in pieces or whole
        const own = steps.filter((s) => !s.lend && s.size > CHUNK - 256).length;
        for (const s of steps) {
          const m = message(s.size);
          out.add(m, 0, s.lend);
          sent++;
          for (let i = 0; i < s.pulls; i++) pull();
          for (let i = 0; i < s.writes; i++) write();
        }
        do pull(); // the turn's direct frames, then whatever is scheduled
        while (out.scheduled);
        while (socket.length > 0) write();
        expect(peer.damaged).toEqual([]);
        expect(peer.topics).toHaveLength(sent);
        expect(retired).toBe(own);
        expect(out.spare.buffers).toBeLessThanOrEqual(4);
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 300), seed: propertySeed() },
    );
  });

  it('encodes the next large envelope into the buffer of one whose pieces were written', () => {
    const out = new Outbound(OPTIONS);
    out.add(message(3 * CHUNK), 0);
    const first: Uint8Array[] = [];
    while (out.scheduled) out.pull(first, 0);
    const retired = out.takeRetired();
    expect(retired).toHaveLength(1);
    expect(out.takeRetired()).toBeNull();
    out.giveBack(retired!);
    expect(out.spare.buffers).toBe(1);
    out.add(message(3 * CHUNK - 100), 0);
    expect(out.spare.buffers).toBe(0); // taken for the new envelope
    const second: Uint8Array[] = [];
    while (out.scheduled) out.pull(second, 0);
    expect(second.some((b) => b.buffer === retired![0])).toBe(true);
    out.add(message(3 * CHUNK), 0, true); // lent: the caller's buffer, never kept
    while (out.scheduled) out.pull(second, 0);
    expect(out.takeRetired()).toHaveLength(1); // the second envelope's, not the lent one
    out.add(message(CHUNK - 200), 0); // close to a chunk: encoded on its own, and leaves whole in one piece
    while (out.scheduled) out.pull(second, 0);
    expect(out.takeRetired()).toHaveLength(1); // its buffer comes back too
    out.clear();
    expect(out.spare.buffers).toBe(0);
  });

  it('with checksum runs, any mix of sizes, priorities and socket states leaves the same messages as without (property)', () => {
    const step = fc.record({
      size: fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: CHUNK - 150, max: CHUNK + 10 }), fc.integer({ min: 200, max: 3 * CHUNK })),
      priority: fc.integer({ min: 0, max: 3 }),
      backedUp: fc.boolean(),
      endTurn: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 64, max: 3 * CHUNK }), (steps, runBytes) => {
        const plain = new Outbound(OPTIONS);
        const runs = new Outbound(OPTIONS);
        runs.useChecksumRuns(runBytes);
        const [p, r] = [new Peer(), new Peer()];
        const classOf = new Map<string, number>();
        for (const s of steps) {
          const m = message(s.size, s.priority);
          classOf.set((m.body as { topic: string }).topic, s.priority);
          for (const [out, peer] of [[plain, p], [runs, r]] as const) {
            const now = out.add(m, s.backedUp ? CHUNK : 0);
            if (now !== null) peer.take([now]);
            if (s.endTurn) peer.take(drainAll(out));
          }
        }
        p.take(drainAll(plain));
        r.take(drainAll(runs));
        // a frame's own trailer can tip it over a chunk where a run's frame is not: a Critical
        // message may then overtake it in one and not the other; within a class the order is the same
        const byClass = (peer: Peer) => [0, 1, 2, 3].map((c) => peer.topics.map((t, i) => `${t}:${peer.sizes[i]}`).filter((t) => classOf.get(t.split(':')[0]) === c));
        expect(byClass(r)).toEqual(byClass(p));
        expect(r.topics).toHaveLength(steps.length);
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 300), seed: propertySeed() },
    );
  });
});
