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
// A large envelope may be queued as a SplitEnvelope (its encoded head and its
// last vector's bytes by reference): its pieces are views of either part.

/**
 * An encoded envelope in two parts: `head`, everything up to and including
 * the length of its last byte vector, and `tail`, that vector's bytes (the
 * sender's own array, not copied). Their concatenation is the envelope.
 */
export class SplitEnvelope {
  readonly length: number;

  constructor(
    readonly head: Uint8Array,
    readonly tail: Uint8Array,
  ) {
    this.length = head.length + tail.length;
  }

  /** Pushes views of bytes [start, end) onto `out` (one, or two across the seam). */
  slices(start: number, end: number, out: Uint8Array[]): void {
    const seam = this.head.length;
    if (start < seam) out.push(this.head.subarray(start, Math.min(end, seam)));
    if (end > seam) out.push(this.tail.subarray(Math.max(0, start - seam), end - seam));
  }
}

/** What the scheduler queues: encoded bytes, whole or split. */
export type QueuedBytes = Uint8Array | SplitEnvelope;

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
  readonly sources: (QueuedBytes | undefined)[] = [];
  readonly messageIds: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];

  /** True when piece i is a Chunk of a larger envelope. */
  isChunk(i: number): boolean {
    return this.kinds[i] === PieceKind.Chunk;
  }

  /** The declared total of piece i's envelope (its whole length). */
  totalBytes(i: number): number {
    return (this.sources[i] as QueuedBytes).length;
  }

  /** The bytes of piece i in one array (a copy only when they cross a SplitEnvelope's seam). */
  data(i: number): Uint8Array {
    const views: Uint8Array[] = [];
    this.slices(i, views);
    if (views.length === 1) return views[0];
    const out = new Uint8Array(this.lengths[i]);
    out.set(views[0], 0);
    out.set(views[1], views[0].length);
    return out;
  }

  /** The bytes of piece i as views in order: the whole envelope, or the chunk's slice. */
  slices(i: number, out: Uint8Array[]): void {
    const source = this.sources[i] as QueuedBytes;
    const start = this.kinds[i] === PieceKind.Whole ? 0 : this.offsets[i];
    const end = this.kinds[i] === PieceKind.Whole ? source.length : start + this.lengths[i];
    if (source instanceof SplitEnvelope) source.slices(start, end, out);
    else out.push(start === 0 && end === source.length ? source : source.subarray(start, end));
  }

  /** Empties the batch and lets go of the previous sources. */
  reset(): void {
    for (let i = 0; i < this.length; i++) this.sources[i] = undefined;
    this.length = 0;
    this.bytes = 0;
    this.drain = false;
  }

  push(chunk: boolean, priority: number, source: QueuedBytes, messageId: number, offset: number, length: number): void {
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
