// Incremental frame decoder: bytes in, whole checked frames out, from any
// split of the stream.
//
// Bounded before allocation: a frame's length and flags are checked as soon
// as its first six bytes are known, and only then is a buffer of exactly that
// length allocated (when the frame spans chunks). Frames that lie inside one
// chunk are not copied: their payloads are views into that chunk.
//
// Any error is final: after a bad frame the stream has lost its framing, so
// every later push throws the same error. Frames completed before the bad
// one have already been yielded.
import {
  checkFramePrefix,
  FRAME_PREFIX_BYTES,
  openFrame,
  readU32,
  resolveFrameCheckOptions,
  type Frame,
  type FrameCheckOptions,
} from './frame.js';
import { TruncatedFrameError } from './errors.js';

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
    if (this.failure !== null) throw this.failure;
    try {
      this.bytes += chunk.length;
      let pos = 0;
      if (this.prefixFilled > 0 || this.partial !== null) {
        const done = this.continuePending(chunk);
        pos = done.consumed;
        if (done.frame === null) return;
        this.frames++;
        onFrame(done.frame);
      }
      const end = chunk.length;
      const options = this.options;
      while (pos < end) {
        const available = end - pos;
        if (available < FRAME_PREFIX_BYTES) {
          this.prefix.set(chunk.subarray(pos, end), 0);
          this.prefixFilled = available;
          return;
        }
        const length = readU32(chunk, pos);
        checkFramePrefix(length, (chunk[pos + 4] << 8) | chunk[pos + 5], options.maxFrameBytes);
        if (available < length) {
          const partial = new Uint8Array(length);
          partial.set(chunk.subarray(pos, end), 0);
          this.partial = partial;
          this.partialFilled = available;
          return;
        }
        const frame = openFrame(chunk, pos, length, options);
        pos += length;
        this.frames++;
        onFrame(frame);
      }
    } catch (error) {
      this.failure ??= error as Error;
      throw error;
    }
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

  /** Declares the end of the stream: throws if it ended inside a frame. */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.partial !== null) throw (this.failure = new TruncatedFrameError(this.partial.length, this.partialFilled));
    if (this.prefixFilled > 0) throw (this.failure = new TruncatedFrameError(FRAME_PREFIX_BYTES, this.prefixFilled));
  }

  /** Continues the frame begun in an earlier chunk. */
  private continuePending(chunk: Uint8Array): { consumed: number; frame: Frame | null } {
    let pos = 0;
    if (this.partial === null) {
      const take = Math.min(FRAME_PREFIX_BYTES - this.prefixFilled, chunk.length);
      this.prefix.set(chunk.subarray(0, take), this.prefixFilled);
      this.prefixFilled += take;
      pos = take;
      if (this.prefixFilled < FRAME_PREFIX_BYTES) return { consumed: pos, frame: null };
      const length = readU32(this.prefix, 0);
      checkFramePrefix(length, (this.prefix[4] << 8) | this.prefix[5], this.options.maxFrameBytes);
      this.partial = new Uint8Array(length);
      this.partial.set(this.prefix, 0);
      this.partialFilled = FRAME_PREFIX_BYTES;
      this.prefixFilled = 0;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.partialFilled, chunk.length - pos);
    partial.set(chunk.subarray(pos, pos + take), this.partialFilled);
    this.partialFilled += take;
    pos += take;
    if (this.partialFilled < partial.length) return { consumed: pos, frame: null };
    this.partial = null;
    this.partialFilled = 0;
    return { consumed: pos, frame: openFrame(partial, 0, partial.length, this.options) };
  }
}
