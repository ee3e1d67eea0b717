// The sending half of a connection, without the socket: envelopes in, the
// buffers to write out, in the order they must leave. The connection asks
// for them at the end of each turn and whenever the socket has taken what it
// was given.
//
// Three ways out, decided once per envelope:
//
//   direct     nothing is scheduled, the socket holds less than a chunk, and
//              the envelope is small: it is framed straight into the direct
//              FrameEncoder (the hot path, as cheap as a plain gathered
//              write). The gathered frames leave at the end of the turn, or
//              as soon as they reach DIRECT_WRITE_CHUNKS chunks.
//   block      otherwise a small envelope is framed into the encoder of its
//              priority class; that class's frames are handed to the
//              SendScheduler as one pre-framed block of at most chunkBytes
//              when the block is 7/8 of a chunk long, before a large envelope
//              of the same class, and at the end of the turn. Critical
//              blocks skip the scheduler at the end of the turn when no
//              Critical item waits there, and are written first.
//   chunked    an envelope longer than chunkBytes (known from its payload or
//              data length, within FRAME_MARGIN_BYTES of chunkBytes, before
//              encoding, or from its frame afterwards) is
//              encoded to its own bytes and handed to the scheduler, which
//              cuts it into pieces; each piece leaves as a Chunk envelope in
//              a frame of its own (header and CRC each). A sender that lends
//              its payload (add(..., lend = true): it will not change those
//              bytes) has it queued by reference, as a SplitEnvelope, not
//              copied into the encoded envelope.
//
// With a peer that accepts checksum runs (useChecksumRuns), the direct and
// block encoders let the frames they gather share one CRC trailer per run
// (FrameEncoder's checksumRunBytes); every buffer they hand out ends with its
// runs sealed, so a block or a write is whole frames. Pieces keep a trailer
// each: they are long enough for one native CRC call to pay.
//
// Pieces are framed without copying their bytes (FrameEncoder.appendSplit):
// a piece leaves as its Chunk frame's head, views of the envelope bytes it
// carries, and its trailer, in one gathered write; with compression on, the
// piece's bytes are copied into the frame to be compressed.
//
// A large envelope that is not lent is encoded into a buffer of its own, and
// that buffer comes back for the next one: once pull() has cut its last
// piece, takeRetired() hands it to the connection, which gives it back
// (giveBack) when the socket has written that piece. A fresh megabyte per
// message costs the sender page faults and collector work; a few spare
// buffers (MAX_SPARE_BUFFERS, MAX_SPARE_BYTES) avoid them.
//
// The scheduler's items are therefore pre-framed blocks (written as they
// are) or envelope bytes (wrapped in Chunk envelopes). An envelope whose frame
// is longer than chunkBytes while the envelope itself is not cannot be
// chunked by the scheduler; it is remembered in `#bare` and leaves as one
// Chunk envelope carrying all of it.
//
// Order: frames of one priority class leave in the order they were added;
// across classes the scheduler's strict priority (with its starvation guard)
// decides, and direct frames, which exist only while nothing is scheduled,
// leave before anything scheduled after them.
import { encodeEnvelope, FrameEncoder, type Envelope, type FrameEncoderOptions } from '../../shared/envelope/index.js';
import { InvalidMessageError, MessageTooLargeError } from '../../shared/errors.js';
import { FLAG_COMPRESSION_MASK, FRAME_HEADER_BYTES, FRAME_TRAILER_BYTES } from '../../shared/frame.js';
import type { CompressionName } from '../../shared/compression.js';
import { Writer } from '../../shared/envelope/codec-runtime.js';
import { TABLE_COUNT, writeRoot } from '../../shared/schema/codec.js';
import type { Chunk, Header } from '../../shared/schema/layout.js';
import { PieceKind, resolveSendSchedulerOptions, SendScheduler } from './send-scheduler.js';
import { SplitEnvelope, type QueuedBytes } from './send-batch.js';
import { SpareBuffers } from '../../shared/bytes.js';

export interface OutboundOptions {
  readonly chunkBytes: number;
  readonly checksum: boolean;
  readonly compression: CompressionName;
  readonly compressMinBytes: number;
  readonly maxFrameBytes: number;
  /** Scheduler's high-water mark and hard limit (see send-scheduler.ts). */
  readonly highWaterMarkBytes: number;
  readonly maxQueuedBytes: number;
  /** Longest envelope accepted for sending. */
  readonly maxMessageBytes: number;
  /** The header's sender on Chunk envelopes. */
  readonly sender: number;
}

const CRITICAL = 0;
/**
 * Direct frames leave at the latest when they reach this many chunks: a write
 * that long costs one syscall for thousands of small frames (much shorter
 * writes cost measurably more CPU per message on loopback), and a socket that
 * takes it at once is still "not backed up" for the next envelope.
 */
const DIRECT_WRITE_CHUNKS = 8;
const CLASSES = 4;
/** Frames are never refused by the block encoders: long ones are turned into chunked envelopes. */
const ANY_FRAME_BYTES = 0xffff_ffff;

export class Outbound {
  readonly scheduler: SendScheduler;
  readonly #chunkBytes: number;
  /** Envelopes carrying more bytes than this are encoded on their own and chunked (their frame would not fit a chunk). */
  readonly #largeBulkBytes: number;
  readonly #blockCutBytes: number;
  readonly #directWriteBytes: number;
  readonly #maxMessageBytes: number;
  readonly #checksum: boolean;
  #encoderOptions: FrameEncoderOptions;
  /** Chunk envelopes must fit the frames the peer accepts. */
  readonly #pieceOptions: FrameEncoderOptions;
  #direct: FrameEncoder;
  readonly #blocks: (FrameEncoder | null)[] = new Array<FrameEncoder | null>(CLASSES).fill(null);
  /** Bytes framed into the block encoders, not yet handed to the scheduler. */
  #blockBytes = 0;
  #pieces: FrameEncoder | null = null;
  /** Envelopes queued to be chunked whose last piece has not been pulled. */
  #chunkedItems = 0;
  /** Scheduled envelopes that are not pre-framed and too short to be chunked: their message ids. */
  readonly #bare = new Map<Uint8Array, number>();
  /** The Chunk envelope written for each piece, reused. */
  readonly #chunkHeader: Header;
  readonly #chunkBody: { type: 'Chunk' } & Chunk = { type: 'Chunk', messageId: 0, offset: 0, totalBytes: 0, data: new Uint8Array(0) };
  readonly #chunkEnvelope: Envelope;
  /** Pieces are framed by reference (uncompressed frames): FrameEncoder.appendSplit. */
  readonly #splitPieces: boolean;
  #standInBytes: Uint8Array = EMPTY;
  readonly #slices: Uint8Array[] = [];
  /** Encodes large envelopes that are not lent, each into a buffer of its own. */
  #largeWriter: Writer | null = null;
  /** Buffers of large envelopes queued here, until their last piece is cut. */
  readonly #ownBuffers = new Set<ArrayBufferLike>();
  /** Buffers whose last piece pull() cut, for takeRetired(). */
  #retired: ArrayBufferLike[] = [];
  /** Buffers whose pieces the socket has written, for the next large envelopes. */
  readonly #spare = new SpareBuffers(MAX_SPARE_BUFFERS, MAX_SPARE_BYTES);

  constructor(options: OutboundOptions) {
    this.#chunkBytes = options.chunkBytes;
    this.#largeBulkBytes = options.chunkBytes - Math.min(FRAME_MARGIN_BYTES, options.chunkBytes >>> 2);
    this.#blockCutBytes = options.chunkBytes - (options.chunkBytes >>> 3);
    this.#directWriteBytes = DIRECT_WRITE_CHUNKS * options.chunkBytes;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#checksum = options.checksum;
    this.#encoderOptions = {
      checksum: options.checksum,
      compression: options.compression,
      compressMinBytes: options.compressMinBytes,
      maxFrameBytes: ANY_FRAME_BYTES,
      initialBytes: 16 * 1024,
    };
    this.#direct = new FrameEncoder(this.#encoderOptions);
    this.#chunkHeader = { messageId: 0, correlationId: 0, sender: options.sender, timestampUs: 0, streamId: 0, priority: 0 };
    this.#chunkEnvelope = { header: this.#chunkHeader, body: this.#chunkBody };
    this.scheduler = new SendScheduler(
      resolveSendSchedulerOptions({
        chunkBytes: options.chunkBytes,
        highWaterMarkBytes: options.highWaterMarkBytes,
        maxQueuedBytes: options.maxQueuedBytes,
      }),
    );
    this.#splitPieces = options.compression === 'none';
    // with split pieces the buffer holds only heads and trailers
    this.#pieceOptions = { ...this.#encoderOptions, maxFrameBytes: options.maxFrameBytes, initialBytes: this.#splitPieces ? 4096 : 2 * options.chunkBytes };
  }

  /** Bytes held here: framed, blocked and scheduled. */
  get queuedBytes(): number {
    return this.#direct.pendingBytes + this.#blockBytes + this.scheduler.queuedBytes;
  }

  /** True while an envelope longer than a chunk waits in the scheduler (a transfer is being cut). */
  get chunking(): boolean {
    return this.#chunkedItems > 0;
  }

  /** True while the scheduler holds something to pull. */
  get scheduled(): boolean {
    return this.scheduler.queuedItems > 0;
  }

  /**
   * Adds one envelope. `socketBytes` is what the socket still holds. Returns
   * frames to write at once (direct frames that reached a chunk), else null.
   * Throws ERR_MESSAGE_TOO_LARGE above maxMessageBytes, ERR_BACKPRESSURE past
   * the scheduler's hard limit, and ERR_INVALID_MESSAGE for a priority
   * outside 0..3; nothing is queued then.
   */
  add(envelope: Envelope, socketBytes: number, lend = false): Uint8Array | null {
    const priority = envelope.header.priority;
    if ((priority & 3) !== priority) throw new InvalidMessageError('header.priority', `expected 0..3, got ${String(priority)}`);
    const body = envelope.body as { payload?: Uint8Array; data?: Uint8Array };
    const bulk = (body.payload?.length ?? 0) + (body.data?.length ?? 0);
    if (bulk > this.#largeBulkBytes) {
      this.#addLarge(envelope, priority, bulk, lend ? largest(body.payload, body.data) : null);
      return null;
    }
    const direct = this.#direct;
    if (
      priority !== CRITICAL &&
      this.scheduler.queuedItems === 0 &&
      this.#blockBytes === 0 &&
      socketBytes < this.#chunkBytes
    ) {
      const length = direct.append(envelope);
      if (length > this.#chunkBytes) {
        const [before, frame] = direct.takeSplitLast();
        this.#direct = new FrameEncoder(this.#encoderOptions); // let go of the buffer sized for the long frame
        this.#scheduleFrame(frame, envelope, priority);
        return before.length > 0 ? before : null;
      }
      return direct.pendingBytes >= this.#directWriteBytes ? direct.takeForWrite() : null;
    }
    this.#addToBlock(envelope, priority);
    return null;
  }

  /**
   * Ends a turn: pushes onto `out` what leaves now (Critical frames first,
   * then direct frames) and hands every block to the scheduler.
   */
  takeTurn(out: Uint8Array[]): void {
    const critical = this.#blocks[CRITICAL];
    if (critical !== null && critical.pendingBytes > 0 && this.scheduler.queuedIn(CRITICAL) === 0) {
      this.#blockBytes -= critical.pendingBytes;
      out.push(critical.take());
    }
    if (this.#direct.pendingBytes > 0) out.push(this.#direct.takeForWrite());
    if (this.#blockBytes > 0) for (let p = 0; p < CLASSES; p++) this.#cut(p);
  }

  /**
   * Pulls one batch (about one chunk) from the scheduler and pushes its
   * frames onto `out`. Returns the bytes pushed. `timestampUs` goes into the
   * Chunk envelopes' headers.
   */
  pull(out: Uint8Array[], timestampUs: number): number {
    const batch = this.scheduler.pull(this.#chunkBytes);
    const pieces = (this.#pieces ??= new FrameEncoder(this.#pieceOptions));
    const header = this.#chunkHeader;
    const chunk = this.#chunkBody;
    const slices = this.#slices;
    header.timestampUs = timestampUs;
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const source = batch.sources[i] as QueuedBytes;
      if (batch.kinds[i] === PieceKind.Whole) {
        const id = this.#bare.size === 0 ? undefined : this.#bare.get(source as Uint8Array);
        if (id === undefined) {
          if (pieces.pendingBytes > 0) bytes += pieces.takeInto(out);
          bytes += source.length;
          out.push(source as Uint8Array);
          continue;
        }
        this.#bare.delete(source as Uint8Array);
        if (this.#ownBuffers.size > 0) this.#retire(source);
        chunk.messageId = id;
        chunk.offset = 0;
      } else {
        chunk.messageId = batch.messageIds[i];
        chunk.offset = batch.offsets[i];
        if (chunk.offset + batch.lengths[i] === source.length) {
          this.#chunkedItems--;
          if (this.#ownBuffers.size > 0) this.#retire(source);
        }
      }
      chunk.totalBytes = source.length;
      header.messageId = chunk.messageId;
      header.priority = batch.priorities[i];
      if (this.#splitPieces) {
        batch.slices(i, slices);
        chunk.data = this.#standIn(batch.lengths[i]);
        pieces.appendSplit(this.#chunkEnvelope, chunk.data, slices);
        slices.length = 0;
      } else {
        chunk.data = batch.data(i);
        pieces.append(this.#chunkEnvelope);
      }
    }
    chunk.data = EMPTY;
    if (pieces.pendingBytes > 0) bytes += pieces.takeInto(out);
    return bytes;
  }

  /**
   * Buffers of large envelopes whose last piece the latest pull() calls cut,
   * or null: they are free once the socket has written what those calls
   * returned (giveBack).
   */
  takeRetired(): ArrayBufferLike[] | null {
    if (this.#retired.length === 0) return null;
    const out = this.#retired;
    this.#retired = [];
    return out;
  }

  /** The socket wrote the pieces of these buffers (from takeRetired): they serve the next large envelopes. */
  giveBack(buffers: readonly ArrayBufferLike[]): void {
    for (const b of buffers) this.#spare.put(b);
  }

  /** Spare buffers kept for large envelopes, and their bytes. */
  get spare(): { readonly buffers: number; readonly bytes: number } {
    return { buffers: this.#spare.count, bytes: this.#spare.bytes };
  }

  #retire(source: QueuedBytes): void {
    if (source instanceof SplitEnvelope) return;
    if (this.#ownBuffers.delete(source.buffer)) this.#retired.push(source.buffer);
  }

  /** An array of `length` bytes standing in for a piece's data while its Chunk envelope is encoded (never read). */
  #standIn(length: number): Uint8Array {
    if (this.#standInBytes.length < length) this.#standInBytes = new Uint8Array(Math.max(length, this.#chunkBytes));
    return this.#standInBytes.subarray(0, length);
  }

  /**
   * Lets the frames of the direct and block encoders share CRC trailers in
   * runs of up to `bytes` (FrameEncoder's checksumRunBytes): for a peer that
   * announced FEATURE_CHECKSUM_RUNS. Pieces of chunked envelopes keep their
   * own trailers.
   */
  useChecksumRuns(bytes: number): void {
    this.#encoderOptions = { ...this.#encoderOptions, checksumRunBytes: bytes };
    this.#direct.checksumRuns(bytes);
    for (const block of this.#blocks) block?.checksumRuns(bytes);
  }

  /** True for direct frames whose buffer comes back once written (recycle). */
  recyclable(bytes: Uint8Array): boolean {
    return this.#direct.owns(bytes);
  }

  /** The socket wrote `bytes`, which recyclable() accepted: their buffer serves the next direct frames. */
  recycle(bytes: Uint8Array): void {
    this.#direct.recycle(bytes);
  }

  /** Drops everything held (the connection is gone). */
  clear(): void {
    this.scheduler.clear();
    this.#bare.clear();
    this.#blocks.fill(null);
    this.#blockBytes = 0;
    this.#pieces = null;
    this.#chunkedItems = 0;
    this.#ownBuffers.clear(); // the socket may still hold their pieces: never reused
    this.#retired = [];
    this.#spare.clear();
    if (this.#direct.pendingBytes > 0) this.#direct.take();
  }

  /** An envelope longer than a chunk; `lent`: its largest vector, queued by reference when it is the last thing encoded. */
  #addLarge(envelope: Envelope, priority: number, bulk: number, lent: Uint8Array | null): void {
    let bytes: QueuedBytes | null = null;
    if (lent !== null) {
      const writer = new Writer(TABLE_COUNT, bulk - lent.length + LARGE_SLACK_BYTES);
      writer.standIn = lent;
      const head = writer.buf.subarray(0, writeRoot(writer, envelope));
      if (writer.standInAt === head.length) bytes = new SplitEnvelope(head, lent);
    }
    let own: Uint8Array | null = null;
    if (bytes === null) {
      // one buffer sized for the payload (a spare one when there is): no growing copies of a large envelope
      const need = bulk + LARGE_SLACK_BYTES;
      const writer = (this.#largeWriter ??= new Writer(TABLE_COUNT, 0));
      writer.take(need, this.#spare.take(need));
      own = writer.buf.subarray(0, writeRoot(writer, envelope));
      bytes = own;
    }
    this.#cut(priority); // what the class already holds leaves first
    this.#enqueueEnvelope(bytes, priority, envelope.header.messageId);
    if (own !== null && own.byteOffset === 0) this.#ownBuffers.add(own.buffer);
  }

  #addToBlock(envelope: Envelope, priority: number): void {
    const encoder = (this.#blocks[priority] ??= new FrameEncoder(this.#encoderOptions));
    const before = encoder.pendingBytes;
    const length = encoder.append(envelope);
    if (before + length <= this.#chunkBytes) {
      this.#blockBytes += length;
      if (before + length >= this.#blockCutBytes) this.#cut(priority);
      return;
    }
    // The frame would make the block longer than a chunk: the block leaves without it.
    const [block, frame] = encoder.takeSplitLast();
    this.#blockBytes -= before;
    if (block.length > 0) this.scheduler.enqueue(block, priority);
    if (frame.length <= this.#chunkBytes) {
      this.scheduler.enqueue(frame, priority);
      return;
    }
    this.#blocks[priority] = null; // let go of the buffer sized for the long frame
    this.#scheduleFrame(frame, envelope, priority);
  }

  /** Hands the block of one class to the scheduler. */
  #cut(priority: number): void {
    const encoder = this.#blocks[priority];
    if (encoder === null || encoder.pendingBytes === 0) return;
    this.#blockBytes -= encoder.pendingBytes;
    this.scheduler.enqueue(encoder.take(), priority);
  }

  /** A frame longer than chunkBytes: its envelope goes to the scheduler to be chunked. */
  #scheduleFrame(frame: Uint8Array, envelope: Envelope, priority: number): void {
    const compressed = (frame[5] & FLAG_COMPRESSION_MASK) !== 0;
    const bytes = compressed
      ? encodeEnvelope(envelope)
      : frame.subarray(FRAME_HEADER_BYTES, frame.length - (this.#checksum ? FRAME_TRAILER_BYTES : 0));
    this.#enqueueEnvelope(bytes, priority, envelope.header.messageId);
  }

  #enqueueEnvelope(bytes: QueuedBytes, priority: number, messageId: number): void {
    if (bytes.length > this.#maxMessageBytes) throw new MessageTooLargeError(messageId, bytes.length, this.#maxMessageBytes);
    if (bytes.length > this.#chunkBytes) {
      this.scheduler.enqueue(bytes, priority, messageId);
      this.#chunkedItems++;
      return;
    }
    // a split envelope is longer than its lent vector, which is longer than a chunk: this one is whole
    const whole = bytes as Uint8Array;
    this.#bare.set(whole, messageId);
    try {
      this.scheduler.enqueue(whole, priority);
    } catch (error) {
      this.#bare.delete(whole);
      throw error;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** The longer of two optional vectors. */
function largest(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | null {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null) return y;
  if (y === null) return x;
  return x.length >= y.length ? x : y;
}

/**
 * What an envelope's frame adds to its payload and data at the least (frame
 * header and trailer, envelope header, vtables, a short topic), with room to
 * spare: an envelope whose payload comes this close to chunkBytes is encoded
 * once, for chunking, rather than framed, found too long and encoded again
 * (a quarter of chunkBytes at most, for tiny chunks).
 */
const FRAME_MARGIN_BYTES = 256;

/** Spare buffers for large envelopes, at most (see the top of this file). */
const MAX_SPARE_BUFFERS = 4;
/** Bytes of those spare buffers together, at most. */
const MAX_SPARE_BYTES = 16 * 1024 * 1024;

/** Room beyond the payload for the rest of a large envelope (header, topic, vtables). */
const LARGE_SLACK_BYTES = 4096;
