// Credit-based flow control, the receiving half: one window per stream and
// one for the whole connection (stream 0). The sending half is a plain
// number, the credit left, kept by StreamMux.
//
// A receiver promises the peer `windowBytes` of buffer. Every byte it has
// promised is in exactly one of three places:
//
//   outstanding  credit the peer still holds (may send without waiting)
//   buffered     arrived, not yet consumed by the application
//   pending      consumed, not yet granted back to the peer
//
//   outstanding + buffered + pending = windowBytes      (always)
//
// Bytes move outstanding -> buffered when they arrive (more than outstanding
// is a flow-control violation), buffered -> pending when the application
// consumes them, and pending -> outstanding when a StreamCredit grant is
// sent. Credit is returned for consumed bytes, never for bytes that merely
// arrived, so a reader that stops reading stops its sender after at most
// windowBytes, and the memory held for a connection is at most its window.
//
// When to grant: as soon as pending >= outstanding, i.e. once the application
// has consumed at least half of what is not stuck in the buffer
// (pending >= (windowBytes - buffered) / 2). With an empty buffer that is the
// usual "grant when half the window is consumed", which keeps grants few on a
// fast stream; when part of the window is held by unread data (at the
// connection level: streams whose readers stalled) the threshold shrinks with
// what is left, so the rest keeps moving instead of waiting for a grant that
// would only come once half of the whole window were consumed; and when the
// peer has no credit left, any consumed byte is granted at once.

/** The largest credit a peer may hold on one window (a uint on the wire). */
export const MAX_CREDIT_BYTES = 0xffff_ffff;

export class ReceiveWindow {
  readonly windowBytes: number;
  /** Credit the peer still holds. */
  outstanding: number;
  /** Arrived, not yet consumed. */
  buffered = 0;
  /** Consumed, not yet granted. */
  pending = 0;

  /** A window whose whole size is already promised to the peer. */
  constructor(windowBytes: number) {
    this.windowBytes = windowBytes;
    this.outstanding = windowBytes;
  }

  /** Counts `bytes` arriving; false (and nothing counted) when they exceed the credit the peer held. */
  receive(bytes: number): boolean {
    if (bytes > this.outstanding) return false;
    this.outstanding -= bytes;
    this.buffered += bytes;
    return true;
  }

  /** Counts `bytes` consumed by the application (or discarded); false when fewer are buffered. */
  consume(bytes: number): boolean {
    if (bytes > this.buffered) return false;
    this.buffered -= bytes;
    this.pending += bytes;
    return true;
  }

  /** The grant to send now (moving it to outstanding), or 0 when it is not yet due. */
  takeGrant(): number {
    const grant = this.pending;
    if (grant === 0 || grant < this.outstanding) return 0;
    this.pending = 0;
    this.outstanding += grant;
    return grant;
  }
}
