// Envelopes: every message on the wire is one FlatBuffers Envelope (a Header
// struct and a Body union) inside one frame.
//
//   encodeEnvelope / readEnvelope    plain objects <-> envelope bytes
//   verifyEnvelope / envelopeView    check, then read in place with the
//                                    flatc-generated accessors
//   FrameEncoder                     envelopes -> frames, gathered into one
//                                    buffer for a single socket write
//   decodeMessage                    a decoded frame -> a trusted envelope
import * as flatbuffers from 'flatbuffers';
import { MalformedEnvelopeError, FrameTooLargeError } from '../errors.js';
import { Envelope as EnvelopeAccessor } from '../schema/generated/clusterwire/wire/envelope.js';
import { ROOT_TABLE, type BodyName, type BodyValue, type Header } from '../schema/layout.js';
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
import { TableWalker } from './reader.js';
import { ByteSink, writeRoot } from './writer.js';

export type { BodyName, BodyValue, Header } from '../schema/layout.js';
export { BodyType } from '../schema/layout.js';
export { ByteSink } from './writer.js';

/** A whole message: the fixed header and one body. */
export interface Envelope<B extends BodyValue = BodyValue> {
  header: Header;
  body: B;
}

/** The body of a given type, e.g. `BodyOf<'Request'>`. */
export type BodyOf<N extends BodyName> = Extract<BodyValue, { type: N }>;

const walker = new TableWalker();

/** Encodes an envelope into a new buffer (no frame around it). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const sink = new ByteSink(256);
  const n = writeRoot(sink, ROOT_TABLE, envelope as unknown as Record<string, unknown>);
  return sink.buf.subarray(0, n);
}

/**
 * Checks every offset and length of a received envelope and returns it as
 * plain objects. Byte vectors are views into `bytes`: copy what outlives it.
 */
export function readEnvelope(bytes: Uint8Array): Envelope {
  const out = walker.read(bytes, ROOT_TABLE) as unknown as { header: Header | null; body: BodyValue | null };
  if (out.header === null) throw new MalformedEnvelopeError('no header');
  if (out.body === null) throw new MalformedEnvelopeError('no body');
  return out as Envelope;
}

/** Checks a received envelope without reading it into objects. */
export function verifyEnvelope(bytes: Uint8Array): void {
  walker.verify(bytes, ROOT_TABLE);
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
  const envelope = readEnvelope(frame.payload);
  if (envelope.header.messageId !== frame.messageId) {
    throw new MalformedEnvelopeError(`envelope message id ${envelope.header.messageId} differs from the frame's ${frame.messageId}`);
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
  private sink: ByteSink;
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
    this.sink = new ByteSink(this.initialBytes);
  }

  /** Frames waiting in the current buffer. */
  get pendingFrames(): number {
    return this.frames;
  }

  /** Bytes waiting in the current buffer. */
  get pendingBytes(): number {
    return this.sink.pos;
  }

  /** Appends one envelope as one frame. Returns the frame's length. */
  append(envelope: Envelope): number {
    const id = envelope.header.messageId;
    checkMessageId(id);
    const sink = this.sink;
    const start = sink.pos;
    sink.ensure(FRAME_HEADER_BYTES);
    sink.pos += FRAME_HEADER_BYTES;
    try {
      let payloadBytes = writeRoot(sink, ROOT_TABLE, envelope as unknown as Record<string, unknown>);
      let compression: CompressionIdValue = CompressionId.none;
      if (this.compression !== CompressionId.none && payloadBytes >= this.compressMinBytes) {
        const payloadStart = start + FRAME_HEADER_BYTES;
        const packed = compressPayload(this.compression, sink.buf.subarray(payloadStart, payloadStart + payloadBytes), this.zstdLevel);
        if (packed !== null) {
          sink.buf.set(packed, payloadStart);
          sink.pos = payloadStart + packed.length;
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
      sink.pos = start; // nothing of a failed frame stays
      throw error;
    }
  }

  /** The frames appended since the last take, as one buffer now owned by the caller. */
  take(): Uint8Array {
    const out = this.sink.buf.subarray(0, this.sink.pos);
    const used = this.sink.pos;
    this.sink = new ByteSink(Math.max(this.initialBytes, nextPowerOfTwo(used)));
    this.frames = 0;
    return out;
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
