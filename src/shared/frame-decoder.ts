// Incremental frame decoder: bytes in, whole checked frames out, from any
// split of the stream.
//
// Bounded before allocation: a frame's length and flags are checked as soon
// as its first six bytes are known, and only then is a buffer of exactly that
// length allocated (when the frame spans chunks). Frames that lie inside one
// chunk are not copied: their payloads are views into that chunk, or, with
// eachPayload, ranges of it handed over with no view or object made at all.
//
// Any error is final: after a bad frame the stream has lost its framing, so
// every later push throws the same error. Frames completed before the bad
// one have already been yielded.
import {
  checkFramePrefix,
  FRAME_PREFIX_BYTES,
  openFrame,
  openFrameInto,
  readU32,
  resolveFrameCheckOptions,
  type Frame,
  type FrameCheckOptions,
  type FramePayloadSink,
} from './frame.js';
import { TruncatedFrameError } from './errors.js';
import { uninitializedBytes } from './bytes.js';

export type FrameDecoderOptions = Partial<FrameCheckOptions>;

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
  /** Frames yielded so far. */
  frames = 0;
  /** Bytes consumed so far. */
  bytes = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.options = resolveFrameCheckOptions(options);
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.partial !== null ? this.partialFilled : this.prefixFilled;
  }

  /**
   * Feeds bytes; calls `onFrame` for every frame they complete, in order.
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
          const partial = this.spanningFrame(length);
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
    this.frames++;
    if (onFrame !== null) onFrame(openFrame(bytes, start, length, this.options));
    else openFrameInto(bytes, start, length, this.options, sink as FramePayloadSink);
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
