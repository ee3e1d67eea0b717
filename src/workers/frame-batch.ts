// Batch encode and batch decode of frames: plain functions, run by a worker
// (through engine-tasks.ts) or inline by the engine, with the same bytes out.
//
// Encode: envelopes -> one buffer of frames (FrameEncoder: envelope, header,
// optional compression, CRC-32 trailer), and where each frame ends.
// Decode: a buffer of whole frames -> per frame its checked envelope or a
// typed error; a frame whose length or flags are wrong ends the batch
// (the stream has lost its framing), a partial frame at the end is left for
// the next batch, and so is a checksum run whose seal is not in the batch.
import {
  checkFramePrefix,
  findRunEnd,
  FLAG_DEFERRED,
  FRAME_PREFIX_BYTES,
  openFrame,
  readMessageId,
  verifyRun,
  readU32,
  type FrameCheckOptions,
} from '../shared/frame.js';
import { CompressionId } from '../shared/compression.js';
import { decodeMessage, FrameEncoder, type Envelope, type FrameEncoderOptions } from '../shared/envelope/index.js';
import { ErrorCode } from '../shared/errors.js';
import { taskError, type TaskError } from './task-error.js';

/** Frames of a batch of envelopes. */
export interface EncodedBatch {
  /** Every frame that encoded, in order, back to back. */
  readonly bytes: Uint8Array;
  /** `ends[i]`: where the frame of envelope i ends in `bytes`; a failed envelope's frame is empty. */
  readonly ends: Uint32Array;
  /** Envelopes that did not encode (empty when all did). */
  readonly errors: TaskError[];
}

export interface EncodeBatchTask {
  readonly envelopes: Envelope[];
  readonly frame: FrameEncoderOptions;
}

/**
 * Encodes every envelope as one frame with `encoder` (left empty after);
 * an envelope that fails leaves an empty frame and an error.
 */
export function encodeFrames(encoder: FrameEncoder, envelopes: readonly Envelope[]): EncodedBatch {
  const ends = new Uint32Array(envelopes.length);
  const errors: TaskError[] = [];
  let end = 0;
  for (let i = 0; i < envelopes.length; i++) {
    try {
      end += encoder.append(envelopes[i]);
    } catch (error) {
      errors.push(taskError(i, error, ErrorCode.INVALID_MESSAGE));
    }
    ends[i] = end;
  }
  return { bytes: encoder.take(), ends, errors };
}

/** First buffer of an engine's encoder: never a slice of Node's shared pool, so it can be transferred. */
export const ENCODER_INITIAL_BYTES = 64 * 1024;

/** The encoder the engine and its workers use for `frame` options. */
export function batchEncoder(frame: FrameEncoderOptions): FrameEncoder {
  return new FrameEncoder({ ...frame, initialBytes: ENCODER_INITIAL_BYTES });
}

/** Payload bytes of a batch of envelopes whose bodies carry a `payload` (the size the offload policy weighs). */
export function payloadBytesOf(envelopes: readonly Envelope[]): number {
  let n = 0;
  for (let i = 0; i < envelopes.length; i++) {
    const payload = (envelopes[i].body as { payload?: unknown }).payload;
    if (payload instanceof Uint8Array) n += payload.length;
  }
  return n;
}

/** One frame of a decoded batch. */
export interface DecodedFrame {
  /** Offset of the frame in the batch's bytes. */
  readonly offset: number;
  readonly length: number;
  /** The message id from the frame header. */
  readonly messageId: number;
  readonly flags: number;
  /** The checked envelope; null when `error` is set. Byte fields are views, see DecodedBatch. */
  readonly envelope: Envelope | null;
  readonly error: TaskError | null;
}

export interface DecodedBatch {
  readonly frames: DecodedFrame[];
  /** Bytes of whole frames handled; the rest (a partial frame) belongs to the next batch. */
  readonly consumed: number;
  /** A frame whose length or flags are wrong: framing is lost, nothing after it was read. */
  readonly fatal: TaskError | null;
}

export interface DecodeBatchTask {
  readonly bytes: Uint8Array;
  readonly check: FrameCheckOptions;
}

/**
 * Checks and reads every whole frame of `bytes`. Payload views point into
 * `bytes`, or, for compressed frames, into their inflated copy. With
 * `owned`, each inflated payload is copied into an ArrayBuffer of its own
 * and that buffer pushed to `owned` (what a worker transfers back).
 */
export function decodeFrames(task: DecodeBatchTask, owned: ArrayBuffer[] | null): DecodedBatch {
  const { bytes, check } = task;
  const frames: DecodedFrame[] = [];
  const end = bytes.length;
  let pos = 0;
  let fatal: TaskError | null = null;
  /** Reads one whole frame; `covered`: its checksum run was checked, with `runError` as the result. */
  const decodeOne = (at: number, length: number, covered: boolean, runError: unknown): void => {
    const flags = (bytes[at + 4] << 8) | bytes[at + 5];
    const messageId = readMessageId(bytes, at);
    let envelope: Envelope | null = null;
    let error: TaskError | null = null;
    try {
      if (runError !== null) throw runError;
      let frame = openFrame(bytes, at, length, check, covered);
      if (owned !== null && frame.compression !== CompressionId.none && check.decompress) {
        const own = new Uint8Array(frame.payload.length);
        own.set(frame.payload);
        owned.push(own.buffer);
        frame = { ...frame, payload: own };
      }
      envelope = decodeMessage(frame);
    } catch (e) {
      error = taskError(frames.length, e, ErrorCode.MALFORMED_ENVELOPE);
    }
    frames.push({ offset: at, length, messageId, flags, envelope, error });
  };
  while (end - pos >= FRAME_PREFIX_BYTES) {
    const length = readU32(bytes, pos);
    const flags = (bytes[pos + 4] << 8) | bytes[pos + 5];
    let runEnd = -1;
    try {
      checkFramePrefix(length, flags, check.maxFrameBytes);
      if ((flags & FLAG_DEFERRED) !== 0) runEnd = findRunEnd(bytes, pos, end, check.maxFrameBytes);
    } catch (error) {
      fatal = taskError(frames.length, error, ErrorCode.MALFORMED_FRAME);
      break;
    }
    if (end - pos < length) break;
    if ((flags & FLAG_DEFERRED) === 0) {
      decodeOne(pos, length, false, null);
      pos += length;
      continue;
    }
    if (runEnd < 0) break; // the run's seal is not here yet: the whole run waits for the next batch
    let runError: unknown = null;
    try {
      verifyRun(bytes, pos, runEnd);
    } catch (error) {
      runError = error; // every frame of the run fails with it
    }
    while (pos < runEnd) {
      const n = readU32(bytes, pos);
      decodeOne(pos, n, true, runError);
      pos += n;
    }
  }
  return { frames, consumed: pos, fatal };
}
