import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as flatbuffers from 'flatbuffers';
import * as wire from '../../src/shared/schema/generated/clusterwire/wire.js';
import {
  decodeMessage,
  encodeEnvelope,
  encodeMessage,
  envelopeView,
  FrameEncoder,
  peekChunkPiece,
  readEnvelope,
  type BodyValue,
  type Envelope,
} from '../../src/shared/envelope/index.js';
import { FrameDecoder } from '../../src/shared/frame-decoder.js';
import { Writer } from '../../src/shared/envelope/codec-runtime.js';
import { TABLE_COUNT, writeRoot } from '../../src/shared/schema/codec.js';
import { decodeFrame } from '../../src/shared/frame.js';
import { ClusterwireError, ErrorCode } from '../../src/shared/errors.js';
import { FieldKind, TABLES, UNIONS } from '../../src/shared/schema/layout.js';
import { envelopeArbitrary, tableArbitrary, PROPERTY_RUNS, propertySeed } from '../support/arbitrary.js';

const BODY = UNIONS[0];
const header = { messageId: 77, correlationId: 5, sender: 2 ** 50 + 3, timestampUs: 1_763_000_000_000_000, streamId: 9, priority: 1 };

/** One sample value of every body type, with every field filled. */
const samples: Envelope[] = [];
for (let tag = 1; tag < BODY.members.length; tag++) {
  const [value] = fc.sample(tableArbitrary(BODY.members[tag]), { numRuns: 1, seed: tag });
  samples.push({ header: { ...header, messageId: 100 + tag }, body: { ...value, type: BODY.names[tag] } as unknown as BodyValue });
}

function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));
}

describe('every message type round-trips through envelope and frame', () => {
  it('covers every member of the Body union', () => {
    expect(samples.map((s) => s.body.type)).toEqual(BODY.names.slice(1));
  });

  for (const compression of ['none', 'lz4', 'zstd'] as const) {
    it(`with compression ${compression}`, () => {
      const encoder = new FrameEncoder({ compression, compressMinBytes: 0 });
      for (const sample of samples) encoder.append(sample);
      const decoder = new FrameDecoder();
      const got = [...decoder.push(encoder.take())].map(decodeMessage);
      expect(normalise(got)).toEqual(normalise(samples));
    });
  }

  it('an envelope whose header id differs from its frame is malformed', () => {
    const bytes = encodeMessage(samples[0]);
    const frame = decodeFrame(bytes);
    expect(() => decodeMessage({ ...frame, messageId: frame.messageId + 1 })).toThrow(/differs/);
  });
});

describe('no stale memory leaves in the padding', () => {
  it('writes the same bytes into a dirty buffer as into a clean one', () => {
    for (const sample of samples) {
      const clean = new Writer(TABLE_COUNT, 16);
      clean.buf = new Uint8Array(64 * 1024);
      const dirty = new Writer(TABLE_COUNT, 16);
      dirty.buf = new Uint8Array(64 * 1024).fill(0xa5);
      const n = writeRoot(clean, sample);
      expect(writeRoot(dirty, sample)).toBe(n);
      expect(Buffer.from(dirty.buf.subarray(0, n)).equals(Buffer.from(clean.buf.subarray(0, n)))).toBe(true);
    }
  });
});

describe('interoperates with the flatc-generated code', () => {
  it('flatc accessors read what the codec writes, field by field', () => {
    for (const sample of samples) {
      const view = envelopeView(encodeEnvelope(sample));
      expect(Number(view.header()!.messageId())).toBe(sample.header.messageId);
      expect(Number(view.header()!.sender())).toBe(sample.header.sender);
      const tag = BODY.names.indexOf(sample.body.type);
      expect(view.bodyType()).toBe(tag);
      const Accessor = (wire as unknown as Record<string, new () => flatbuffers.Table>)[sample.body.type];
      const body = view.body(new Accessor()) as unknown as Record<string, (...args: unknown[]) => unknown>;
      const value = sample.body as unknown as Record<string, unknown>;
      for (const f of TABLES[BODY.members[tag]].fields) {
        const v = value[f.name];
        switch (f.kind) {
          case FieldKind.Scalar: {
            const got = body[f.name]();
            expect(typeof got === 'bigint' ? Number(got) : got).toBe(v);
            break;
          }
          case FieldKind.String:
            expect(body[f.name]() ?? '').toBe(v);
            break;
          case FieldKind.ScalarVector:
          case FieldKind.StringVector:
          case FieldKind.TableVector:
            expect(body[`${f.name}Length`]()).toBe((v as unknown[]).length);
            break;
          case FieldKind.Table:
            expect(body[f.name]() === null).toBe(v === null);
            break;
        }
      }
    }
  });

  it('the codec reads what a flatc Builder writes', () => {
    const b = new flatbuffers.Builder(256);
    const topic = b.createString('orders.created');
    const payload = wire.Request.createPayloadVector(b, [1, 2, 3, 250]);
    const request = wire.Request.createRequest(b, topic, payload, true, 2, 1500);
    wire.Envelope.startEnvelope(b);
    wire.Envelope.addHeader(b, wire.Header.createHeader(b, 42n, 41n, 7n, 1_700_000_000_000_000n, 3, wire.Priority.High));
    wire.Envelope.addBodyType(b, wire.Body.Request);
    wire.Envelope.addBody(b, request);
    b.finish(wire.Envelope.endEnvelope(b));
    const env = readEnvelope(b.asUint8Array());
    expect(env.header).toEqual({ messageId: 42, correlationId: 41, sender: 7, timestampUs: 1_700_000_000_000_000, streamId: 3, priority: 1 });
    expect(env.body.type).toBe('Request');
    const body = env.body as Extract<BodyValue, { type: 'Request' }>;
    expect(body.topic).toBe('orders.created');
    expect([...body.payload]).toEqual([1, 2, 3, 250]);
    expect([body.idempotent, body.attempt, body.timeoutMs]).toEqual([true, 2, 1500]);
  });
});

describe('envelope validation', () => {
  const good = encodeEnvelope(samples.find((s) => s.body.type === 'Request')!);

  function codeOf(bytes: Uint8Array): string {
    try {
      readEnvelope(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(ClusterwireError);
      return (error as ClusterwireError).code;
    }
    return 'none';
  }

  it('refuses a buffer too short to hold a root', () => {
    expect(codeOf(new Uint8Array(4))).toBe(ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses a root offset past the end', () => {
    const bytes = Buffer.from(good);
    bytes.writeUInt32LE(bytes.length + 100, 0);
    expect(codeOf(bytes)).toBe(ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses an unknown body type with its own code', () => {
    const bytes = Buffer.from(good);
    const root = bytes.readUInt32LE(0);
    const vtable = root - bytes.readInt32LE(root);
    const tagAt = root + bytes.readUInt16LE(vtable + 6);
    bytes[tagAt] = 250;
    expect(codeOf(bytes)).toBe(ErrorCode.UNKNOWN_MESSAGE_TYPE);
  });

  it('refuses a missing required field', () => {
    const b = new flatbuffers.Builder(64);
    wire.Request.startRequest(b);
    wire.Request.addTimeoutMs(b, 5);
    const request = b.endObject(); // no topic: the generated end would assert
    wire.Envelope.startEnvelope(b);
    wire.Envelope.addHeader(b, wire.Header.createHeader(b, 1n, 0n, 0n, 0n, 0, 0));
    wire.Envelope.addBodyType(b, wire.Body.Request);
    wire.Envelope.addBody(b, request);
    b.finish(wire.Envelope.endEnvelope(b));
    expect(codeOf(b.asUint8Array())).toBe(ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses a 64-bit integer above 2^53 - 1', () => {
    const b = new flatbuffers.Builder(64);
    const topic = b.createString('t');
    const request = wire.Request.createRequest(b, topic, 0, false, 0, 0);
    wire.Envelope.startEnvelope(b);
    wire.Envelope.addHeader(b, wire.Header.createHeader(b, 2n ** 60n, 0n, 0n, 0n, 0, 0));
    wire.Envelope.addBodyType(b, wire.Body.Request);
    wire.Envelope.addBody(b, request);
    b.finish(wire.Envelope.endEnvelope(b));
    expect(codeOf(b.asUint8Array())).toBe(ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses every truncation of a valid envelope', () => {
    const sample = encodeEnvelope(samples.find((s) => s.body.type === 'SwimPushPull')!);
    for (let n = 0; n < sample.length - 1; n++) {
      const code = codeOf(sample.subarray(0, n));
      expect([ErrorCode.MALFORMED_ENVELOPE, ErrorCode.UNKNOWN_MESSAGE_TYPE, 'none']).toContain(code);
    }
  });

  it('refuses a value that does not fit its field when encoding', () => {
    const bad = { header, body: { type: 'Request', topic: 't', payload: new Uint8Array(0), idempotent: false, attempt: 300, timeoutMs: 0 } } as unknown as Envelope;
    expect(() => encodeEnvelope(bad)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MESSAGE }));
    const noTopic = { header, body: { type: 'Request', payload: new Uint8Array(0) } } as unknown as Envelope;
    expect(() => encodeEnvelope(noTopic)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MESSAGE }));
  });
});

describe('properties', () => {
  const options = () => ({ numRuns: PROPERTY_RUNS, seed: propertySeed() });

  it('random envelopes round-trip through frame and envelope unchanged', () => {
    const encoder = new FrameEncoder();
    const decoder = new FrameDecoder();
    fc.assert(
      fc.property(envelopeArbitrary, (env) => {
        encoder.append(env);
        const frames = [...decoder.push(encoder.take())];
        expect(frames).toHaveLength(1);
        expect(normalise(decodeMessage(frames[0]))).toEqual(normalise(env));
      }),
      options(),
    );
  });

  it('random bytes give only typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        for (const attempt of [() => readEnvelope(bytes), () => decodeMessage(decodeFrame(bytes, { requireChecksum: false }))]) {
          try {
            attempt();
          } catch (error) {
            if (!(error instanceof ClusterwireError)) throw error;
          }
        }
      }),
      options(),
    );
  });

  it('mutated valid envelopes give a trusted value or a typed error, within the limit', () => {
    const sources = samples.map((s) => Buffer.from(encodeEnvelope(s)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (which, edits) => {
          const bytes = Buffer.from(sources[which]);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          try {
            const env = readEnvelope(bytes);
            // whatever was accepted is internally consistent: it re-encodes
            encodeEnvelope(env);
          } catch (error) {
            if (!(error instanceof ClusterwireError)) throw error;
          }
        },
      ),
      options(),
    );
  });

  it('an envelope read in place inside a larger buffer reads as its copy does: same value or same error', () => {
    const sources = samples.map((s) => Buffer.from(encodeEnvelope(s)));
    const outcome = (read: () => Envelope): unknown => {
      try {
        return { value: normalise(read()) };
      } catch (error) {
        if (!(error instanceof ClusterwireError)) throw error;
        return { code: error.code, message: error.message };
      }
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        (which, edits, before, after) => {
          const bytes = Buffer.from(sources[which]);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const big = Buffer.concat([before, bytes, after]);
          const inPlace = outcome(() => readEnvelope(big, before.length, before.length + bytes.length));
          expect(inPlace).toEqual(outcome(() => readEnvelope(Buffer.from(bytes))));
        },
      ),
      options(),
    );
  });

  it('an envelope read in place never reads past its end: a buffer cut short is malformed', () => {
    const bytes = Buffer.from(encodeEnvelope(samples[14]));
    const big = Buffer.concat([bytes, bytes]);
    for (let cut = 0; cut < bytes.length; cut++) {
      let code = '';
      try {
        readEnvelope(big, 0, cut);
      } catch (error) {
        code = (error as ClusterwireError).code;
      }
      expect(code).toBe(ErrorCode.MALFORMED_ENVELOPE);
    }
  });

  it('mutated frame streams give frames or typed errors and never buffer past the limit', () => {
    const maxFrameBytes = 4096;
    const encoder = new FrameEncoder();
    for (const s of samples.slice(0, 12)) encoder.append(s);
    const stream = Buffer.from(encoder.take());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (edits, cut) => {
        const bytes = Buffer.from(stream);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        const decoder = new FrameDecoder({ maxFrameBytes, requireChecksum: false });
        const split = cut % bytes.length;
        try {
          for (const chunk of [bytes.subarray(0, split), bytes.subarray(split)]) {
            for (const frame of decoder.push(chunk)) {
              expect(frame.payload.length).toBeLessThanOrEqual(maxFrameBytes);
              decodeMessage(frame);
            }
            expect(decoder.buffered).toBeLessThanOrEqual(maxFrameBytes);
          }
        } catch (error) {
          if (!(error instanceof ClusterwireError)) throw error;
        }
      }),
      options(),
    );
  });
});

/** Any valid envelope header. */
const anyHeader = fc.record({
  messageId: fc.nat({ max: 2 ** 40 }),
  correlationId: fc.nat(),
  sender: fc.nat(),
  timestampUs: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  streamId: fc.nat(),
  priority: fc.integer({ min: 0, max: 3 }),
});

describe('frames whose last vector is sent by reference (appendSplit)', () => {
  // each run encodes up to six frames of up to 3 000 bytes twice: fewer runs than the cheap properties
  const options = () => ({ numRuns: Math.min(PROPERTY_RUNS, 1000), seed: propertySeed() });
  /** A body whose last encoded vector is `payload` or `data`, with the name of that field. */
  const lastVector = fc.oneof(
    fc.record({ topic: fc.string({ maxLength: 40 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }) }).map(({ topic, bytes }) => ({
      body: { type: 'Message', topic, payload: bytes } as BodyValue,
      field: 'payload' as const,
      bytes,
    })),
    fc.record({ id: fc.nat(), offset: fc.nat(), total: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }) }).map(({ id, offset, total, bytes }) => ({
      body: { type: 'Chunk', messageId: id, offset, totalBytes: total, data: bytes } as BodyValue,
      field: 'data' as const,
      bytes,
    })),
  );
  /** `bytes` cut at random points into views. */
  const cutInto = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const views: Uint8Array[] = [];
    let from = 0;
    for (const c of [...at, bytes.length]) {
      views.push(bytes.subarray(from, c));
      from = c;
    }
    return views;
  };
  const joined = (views: Uint8Array[]) => Buffer.concat(views.map((v) => Buffer.from(v.buffer, v.byteOffset, v.length)));

  it('gives byte for byte the frames append gives, among other frames, with and without checksum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ header: anyHeader, last: lastVector, split: fc.boolean(), cuts: fc.array(fc.nat(), { maxLength: 4 }) }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (frames, checksum) => {
          const copying = new FrameEncoder({ checksum, initialBytes: 64 });
          const lending = new FrameEncoder({ checksum, initialBytes: 64 });
          for (const f of frames) {
            const envelope: Envelope = { header: f.header, body: f.last.body };
            const length = copying.append(envelope);
            if (!f.split) {
              expect(lending.append(envelope)).toBe(length);
              continue;
            }
            // the stand-in has the right length and other bytes: only its length may reach the frame
            const standIn = new Uint8Array(f.last.bytes.length).fill(0xee);
            const withStandIn = { header: f.header, body: { ...f.last.body, [f.last.field]: standIn } as BodyValue };
            expect(lending.appendSplit(withStandIn, standIn, cutInto(f.last.bytes, f.cuts))).toBe(length);
          }
          expect(lending.pendingBytes).toBe(copying.pendingBytes);
          const out: Uint8Array[] = [];
          expect(lending.takeInto(out)).toBe(copying.pendingBytes);
          expect(joined(out).equals(Buffer.from(copying.take()))).toBe(true);
          expect(lending.pendingBytes).toBe(0);
        },
      ),
      options(),
    );
  });

  it('refuses a stand-in that is not the last thing written, or absent, and a tail of another length, leaving nothing behind', () => {
    const encoder = new FrameEncoder();
    const h = { messageId: 1, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 2 };
    const sha256 = new Uint8Array(32);
    // a FileTransferChunk writes its data after its digest: the digest cannot be lent
    const chunk = { header: h, body: { type: 'FileTransferChunk', transferId: 1, index: 0, offset: 0, sha256, data: new Uint8Array(8) } as BodyValue };
    expect(() => encoder.appendSplit(chunk, sha256, [sha256])).toThrow(/not the last/);
    expect(encoder.pendingBytes).toBe(0);
    const payload = new Uint8Array(10);
    const message = { header: h, body: { type: 'Message', topic: 't', payload } as BodyValue };
    expect(() => encoder.appendSplit(message, payload, [new Uint8Array(9)])).toThrow(RangeError);
    const other = { header: h, body: { type: 'Message', topic: 't', payload: new Uint8Array(10) } as BodyValue };
    expect(() => encoder.appendSplit(other, payload, [payload])).toThrow(/not the last/);
    expect(encoder.pendingBytes).toBe(0);
    expect(encoder.appendSplit(message, payload, [payload])).toBeGreaterThan(10);
  });
});

describe('Message, Request and Response envelopes encoded from the previous one (the template path)', () => {
  // each run encodes up to twelve envelopes twice, some compressed: fewer runs than the cheap properties
  const options = () => ({ numRuns: Math.min(PROPERTY_RUNS, 1000), seed: propertySeed() });
  // few topics and lengths, so that runs of the same shape are common
  const payload = fc.oneof(fc.constantFrom(0, 1, 64, 700).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })));
  const topic = fc.constantFrom('a', 'topic', 'ünïcode', '');
  // Request scalars from few values, absent or present, so that equal and unequal shapes both come up
  const body = fc.oneof(
    fc.record({ type: fc.constant('Message' as const), topic, payload }),
    fc.record(
      {
        type: fc.constant('Request' as const),
        topic,
        payload,
        idempotent: fc.constantFrom(true, false),
        attempt: fc.constantFrom(0, 1, 2),
        timeoutMs: fc.constantFrom(0, 1000, 5000),
      },
      { requiredKeys: ['type', 'topic', 'payload'] },
    ),
    fc.record({ type: fc.constant('Response' as const), payload }),
  );
  const message = fc.record({ header: anyHeader, body });

  it('gives byte for byte what a fresh encoder gives each envelope, with and without checksum or compression', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.constantFrom('none', 'lz4'), (messages, checksum, compression) => {
        const encoder = new FrameEncoder({ checksum, compression: compression as 'none' | 'lz4', compressMinBytes: 512 });
        const expected: Buffer[] = [];
        for (const m of messages) {
          const envelope = { header: m.header, body: m.body } as Envelope;
          encoder.append(envelope);
          expected.push(Buffer.from(encodeMessage(envelope, { checksum, compression: compression as 'none' | 'lz4', compressMinBytes: 512 })));
        }
        expect(Buffer.from(encoder.take()).equals(Buffer.concat(expected))).toBe(true);
      }),
      options(),
    );
  });

  it('checks the header of an envelope it encodes from the template, and keeps nothing of a refused one', () => {
    const encoder = new FrameEncoder();
    const h = { messageId: 1, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 2 };
    const payload = new Uint8Array(64).fill(1);
    encoder.append({ header: h, body: { type: 'Message', topic: 't', payload } });
    const before = encoder.pendingBytes;
    expect(() => encoder.append({ header: { ...h, messageId: 2, priority: 300 }, body: { type: 'Message', topic: 't', payload } })).toThrow(/priority/);
    expect(() => encoder.append({ header: { ...h, messageId: 3, streamId: -1 }, body: { type: 'Message', topic: 't', payload } })).toThrow(/streamId/);
    expect(encoder.pendingBytes).toBe(before);
    encoder.append({ header: { ...h, messageId: 4 }, body: { type: 'Message', topic: 't', payload } });
    const frames = [...new FrameDecoder().push(encoder.take())];
    expect(frames.map((f) => decodeMessage(f).header.messageId)).toEqual([1, 4]);
  });
});

describe('FrameEncoder buffers handed out for writes', () => {
  const envelope = (id: number): Envelope => ({
    header: { messageId: id, correlationId: 0, sender: 1, timestampUs: 0, streamId: 0, priority: 2 },
    body: { type: 'Message', topic: 't', payload: new Uint8Array(100).fill(id) },
  });

  it('continues in a buffer only once it was given back, and frames stay intact', () => {
    const encoder = new FrameEncoder({ initialBytes: 4096 });
    encoder.append(envelope(1));
    const first = encoder.takeForWrite();
    const firstCopy = Buffer.from(first);
    expect(encoder.owns(first)).toBe(true);
    encoder.append(envelope(2));
    const second = encoder.takeForWrite();
    expect(second.buffer).not.toBe(first.buffer); // not given back yet: never written over
    expect(Buffer.from(first).equals(firstCopy)).toBe(true);
    encoder.recycle(first);
    expect(encoder.owns(first)).toBe(false);
    encoder.append(envelope(3)); // into the buffer the last take began
    expect(encoder.takeForWrite().buffer).not.toBe(first.buffer);
    encoder.append(envelope(4)); // into the one given back
    const fourth = encoder.takeForWrite();
    expect(fourth.buffer).toBe(first.buffer);
    const frames = [...new FrameDecoder().push(fourth)];
    expect(frames).toHaveLength(1);
    expect(decodeMessage(frames[0]).header.messageId).toBe(4);
  });

  it('keeps its Message template intact when the buffer it was written in is written again', () => {
    const encoder = new FrameEncoder({ initialBytes: 4096 });
    const message = (id: number): Envelope => ({ ...envelope(id), body: { type: 'Message', topic: 'load', payload: new Uint8Array(64).fill(7) } });
    const request = (id: number): Envelope => ({
      header: envelope(id).header,
      body: { type: 'Request', topic: 'load', payload: new Uint8Array(0), idempotent: false, attempt: 0, timeoutMs: 10_000 },
    });
    encoder.append(message(1)); // the template, in buffer A
    const a = encoder.takeForWrite();
    encoder.append(request(2));
    encoder.recycle(a);
    encoder.takeForWrite(); // the next frames go into A, over the template's bytes
    encoder.append(request(3));
    encoder.append(message(4)); // from the template
    const bytes = encoder.takeForWrite();
    expect(bytes.buffer).toBe(a.buffer);
    const expected = Buffer.concat([encodeMessage(request(3)), encodeMessage(message(4))]);
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
  });

  it('ignores what it did not hand out: views, take() buffers, foreign bytes, a second recycle', () => {
    const encoder = new FrameEncoder({ initialBytes: 4096 });
    encoder.append(envelope(1));
    const taken = encoder.take();
    expect(encoder.owns(taken)).toBe(false);
    encoder.recycle(taken);
    encoder.append(envelope(2));
    const forWrite = encoder.takeForWrite();
    expect(forWrite.buffer).not.toBe(taken.buffer);
    encoder.recycle(forWrite.subarray(1));
    expect(encoder.owns(forWrite)).toBe(true);
    encoder.recycle(new Uint8Array(8192));
    encoder.recycle(forWrite);
    encoder.recycle(forWrite);
    const buffers = [3, 4, 5, 6].map((id) => {
      encoder.append(envelope(id));
      return encoder.takeForWrite().buffer;
    });
    // given back once (twice is ignored), continued in once: by the second take from here
    expect(buffers.filter((b) => b === forWrite.buffer)).toHaveLength(1);
    expect(buffers[1]).toBe(forWrite.buffer);
  });
});

describe('peekChunkPiece: the fields and data position of a Chunk frame, from its first bytes', () => {
  const options = () => ({ numRuns: Math.min(PROPERTY_RUNS, 500), seed: propertySeed() });
  const piece = fc.record({
    header: anyHeader,
    messageId: fc.nat({ max: 2 ** 45 }),
    offset: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 40 })),
    totalBytes: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 40 })),
    data: fc.uint8Array({ maxLength: 2000 }),
    before: fc.nat({ max: 40 }),
    checksum: fc.boolean(),
  });

  it('from any prefix of the frame, anywhere in a buffer: the frame’s own fields and where its data is, or null', () => {
    fc.assert(
      fc.property(piece, ({ header, messageId, offset, totalBytes, data, before, checksum }) => {
        const frame = encodeMessage({ header, body: { type: 'Chunk', messageId, offset, totalBytes, data } } as Envelope, { checksum });
        const bytes = new Uint8Array(before + frame.length).fill(0x5a);
        bytes.set(frame, before);
        const whole = peekChunkPiece(bytes, before, bytes.length);
        if (data.length === 0) expect(whole).toBeNull(); // an empty vector is left out: no data to place
        else {
          expect(whole).toEqual({ messageId, offset, totalBytes, pieceAt: expect.any(Number) });
          expect(Buffer.from(frame.subarray(whole!.pieceAt, whole!.pieceAt + data.length)).equals(data)).toBe(true);
        }
        const step = Math.max(1, frame.length >> 6);
        for (let end = before; end <= bytes.length; end += step) {
          const head = peekChunkPiece(bytes, before, end);
          if (head !== null) expect(head).toEqual(whole);
        }
      }),
      options(),
    );
  });

  it('null for every other body, and never a throw on any bytes', () => {
    fc.assert(
      fc.property(envelopeArbitrary, fc.uint8Array({ maxLength: 300 }), (envelope, junk) => {
        fc.pre(envelope.body?.type !== 'Chunk');
        const frame = encodeMessage(envelope);
        for (let end = 0; end <= frame.length; end += Math.max(1, frame.length >> 5)) expect(peekChunkPiece(frame, 0, end)).toBeNull();
        expect(() => peekChunkPiece(junk, 0, junk.length)).not.toThrow();
      }),
      options(),
    );
  });
});
