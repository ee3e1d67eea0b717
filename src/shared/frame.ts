// The frame: how every message crosses a TCP stream.
//
//    0       4       6               14                 length-4   length
//    +-------+-------+---------------+------------------+----------+
//    |length | flags |  message id   |     payload      |  crc32   |
//    |  u32  |  u16  |     u64       |                  |   u32    |
//    +-------+-------+---------------+------------------+----------+
//
// All header fields are big-endian.
// - `length` counts the WHOLE frame: the 14 header bytes (length field
//   included), the payload and the 4-byte trailer when present. The smallest
//   frame is 14 bytes (empty payload, no checksum).
// - flags: bits 0-3 protocol version (1); bits 4-6 compression (0 none,
//   1 LZ4, 2 Zstd); bit 7 checksum present; bit 8 checksum deferred;
//   bits 9-15 reserved, must be zero.
// - The CRC-32 trailer is present only when bit 7 is set. It covers bytes
//   [0, length - 4): the header, length and flags included, and the payload
//   as sent (compressed, if it is).
// - Checksum runs (bit 8, sent only to a peer that announced the
//   'checksum-runs' feature in its handshake): a frame with bit 8 set has no
//   trailer of its own; it opens or continues a run, and the next frame
//   with bit 7 set ends the run, its trailer covering every byte of the run,
//   from the first deferred frame's length field to its own payload's end.
//   Bits 7 and 8 never both. A run of one frame is a plain checksummed
//   frame, so a sender coalesces the frames of one write under one CRC and
//   the receiver checks it with one call instead of one per frame. Nothing
//   of a run is delivered before its trailer is checked; a run is at most
//   maxFrameBytes long, and one that ends in a frame without a trailer is
//   malformed.
// - Message ids are u64 on the wire; clusterwire keeps them below 2^53 and
//   refuses larger ones, so that they are exact JavaScript numbers.
import { crc32 } from './crc32.js';
import {
  CompressionId,
  compressPayload,
  decompressPayload,
  DEFAULT_ZSTD_LEVEL,
  type CompressionIdValue,
  type CompressionName,
} from './compression.js';
import {
  ChecksumError,
  ChecksumRequiredError,
  FrameTooLargeError,
  MalformedFrameError,
  ReservedFlagsError,
  TruncatedFrameError,
  UnknownCompressionError,
  UnsupportedVersionError,
} from './errors.js';

export const FRAME_VERSION = 1;
export const SUPPORTED_FRAME_VERSIONS: readonly number[] = [FRAME_VERSION];
export const FRAME_HEADER_BYTES = 14;
export const FRAME_TRAILER_BYTES = 4;
/** Bytes needed to check a header before allocating: length and flags. */
export const FRAME_PREFIX_BYTES = 6;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export const FLAG_VERSION_MASK = 0x000f;
export const FLAG_COMPRESSION_SHIFT = 4;
export const FLAG_COMPRESSION_MASK = 0x0070;
export const FLAG_CHECKSUM = 0x0080;
export const FLAG_DEFERRED = 0x0100;
export const FLAG_RESERVED_MASK = 0xfe00;
/** The handshake feature a peer announces when it accepts checksum runs (FLAG_DEFERRED). */
export const FEATURE_CHECKSUM_RUNS = 'checksum-runs';

const TWO_32 = 0x1_0000_0000;
/** Largest high word of a message id that keeps it a safe integer. */
const MAX_ID_HIGH = 0x1f_ffff;

/** A whole, checked frame. `payload` is a view into the received bytes. */
export interface Frame {
  readonly messageId: number;
  readonly flags: number;
  /** Compression the frame was sent with. */
  readonly compression: CompressionIdValue;
  /** Covered by a checked CRC-32: its own trailer, or its checksum run's. */
  readonly checksummed: boolean;
  /** The payload: decompressed unless the decoder was told not to. */
  readonly payload: Uint8Array;
}

export interface FrameEncodeOptions {
  /** Compress payloads of at least `compressMinBytes` when it shrinks them. Default 'none'. */
  compression?: CompressionName;
  /** Default 512: below this compression rarely pays for its time. */
  compressMinBytes?: number;
  zstdLevel?: number;
  /** Append the CRC-32 trailer. Default true. */
  checksum?: boolean;
  maxFrameBytes?: number;
}

export interface FrameCheckOptions {
  /** Frames longer than this are refused before allocation. Default 16 MiB. */
  maxFrameBytes: number;
  /** Refuse frames without a checksum. Default true. */
  requireChecksum: boolean;
  /** Inflate compressed payloads. Default true. */
  decompress: boolean;
  /** Largest payload a compressed frame may inflate to. Default maxFrameBytes. */
  maxDecompressedBytes: number;
}

export const DEFAULT_COMPRESS_MIN_BYTES = 512;

export function resolveFrameCheckOptions(options: Partial<FrameCheckOptions> = {}): FrameCheckOptions {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  return {
    maxFrameBytes,
    requireChecksum: options.requireChecksum ?? true,
    decompress: options.decompress ?? true,
    maxDecompressedBytes: options.maxDecompressedBytes ?? maxFrameBytes,
  };
}

/** Bytes a frame with `payloadBytes` of payload takes. */
export function frameLength(payloadBytes: number, checksum = true): number {
  return FRAME_HEADER_BYTES + payloadBytes + (checksum ? FRAME_TRAILER_BYTES : 0);
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * Checks the first six bytes of a frame (length and flags) and returns its
 * length. Everything that can be refused before the frame is buffered is
 * refused here.
 */
export function checkFramePrefix(length: number, flags: number, maxFrameBytes: number): void {
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  if ((flags & FLAG_RESERVED_MASK) !== 0) throw new ReservedFlagsError(flags);
  const version = flags & FLAG_VERSION_MASK;
  if (version !== FRAME_VERSION) throw new UnsupportedVersionError(version, SUPPORTED_FRAME_VERSIONS);
  const compression = (flags & FLAG_COMPRESSION_MASK) >>> FLAG_COMPRESSION_SHIFT;
  if (compression > CompressionId.zstd) throw new UnknownCompressionError(compression);
  if ((flags & (FLAG_CHECKSUM | FLAG_DEFERRED)) === (FLAG_CHECKSUM | FLAG_DEFERRED)) {
    throw new MalformedFrameError('a frame cannot both carry a checksum and defer it');
  }
  const min = flags & FLAG_CHECKSUM ? FRAME_HEADER_BYTES + FRAME_TRAILER_BYTES : FRAME_HEADER_BYTES;
  if (length < min) throw new MalformedFrameError(`length ${length} is below the smallest frame (${min} bytes)`);
}

/**
 * Receives a checked frame's payload as `bytes[start, end)`, read in place:
 * the range is valid during the call, and views made of it share the
 * receive buffer. A compressed payload arrives inflated, in a buffer of its
 * own (start 0).
 */
export type FramePayloadSink = (bytes: Uint8Array, start: number, end: number, messageId: number) => void;

/**
 * Verifies the checksum (or that none is required) and the message id of a
 * frame whose `length` bytes are all at `bytes[start...]` and whose prefix
 * passed `checkFramePrefix`. Returns the message id. `covered`: the frame
 * belongs to a checksum run whose trailer was already checked.
 */
export function verifyFrame(bytes: Uint8Array, start: number, length: number, requireChecksum: boolean, covered = false): number {
  const checksummed = (bytes[start + 5] & FLAG_CHECKSUM) !== 0;
  const high = readU32(bytes, start + 6);
  const low = readU32(bytes, start + 10);
  if (!covered && checksummed) {
    const payloadEnd = start + length - FRAME_TRAILER_BYTES;
    const expected = readU32(bytes, payloadEnd);
    const actual = crc32(bytes, start, payloadEnd);
    if (expected !== actual) throw new ChecksumError(expected, actual, high * TWO_32 + low);
  } else if (!covered && requireChecksum) {
    throw new ChecksumRequiredError(high * TWO_32 + low);
  }
  if (high > MAX_ID_HIGH) throw new MalformedFrameError(`message id above 2^53 - 1 (high word 0x${high.toString(16)})`);
  return high * TWO_32 + low;
}

/**
 * For a checksum run whose first (deferred) frame starts at `bytes[start]`
 * and whose bytes lie in `bytes[start, end)`: checks every frame's prefix
 * and returns where the run's seal ends, or -1 when `end` comes first.
 * Throws as checkFramePrefix does, and MalformedFrameError for a run longer
 * than maxFrameBytes or one that ends in a frame without a trailer.
 */
export function findRunEnd(bytes: Uint8Array, start: number, end: number, maxFrameBytes: number): number {
  let pos = start;
  while (end - pos >= FRAME_PREFIX_BYTES) {
    const length = readU32(bytes, pos);
    const flags = (bytes[pos + 4] << 8) | bytes[pos + 5];
    checkFramePrefix(length, flags, maxFrameBytes);
    if (pos + length - start > maxFrameBytes) throw new MalformedFrameError(`a checksum run longer than ${maxFrameBytes} bytes`);
    if (end - pos < length) return -1;
    pos += length;
    if ((flags & FLAG_DEFERRED) !== 0) continue;
    if ((flags & FLAG_CHECKSUM) === 0) throw new MalformedFrameError('a checksum run ends in a frame without a checksum');
    return pos;
  }
  return -1;
}

/** The message id field of the frame at `bytes[start]`, as written (not range-checked). */
export function readMessageId(bytes: Uint8Array, start: number): number {
  return readU32(bytes, start + 6) * TWO_32 + readU32(bytes, start + 10);
}

/** Checks the trailer of the whole checksum run `bytes[start, sealEnd)` (see findRunEnd); an error names the run's first frame. */
export function verifyRun(bytes: Uint8Array, start: number, sealEnd: number): void {
  const trailerAt = sealEnd - FRAME_TRAILER_BYTES;
  const expected = readU32(bytes, trailerAt);
  const actual = crc32(bytes, start, trailerAt);
  if (expected !== actual) throw new ChecksumError(expected, actual, readMessageId(bytes, start)); // the run's first frame
}

/**
 * Completes a frame as `openFrame` does, without making a Frame or a view:
 * hands its payload range to `sink`.
 */
export function openFrameInto(bytes: Uint8Array, start: number, length: number, options: FrameCheckOptions, sink: FramePayloadSink, covered = false): void {
  const messageId = verifyFrame(bytes, start, length, options.requireChecksum, covered);
  const payloadStart = start + FRAME_HEADER_BYTES;
  const payloadEnd = (bytes[start + 5] & FLAG_CHECKSUM) !== 0 ? start + length - FRAME_TRAILER_BYTES : start + length;
  const compression = ((bytes[start + 5] & FLAG_COMPRESSION_MASK) >>> FLAG_COMPRESSION_SHIFT) as CompressionIdValue;
  if (compression !== CompressionId.none && options.decompress) {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + payloadStart, payloadEnd - payloadStart);
    const inflated = decompressPayload(compression, view, options.maxDecompressedBytes);
    sink(inflated, 0, inflated.length, messageId);
    return;
  }
  sink(bytes, payloadStart, payloadEnd, messageId);
}

/**
 * Completes a frame whose `length` bytes are all at `bytes[start...]` and
 * whose prefix passed `checkFramePrefix`: verifies the checksum, reads the
 * id and inflates the payload.
 */
export function openFrame(bytes: Uint8Array, start: number, length: number, options: FrameCheckOptions, covered = false): Frame {
  const messageId = verifyFrame(bytes, start, length, options.requireChecksum, covered);
  const flags = (bytes[start + 4] << 8) | bytes[start + 5];
  const trailer = (flags & FLAG_CHECKSUM) !== 0;
  const checksummed = covered || trailer;
  const payloadEnd = trailer ? start + length - FRAME_TRAILER_BYTES : start + length;
  const compression = ((flags & FLAG_COMPRESSION_MASK) >>> FLAG_COMPRESSION_SHIFT) as CompressionIdValue;
  let payload = new Uint8Array(bytes.buffer, bytes.byteOffset + start + FRAME_HEADER_BYTES, payloadEnd - start - FRAME_HEADER_BYTES);
  if (compression !== CompressionId.none && options.decompress) {
    payload = decompressPayload(compression, payload, options.maxDecompressedBytes);
  }
  return { messageId, flags, compression, checksummed, payload };
}

/** Decodes one frame that fills `bytes` exactly (a datagram, a stored frame). */
export function decodeFrame(bytes: Uint8Array, options: Partial<FrameCheckOptions> = {}): Frame {
  const resolved = resolveFrameCheckOptions(options);
  if (bytes.length < FRAME_PREFIX_BYTES) throw new TruncatedFrameError(FRAME_PREFIX_BYTES, bytes.length);
  const length = readU32(bytes, 0);
  checkFramePrefix(length, (bytes[4] << 8) | bytes[5], resolved.maxFrameBytes);
  if (bytes.length < length) throw new TruncatedFrameError(length, bytes.length);
  if (bytes.length > length) throw new MalformedFrameError(`${bytes.length - length} bytes after the frame`);
  if ((((bytes[4] << 8) | bytes[5]) & FLAG_DEFERRED) !== 0) throw new MalformedFrameError('a lone frame cannot defer its checksum');
  return openFrame(bytes, 0, length, resolved);
}

/**
 * Writes a frame header at `offset` for a payload already in place at
 * `offset + 14`, and the trailer after it when `checksum` is set. Returns the
 * frame length. `compression` is what the payload bytes already are.
 */
export function sealFrame(
  target: Uint8Array,
  offset: number,
  messageId: number,
  payloadBytes: number,
  checksum: boolean,
  compression: CompressionIdValue = CompressionId.none,
): number {
  const length = writeFrameHeader(target, offset, messageId, payloadBytes, checksum, compression);
  if (checksum) {
    const payloadEnd = offset + FRAME_HEADER_BYTES + payloadBytes;
    writeU32(target, payloadEnd, crc32(target, offset, payloadEnd));
  }
  return length;
}

/**
 * Writes the 14-byte frame header at `offset` (length, flags, message id)
 * and returns the frame length; the trailer is the caller's. `deferred`
 * (without `checksum`): the frame leaves its checksum to the run's trailer.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  messageId: number,
  payloadBytes: number,
  checksum: boolean,
  compression: CompressionIdValue = CompressionId.none,
  deferred = false,
): number {
  const length = frameLength(payloadBytes, checksum);
  writeU32(target, offset, length);
  const flags = FRAME_VERSION | (compression << FLAG_COMPRESSION_SHIFT) | (checksum ? FLAG_CHECKSUM : deferred ? FLAG_DEFERRED : 0);
  target[offset + 4] = flags >>> 8;
  target[offset + 5] = flags;
  const high = (messageId / TWO_32) >>> 0; // ids are non-negative safe integers
  writeU32(target, offset + 6, high);
  writeU32(target, offset + 10, messageId - high * TWO_32);
  return length;
}

/**
 * Ends a checksum run: the frame at `sealAt` (the run's last, deferred)
 * becomes its seal, four bytes longer, with the CRC-32 of
 * `target[runStart, trailerAt)` written at `trailerAt`, the seal's end.
 * The caller has room for the trailer there.
 */
export function sealRun(target: Uint8Array, runStart: number, sealAt: number, trailerAt: number): void {
  writeU32(target, sealAt, readU32(target, sealAt) + FRAME_TRAILER_BYTES);
  const flags = (((target[sealAt + 4] << 8) | target[sealAt + 5]) & ~FLAG_DEFERRED) | FLAG_CHECKSUM;
  target[sealAt + 4] = flags >>> 8;
  target[sealAt + 5] = flags;
  writeU32(target, trailerAt, crc32(target, runStart, trailerAt));
}

/** Checks a message id before it is written: a safe, non-negative integer. */
export function checkMessageId(messageId: number): void {
  if (!(messageId >= 0 && messageId <= Number.MAX_SAFE_INTEGER && messageId === Math.floor(messageId))) {
    throw new MalformedFrameError(`message id ${messageId} is not an integer in [0, 2^53)`);
  }
}

/**
 * Encodes one frame around `payload` into a new buffer. Compresses when asked
 * and only where it shrinks the payload.
 */
export function encodeFrame(messageId: number, payload: Uint8Array, options: FrameEncodeOptions = {}): Uint8Array {
  checkMessageId(messageId);
  const checksum = options.checksum ?? true;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let body = payload;
  let compression: CompressionIdValue = CompressionId.none;
  const wanted = options.compression ?? 'none';
  if (wanted !== 'none' && payload.length >= (options.compressMinBytes ?? DEFAULT_COMPRESS_MIN_BYTES)) {
    const id = CompressionId[wanted];
    if (id === undefined) throw new UnknownCompressionError(wanted);
    const packed = compressPayload(id, payload, options.zstdLevel ?? DEFAULT_ZSTD_LEVEL);
    if (packed !== null) {
      body = packed;
      compression = id;
    }
  }
  const length = frameLength(body.length, checksum);
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  const out = Buffer.allocUnsafe(length);
  out.set(body, FRAME_HEADER_BYTES);
  sealFrame(out, 0, messageId, body.length, checksum, compression);
  return out;
}
