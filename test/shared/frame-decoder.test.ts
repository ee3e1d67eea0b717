import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder, MIN_SPAN_HEAD, type SpanTarget } from '../../src/shared/frame-decoder.js';
import { encodeFrame, writeU32, type Frame } from '../../src/shared/frame.js';
import { ClusterwireError, ErrorCode } from '../../src/shared/errors.js';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';
import { FrameEncoder } from '../../src/shared/envelope/index.js';

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** `bytes` cut at `cuts` (ascending) into views. */
function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of cuts) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function summary(frames: Frame[]): Array<[number, string]> {
  return frames.map((f) => [f.messageId, Buffer.from(f.payload).toString('hex')]);
}

function decodeAll(chunks: Uint8Array[], options = {}): Frame[] {
  const decoder = new FrameDecoder(options);
  const out: Frame[] = [];
  for (const chunk of chunks) for (const frame of decoder.push(chunk)) out.push(frame);
  decoder.end();
  return out;
}

const compressible = new Uint8Array(3000).fill(0x41);
const stream = concat([
  encodeFrame(1, new Uint8Array(0)),
  encodeFrame(2, new Uint8Array([1, 2, 3])),
  encodeFrame(3, new Uint8Array(700).map((_, i) => i & 0xff)),
  encodeFrame(4, new Uint8Array([9]), { checksum: false }),
  encodeFrame(5, compressible, { compression: 'lz4' }),
  encodeFrame(6, compressible, { compression: 'zstd' }),
]);
const expected = summary(decodeAll([stream], { requireChecksum: false }));

describe('FrameDecoder: any split of the stream yields the same frames', () => {
  it('decodes the whole stream in one chunk', () => {
    expect(expected.map((e) => e[0])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(expected[4][1]).toBe(Buffer.from(compressible).toString('hex'));
  });

  it('one byte at a time', () => {
    const chunks = [...stream].map((b) => new Uint8Array([b]));
    expect(summary(decodeAll(chunks, { requireChecksum: false }))).toEqual(expected);
  });

  it('every split into two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const got = summary(decodeAll([stream.subarray(0, cut), stream.subarray(cut)], { requireChecksum: false }));
      expect(got).toEqual(expected);
    }
  });

  it('random splits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 40 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        expect(summary(decodeAll(splitAt(stream, points), { requireChecksum: false }))).toEqual(expected);
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 2000), seed: propertySeed() },
    );
  });

  it('each() delivers the same frames as push() over any two-way split', () => {
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const decoder = new FrameDecoder({ requireChecksum: false });
      const got: Frame[] = [];
      decoder.each(stream.subarray(0, cut), (f) => got.push(f));
      decoder.each(stream.subarray(cut), (f) => got.push(f));
      decoder.end();
      expect(summary(got)).toEqual(expected);
    }
  });

  it('eachPayload() hands over the same payloads and ids as each() over any split', () => {
    const splits = [[...stream].map((_, i) => i + 1)];
    for (let cut = 0; cut <= stream.length; cut += 3) splits.push([cut]);
    for (const cuts of splits) {
      const decoder = new FrameDecoder({ requireChecksum: false });
      const got: Array<[number, string]> = [];
      for (const chunk of splitAt(stream, cuts)) {
        decoder.eachPayload(chunk, (bytes, start, end, id) => got.push([id, Buffer.from(bytes.subarray(start, end)).toString('hex')]));
      }
      decoder.end();
      expect(got).toEqual(expected);
    }
  });

  it('eachPayload() hands over a frame inside one chunk as a range of that chunk', () => {
    const decoder = new FrameDecoder({ requireChecksum: false });
    const ranges: Array<[Uint8Array, number, number]> = [];
    decoder.eachPayload(stream, (bytes, start, end) => ranges.push([bytes, start, end]));
    expect(ranges[2][0]).toBe(stream);
    expect(ranges[2][2] - ranges[2][1]).toBe(700);
    // compressed frames arrive inflated, in a buffer of their own
    expect(ranges[4][0]).not.toBe(stream);
    expect(ranges[4][1]).toBe(0);
  });

  it('payloads of frames inside one chunk are views, not copies', () => {
    const frames = decodeAll([stream], { requireChecksum: false });
    expect(frames[2].payload.buffer).toBe(stream.buffer);
  });
});

describe('FrameDecoder: buffers of frames that spanned reads, given back', () => {
  it('assembles the next spanning frame in a buffer given back, and only in one given back', () => {
    const a = encodeFrame(1, new Uint8Array(5000).fill(1));
    const b = encodeFrame(2, new Uint8Array(4000).fill(2));
    const c = encodeFrame(3, new Uint8Array(6000).fill(3));
    const decoder = new FrameDecoder();
    const seen: Uint8Array[] = [];
    const take = (bytes: Uint8Array, start: number, end: number, id: number) => {
      expect(bytes.subarray(start, end).every((x) => x === id)).toBe(true);
      seen.push(bytes);
    };
    const feedSplit = (frame: Uint8Array) => {
      decoder.eachPayload(frame.subarray(0, 100), take);
      decoder.eachPayload(frame.subarray(100), take);
    };
    feedSplit(a);
    const first = seen[0];
    const firstCopy = Buffer.from(first);
    feedSplit(b); // a's buffer was not given back: b gets its own, a's stays as it was
    expect(seen[1].buffer === first.buffer && seen[1].byteOffset === first.byteOffset).toBe(false);
    expect(Buffer.from(first).equals(firstCopy)).toBe(true);
    decoder.reuse(first); // not the last spanning frame any more: ignored
    decoder.reuse(seen[1]);
    feedSplit(encodeFrame(4, new Uint8Array(3000).fill(4))); // fits in b's buffer
    expect(seen[2].buffer).toBe(seen[1].buffer);
    expect(seen[2].byteOffset).toBe(seen[1].byteOffset);
    decoder.reuse(seen[2]);
    feedSplit(c); // longer than the buffer given back: a new one
    expect(seen[3].buffer === seen[1].buffer && seen[3].byteOffset === seen[1].byteOffset).toBe(false);
    decoder.end();
  });

  it('assembles a small spanning frame in a buffer of its own, not in a slice of a shared pool', () => {
    const frame = encodeFrame(1, new Uint8Array(40).fill(9));
    const decoder = new FrameDecoder();
    const seen: Uint8Array[] = [];
    decoder.eachPayload(frame.subarray(0, 10), (bytes) => seen.push(bytes));
    decoder.eachPayload(frame.subarray(10), (bytes) => seen.push(bytes));
    expect(seen).toHaveLength(1);
    expect(seen[0].byteOffset).toBe(0);
    expect(seen[0].buffer.byteLength).toBe(frame.length);
  });

  it('random frames over random splits decode the same when every spanning buffer is given back (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 3000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 2500 }), { minLength: 1, maxLength: 40 }),
        (sizes, steps) => {
          const frames = sizes.map((n, i) => encodeFrame(i + 1, new Uint8Array(n).map((_, k) => (k * 13 + i) & 0xff)));
          const all = concat(frames);
          const decoder = new FrameDecoder();
          const got: string[] = [];
          let pos = 0;
          for (let i = 0; pos < all.length; i++) {
            const next = Math.min(all.length, pos + steps[i % steps.length]);
            decoder.eachPayload(all.subarray(pos, next), (bytes, start, end) => {
              got.push(Buffer.from(bytes.subarray(start, end)).toString('hex'));
              decoder.reuse(bytes);
            });
            pos = next;
          }
          decoder.end();
          expect(got).toEqual(sizes.map((n, i) => Buffer.from(new Uint8Array(n).map((_, k) => (k * 13 + i) & 0xff)).toString('hex')));
        },
      ),
      { numRuns: Math.min(PROPERTY_RUNS, 1000), seed: propertySeed() },
    );
  });
});

describe('FrameDecoder: bounds and failures', () => {
  it('refuses an oversized length from the first six bytes, before buffering', () => {
    const frame = encodeFrame(1, new Uint8Array(100));
    writeU32(frame, 0, 1 << 30);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    let error: unknown;
    try {
      for (const _ of decoder.push(frame.subarray(0, 6))) void _;
    } catch (e) {
      error = e;
    }
    expect((error as ClusterwireError).code).toBe(ErrorCode.FRAME_TOO_LARGE);
    expect(decoder.buffered).toBe(0);
  });

  it('holds at most one frame of the checked length while it assembles', () => {
    const frame = encodeFrame(1, new Uint8Array(5000));
    const decoder = new FrameDecoder();
    for (const _ of decoder.push(frame.subarray(0, 100))) void _;
    expect(decoder.buffered).toBe(100);
    const frames = [...decoder.push(frame.subarray(100))];
    expect(frames).toHaveLength(1);
    expect(decoder.buffered).toBe(0);
  });

  it('delivers the frames before a bad one, then stays failed', () => {
    const bad = encodeFrame(9, new Uint8Array([1, 2, 3]));
    bad[15] ^= 0xff;
    const decoder = new FrameDecoder();
    const got: number[] = [];
    let error: unknown;
    try {
      for (const f of decoder.push(concat([encodeFrame(1, new Uint8Array(2)), encodeFrame(2, new Uint8Array(2)), bad]))) got.push(f.messageId);
    } catch (e) {
      error = e;
    }
    expect(got).toEqual([1, 2]);
    expect((error as ClusterwireError).code).toBe(ErrorCode.CHECKSUM);
    expect(() => [...decoder.push(encodeFrame(3, new Uint8Array(1)))]).toThrow(ClusterwireError);
  });

  it('an error thrown by the payload sink ends the decoder like a bad frame', () => {
    const decoder = new FrameDecoder();
    const two = concat([encodeFrame(1, new Uint8Array(2)), encodeFrame(2, new Uint8Array(2))]);
    const seen: number[] = [];
    const boom = new Error('sink failed');
    expect(() =>
      decoder.eachPayload(two, (_b, _s, _e, id) => {
        seen.push(id);
        throw boom;
      }),
    ).toThrow(boom);
    expect(seen).toEqual([1]);
    expect(() => decoder.eachPayload(encodeFrame(3, new Uint8Array(1)), () => undefined)).toThrow(boom);
  });

  it('eachPayload() checks frames as each() does: a bad checksum after good frames', () => {
    const bad = encodeFrame(9, new Uint8Array([1, 2, 3]));
    bad[15] ^= 0xff;
    const decoder = new FrameDecoder();
    const got: number[] = [];
    let error: unknown;
    try {
      decoder.eachPayload(concat([encodeFrame(1, new Uint8Array(2)), bad]), (_b, _s, _e, id) => got.push(id));
    } catch (e) {
      error = e;
    }
    expect(got).toEqual([1]);
    expect((error as ClusterwireError).code).toBe(ErrorCode.CHECKSUM);
  });

  it('end() inside a frame is a truncated frame', () => {
    const frame = encodeFrame(1, new Uint8Array(10));
    for (const cut of [1, 5, 6, frame.length - 1]) {
      const decoder = new FrameDecoder();
      for (const _ of decoder.push(frame.subarray(0, cut))) void _;
      let code = '';
      try {
        decoder.end();
      } catch (e) {
        code = (e as ClusterwireError).code;
      }
      expect(code).toBe(ErrorCode.TRUNCATED_FRAME);
    }
  });
});

describe('FrameDecoder: frames that span reads assembled where the reader names (setSpanTarget)', () => {
  /** A target that places every frame it is asked about in a fresh area of `arena`, and records the asks. */
  function arenaTarget() {
    const arena = new Uint8Array(1 << 20);
    let used = 0;
    const asked: number[] = [];
    const target: SpanTarget = (chunk, start, available, length) => {
      expect(available).toBeGreaterThanOrEqual(MIN_SPAN_HEAD);
      expect(available).toBeLessThan(length);
      expect(chunk.length - start).toBe(available);
      asked.push(length);
      const place = arena.subarray(used, used + length);
      used += length;
      return place;
    };
    return { arena, asked, target };
  }

  it('any split of the stream yields the same frames, assembled in the target whenever one was asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 0, max: 3000 }), fill: fc.nat({ max: 255 }), checksum: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (specs, rawCuts) => {
          const frames = specs.map((f, i) => encodeFrame(i + 1, new Uint8Array(f.size).fill(f.fill), { checksum: f.checksum }));
          const bytes = concat(frames);
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const { arena, asked, target } = arenaTarget();
          const decoder = new FrameDecoder({ requireChecksum: false });
          decoder.setSpanTarget(target);
          const out: Array<[number, string, boolean]> = [];
          for (const chunk of splitAt(bytes, cuts))
            decoder.eachPayload(chunk, (b, start, end, id) => out.push([id, Buffer.from(b.subarray(start, end)).toString('hex'), b.buffer === arena.buffer]));
          decoder.end();
          expect(out.map(([id, hex]) => [id, hex])).toEqual(summary(decodeAll([bytes], { requireChecksum: false })));
          expect(out.filter(([, , inArena]) => inArena).length).toBe(asked.length);
        },
      ),
      { numRuns: Math.min(PROPERTY_RUNS, 2000), seed: propertySeed() },
    );
  });

  it('checks the checksum of a frame assembled in the target', () => {
    const frame = encodeFrame(7, new Uint8Array(2000).fill(7));
    frame[1500] ^= 1; // arrives in the second read, straight into the target
    const { target, asked } = arenaTarget();
    const decoder = new FrameDecoder();
    decoder.setSpanTarget(target);
    decoder.eachPayload(frame.subarray(0, 1000), () => undefined);
    expect(asked).toEqual([frame.length]);
    expect(() => decoder.eachPayload(frame.subarray(1000), () => undefined)).toThrow(expect.objectContaining({ code: ErrorCode.CHECKSUM }));
  });

  it('asks about no frame that is compressed, deferred in a checksum run, or with too little of it in hand; a null answer keeps its own buffer', () => {
    const { target, asked } = arenaTarget();
    const decoder = new FrameDecoder();
    decoder.setSpanTarget(target);
    const compressed = encodeFrame(1, new Uint8Array(5000).fill(0x41), { compression: 'lz4' });
    const noop = () => undefined;
    decoder.eachPayload(compressed.subarray(0, compressed.length - 1), noop);
    decoder.eachPayload(compressed.subarray(compressed.length - 1), noop);
    const plain = encodeFrame(2, new Uint8Array(3000).fill(2));
    decoder.eachPayload(plain.subarray(0, MIN_SPAN_HEAD - 1), noop); // too little in hand
    decoder.eachPayload(plain.subarray(MIN_SPAN_HEAD - 1), noop);
    // a checksum run: three frames, the first two deferred; the second and the third (which seals the run) span reads
    const encoder = new FrameEncoder({ checksumRunBytes: 16 * 1024 });
    const header = (id: number) => ({ messageId: id, correlationId: 0, sender: 1, timestampUs: 0, streamId: 0, priority: 2 });
    for (let id = 10; id < 13; id++) encoder.append({ header: header(id), body: { type: 'Message', topic: 't', payload: new Uint8Array(3000).fill(id) } });
    const run = encoder.take();
    const ids: number[] = [];
    for (const cut of splitAt(run, [4000, 7000])) decoder.eachPayload(cut, (_b, _s, _e, id) => ids.push(id));
    expect(ids).toEqual([10, 11, 12]);
    expect(asked).toEqual([]);
    const refused = new FrameDecoder();
    refused.setSpanTarget(() => null);
    const seen: Uint8Array[] = [];
    refused.eachPayload(plain.subarray(0, 1000), (b) => seen.push(b));
    refused.eachPayload(plain.subarray(1000), (b, start, end) => seen.push(b.subarray(start, end)));
    expect(seen).toHaveLength(1);
    expect(seen[0].every((x) => x === 2)).toBe(true);
  });
});
