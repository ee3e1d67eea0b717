// Checksum runs (src/shared/frame.ts): frames that share one CRC trailer.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodePayload, encodeMessage, FrameEncoder, type Envelope } from '../../src/shared/envelope/index.js';
import { FrameDecoder } from '../../src/shared/frame-decoder.js';
import {
  decodeFrame,
  FLAG_CHECKSUM,
  FLAG_DEFERRED,
  readU32,
  resolveFrameCheckOptions,
  sealRun,
  writeFrameHeader,
} from '../../src/shared/frame.js';
import { decodeFrames } from '../../src/workers/frame-batch.js';
import { ClusterwireError, ErrorCode } from '../../src/shared/errors.js';
import { PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';

const options = () => ({ numRuns: Math.min(PROPERTY_RUNS, 1000), seed: propertySeed() });

function message(id: number, topic: string, payload: Uint8Array): Envelope {
  return { header: { messageId: id, correlationId: id * 3, sender: 7, timestampUs: 0, streamId: 0, priority: 2 }, body: { type: 'Message', topic, payload } };
}

function bytesOf(id: number, n: number): Uint8Array {
  return new Uint8Array(n).map((_, k) => (k * 31 + id) & 0xff);
}

/** The frames of `bytes`: [offset, length, flags]. */
function framesOf(bytes: Uint8Array): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let at = 0; at < bytes.length; ) {
    const n = readU32(bytes, at);
    out.push([at, n, (bytes[at + 4] << 8) | bytes[at + 5]]);
    at += n;
  }
  return out;
}

/**
 * Feeds `bytes` cut every `step` bytes; returns the ids and payload hex of
 * what was delivered, and the error if any. Every delivered frame's buffer is
 * given back (reuse), as a connection does after copying a piece out: frames
 * held in a run must survive that.
 */
function receive(bytes: Uint8Array, step: number, decoder = new FrameDecoder()): { got: string[]; error: unknown } {
  const got: string[] = [];
  try {
    for (let at = 0; at < bytes.length; at += step) {
      decoder.eachPayload(bytes.subarray(at, Math.min(bytes.length, at + step)), (b, start, end, id) => {
        const e = decodePayload(b, start, end, id);
        got.push(`${id}:${Buffer.from((e.body as { payload: Uint8Array }).payload).toString('hex')}`);
        decoder.reuse(b);
      });
    }
    decoder.end();
    return { got, error: null };
  } catch (error) {
    return { got, error };
  }
}

const shape = fc.record({
  topic: fc.constantFrom('a', 'orders'),
  size: fc.oneof(fc.constantFrom(0, 64, 64, 64, 1000), fc.nat({ max: 20_000 })),
  op: fc.constantFrom('append', 'append', 'append', 'append', 'take', 'split'),
});

describe('FrameEncoder checksum runs', () => {
  it('a run of one frame is byte for byte the plain frame', () => {
    const envelope = message(5, 'a', bytesOf(5, 64));
    const encoder = new FrameEncoder({ checksumRunBytes: 16_384 });
    encoder.append(envelope);
    expect(Buffer.from(encoder.take()).equals(Buffer.from(encodeMessage(envelope)))).toBe(true);
  });

  it('frames of one take share one trailer: deferred frames, then one sealed frame', () => {
    const encoder = new FrameEncoder({ checksumRunBytes: 16_384 });
    for (let i = 1; i <= 10; i++) encoder.append(message(i, 'a', bytesOf(i, 64)));
    const bytes = encoder.take();
    const flags = framesOf(bytes).map(([, , f]) => f & (FLAG_CHECKSUM | FLAG_DEFERRED));
    expect(flags).toEqual([...new Array(9).fill(FLAG_DEFERRED), FLAG_CHECKSUM]);
    expect(receive(bytes, bytes.length).got).toHaveLength(10);
  });

  it('seals a run once it reaches checksumRunBytes; without checksums there are no runs', () => {
    const encoder = new FrameEncoder({ checksumRunBytes: 1000 });
    for (let i = 1; i <= 20; i++) encoder.append(message(i, 'a', bytesOf(i, 200)));
    const sealed = framesOf(encoder.take()).filter(([, , f]) => f & FLAG_CHECKSUM);
    expect(sealed.length).toBeGreaterThanOrEqual(4);
    const plain = new FrameEncoder({ checksum: false, checksumRunBytes: 1000 });
    for (let i = 1; i <= 5; i++) plain.append(message(i, 'a', bytesOf(i, 10)));
    expect(framesOf(plain.take()).every(([, , f]) => (f & (FLAG_CHECKSUM | FLAG_DEFERRED)) === 0)).toBe(true);
  });

  it('pendingBytes is always what the take gives, and append returns what it grew by', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3000 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 8000 }), (sizes, runBytes) => {
        const encoder = new FrameEncoder({ checksumRunBytes: runBytes, initialBytes: 256 });
        let sum = 0;
        sizes.forEach((n, i) => {
          const before = encoder.pendingBytes;
          const grew = encoder.append(message(i + 1, i % 2 ? 'a' : 'b', bytesOf(i, n)));
          expect(encoder.pendingBytes - before).toBe(grew);
          sum += grew;
        });
        expect(encoder.take().length).toBe(sum);
      }),
      options(),
    );
  });

  it('any mix of appends, split frames, takes and takeSplitLast decodes to the same envelopes, over any split of the stream (property)', () => {
    fc.assert(
      fc.property(
        fc.array(shape, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 9000 }),
        (ops, runBytes, step) => {
          const encoder = new FrameEncoder({ checksumRunBytes: runBytes, initialBytes: 512 });
          const parts: Uint8Array[] = [];
          const want: string[] = [];
          let id = 0;
          let lent = false; // takeSplitLast applies to a buffer with no lent views
          for (const op of ops) {
            id++;
            const payload = bytesOf(id, op.size);
            const envelope = message(id, op.topic, payload);
            if (op.op === 'split' && op.size > 0) {
              // the payload is lent: the frame is its head, the payload's views and a trailer
              const cut = op.size >>> 1;
              const standIn = new Uint8Array(op.size);
              encoder.appendSplit(message(id, op.topic, standIn), standIn, [payload.subarray(0, cut), payload.subarray(cut)]);
              lent = true;
            } else {
              encoder.append(envelope);
            }
            want.push(`${id}:${Buffer.from(payload).toString('hex')}`);
            if (op.op === 'take' || (op.op === 'split' && op.size === 0 && lent)) {
              encoder.takeInto(parts);
              lent = false;
            } else if (op.op === 'split' && op.size === 0) {
              const [before, last] = encoder.takeSplitLast();
              // each part stands alone: the last frame is a plain checksummed frame
              expect(receive(last, last.length).error).toBe(null);
              expect(framesOf(last)).toHaveLength(1);
              expect(framesOf(last)[0][2] & FLAG_CHECKSUM).toBe(FLAG_CHECKSUM);
              if (before.length > 0) expect(receive(before, before.length).error).toBe(null);
              parts.push(before, last);
            }
          }
          encoder.takeInto(parts);
          const stream = Buffer.concat(parts);
          const whole = receive(stream, step);
          expect(whole.error).toBe(null);
          expect(whole.got).toEqual(want);
          // the batch decoder of the worker engine reads the same
          const batch = decodeFrames({ bytes: stream, check: resolveFrameCheckOptions() }, null);
          expect(batch.fatal).toBe(null);
          expect(batch.frames.map((f) => f.error)).toEqual(batch.frames.map(() => null));
          expect(batch.consumed).toBe(stream.length);
          expect(batch.frames.map((f) => `${f.messageId}:${Buffer.from((f.envelope?.body as { payload: Uint8Array }).payload).toString('hex')}`)).toEqual(want);
        },
      ),
      options(),
    );
  });
});

describe('FrameDecoder checksum runs: hostile input', () => {
  /** A run of `n` frames of 40-byte payloads, as the encoder writes it. */
  function run(n: number, start = 1): Uint8Array {
    const encoder = new FrameEncoder({ checksumRunBytes: 1 << 20 });
    for (let i = 0; i < n; i++) encoder.append(message(start + i, 'a', bytesOf(start + i, 40)));
    return encoder.take();
  }

  it('one changed byte anywhere in a run: a typed error, and nothing of that run delivered (property)', () => {
    const good = run(1, 1);
    const bad = run(6, 2);
    fc.assert(
      fc.property(fc.nat({ max: bad.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: 200 }), (at, xor, step) => {
        const stream = Buffer.concat([good, bad]);
        stream[good.length + at] ^= xor;
        const { got, error } = receive(stream, step);
        expect(error).toBeInstanceOf(ClusterwireError);
        expect(got.map((g) => g.split(':')[0])).toEqual(['1']);
      }),
      options(),
    );
  });

  it('refuses a run that ends in a frame without a trailer', () => {
    const bytes = Buffer.from(run(3));
    const last = framesOf(bytes)[2][0];
    // the seal loses its checksum flag and trailer: a plain unchecked frame ends the run
    const n = readU32(bytes, last) - 4;
    const stream = Buffer.concat([bytes.subarray(0, last), bytes.subarray(last, last + n)]);
    stream.writeUInt32BE(n, last);
    stream[last + 5] &= ~FLAG_CHECKSUM;
    const { got, error } = receive(stream, stream.length, new FrameDecoder({ requireChecksum: false }));
    expect(got).toEqual([]);
    expect((error as ClusterwireError).code).toBe(ErrorCode.MALFORMED_FRAME);
    expect(() => decodeFrames({ bytes: stream, check: resolveFrameCheckOptions({ requireChecksum: false }) }, null)).not.toThrow();
    expect(decodeFrames({ bytes: stream, check: resolveFrameCheckOptions({ requireChecksum: false }) }, null).fatal?.code).toBe(ErrorCode.MALFORMED_FRAME);
  });

  it('a decoder told not to take runs yet refuses a deferred frame, and takes runs once told it may', () => {
    const bytes = run(3);
    const early = new FrameDecoder({ checksumRuns: false });
    expect((receive(bytes, bytes.length, early).error as ClusterwireError).code).toBe(ErrorCode.MALFORMED_FRAME);
    const later = new FrameDecoder({ checksumRuns: false });
    expect(receive(run(1, 9), 5, later).got).toHaveLength(1); // a run of one is a plain frame: taken
    later.acceptRuns();
    const { got, error } = receive(bytes, 7, later);
    expect(error).toBe(null);
    expect(got).toHaveLength(3);
  });

  it('refuses a frame that both carries and defers a checksum', () => {
    const bytes = Buffer.from(run(1));
    bytes[4] |= FLAG_DEFERRED >>> 8;
    expect((receive(bytes, bytes.length).error as ClusterwireError).code).toBe(ErrorCode.MALFORMED_FRAME);
  });

  it('holds at most maxFrameBytes of an unsealed run, then cuts it off', () => {
    const maxFrameBytes = 4096;
    const decoder = new FrameDecoder({ maxFrameBytes });
    const frame = new Uint8Array(100);
    let error: unknown = null;
    try {
      for (let i = 0; i < 1000; i++) {
        writeFrameHeader(frame, 0, i + 1, 86, false, 0, true);
        decoder.eachPayload(frame, () => expect.fail('nothing of an unsealed run is delivered'));
        expect(decoder.buffered).toBeLessThanOrEqual(maxFrameBytes);
      }
    } catch (e) {
      error = e;
    }
    expect((error as ClusterwireError).code).toBe(ErrorCode.MALFORMED_FRAME);
  });

  it('a stream that ends inside a run is malformed; a lone frame cannot defer its checksum', () => {
    const bytes = run(3);
    const cut = framesOf(bytes)[2][0];
    const decoder = new FrameDecoder();
    decoder.eachPayload(bytes.subarray(0, cut), () => expect.fail('unsealed'));
    expect(decoder.buffered).toBe(cut);
    expect(() => decoder.end()).toThrow(/inside a checksum run/);
    const lone = new Uint8Array(14);
    writeFrameHeader(lone, 0, 1, 0, false, 0, true);
    expect(() => decodeFrame(lone)).toThrow(/lone frame/);
  });

  it('the run trailer covers the headers too: a run sealed by hand with one flipped id is refused', () => {
    const bytes = Buffer.from(run(3));
    const [, , third] = framesOf(bytes);
    bytes[framesOf(bytes)[1][0] + 13] ^= 1; // the second frame's message id
    expect((receive(bytes, bytes.length).error as ClusterwireError).code).toBe(ErrorCode.CHECKSUM);
    // and sealing again over the changed bytes makes it whole
    const resealed = Buffer.from(bytes);
    resealed.writeUInt32BE(third[1] - 4, third[0]);
    resealed[third[0] + 5] = (resealed[third[0] + 5] & ~FLAG_CHECKSUM) | 0;
    resealed[third[0] + 4] |= FLAG_DEFERRED >>> 8;
    sealRun(resealed, 0, third[0], bytes.length - 4);
    // sealed again, the run passes its checksum: the envelope's own id check is what refuses it now
    expect((receive(resealed, 7).error as ClusterwireError).code).toBe(ErrorCode.MALFORMED_ENVELOPE);
  });
});
