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
  sealRun,
  writeFrameHeader,
  writeU32,
  type Frame,
} from '../frame.js';
import { crc32 } from '../crc32.js';
import { readRoot, TABLE_COUNT, writeHeaderStruct, writeRoot } from '../schema/codec.js';
import { Reader, u32, Writer } from './codec-runtime.js';
import { BodyType } from '../schema/layout.js';

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

/** What the head of a Chunk frame says (peekChunkPiece). */
export interface ChunkPieceHead {
  readonly messageId: number;
  readonly offset: number;
  readonly totalBytes: number;
  /** Where the piece's bytes start, counted from the frame's first byte. */
  readonly pieceAt: number;
}

const peekReader = new Reader();

/**
 * Reads the first bytes of a frame, `bytes[start, end)`, as far as a Chunk
 * envelope's fields and the position of its data: null for anything else,
 * and for a head too short or not laid out as expected. Every read is checked
 * against `end`; the data itself is not read (it has not arrived). A hint for
 * placing the frame (ChunkAssembler.place), never a checked envelope: the
 * frame is decoded in full once whole.
 */
export function peekChunkPiece(bytes: Uint8Array, start: number, end: number): ChunkPieceHead | null {
  const r = peekReader;
  const payload = start + FRAME_HEADER_BYTES;
  if (end - payload < 16) return null;
  try {
    r.reset(bytes, payload, end);
    const root = r.off(payload);
    const vt = r.table(root, 1, 'Envelope');
    let o = r.field(vt, r.vs, r.ts, 6, 1, 'Envelope.bodyType');
    if (o === 0 || bytes[root + o] !== BodyType.Chunk) return null;
    o = r.field(vt, r.vs, r.ts, 8, 4, 'Envelope.body');
    if (o === 0) return null;
    const body = r.off(root + o);
    const cvt = r.table(body, 2, 'Chunk');
    const vs = r.vs;
    const ts = r.ts;
    o = r.field(cvt, vs, ts, 4, 8, 'Chunk.messageId');
    const messageId = o === 0 ? 0 : r.u64(body + o, 'Chunk.messageId');
    o = r.field(cvt, vs, ts, 6, 8, 'Chunk.offset');
    const offset = o === 0 ? 0 : r.u64(body + o, 'Chunk.offset');
    o = r.field(cvt, vs, ts, 8, 8, 'Chunk.totalBytes');
    const totalBytes = o === 0 ? 0 : r.u64(body + o, 'Chunk.totalBytes');
    o = r.field(cvt, vs, ts, 10, 4, 'Chunk.data');
    if (o === 0) return null;
    const vector = body + o + u32(bytes, body + o); // its length and bytes may not have arrived yet
    return { messageId, offset, totalBytes, pieceAt: vector + 4 - start };
  } catch {
    return null; // not a head this reads: the frame is assembled the usual way and checked when whole
  }
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
  /**
   * With checksums on, frames appended one after another share one CRC
   * trailer (a checksum run, frame.ts) of up to about this many bytes: the
   * receiver checks a write's frames with one call instead of one each.
   * Only for a peer that announced FEATURE_CHECKSUM_RUNS. Default 0: every
   * frame has its own trailer.
   */
  checksumRunBytes?: number;
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
  /** Views already final, ahead of the buffer's bytes from `segmentStart` (see appendSplit). */
  private segments: Uint8Array[] = [];
  private segmentStart = 0;
  /** Bytes of the views in `segments` that are not in the buffer. */
  private lentBytes = 0;
  /** The last Message, Request and Response envelopes encoded (see appendFromTemplate), by templateKind(). */
  private readonly templates: (EnvelopeTemplate | null)[] = [null, null, null];
  /** Buffers takeForWrite() handed out, until given back (recycle). */
  private readonly handedOut = new Set<ArrayBufferLike>();
  /** Buffers given back: the next takes continue in them. */
  private readonly spare: Uint8Array[] = [];
  /** Checksum runs (see checksumRunBytes); 0: off. */
  private runLimit = 0;
  /** Where the open run's first frame starts in the buffer; -1: no run open. */
  private runStart = -1;
  /**
   * Where the last frame appended starts (-1: none, or not in the buffer),
   * where its run starts, and where the frame before it in that run starts
   * (-1: it began its run, or runs are off). Its run may be sealed already.
   */
  private lastStart = -1;
  private lastRunStart = -1;
  private previousStart = -1;

  constructor(options: FrameEncoderOptions = {}) {
    this.compression = CompressionId[options.compression ?? 'none'];
    this.compressMinBytes = options.compressMinBytes ?? DEFAULT_COMPRESS_MIN_BYTES;
    this.zstdLevel = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
    this.checksum = options.checksum ?? true;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.initialBytes = options.initialBytes ?? 64 * 1024;
    this.checksumRuns(options.checksumRunBytes ?? 0);
    this.writer = new Writer(TABLE_COUNT, this.initialBytes);
  }

  /**
   * Turns checksum runs on (a positive length, see checksumRunBytes) or off
   * (0) for the frames appended from now on. Without checksums there is
   * nothing to share, and runs stay off.
   */
  checksumRuns(bytes: number): void {
    if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`checksumRunBytes must be a non-negative integer, got ${bytes}`);
    this.sealOpenRun();
    this.runLimit = this.checksum ? bytes : 0;
  }

  /** Frames waiting in the current buffer. */
  get pendingFrames(): number {
    return this.frames;
  }

  /** Bytes waiting: the current buffer's, those of the views appended by reference, and the open run's trailer. */
  get pendingBytes(): number {
    return this.writer.pos + this.lentBytes + (this.runStart >= 0 ? FRAME_TRAILER_BYTES : 0);
  }

  /**
   * Appends one envelope as one frame. Returns the bytes it added to
   * pendingBytes: the frame's length, less the trailer when it joins an open
   * checksum run (the run shares one).
   */
  append(envelope: Envelope): number {
    const id = envelope.header.messageId;
    checkMessageId(id);
    const body = envelope.body;
    const kind = templateKind(body.type);
    if (kind >= 0) {
      const t = this.templates[kind];
      const payload = (body as { payload?: unknown }).payload;
      if (t !== null && payload instanceof Uint8Array && payload.length === t.payloadLength && t.uncompressed && sameShape(body, t)) {
        return this.appendFromTemplate(envelope.header, payload, t);
      }
    }
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
      if (kind >= 0 && compression === CompressionId.none) this.keepTemplate(kind, body, start + FRAME_HEADER_BYTES, payloadBytes);
      return this.finishFrame(start, id, payloadBytes, length, compression);
    } catch (error) {
      sink.rewind(start); // nothing of a failed frame stays
      throw error;
    }
  }

  /**
   * Appends one uncompressed frame whose envelope ends with a byte vector
   * sent by reference: `envelope` holds `standIn` in that field (any array
   * of the right length, never read), and `tail`, of the same total length,
   * holds the bytes that go out in its place. Nothing of `tail` is copied:
   * the frame leaves as its head, the tail views and its trailer, and the
   * CRC runs over them in that order. The caller must not change the tail
   * bytes until they are written. Returns the frame's length.
   */
  appendSplit(envelope: Envelope, standIn: Uint8Array, tail: readonly Uint8Array[]): number {
    const id = envelope.header.messageId;
    checkMessageId(id);
    this.sealOpenRun(); // the bytes before the head become a segment: final
    let tailBytes = 0;
    for (let i = 0; i < tail.length; i++) tailBytes += tail[i].length;
    if (tailBytes !== standIn.length) throw new RangeError(`tail of ${tailBytes} bytes for a stand-in of ${standIn.length}`);
    const sink = this.writer;
    const start = sink.pos;
    sink.ensure(FRAME_HEADER_BYTES);
    sink.pos += FRAME_HEADER_BYTES;
    sink.standIn = standIn;
    sink.standInAt = -1;
    try {
      const headBytes = writeRoot(sink, envelope);
      if (sink.standInAt !== sink.pos) throw new RangeError('the stand-in is not the last thing the envelope writes');
      const payloadBytes = headBytes + tailBytes;
      const length = FRAME_HEADER_BYTES + payloadBytes + (this.checksum ? FRAME_TRAILER_BYTES : 0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      writeFrameHeader(sink.buf, start, id, payloadBytes, this.checksum);
      const headEnd = sink.pos;
      let crc = this.checksum ? crc32(sink.buf, start, headEnd) : 0;
      this.segments.push(sink.buf.subarray(this.segmentStart, headEnd));
      for (let i = 0; i < tail.length; i++) {
        if (this.checksum) crc = crc32(tail[i], 0, tail[i].length, crc);
        this.segments.push(tail[i]);
      }
      this.segmentStart = headEnd;
      this.lentBytes += tailBytes;
      if (this.checksum) {
        sink.ensure(FRAME_TRAILER_BYTES);
        writeU32(sink.buf, sink.pos, crc);
        sink.pos += FRAME_TRAILER_BYTES;
      }
      this.frames++;
      this.lastStart = -1; // not one range of the buffer: takeSplitLast does not apply
      this.previousStart = -1;
      return length;
    } catch (error) {
      sink.rewind(start);
      throw error;
    } finally {
      sink.standIn = null;
    }
  }

  /**
   * An envelope of the template's shape (sameShape) and payload length: the
   * template's head with this header written over it, then the payload.
   */
  private appendFromTemplate(header: Header, payload: Uint8Array, t: EnvelopeTemplate): number {
    const head = t.head;
    const payloadBytes = head.length + payload.length;
    const length = FRAME_HEADER_BYTES + payloadBytes + (this.checksum ? FRAME_TRAILER_BYTES : 0);
    if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
    const sink = this.writer;
    const start = sink.pos;
    sink.ensure(length);
    const b = sink.buf;
    const at = start + FRAME_HEADER_BYTES;
    b.set(head, at);
    writeHeaderStruct(sink, at + t.headerAt, header); // checks every field; nothing is kept if it throws
    b.set(payload, at + head.length);
    return this.finishFrame(start, header.messageId, payloadBytes, length, CompressionId.none);
  }

  /**
   * Completes the frame whose payload is in place after its header slot at
   * `start`: its own trailer, or a place in the open checksum run. The room
   * for a trailer is reserved either way (a run's last frame takes it).
   * Returns what pendingBytes grew by.
   */
  private finishFrame(start: number, id: number, payloadBytes: number, length: number, compression: CompressionIdValue): number {
    const sink = this.writer;
    if (this.checksum) sink.ensure(FRAME_TRAILER_BYTES);
    this.frames++;
    if (this.runLimit === 0) {
      sealFrame(sink.buf, start, id, payloadBytes, this.checksum, compression);
      sink.pos = start + length;
      this.lastStart = start;
      this.previousStart = -1;
      return length;
    }
    writeFrameHeader(sink.buf, start, id, payloadBytes, false, compression, true);
    sink.pos = start + FRAME_HEADER_BYTES + payloadBytes;
    const joins = this.runStart >= 0;
    if (!joins) this.runStart = start;
    this.previousStart = joins ? this.lastStart : -1;
    this.lastStart = start;
    this.lastRunStart = this.runStart;
    if (sink.pos - this.runStart >= this.runLimit) this.sealOpenRun();
    return joins ? length - FRAME_TRAILER_BYTES : length;
  }

  /** Ends the open checksum run, if any: its last frame takes the trailer. */
  private sealOpenRun(): void {
    if (this.runStart < 0) return;
    const sink = this.writer;
    sink.ensure(FRAME_TRAILER_BYTES);
    sealRun(sink.buf, this.runStart, this.lastStart, sink.pos);
    sink.pos += FRAME_TRAILER_BYTES;
    this.runStart = -1;
  }

  /**
   * Keeps the envelope of `body` just written at `bytes[at, at + n)` as the
   * template of its kind for the next ones. Its payload is the last thing in
   * it (the codec writes a body's strings, then its payload): the head is
   * what precedes the payload's bytes.
   */
  private keepTemplate(kind: number, body: BodyValue, at: number, n: number): void {
    const payload = (body as { payload?: unknown }).payload;
    if (!(payload instanceof Uint8Array)) return;
    const t = this.templates[kind];
    if (t !== null && t.payloadLength === payload.length && sameShape(body, t)) return;
    const b = this.writer.buf;
    const end = at + n;
    const headEnd = end - payload.length;
    // the payload last, after its length (an empty one is left out, and the head is the whole envelope); else no template
    if (payload.length > 0 && readU32LE(b, headEnd - 4) !== payload.length) return;
    const root = at + readU32LE(b, at);
    const vtable = root - (readU32LE(b, root) | 0);
    const headerAt = root + (b[vtable + 4] | (b[vtable + 5] << 8)) - at;
    const fields = body as { topic?: string; idempotent?: boolean; attempt?: number; timeoutMs?: number };
    this.templates[kind] = {
      type: body.type,
      topic: fields.topic ?? '',
      idempotent: fields.idempotent === true,
      attempt: fields.attempt ?? 0,
      timeoutMs: fields.timeoutMs ?? 0,
      payloadLength: payload.length,
      head: new Uint8Array(b.subarray(at, headEnd)), // a copy: the encoder's buffers are written again
      headerAt,
      uncompressed: this.compression === CompressionId.none || n < this.compressMinBytes,
    };
  }

  /**
   * take(), as two parts: the frames before the last one appended, and that
   * last frame on its own (each part whole frames, checksum runs sealed). A
   * caller uses it to send the last frame another way (it was too long for
   * where the others go). Throws when the last thing appended was split
   * (appendSplit) or nothing was appended.
   */
  takeSplitLast(): [before: Uint8Array, last: Uint8Array] {
    let at = this.lastStart;
    if (at < 0 || this.segments.length > 0) throw new RangeError('takeSplitLast: the last frame is not in the buffer');
    if (this.previousStart >= 0) {
      // The last frame shares a run with frames before it: that run now ends
      // with the frame before the last, whose trailer goes where the last
      // frame began; the last frame moves on by a trailer's length.
      const sink = this.writer;
      const end = sink.pos;
      sink.ensure(FRAME_TRAILER_BYTES);
      const b = sink.buf;
      b.copyWithin(at + FRAME_TRAILER_BYTES, at, end);
      sealRun(b, this.lastRunStart, this.previousStart, at);
      at += FRAME_TRAILER_BYTES;
      sink.pos = end + FRAME_TRAILER_BYTES;
      this.lastStart = at;
      if (this.runStart >= 0) this.runStart = at; // still open: a run of the last frame alone, sealed by the take
      else writeU32(b, sink.pos - FRAME_TRAILER_BYTES, crc32(b, at, sink.pos - FRAME_TRAILER_BYTES)); // sealed: its trailer now covers it alone
    }
    const all = this.takeBuffer();
    return [all.subarray(0, at), all.subarray(at)];
  }

  /** The frames appended since the last take, as one buffer now owned by the caller. */
  take(): Uint8Array {
    return this.segments.length > 0 ? concat(this.takeSegments()) : this.takeBuffer();
  }

  /**
   * take(), for bytes that go to one socket write as they are: once the
   * socket is done with them, recycle() gives the buffer back and a later
   * take continues in it. A busy connection otherwise allocates a new buffer
   * per write, hundreds of megabytes a second of memory for the collector.
   */
  takeForWrite(): Uint8Array {
    if (this.segments.length > 0) return this.take();
    const out = this.takeBuffer();
    if (out.byteOffset === 0 && this.handedOut.size < MAX_HANDED_OUT) this.handedOut.add(out.buffer);
    return out;
  }

  /** True for bytes takeForWrite() handed out and not yet given back. */
  owns(bytes: Uint8Array): boolean {
    return bytes.byteOffset === 0 && this.handedOut.has(bytes.buffer);
  }

  /** Gives back bytes from takeForWrite() that nothing reads any more (the socket wrote them). */
  recycle(bytes: Uint8Array): void {
    if (bytes.byteOffset !== 0 || !this.handedOut.delete(bytes.buffer)) return;
    // a Buffer, as the writer's own buffers are: one kind of array on the hot path
    if (this.spare.length < MAX_SPARE) this.spare.push(Buffer.from(bytes.buffer as ArrayBuffer));
  }

  /**
   * Pushes the frames appended since the last take onto `out`, as the views
   * to write in order (several when appendSplit lent bytes), and returns
   * their length.
   */
  takeInto(out: Uint8Array[]): number {
    const bytes = this.pendingBytes;
    if (this.segments.length === 0) out.push(this.takeBuffer());
    else for (const view of this.takeSegments()) out.push(view);
    return bytes;
  }

  private takeSegments(): Uint8Array[] {
    const views = this.segments;
    const rest = this.takeBuffer();
    if (rest.length > this.segmentStart) views.push(rest.subarray(this.segmentStart));
    this.segments = [];
    this.segmentStart = 0;
    this.lentBytes = 0;
    return views;
  }

  /** The buffer as written, handed over; writing continues in a new one. */
  private takeBuffer(): Uint8Array {
    this.sealOpenRun();
    this.lastStart = -1;
    this.previousStart = -1;
    const used = this.writer.pos;
    this.frames = 0;
    return this.writer.take(Math.max(this.initialBytes, nextPowerOfTwo(used)), this.spare.pop() ?? null);
  }
}

function concat(views: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const v of views) n += v.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const v of views) {
    out.set(v, at);
    at += v.length;
  }
  return out;
}

/**
 * The last Message, Request or Response envelope an encoder wrote, kept to
 * encode the next one of the same shape (sameShape: the same type, topic and
 * scalar fields) and payload length: such an envelope has the same bytes but
 * for its Header struct and its payload (same tables, vtables, offsets,
 * topic and scalars), so it is the head copied, the header written over, and
 * the payload appended. Requests and responses are what request/response
 * traffic is made of, so each kind has its own.
 */
interface EnvelopeTemplate {
  readonly type: string;
  readonly topic: string;
  /** Request scalars as the codec writes them (false / 0 for the other kinds). */
  readonly idempotent: boolean;
  readonly attempt: number;
  readonly timeoutMs: number;
  readonly payloadLength: number;
  /** The envelope's bytes up to its payload's first byte (all of them for an empty payload, which is left out). */
  readonly head: Uint8Array;
  /** Where the Header struct starts in `head`. */
  readonly headerAt: number;
  /** Envelopes of this length are sent uncompressed by this encoder. */
  readonly uncompressed: boolean;
}

/** The template slot of a body type; -1 for types encoded in full every time. */
function templateKind(type: string): number {
  return type === 'Message' ? 0 : type === 'Request' ? 1 : type === 'Response' ? 2 : -1;
}

/**
 * True when `body` encodes to the template's bytes but for its payload:
 * the template's own type, and the same topic and Request scalars as the
 * codec writes them (a value equal to the template's was checked when the
 * template was written).
 */
function sameShape(body: BodyValue, t: EnvelopeTemplate): boolean {
  if (body.type !== t.type) return false;
  if (body.type === 'Response') return true;
  if ((body as { topic?: unknown }).topic !== t.topic) return false;
  if (body.type === 'Message') return true;
  const r = body as { idempotent?: boolean; attempt?: number; timeoutMs?: number };
  return !!r.idempotent === t.idempotent && (r.attempt ?? 0) === t.attempt && (r.timeoutMs ?? 0) === t.timeoutMs;
}

/** Buffers a FrameEncoder keeps for reuse, and hands out for writes at most. */
const MAX_SPARE = 2;
const MAX_HANDED_OUT = 64;

function readU32LE(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
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
