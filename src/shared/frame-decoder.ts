// Incremental frame decoder: bytes in, whole checked frames out, from any
// split of the stream.
//
// Bounded before allocation: a frame's length and flags are checked as soon
// as its first six bytes are known, and only then is a buffer of exactly that
// length allocated (when the frame spans chunks). Frames that lie inside one
// chunk are not copied: their payloads are views into that chunk, or, with
// eachPayload, ranges of it handed over with no view or object made at all.
//
// A frame that spans reads may instead be assembled where its reader names
// (setSpanTarget): a piece of a chunked message, in the message's own buffer,
// so that its bytes are copied once, not into a frame buffer and then out.
//
// Checksum runs (frame.ts): a deferred frame is held, as a range of the bytes
// it arrived in (frames of one read lie in one range), until the frame that
// seals the run arrives; the run's CRC is then computed over those ranges,
// one call per range, and only if it matches are the run's frames delivered,
// in order. Held bytes are bounded by maxFrameBytes.
//
// Any error is final: after a bad frame the stream has lost its framing, so
// every later push throws the same error. Frames completed before the bad
// one have already been yielded (but none of a run whose seal failed).
import {
  checkFramePrefix,
  FLAG_CHECKSUM,
  FLAG_COMPRESSION_MASK,
  FLAG_DEFERRED,
  FRAME_PREFIX_BYTES,
  FRAME_TRAILER_BYTES,
  openFrame,
  openFrameInto,
  readMessageId,
  readU32,
  resolveFrameCheckOptions,
  type Frame,
  type FrameCheckOptions,
  type FramePayloadSink,
} from './frame.js';
import { ChecksumError, MalformedFrameError, TruncatedFrameError } from './errors.js';
import { crc32 } from './crc32.js';
import { uninitializedBytes } from './bytes.js';

export interface FrameDecoderOptions extends Partial<FrameCheckOptions> {
  /**
   * Take checksum runs (deferred frames). Default true; a connection starts
   * with false and turns it on (acceptRuns) once its handshake has told the
   * peer it may send them: before that a deferred frame is malformed.
   */
  checksumRuns?: boolean;
}

/**
 * Where a frame that spans reads may be assembled instead of in a buffer of
 * the decoder's own: given the frame's first bytes, `chunk[start, start +
 * available)`, and its checked length, a view of exactly `length` bytes that
 * the decoder will fill with the whole frame (the first bytes at once, the
 * rest as they arrive) and then deliver as usual, checksum checked; or null.
 * For a reader that would copy the payload out anyway (a piece of a chunked
 * message, into the message's buffer): the decoder's copy is then the only
 * one. Asked only for frames that are neither compressed nor deferred, when
 * no checksum run is open (so no other frame is delivered between the ask
 * and this frame), and when at least MIN_SPAN_HEAD bytes of it are in hand.
 */
export type SpanTarget = (chunk: Uint8Array, start: number, available: number, length: number) => Uint8Array | null;

/** Bytes of a spanning frame that must be in hand before a SpanTarget is asked. */
export const MIN_SPAN_HEAD = 128;

export class FrameDecoder {
  private readonly options: FrameCheckOptions;
  /** The first bytes of a frame whose prefix is not complete yet. */
  private readonly prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  private prefixFilled = 0;
  /** A frame spanning chunks, allocated at its checked length. */
  private partial: Uint8Array | null = null;
  private partialFilled = 0;
  private failure: Error | null = null;
  /** A buffer a frame spanning reads was assembled in, given back (reuse) and not yet filled again. */
  private spare: Uint8Array | null = null;
  /** The whole buffer the frame being assembled (`partial`) lies in. */
  private partialBuffer: Uint8Array | null = null;
  /** The last frame that spanned reads, as delivered, and the whole buffer it lies in. */
  private spanning: Uint8Array | null = null;
  private spanningBuffer: Uint8Array | null = null;
  /** The open checksum run: ranges of held frames, in order, and their bytes. */
  private readonly runBytes: Uint8Array[] = [];
  private readonly runStarts: number[] = [];
  private readonly runEnds: number[] = [];
  private runLength = 0;
  private runsAccepted: boolean;
  private spanTarget: SpanTarget | null = null;
  /** Frames yielded so far. */
  frames = 0;
  /** Bytes consumed so far. */
  bytes = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.options = resolveFrameCheckOptions(options);
    this.runsAccepted = options.checksumRuns ?? true;
  }

  /** From now on, frames that span reads are offered to `target` first (see SpanTarget); null: never. */
  setSpanTarget(target: SpanTarget | null): void {
    this.spanTarget = target;
  }

  /** From now on, deferred frames (checksum runs) are taken. */
  acceptRuns(): void {
    this.runsAccepted = true;
  }

  /** Bytes held for a frame not yet complete, or for a checksum run not yet sealed. */
  get buffered(): number {
    return this.runLength + (this.partial !== null ? this.partialFilled : this.prefixFilled);
  }

  /**
   * Feeds bytes; calls `onFrame` for every frame they complete, in order.
   * The chunk must not be written again afterwards: payloads handed over are
   * views of it, and the frames of a checksum run not yet sealed are kept as
   * views of it until their run's trailer arrives in a later chunk.
   * On a bad frame it throws, after the frames before it were delivered.
   * The fast way in: no generator between the bytes and the frames.
   */
  each(chunk: Uint8Array, onFrame: (frame: Frame) => void): void {
    this.feed(chunk, onFrame, null);
  }

  /**
   * Feeds bytes; hands the payload of every frame they complete to `sink`,
   * in order, read in place (see FramePayloadSink): no Frame and no view
   * is made per frame. Errors as in `each`; an error thrown by `sink` ends
   * the decoder like a bad frame (the rest of the chunk is not read).
   */
  eachPayload(chunk: Uint8Array, sink: FramePayloadSink): void {
    this.feed(chunk, null, sink);
  }

  /** Feeds bytes; yields every frame they complete, in order (see `each`). */
  *push(chunk: Uint8Array): Generator<Frame, void, undefined> {
    const frames: Frame[] = [];
    let failure: unknown = null;
    try {
      this.each(chunk, (frame) => frames.push(frame));
    } catch (error) {
      failure = error;
    }
    yield* frames;
    if (failure !== null) throw failure;
  }

  /**
   * Gives back the buffer of the last frame that spanned reads (the `bytes`
   * its payload was handed over in) once nothing refers to it any more: the
   * next frame that spans reads is assembled in it when it fits. Any other
   * bytes are ignored. For a reader that copies out what it keeps (pieces of
   * a chunked message), this spares a buffer per piece.
   */
  reuse(bytes: Uint8Array): void {
    if (bytes !== this.spanning || this.spanningBuffer === null) return;
    this.spare = this.spanningBuffer;
    this.spanning = null;
    this.spanningBuffer = null;
  }

  /** Declares the end of the stream: throws if it ended inside a frame. */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.partial !== null) throw (this.failure = new TruncatedFrameError(this.partial.length, this.partialFilled));
    if (this.prefixFilled > 0) throw (this.failure = new TruncatedFrameError(FRAME_PREFIX_BYTES, this.prefixFilled));
    if (this.runLength > 0) throw (this.failure = new MalformedFrameError(`the stream ended inside a checksum run of ${this.runLength} bytes`));
  }

  /** Delivers through `onFrame` when it is given, else through `sink`. */
  private feed(chunk: Uint8Array, onFrame: ((frame: Frame) => void) | null, sink: FramePayloadSink | null): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.bytes += chunk.length;
      let pos = 0;
      if (this.prefixFilled > 0 || this.partial !== null) {
        pos = this.continuePending(chunk);
        const whole = this.partial;
        if (whole === null || this.partialFilled < whole.length) return;
        this.partial = null;
        this.partialFilled = 0;
        this.spanning = whole;
        this.spanningBuffer = this.partialBuffer;
        this.partialBuffer = null;
        this.deliver(whole, 0, whole.length, onFrame, sink);
      }
      const end = chunk.length;
      const maxFrameBytes = this.options.maxFrameBytes;
      while (pos < end) {
        const available = end - pos;
        if (available < FRAME_PREFIX_BYTES) {
          this.prefix.set(chunk.subarray(pos, end), 0);
          this.prefixFilled = available;
          return;
        }
        const length = readU32(chunk, pos);
        checkFramePrefix(length, (chunk[pos + 4] << 8) | chunk[pos + 5], maxFrameBytes);
        if (available < length) {
          const partial = this.targetFor(chunk, pos, available, length) ?? this.spanningFrame(length);
          partial.set(chunk.subarray(pos, end), 0);
          this.partial = partial;
          this.partialFilled = available;
          return;
        }
        const at = pos;
        pos += length;
        this.deliver(chunk, at, length, onFrame, sink);
      }
    } catch (error) {
      this.failure ??= error as Error;
      throw error;
    }
  }

  private deliver(bytes: Uint8Array, start: number, length: number, onFrame: ((frame: Frame) => void) | null, sink: FramePayloadSink | null): void {
    const flags = bytes[start + 5] | (bytes[start + 4] << 8);
    if ((flags & FLAG_DEFERRED) !== 0) {
      if (!this.runsAccepted) throw new MalformedFrameError('a deferred checksum from a peer not yet told it may send checksum runs');
      this.hold(bytes, start, length);
      return;
    }
    if (this.runLength > 0) {
      this.sealRun(bytes, start, length, flags, onFrame, sink);
      return;
    }
    this.frames++;
    if (onFrame !== null) onFrame(openFrame(bytes, start, length, this.options));
    else openFrameInto(bytes, start, length, this.options, sink as FramePayloadSink);
  }

  /** Holds a deferred frame until its run's trailer is checked. */
  private hold(bytes: Uint8Array, start: number, length: number): void {
    if (this.runLength + length > this.options.maxFrameBytes) {
      throw new MalformedFrameError(`a checksum run longer than ${this.options.maxFrameBytes} bytes`);
    }
    this.runLength += length;
    const n = this.runBytes.length;
    if (n > 0 && this.runBytes[n - 1] === bytes && this.runEnds[n - 1] === start) {
      this.runEnds[n - 1] = start + length;
      return;
    }
    this.runBytes.push(bytes);
    this.runStarts.push(start);
    this.runEnds.push(start + length);
  }

  /** The frame after a run: it must carry the trailer, which must match the run and itself; then the run is delivered. */
  private sealRun(bytes: Uint8Array, start: number, length: number, flags: number, onFrame: ((frame: Frame) => void) | null, sink: FramePayloadSink | null): void {
    if ((flags & FLAG_CHECKSUM) === 0) throw new MalformedFrameError('a checksum run ends in a frame without a checksum');
    if (this.runLength + length > this.options.maxFrameBytes) {
      throw new MalformedFrameError(`a checksum run longer than ${this.options.maxFrameBytes} bytes`);
    }
    const held = this.runBytes;
    const starts = this.runStarts;
    const ends = this.runEnds;
    let crc = 0;
    for (let i = 0; i < held.length; i++) crc = crc32(held[i], starts[i], ends[i], crc);
    const trailerAt = start + length - FRAME_TRAILER_BYTES;
    crc = crc32(bytes, start, trailerAt, crc);
    const expected = readU32(bytes, trailerAt);
    if (crc !== expected) {
      const first = held[0];
      const at = starts[0];
      throw new ChecksumError(expected, crc, readMessageId(first, at)); // the run's first frame
    }
    const options = this.options;
    try {
      for (let i = 0; i < held.length; i++) {
        const b = held[i];
        for (let at = starts[i], end = ends[i]; at < end; ) {
          const n = readU32(b, at);
          this.frames++;
          if (onFrame !== null) onFrame(openFrame(b, at, n, options, true));
          else openFrameInto(b, at, n, options, sink as FramePayloadSink, true);
          at += n;
        }
      }
    } finally {
      held.length = 0;
      starts.length = 0;
      ends.length = 0;
      this.runLength = 0;
    }
    this.frames++;
    if (onFrame !== null) onFrame(openFrame(bytes, start, length, options, true));
    else openFrameInto(bytes, start, length, options, sink as FramePayloadSink, true);
  }

  /** The span target's place for a frame that spans reads, when it has one (never a buffer to reuse). */
  private targetFor(chunk: Uint8Array, pos: number, available: number, length: number): Uint8Array | null {
    const target = this.spanTarget;
    // not while a checksum run is open: its frames are delivered before this one, and their reader may act on the target's buffer first
    if (target === null || available < MIN_SPAN_HEAD || this.runLength > 0) return null;
    const flags = (chunk[pos + 4] << 8) | chunk[pos + 5];
    if ((flags & (FLAG_DEFERRED | FLAG_COMPRESSION_MASK)) !== 0) return null;
    const place = target(chunk, pos, available, length);
    if (place === null || place.length !== length) return null;
    this.partialBuffer = null;
    return place;
  }

  /**
   * A buffer for a frame of `length` bytes that spans reads: the one given
   * back, when it is long enough, else a new one. Not zeroed: the frame is
   * delivered only once every byte of it arrived.
   */
  private spanningFrame(length: number): Uint8Array {
    let buffer = this.spare;
    this.spare = null;
    if (buffer === null || buffer.length < length) buffer = uninitializedBytes(length);
    this.partialBuffer = buffer;
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }

  /**
   * Continues the frame begun in an earlier chunk; returns the bytes of
   * `chunk` it took. The frame is complete when `partial` is full.
   */
  private continuePending(chunk: Uint8Array): number {
    let pos = 0;
    if (this.partial === null) {
      const take = Math.min(FRAME_PREFIX_BYTES - this.prefixFilled, chunk.length);
      this.prefix.set(chunk.subarray(0, take), this.prefixFilled);
      this.prefixFilled += take;
      pos = take;
      if (this.prefixFilled < FRAME_PREFIX_BYTES) return pos;
      const length = readU32(this.prefix, 0);
      checkFramePrefix(length, (this.prefix[4] << 8) | this.prefix[5], this.options.maxFrameBytes);
      this.partial = this.spanningFrame(length);
      this.partial.set(this.prefix, 0);
      this.partialFilled = FRAME_PREFIX_BYTES;
      this.prefixFilled = 0;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.partialFilled, chunk.length - pos);
    partial.set(chunk.subarray(pos, pos + take), this.partialFilled);
    this.partialFilled += take;
    return pos + take;
  }
}
