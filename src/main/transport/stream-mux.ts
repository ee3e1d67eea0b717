// Multiplexed streams over one connection, with credit-based flow control per
// stream and for the connection (stream 0). Pure: the caller feeds what the
// peer sent (receiveControl / receiveData / receiveCredit), asks how much it
// may send (sendable) and reports what it sends (send), reports what the
// application consumed (consume), and performs what drain() returns: stream
// messages to send (each in an envelope whose header.streamId is `streamId`)
// and events for the application.
//
// Lifecycle. Either side opens a stream with a StreamControl Open carrying the
// opener's receive window (initialCredit). The initiator of the connection
// uses odd stream ids, the acceptor even ones, each increasing, so the two
// never collide and an id is never reused. The receiver of an Open accepts it
// by granting its own initial credit (StreamCredit), or refuses it with a
// Reset (reason "refused: maxStreams") when it already holds maxStreams
// streams the peer opened. Until that grant arrives the opener may send
// nothing (sendable is 0), but it may receive at once. Each direction ends
// with fin on its last StreamData, or with a Close control when no data is
// left to carry it (half-close); a stream is closed, and freed, when both
// directions have ended and the application consumed everything. A Reset,
// from either side, ends both directions at once and discards unread data.
//
// Flow control (see stream-flow.ts for the receiving half). Data consumes the
// sender's credit on its stream AND on the connection; sendable(id) is the
// smaller. Credit comes back only as the application consumes. A stream out
// of credit has sendable 0 and stops; the others are not affected, except
// through the connection window, which stalled streams can hold at most their
// own window of: with the defaults (256 KiB per stream, 16 MiB connection),
// 63 fully stalled streams still leave room for the rest. When a stream that
// had nothing sendable becomes sendable, drain() reports 'writable' for it.
//
// Violations by the peer throw (the connection is then cut):
//   ERR_FLOW_CONTROL  data beyond the credit granted on the stream or the
//                     connection, or a grant raising credit past 2^32 - 1
//   ERR_STREAM_STATE  data or Close after the peer's fin, an Open on a used id
//                     or one of this node's parity, data on an id never opened,
//                     a seq out of order, a control on stream 0
// Data and controls arriving for a stream this node already reset or freed
// are discarded (they were in flight); discarded data still counts against,
// and is credited back to, the connection window.
// The connection keeps order only within one priority class of the send
// scheduler: send all StreamData and StreamControl of a stream at one
// priority. StreamCredit may go at any priority.
//
//   option                    default    meaning
//   initialStreamCreditBytes  256 KiB    receive window granted per stream
//   connectionCreditBytes     16 MiB     receive window over all streams together
//   maxStreams                256        concurrent streams the peer may open here
//                                        (announced in the handshake's capabilities)
import { FlowControlError, InvalidConfigError, StreamLimitError, StreamResetError, StreamStateError } from '../../shared/errors.js';
import { StreamEvent } from '../../shared/schema/generated/clusterwire/wire/stream-event.js';
import type { StreamControl } from '../../shared/schema/layout.js';
import { MAX_CREDIT_BYTES, ReceiveWindow } from './stream-flow.js';
import { integerOption as integer } from '../../shared/options.js';

export { StreamEvent };

export interface StreamMuxOptions {
  /** Receive window granted to the peer on each stream, in bytes. Default 256 KiB. */
  readonly initialStreamCreditBytes: number;
  /** Receive window over all streams, in bytes. Default 16 MiB. */
  readonly connectionCreditBytes: number;
  /** Streams opened by the peer held at once. Default 256. */
  readonly maxStreams: number;
}

export const DEFAULT_STREAM_MUX: StreamMuxOptions = Object.freeze({
  initialStreamCreditBytes: 256 * 1024,
  connectionCreditBytes: 16 * 1024 * 1024,
  maxStreams: 256,
});

export function resolveStreamMuxOptions(input: Partial<StreamMuxOptions> = {}): StreamMuxOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const d = DEFAULT_STREAM_MUX;
  const initialStreamCreditBytes = integer('initialStreamCreditBytes', input.initialStreamCreditBytes ?? d.initialStreamCreditBytes, 1, MAX_CREDIT_BYTES);
  const connectionCreditBytes = integer('connectionCreditBytes', input.connectionCreditBytes ?? d.connectionCreditBytes, initialStreamCreditBytes, MAX_CREDIT_BYTES);
  const maxStreams = integer('maxStreams', input.maxStreams ?? d.maxStreams, 0, 1 << 20);
  return Object.freeze({ initialStreamCreditBytes, connectionCreditBytes, maxStreams });
}

/** What the handshake settled: this node's role, and how many streams the peer accepts. */
export interface StreamMuxSession {
  readonly role: 'initiator' | 'acceptor';
  /** The peer's announced capabilities.maxStreams. */
  readonly peerMaxStreams: number;
}

export type StreamMuxOutput =
  | { readonly type: 'send'; readonly streamId: number; readonly body: { type: 'StreamControl' } & StreamControl }
  | { readonly type: 'send'; readonly streamId: number; readonly body: { type: 'StreamCredit'; bytes: number } }
  /** The peer opened a stream (already accepted). */
  | { readonly type: 'opened'; readonly streamId: number; readonly topic: string }
  /** The stream had nothing sendable and now has. */
  | { readonly type: 'writable'; readonly streamId: number }
  /** The peer ended its direction (fin or Close): no more data will arrive. */
  | { readonly type: 'ended'; readonly streamId: number }
  /** The peer reset the stream, or refused one this node opened. */
  | { readonly type: 'reset'; readonly streamId: number; readonly error: StreamResetError }
  /** Both directions ended and all data was consumed; the stream is freed. */
  | { readonly type: 'closed'; readonly streamId: number };

interface Stream {
  readonly id: number;
  readonly local: boolean;
  sendCredit: number;
  sendOpen: boolean;
  sendSeq: number;
  readonly recv: ReceiveWindow;
  recvOpen: boolean;
  recvSeq: number;
}

const MAX_STREAM_ID = 0xffff_ffff;

export class StreamMux {
  readonly options: StreamMuxOptions;
  readonly #streams = new Map<number, Stream>();
  readonly #conn: ReceiveWindow;
  readonly #peerMaxStreams: number;
  readonly #localParity: number;
  #out: StreamMuxOutput[] = [];
  #connSendCredit = 0;
  #nextLocalId: number;
  /** Highest id the peer opened (0: none yet). */
  #highestPeerId = 0;
  #localCount = 0;
  #peerCount = 0;

  constructor(options: StreamMuxOptions, session: StreamMuxSession) {
    this.options = options;
    this.#peerMaxStreams = session.peerMaxStreams;
    this.#localParity = session.role === 'initiator' ? 1 : 0;
    this.#nextLocalId = session.role === 'initiator' ? 1 : 2;
    this.#conn = new ReceiveWindow(options.connectionCreditBytes);
    this.#grant(0, options.connectionCreditBytes);
  }

  /** Streams held (opened by either side, not yet freed). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Credit left to send on the connection. */
  get connectionSendCredit(): number {
    return this.#connSendCredit;
  }

  /** The connection's receive window (outstanding, buffered, pending). */
  get connectionWindow(): Readonly<ReceiveWindow> {
    return this.#conn;
  }

  /** Send credit left on one stream, or -1 when it is not held. */
  streamSendCredit(id: number): number {
    return this.#streams.get(id)?.sendCredit ?? -1;
  }

  /** One stream's receive window, or undefined when it is not held. */
  streamWindow(id: number): Readonly<ReceiveWindow> | undefined {
    return this.#streams.get(id)?.recv;
  }

  /** Returns and clears what is to be sent and reported. */
  drain(): StreamMuxOutput[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Opens a stream; returns its id. Throws ERR_STREAM_LIMIT at the peer's maxStreams. */
  open(topic = ''): number {
    if (this.#localCount >= this.#peerMaxStreams) throw new StreamLimitError(this.#peerMaxStreams);
    const id = this.#nextLocalId;
    if (id > MAX_STREAM_ID) throw new StreamStateError(id, 'stream ids of this connection are used up');
    this.#nextLocalId += 2;
    this.#streams.set(id, this.#newStream(id, true, 0));
    this.#localCount++;
    this.#control(id, StreamEvent.Open, this.options.initialStreamCreditBytes, topic, '');
    return id;
  }

  /** Bytes that may be sent on `id` now: the smaller of its credit and the connection's; 0 when it cannot send. */
  sendable(id: number): number {
    const s = this.#streams.get(id);
    if (s === undefined || !s.sendOpen) return 0;
    return Math.min(s.sendCredit, this.#connSendCredit);
  }

  /**
   * Counts `bytes` sent on `id` (with fin: the last data of this direction);
   * returns the StreamData seq to send them with. More than sendable(id) is
   * refused with ERR_FLOW_CONTROL, a stream that cannot send with ERR_STREAM_STATE.
   */
  send(id: number, bytes: number, fin: boolean): number {
    const s = this.#sending(id);
    if (bytes > s.sendCredit) throw new FlowControlError(id, bytes, s.sendCredit);
    if (bytes > this.#connSendCredit) throw new FlowControlError(0, bytes, this.#connSendCredit);
    s.sendCredit -= bytes;
    this.#connSendCredit -= bytes;
    if (fin) this.#endSending(s);
    return s.sendSeq++;
  }

  /** Ends this side's direction without data (a Close control). */
  close(id: number): void {
    const s = this.#sending(id);
    this.#control(id, StreamEvent.Close, 0, '', '');
    this.#endSending(s);
  }

  /** Resets a held stream (both directions, unread data discarded); false when it is not held. */
  reset(id: number, reason = ''): boolean {
    const s = this.#streams.get(id);
    if (s === undefined) return false;
    this.#control(id, StreamEvent.Reset, 0, '', reason);
    this.#free(s);
    return true;
  }

  /** Counts `bytes` of `id`'s received data as consumed by the application; grants credit back when due. */
  consume(id: number, bytes: number): void {
    const s = this.#streams.get(id);
    if (s === undefined || !s.recv.consume(bytes)) {
      throw new StreamStateError(id, `consumed ${bytes} bytes, but only ${s?.recv.buffered ?? 0} are buffered`);
    }
    this.#conn.consume(bytes);
    if (s.recvOpen) this.#grant(id, s.recv.takeGrant());
    this.#grant(0, this.#conn.takeGrant());
    this.#closeIfDone(s);
  }

  /**
   * Counts a StreamData of `bytes` from the peer. Returns true when the data
   * is for the application, false when it is for a stream already reset or
   * freed here (discard it). Throws ERR_FLOW_CONTROL or ERR_STREAM_STATE.
   */
  receiveData(id: number, seq: number, fin: boolean, bytes: number): boolean {
    const s = this.#streams.get(id);
    if (s === undefined) {
      this.#checkKnown(id, 'data');
      if (!this.#conn.receive(bytes)) throw new FlowControlError(0, bytes, this.#conn.outstanding);
      this.#conn.consume(bytes);
      this.#grant(0, this.#conn.takeGrant());
      return false;
    }
    if (!s.recvOpen) throw new StreamStateError(id, 'data after the peer ended the stream');
    if (seq !== s.recvSeq) throw new StreamStateError(id, `data seq ${seq}, expected ${s.recvSeq}`);
    if (bytes > s.recv.outstanding) throw new FlowControlError(id, bytes, s.recv.outstanding);
    if (!this.#conn.receive(bytes)) throw new FlowControlError(0, bytes, this.#conn.outstanding);
    s.recv.receive(bytes);
    s.recvSeq++;
    if (fin) this.#endReceiving(s);
    return true;
  }

  /** Takes a StreamControl (Open, Close, Reset) from the peer. */
  receiveControl(id: number, control: Readonly<StreamControl>): void {
    if (id === 0) throw new StreamStateError(0, 'a stream control on the connection');
    switch (control.event) {
      case StreamEvent.Open:
        this.#peerOpen(id, control);
        return;
      case StreamEvent.Close: {
        const s = this.#streams.get(id);
        if (s === undefined) return this.#checkKnown(id, 'Close');
        if (!s.recvOpen) throw new StreamStateError(id, 'Close after the peer ended the stream');
        this.#endReceiving(s);
        return;
      }
      case StreamEvent.Reset: {
        const s = this.#streams.get(id);
        if (s === undefined) return this.#checkKnown(id, 'Reset');
        this.#free(s);
        this.#out.push({ type: 'reset', streamId: id, error: new StreamResetError(id, control.reason, true) });
        return;
      }
      default:
        throw new StreamStateError(id, `unknown stream event ${control.event}`);
    }
  }

  /** Takes a StreamCredit grant from the peer (stream 0: the connection). */
  receiveCredit(id: number, bytes: number): void {
    if (id === 0) {
      if (this.#connSendCredit + bytes > MAX_CREDIT_BYTES) throw new FlowControlError(0, this.#connSendCredit + bytes, MAX_CREDIT_BYTES);
      const was = this.#connSendCredit;
      this.#connSendCredit += bytes;
      if (was === 0 && bytes > 0) {
        for (const s of this.#streams.values()) if (s.sendOpen && s.sendCredit > 0) this.#out.push({ type: 'writable', streamId: s.id });
      }
      return;
    }
    const s = this.#streams.get(id);
    if (s === undefined) return this.#checkKnown(id, 'credit');
    if (s.sendCredit + bytes > MAX_CREDIT_BYTES) throw new FlowControlError(id, s.sendCredit + bytes, MAX_CREDIT_BYTES);
    const was = s.sendCredit;
    s.sendCredit += bytes;
    if (was === 0 && bytes > 0 && s.sendOpen && this.#connSendCredit > 0) this.#out.push({ type: 'writable', streamId: id });
  }

  #peerOpen(id: number, control: Readonly<StreamControl>): void {
    if ((id & 1) === this.#localParity) throw new StreamStateError(id, "an Open on an id of this node's parity");
    if (id <= this.#highestPeerId) throw new StreamStateError(id, `an Open on a used id (the peer already opened ${this.#highestPeerId})`);
    this.#highestPeerId = id;
    if (this.#peerCount >= this.options.maxStreams) {
      this.#control(id, StreamEvent.Reset, 0, '', 'refused: maxStreams');
      return;
    }
    const credit = control.initialCredit;
    if (credit > MAX_CREDIT_BYTES) throw new FlowControlError(id, credit, MAX_CREDIT_BYTES);
    this.#streams.set(id, this.#newStream(id, false, credit));
    this.#peerCount++;
    this.#grant(id, this.options.initialStreamCreditBytes);
    this.#out.push({ type: 'opened', streamId: id, topic: control.topic });
  }

  /** For a message on an id not held: fine when the id was used (the stream is gone), a violation when never opened. */
  #checkKnown(id: number, what: string): void {
    const used = (id & 1) === this.#localParity ? id < this.#nextLocalId : id <= this.#highestPeerId;
    if (id === 0 || !used) throw new StreamStateError(id, `${what} on a stream never opened`);
  }

  #newStream(id: number, local: boolean, sendCredit: number): Stream {
    return {
      id,
      local,
      sendCredit,
      sendOpen: true,
      sendSeq: 0,
      recv: new ReceiveWindow(this.options.initialStreamCreditBytes),
      recvOpen: true,
      recvSeq: 0,
    };
  }

  #sending(id: number): Stream {
    const s = this.#streams.get(id);
    if (s === undefined) throw new StreamStateError(id, 'not open (never opened, reset or closed)');
    if (!s.sendOpen) throw new StreamStateError(id, 'this side already ended the stream');
    return s;
  }

  #endSending(s: Stream): void {
    s.sendOpen = false;
    this.#closeIfDone(s);
  }

  #endReceiving(s: Stream): void {
    s.recvOpen = false;
    this.#out.push({ type: 'ended', streamId: s.id });
    this.#closeIfDone(s);
  }

  #closeIfDone(s: Stream): void {
    if (s.sendOpen || s.recvOpen || s.recv.buffered > 0) return;
    this.#free(s);
    this.#out.push({ type: 'closed', streamId: s.id });
  }

  /** Forgets a stream; its unread bytes count as consumed on the connection. */
  #free(s: Stream): void {
    this.#streams.delete(s.id);
    if (s.local) this.#localCount--;
    else this.#peerCount--;
    if (s.recv.buffered > 0) {
      this.#conn.consume(s.recv.buffered);
      this.#grant(0, this.#conn.takeGrant());
    }
  }

  #grant(id: number, bytes: number): void {
    if (bytes > 0) this.#out.push({ type: 'send', streamId: id, body: { type: 'StreamCredit', bytes } });
  }

  #control(id: number, event: StreamEvent, initialCredit: number, topic: string, reason: string): void {
    this.#out.push({ type: 'send', streamId: id, body: { type: 'StreamControl', event, initialCredit, topic, reason } });
  }
}
