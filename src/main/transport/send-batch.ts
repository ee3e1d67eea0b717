// What SendScheduler.pull() hands out: the pieces to write this turn, as
// parallel arrays in one reused object (no object per piece).
//
// Piece i is either
//   Whole   sources[i] is an encoded envelope; write it as it is, or
//   Chunk   bytes [offsets[i], offsets[i] + lengths[i]) of sources[i], a large
//           envelope of sources[i].length bytes: the caller wraps them in a
//           Chunk {messageId: messageIds[i], offset: offsets[i],
//           totalBytes: sources[i].length, data: data(i)} envelope.
// priorities[i] is the class it was queued in (0 Critical .. 3 Low).
// The arrays are valid until the next pull(); entries past `length` are stale.

/** The kinds of piece, as `kinds[i]` holds them. */
export const PieceKind = { Whole: 0, Chunk: 1 } as const;
export type PieceKind = (typeof PieceKind)[keyof typeof PieceKind];

export class SendBatch {
  /** Pieces in this batch. */
  length = 0;
  /** Payload bytes of all pieces (whole lengths and chunk data lengths). */
  bytes = 0;
  /** Set once the queue, after having been above the high-water mark, fell to half of it. */
  drain = false;
  readonly kinds: PieceKind[] = [];
  readonly priorities: number[] = [];
  readonly sources: (Uint8Array | undefined)[] = [];
  readonly messageIds: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];

  /** True when piece i is a Chunk of a larger envelope. */
  isChunk(i: number): boolean {
    return this.kinds[i] === PieceKind.Chunk;
  }

  /** The declared total of piece i's envelope (its whole length). */
  totalBytes(i: number): number {
    return (this.sources[i] as Uint8Array).length;
  }

  /** The bytes of piece i: the whole envelope, or a view of the chunk's slice. */
  data(i: number): Uint8Array {
    const source = this.sources[i] as Uint8Array;
    if (this.kinds[i] === PieceKind.Whole) return source;
    const offset = this.offsets[i];
    return source.subarray(offset, offset + this.lengths[i]);
  }

  /** Empties the batch and lets go of the previous sources. */
  reset(): void {
    for (let i = 0; i < this.length; i++) this.sources[i] = undefined;
    this.length = 0;
    this.bytes = 0;
    this.drain = false;
  }

  push(chunk: boolean, priority: number, source: Uint8Array, messageId: number, offset: number, length: number): void {
    const i = this.length++;
    this.kinds[i] = chunk ? PieceKind.Chunk : PieceKind.Whole;
    this.priorities[i] = priority;
    this.sources[i] = source;
    this.messageIds[i] = chunk ? messageId : 0;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.bytes += length;
  }
}
