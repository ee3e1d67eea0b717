// The receiving side of chunked envelopes: Chunk pieces in, whole envelopes
// out. Pure: the caller passes the decoded Chunk body and the time; no timer
// in here (it arms one for nextDeadline()).
//
// A connection is ordered and the sender cuts each envelope front to back, so
// the pieces of one message arrive contiguous and in order, interleaved with
// the pieces of at most a few other messages (one per priority class). The
// rules, each refused with a typed error (the connection is then cut):
//   - totalBytes above maxMessageBytes: ERR_MESSAGE_TOO_LARGE, before any
//     allocation; a total of 0 is ERR_CHUNK_SEQUENCE.
//   - a new message must start at offset 0; a continuing one at exactly the
//     bytes received so far, with the same totalBytes; a piece must carry at
//     least one byte and must not reach past the total: ERR_CHUNK_SEQUENCE.
//   - at most maxPartialMessages incomplete messages at once, and their
//     declared totals together at most maxPartialBytes (the buffer of a
//     message is allocated, whole, at its first piece, so this bounds the
//     memory held): ERR_REASSEMBLY_LIMIT.
// A message's buffer may come back once its reader is done with it
// (recycle): the next message of a fitting size is reassembled in it instead
// of a new one. A file transfer reassembles a 1 MiB chunk after another, and
// without this each is a fresh megabyte for the collector; spares are few and
// bounded (MAX_SPARE_BUFFERS, MAX_SPARE_BYTES).
//
// A piece whose frame spans socket reads can be assembled in place (place):
// the frame decoder writes the whole frame into the message's buffer so that
// the piece's bytes land where they belong, and push() then finds them there
// and copies nothing. The frame's bytes before the piece overlay the end of
// what the message already holds; those are saved first and put back by the
// next push(), before anything is handed out, whatever that push is.
//
// A message that received no piece for partialTimeoutMs is dropped by
// tick(now) and its buffer released. The sender may still be sending it: its
// id is remembered (at most maxPartialMessages ids, oldest forgotten first)
// and the rest of its pieces are checked for order and discarded.
//
//   option                 default     meaning
//   maxMessageBytes        128 MiB     largest total a chunked message may declare
//   maxPartialMessages     16          incomplete messages held at once
//   maxPartialBytes        256 MiB     declared bytes of incomplete messages, together
//                                     (raised to maxMessageBytes when that is larger)
//   partialTimeoutMs       30 000      a message idle this long is dropped
import {
  ChunkSequenceError,
  InvalidConfigError,
  MessageTooLargeError,
  ReassemblyLimitError,
} from '../../shared/errors.js';
import type { Chunk } from '../../shared/schema/layout.js';
import { integerOption as integer } from '../../shared/options.js';
import { SpareBuffers, uninitializedBytes } from '../../shared/bytes.js';

export interface ChunkAssemblerOptions {
  /** Largest totalBytes accepted, in bytes. Default 128 MiB. */
  readonly maxMessageBytes: number;
  /** Incomplete messages held at once. Default 16. */
  readonly maxPartialMessages: number;
  /** Declared totals of incomplete messages, together, in bytes. Default 256 MiB, at least maxMessageBytes. */
  readonly maxPartialBytes: number;
  /** A message with no piece for this long is dropped, in ms. Default 30 000. */
  readonly partialTimeoutMs: number;
}

export const DEFAULT_CHUNK_ASSEMBLER: ChunkAssemblerOptions = Object.freeze({
  maxMessageBytes: 128 * 1024 * 1024,
  maxPartialMessages: 16,
  maxPartialBytes: 256 * 1024 * 1024,
  partialTimeoutMs: 30_000,
});

/** Largest maxMessageBytes: one Uint8Array, and a ulong on the wire well within a safe integer. */
const MAX_MESSAGE_LIMIT = 2 ** 32 - 1;
const DAY_MS = 86_400_000;
const NO_DROPS: readonly number[] = Object.freeze([]);
/** Buffers given back and kept for the next messages, at most. */
const MAX_SPARE_BUFFERS = 4;
/** Bytes of the spare buffers together, at most. */
const MAX_SPARE_BYTES = 16 * 1024 * 1024;
/** A frame placed in a message's buffer may have at most this many bytes before its piece (its header and envelope). */
const MAX_PLACED_HEAD = 512;

export function resolveChunkAssemblerOptions(input: Partial<ChunkAssemblerOptions> = {}): ChunkAssemblerOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const d = DEFAULT_CHUNK_ASSEMBLER;
  const maxMessageBytes = integer('maxMessageBytes', input.maxMessageBytes ?? d.maxMessageBytes, 1, MAX_MESSAGE_LIMIT);
  const maxPartialMessages = integer('maxPartialMessages', input.maxPartialMessages ?? d.maxPartialMessages, 1, 65_536);
  const maxPartialBytes = integer('maxPartialBytes', input.maxPartialBytes ?? Math.max(d.maxPartialBytes, maxMessageBytes), maxMessageBytes, 2 ** 50);
  const partialTimeoutMs = integer('partialTimeoutMs', input.partialTimeoutMs ?? d.partialTimeoutMs, 1, DAY_MS);
  return Object.freeze({ maxMessageBytes, maxPartialMessages, maxPartialBytes, partialTimeoutMs });
}

interface PartialMessage {
  readonly buffer: Uint8Array;
  received: number;
  lastPieceMs: number;
}

export class ChunkAssembler {
  readonly options: ChunkAssemblerOptions;
  readonly #partials = new Map<number, PartialMessage>();
  /** Dropped messages whose remaining pieces are still expected: id -> next offset. */
  readonly #abandoned = new Map<number, { next: number; total: number }>();
  #partialBytes = 0;
  #dropped = 0;
  /**
   * Buffers of whole messages handed out by push(), until given back. Weak:
   * a reader that never gives a message back lets it die young; a strong
   * reference here would keep the last few megabytes alive until the old
   * generation's collector freed them.
   */
  #handedOut = new WeakSet<ArrayBufferLike>();
  /** Buffers given back, for the next messages. */
  readonly #spare = new SpareBuffers(MAX_SPARE_BUFFERS, MAX_SPARE_BYTES);
  /** The message buffer a frame is being assembled in (place()), and where the bytes it covers were saved from; null when none. */
  #placed: Uint8Array | null = null;
  #placedAt = 0;
  readonly #saved = new Uint8Array(MAX_PLACED_HEAD);
  #savedBytes = 0;
  #inPlace = 0;

  constructor(options: ChunkAssemblerOptions = DEFAULT_CHUNK_ASSEMBLER) {
    this.options = options;
  }

  /** Incomplete messages held. */
  get partialCount(): number {
    return this.#partials.size;
  }

  /** Declared bytes of the incomplete messages (the memory their buffers hold). */
  get partialBytes(): number {
    return this.#partialBytes;
  }

  /** Messages dropped by tick() since creation. */
  get droppedCount(): number {
    return this.#dropped;
  }

  /** Pieces found in place (assembled by the frame decoder in their message's buffer, not copied). */
  get inPlaceCount(): number {
    return this.#inPlace;
  }

  /**
   * Where to assemble a frame of `frameBytes` bytes whose piece starts
   * `pieceAt` bytes into it, when its head says it continues message
   * `messageId` (of `totalBytes`) at `offset`: a view of the message's buffer
   * that puts the piece where it belongs, or null when the message is not
   * held, the piece is not the next one, or the frame would not fit. The
   * bytes the frame's head covers are saved and restored by the next push().
   * Nothing is trusted from the head: push() checks the piece as always.
   */
  place(messageId: number, offset: number, totalBytes: number, pieceAt: number, frameBytes: number): Uint8Array | null {
    if (this.#placed !== null) return null;
    const partial = this.#partials.get(messageId);
    if (partial === undefined) return null;
    const buffer = partial.buffer;
    const at = offset - pieceAt;
    if (totalBytes !== buffer.length || offset !== partial.received || pieceAt > MAX_PLACED_HEAD || at < 0 || at + frameBytes > buffer.length) return null;
    this.#saved.set(buffer.subarray(at, offset));
    this.#savedBytes = pieceAt;
    this.#placed = buffer;
    this.#placedAt = at;
    return buffer.subarray(at, at + frameBytes);
  }

  /**
   * Takes one piece. Returns the whole envelope when this piece completes it
   * (a buffer of its own, never a view of `chunk.data`), else null. Throws
   * ERR_MESSAGE_TOO_LARGE, ERR_CHUNK_SEQUENCE or ERR_REASSEMBLY_LIMIT.
   */
  push(chunk: Chunk, nowMs: number): Uint8Array | null {
    const placed = this.#placed;
    if (placed === null) return this.#take(chunk, nowMs, null);
    this.#placed = null;
    try {
      return this.#take(chunk, nowMs, placed);
    } finally {
      placed.set(this.#saved.subarray(0, this.#savedBytes), this.#placedAt); // after the piece was copied: it may have come from these bytes
    }
  }

  #take(chunk: Chunk, nowMs: number, placed: Uint8Array | null): Uint8Array | null {
    const { messageId, offset, totalBytes, data } = chunk;
    const length = data.length;
    const partial = this.#partials.get(messageId);
    if (partial !== undefined) {
      const buffer = partial.buffer;
      if (totalBytes !== buffer.length) {
        this.#release(messageId, partial);
        throw new ChunkSequenceError(messageId, `total changed from ${buffer.length} to ${totalBytes}`);
      }
      this.#checkPiece(messageId, offset, partial.received, length, totalBytes, partial);
      if (buffer === placed && data.buffer === buffer.buffer && data.byteOffset === buffer.byteOffset + offset) this.#inPlace++;
      else buffer.set(data, offset);
      partial.received = offset + length;
      partial.lastPieceMs = nowMs;
      if (partial.received < totalBytes) return null;
      this.#release(messageId, partial);
      this.#handOut(buffer);
      return buffer;
    }

    const abandoned = this.#abandoned.get(messageId);
    if (abandoned !== undefined) {
      if (totalBytes !== abandoned.total) throw new ChunkSequenceError(messageId, `total changed from ${abandoned.total} to ${totalBytes}`);
      this.#checkPiece(messageId, offset, abandoned.next, length, totalBytes, undefined);
      abandoned.next = offset + length;
      if (abandoned.next === totalBytes) this.#abandoned.delete(messageId);
      return null;
    }

    if (totalBytes > this.options.maxMessageBytes) throw new MessageTooLargeError(messageId, totalBytes, this.options.maxMessageBytes);
    if (totalBytes < 1) throw new ChunkSequenceError(messageId, 'a total of 0 bytes');
    this.#checkPiece(messageId, offset, 0, length, totalBytes, undefined);
    if (length === totalBytes) return data.slice();
    if (this.#partials.size >= this.options.maxPartialMessages) {
      throw new ReassemblyLimitError('maxPartialMessages', this.options.maxPartialMessages, messageId);
    }
    if (this.#partialBytes + totalBytes > this.options.maxPartialBytes) {
      throw new ReassemblyLimitError('maxPartialBytes', this.options.maxPartialBytes, messageId);
    }
    // not zeroed: pieces arrive in order without gaps, and the buffer is handed out only once full
    const buffer = this.#spare.take(totalBytes) ?? uninitializedBytes(totalBytes);
    buffer.set(data, 0);
    this.#partials.set(messageId, { buffer, received: length, lastPieceMs: nowMs });
    this.#partialBytes += totalBytes;
    return null;
  }

  /**
   * Gives back the bytes of a whole message push() returned, once nothing
   * refers to them any more (no view of them is kept anywhere): a later
   * message is reassembled in their buffer. Anything else is ignored, and so
   * is a buffer given back twice or one that was transferred away (detached).
   */
  recycle(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (this.#handedOut.delete(buffer)) this.#spare.put(buffer);
  }

  /** Buffers given back and kept, and their bytes. */
  get spare(): { readonly buffers: number; readonly bytes: number } {
    return { buffers: this.#spare.count, bytes: this.#spare.bytes };
  }

  /** Drops messages idle for partialTimeoutMs or longer; returns their ids. */
  tick(nowMs: number): readonly number[] {
    let dropped: number[] | null = null;
    const timeout = this.options.partialTimeoutMs;
    for (const [id, partial] of this.#partials) {
      if (nowMs - partial.lastPieceMs < timeout) continue;
      (dropped ??= []).push(id);
      this.#release(id, partial);
      this.#abandon(id, partial.received, partial.buffer.length);
      this.#dropped++;
    }
    return dropped ?? NO_DROPS;
  }

  /** When tick() next has something to drop; Infinity while nothing is held. */
  nextDeadline(): number {
    let earliest = Infinity;
    for (const partial of this.#partials.values()) earliest = Math.min(earliest, partial.lastPieceMs + this.options.partialTimeoutMs);
    return earliest;
  }

  /** Releases everything (the connection closed). */
  clear(): void {
    this.#partials.clear();
    this.#abandoned.clear();
    this.#partialBytes = 0;
    this.#handedOut = new WeakSet();
    this.#spare.clear();
    this.#placed = null;
  }

  #handOut(buffer: Uint8Array): void {
    this.#handedOut.add(buffer.buffer);
  }

  #checkPiece(messageId: number, offset: number, expected: number, length: number, totalBytes: number, partial: PartialMessage | undefined): void {
    let problem: string | null = null;
    if (offset !== expected) problem = `offset ${offset}, expected ${expected}`;
    else if (length === 0) problem = `an empty piece at offset ${offset}`;
    else if (length > totalBytes - offset) problem = `${length} bytes at offset ${offset} reach past the total of ${totalBytes}`;
    if (problem === null) return;
    if (partial !== undefined) this.#release(messageId, partial);
    throw new ChunkSequenceError(messageId, problem);
  }

  #release(messageId: number, partial: PartialMessage): void {
    this.#partials.delete(messageId);
    this.#partialBytes -= partial.buffer.length;
  }

  #abandon(messageId: number, next: number, total: number): void {
    if (this.#abandoned.size >= this.options.maxPartialMessages) {
      const oldest = this.#abandoned.keys().next().value as number;
      this.#abandoned.delete(oldest);
    }
    this.#abandoned.set(messageId, { next, total });
  }
}
