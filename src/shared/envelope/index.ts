// Envelopes: every message on the wire is one FlatBuffers Envelope (a Header
// struct and a Body union) inside one frame.
//
//   encodeEnvelope / readEnvelope    plain objects <-> envelope bytes
//   verifyEnvelope / envelopeView    check, then read in place with the
//                                    flatc-generated accessors
//   FrameEncoder                     envelopes -> frames, gathered into one
//                                    buffer for a single socket write
//   decodeMessage / decodePayload    a decoded frame (or its payload range
//                                    in the receive buffer) -> a trusted envelope
import * as flatbuffers from 'flatbuffers';
import { MalformedEnvelopeError, FrameTooLargeError } from '../errors.js';
import { Envelope as EnvelopeAccessor } from '../schema/generated/clusterwire/wire/envelope.js';
import type { BodyName, BodyValue, Envelope as EnvelopeTable, Header } from '../schema/layout.js';
import {
  CompressionId,
  compressPayload,
  DEFAULT_ZSTD_LEVEL,
  type CompressionIdValue,
  type CompressionName,
} from '../compression.js';
import {
  checkMessageId,
  DEFAULT_COMPRESS_MIN_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_TRAILER_BYTES,
  sealFrame,
  type Frame,
} from '../frame.js';
import { readRoot, TABLE_COUNT, writeRoot } from '../schema/codec.js';
import { Reader, Writer } from './codec-runtime.js';

export type { BodyName, BodyValue, Header } from '../schema/layout.js';
export { BodyType } from '../schema/layout.js';

/** A whole message: the fixed header and one body. */
export interface Envelope<B extends BodyValue = BodyValue> {
  header: Header;
  body: B;
}

/** The body of a given type, e.g. `BodyOf<'Request'>`. */
export type BodyOf<N extends BodyName> = Extract<BodyValue, { type: N }>;

const reader = new Reader();

/** Encodes an envelope into a new buffer (no frame around it). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const writer = new Writer(TABLE_COUNT, 256);
  const n = writeRoot(writer, envelope);
  return writer.buf.subarray(0, n);
}

/**
 * Checks every offset and length of a received envelope and returns it as
 * plain objects: the one step between received bytes and trusted values.
 * Byte vectors are views into `bytes`: copy what outlives it. With `start`
 * and `end`, the envelope is `bytes[start, end)`, read in place.
 */
export function readEnvelope(bytes: Uint8Array, start = 0, end = bytes.length): Envelope {
  const out: EnvelopeTable = readRoot(reader, bytes, start, end);
  if (out.header === null) throw new MalformedEnvelopeError('no header');
  if (out.body === null) throw new MalformedEnvelopeError('no body');
  return out as Envelope;
}

/** Checks a received envelope (the same walk as readEnvelope). */
export function verifyEnvelope(bytes: Uint8Array): void {
  readEnvelope(bytes);
}

/**
 * A verified envelope, read in place through the flatc-generated accessors
 * (zero-copy; 64-bit fields come back as bigint there).
 */
export function envelopeView(bytes: Uint8Array): EnvelopeAccessor {
  verifyEnvelope(bytes);
  return EnvelopeAccessor.getRootAsEnvelope(new flatbuffers.ByteBuffer(bytes));
}

/** Reads the envelope of a decoded frame; its message id must match the frame's. */
export function decodeMessage(frame: Frame): Envelope {
  return decodePayload(frame.payload, 0, frame.payload.length, frame.messageId);
}

/**
 * Reads the envelope that is the payload `bytes[start, end)` of the frame
 * with id `messageId` (what FrameDecoder.eachPayload hands over); the ids
 * must match.
 */
export function decodePayload(bytes: Uint8Array, start: number, end: number, messageId: number): Envelope {
  const envelope = readEnvelope(bytes, start, end);
  if (envelope.header.messageId !== messageId) {
    throw new MalformedEnvelopeError(`envelope message id ${envelope.header.messageId} differs from the frame's ${messageId}`);
  }
  return envelope;
}

export interface FrameEncoderOptions {
  /** Default 'none'. Applied per frame, only when it shrinks the payload. */
  compression?: CompressionName;
  /** Default 512. */
  compressMinBytes?: number;
  /** Default 1. */
  zstdLevel?: number;
  /** Default true. */
  checksum?: boolean;
  /** Default 16 MiB. */
  maxFrameBytes?: number;
  /** First buffer size; later buffers follow what was used. Default 64 KiB. */
  initialBytes?: number;
}

/**
 * Encodes envelopes as frames into one buffer, so that a burst of messages
 * leaves in one socket write. `take()` hands the bytes over and starts a new
 * buffer: bytes given to a socket are never written again.
 */
export class FrameEncoder {
  private readonly writer: Writer;
  private readonly compression: CompressionIdValue;
  private readonly compressMinBytes: number;
  private readonly zstdLevel: number;
  private readonly checksum: boolean;
  private readonly maxFrameBytes: number;
  private readonly initialBytes: number;
  private frames = 0;

  constructor(options: FrameEncoderOptions = {}) {
    this.compression = CompressionId[options.compression ?? 'none'];
    this.compressMinBytes = options.compressMinBytes ?? DEFAULT_COMPRESS_MIN_BYTES;
    this.zstdLevel = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
    this.checksum = options.checksum ?? true;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.initialBytes = options.initialBytes ?? 64 * 1024;
    this.writer = new Writer(TABLE_COUNT, this.initialBytes);
  }

  /** Frames waiting in the current buffer. */
  get pendingFrames(): number {
    return this.frames;
  }

  /** Bytes waiting in the current buffer. */
  get pendingBytes(): number {
    return this.writer.pos;
  }

  /** Appends one envelope as one frame. Returns the frame's length. */
  append(envelope: Envelope): number {
    const id = envelope.header.messageId;
    checkMessageId(id);
    const sink = this.writer;
    const start = sink.pos;
    sink.ensure(FRAME_HEADER_BYTES);
    sink.pos += FRAME_HEADER_BYTES;
    try {
      let payloadBytes = writeRoot(sink, envelope);
      let compression: CompressionIdValue = CompressionId.none;
      if (this.compression !== CompressionId.none && payloadBytes >= this.compressMinBytes) {
        const payloadStart = start + FRAME_HEADER_BYTES;
        const packed = compressPayload(this.compression, sink.buf.subarray(payloadStart, payloadStart + payloadBytes), this.zstdLevel);
        if (packed !== null) {
          sink.buf.set(packed, payloadStart);
          sink.rewind(payloadStart + packed.length);
          payloadBytes = packed.length;
          compression = this.compression;
        }
      }
      const length = FRAME_HEADER_BYTES + payloadBytes + (this.checksum ? FRAME_TRAILER_BYTES : 0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      if (this.checksum) sink.ensure(FRAME_TRAILER_BYTES);
      sealFrame(sink.buf, start, id, payloadBytes, this.checksum, compression);
      sink.pos = start + length;
      this.frames++;
      return length;
    } catch (error) {
      sink.rewind(start); // nothing of a failed frame stays
      throw error;
    }
  }

  /** The frames appended since the last take, as one buffer now owned by the caller. */
  take(): Uint8Array {
    const used = this.writer.pos;
    this.frames = 0;
    return this.writer.take(Math.max(this.initialBytes, nextPowerOfTwo(used)));
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Encodes one envelope as one frame in its own buffer. */
export function encodeMessage(envelope: Envelope, options: FrameEncoderOptions = {}): Uint8Array {
  const encoder = new FrameEncoder({ ...options, initialBytes: options.initialBytes ?? 256 });
  encoder.append(envelope);
  return encoder.take();
}
