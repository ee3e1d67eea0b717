// Streams as the application sees them, and the driver that binds a
// connection's StreamMux (the pure core, stream-mux.ts) to it.
//
// A Stream is a small duplex of byte chunks:
//
//   stream.write(bytes) -> boolean   queue bytes; false while more than
//                                    streamHighWaterMarkBytes wait for credit
//                                    ('drain' follows once they have left)
//   stream.end(bytes?)               last write: this direction ends (fin)
//   stream.consume(n)                the application is done with n bytes of
//                                    what 'data' delivered: credit goes back
//                                    to the peer only then
//   stream.reset(reason?)            abandon both directions at once
//   'data' (bytes)                   bytes from the peer, a copy owned by the
//                                    listener; call consume(bytes.length)
//                                    once they are processed
//   'end'                            the peer ended its direction
//   'drain'                          queued writes have all left
//   'reset' (error)                  the peer reset or refused the stream, or
//                                    the connection went away
//   'close'                          both directions ended and all data was
//                                    consumed (or this side reset it)
//
// A reader that never consumes stops its writer after one stream window
// (streamCreditBytes); the other streams keep their own credit and keep
// moving. Writes wait in the stream while it has no credit, leaving as
// StreamData pieces of at most STREAM_PIECE_BYTES as credit comes back.
//
// All StreamControl and StreamData of a stream travel at Normal priority, so
// a stream's controls never overtake its data; StreamCredit grants travel at
// High, which the mux allows, so a receiver's grants are not held up behind
// its own bulk Normal traffic.
import { EventEmitter } from 'node:events';
import { BackpressureError, StreamResetError, StreamStateError } from '../../shared/errors.js';
import type { BodyValue } from '../../shared/envelope/index.js';
import type { StreamControl, StreamData } from '../../shared/schema/layout.js';
import { StreamMux, type StreamMuxOptions, type StreamMuxOutput, type StreamMuxSession } from './stream-mux.js';

/** Longest StreamData payload: well inside one chunk, so stream data is never chunked. */
export const STREAM_PIECE_BYTES = 32 * 1024;
const NORMAL = 2;
const HIGH = 1;

export interface StreamEvents {
  data: [bytes: Uint8Array];
  end: [];
  drain: [];
  reset: [error: StreamResetError];
  close: [];
}

export type StreamState = 'open' | 'closed' | 'reset';

/** What the driver needs from its connection. */
export interface StreamCarrier {
  /** Queues one stream message on `streamId` at `priority`. */
  sendStreamMessage(body: BodyValue, streamId: number, priority: number): void;
  /** False while the connection's queue is above its high-water mark. */
  readonly writable: boolean;
}

export class Stream extends EventEmitter<StreamEvents> {
  state: StreamState = 'open';
  readonly #driver: ConnectionStreams;
  /** Writes waiting for credit, and how far the first one has left. */
  readonly #pending: Uint8Array[] = [];
  #pendingOffset = 0;
  #pendingBytes = 0;
  #ending = false;
  #ended = false;
  #needDrain = false;

  constructor(
    driver: ConnectionStreams,
    readonly id: number,
    readonly topic: string,
    /** True when this side opened it. */
    readonly local: boolean,
  ) {
    super();
    this.#driver = driver;
  }

  /** Bytes written and not yet sent (waiting for credit). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** False once this side ended (end) or the stream is gone. */
  get writable(): boolean {
    return this.state === 'open' && !this.#ending;
  }

  /**
   * Queues `bytes` (not copied until they leave: do not change them until
   * 'drain'). Returns false while more than streamHighWaterMarkBytes wait.
   * Throws ERR_STREAM_STATE after end() or once the stream is gone, and
   * ERR_BACKPRESSURE past the connection's maxQueuedBytes.
   */
  write(bytes: Uint8Array): boolean {
    if (!this.writable) throw new StreamStateError(this.id, this.state === 'open' ? 'write after end' : `write on a stream that is ${this.state}`);
    if (this.#pendingBytes + bytes.length > this.#driver.maxPendingBytes) throw new BackpressureError(`stream ${this.id}`, this.#driver.maxPendingBytes);
    if (bytes.length > 0) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
    }
    this.pump();
    const ok = this.#pendingBytes <= this.#driver.highWaterMarkBytes;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Writes `bytes` if given, then ends this direction (the last piece carries fin). */
  end(bytes?: Uint8Array): void {
    if (!this.writable) {
      if (bytes !== undefined) this.write(bytes); // throws the state error
      return;
    }
    this.#ending = true;
    if (bytes !== undefined && bytes.length > 0) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
    }
    this.pump();
  }

  /** Reports `bytes` of delivered data as processed; the peer gets credit back. */
  consume(bytes: number): void {
    if (this.state !== 'open' || bytes === 0) return;
    this.#driver.consume(this.id, bytes);
  }

  /** Resets the stream: both directions end, unread and unsent data are dropped. */
  reset(reason = ''): void {
    if (this.state !== 'open') return;
    this.#driver.reset(this, reason);
  }

  /** Sends what credit and the connection allow. */
  pump(): void {
    if (this.state !== 'open' || this.#ended) return;
    const mux = this.#driver.mux;
    while (this.#pendingBytes > 0) {
      if (!this.#driver.carrier.writable) {
        this.#driver.waitForConnection(this);
        return;
      }
      const credit = mux.sendable(this.id);
      if (credit === 0) return; // a 'writable' event resumes it
      const head = this.#pending[0];
      const n = Math.min(credit, STREAM_PIECE_BYTES, head.length - this.#pendingOffset);
      const data = head.subarray(this.#pendingOffset, this.#pendingOffset + n);
      this.#pendingOffset += n;
      this.#pendingBytes -= n;
      if (this.#pendingOffset === head.length) {
        this.#pending.shift();
        this.#pendingOffset = 0;
      }
      const fin = this.#ending && this.#pendingBytes === 0;
      const seq = mux.send(this.id, n, fin);
      if (fin) this.#ended = true;
      this.#driver.sendData(this.id, seq, fin, data);
    }
    if (this.#ending && !this.#ended) {
      this.#ended = true;
      mux.close(this.id);
      this.#driver.perform();
    }
    if (this.#needDrain && this.#pendingBytes === 0) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  /** The stream is gone: drops what waits to be sent. */
  finish(state: StreamState): void {
    this.state = state;
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    this.#pendingOffset = 0;
  }
}

/** One connection's streams: the mux, the Stream objects, and what they send. */
export class ConnectionStreams {
  readonly mux: StreamMux;
  readonly #streams = new Map<number, Stream>();
  /** Streams waiting for the connection's queue to fall below its high-water mark. */
  readonly #blocked = new Set<Stream>();
  #performing = false;
  readonly #data: { type: 'StreamData' } & StreamData = { type: 'StreamData', seq: 0, fin: false, data: new Uint8Array(0) };

  constructor(
    readonly carrier: StreamCarrier,
    options: StreamMuxOptions,
    session: StreamMuxSession,
    readonly highWaterMarkBytes: number,
    readonly maxPendingBytes: number,
    /** Takes a stream the peer opened; absent: such streams are reset. */
    private readonly onOpened: ((stream: Stream) => void) | null,
  ) {
    this.mux = new StreamMux(options, session);
    this.perform();
  }

  /** Streams held. */
  get size(): number {
    return this.#streams.size;
  }

  get(id: number): Stream | undefined {
    return this.#streams.get(id);
  }

  /** Opens a stream; throws ERR_STREAM_LIMIT at the peer's maxStreams. */
  open(topic: string): Stream {
    const id = this.mux.open(topic);
    const stream = new Stream(this, id, topic, true);
    this.#streams.set(id, stream);
    this.perform();
    return stream;
  }

  receiveControl(streamId: number, control: Readonly<StreamControl>): void {
    this.mux.receiveControl(streamId, control);
    this.perform();
  }

  receiveData(streamId: number, data: Readonly<StreamData>): void {
    const live = this.mux.receiveData(streamId, data.seq, data.fin, data.data.length);
    const stream = live && data.data.length > 0 ? this.#streams.get(streamId) : undefined;
    // the payload is a view into the receive buffer: the listener gets its own copy
    if (stream !== undefined) stream.emit('data', data.data.slice());
    this.perform();
  }

  receiveCredit(streamId: number, bytes: number): void {
    this.mux.receiveCredit(streamId, bytes);
    this.perform();
  }

  consume(id: number, bytes: number): void {
    this.mux.consume(id, bytes);
    this.perform();
  }

  reset(stream: Stream, reason: string): void {
    this.mux.reset(stream.id, reason);
    this.#forget(stream, 'reset');
    this.perform();
    stream.emit('close');
  }

  sendData(streamId: number, seq: number, fin: boolean, bytes: Uint8Array): void {
    const body = this.#data;
    body.seq = seq;
    body.fin = fin;
    body.data = bytes;
    try {
      this.carrier.sendStreamMessage(body, streamId, NORMAL);
    } finally {
      body.data = EMPTY;
    }
  }

  waitForConnection(stream: Stream): void {
    this.#blocked.add(stream);
  }

  /** The connection's queue fell below its high-water mark: blocked streams continue. */
  resume(): void {
    if (this.#blocked.size === 0) return;
    const streams = [...this.#blocked];
    this.#blocked.clear();
    for (const s of streams) {
      s.pump();
      if (!this.carrier.writable) return;
    }
  }

  /** True while streams wait for the connection's queue. */
  get blocked(): boolean {
    return this.#blocked.size > 0;
  }

  /** The connection is gone: every stream is reset with `error`'s reason. */
  closeAll(reason: string): void {
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#blocked.clear();
    for (const s of streams) {
      s.finish('reset');
      s.emit('reset', new StreamResetError(s.id, reason, false));
    }
  }

  /** Sends what the mux asks to send, and reports its events to the streams. */
  perform(): void {
    // Handlers may act on streams (and so on the mux) while this runs: their
    // output is taken by this loop, in the order the mux produced it.
    if (this.#performing) return;
    this.#performing = true;
    try {
      for (let outs = this.mux.drain(); outs.length > 0; outs = this.mux.drain()) this.#performAll(outs);
    } finally {
      this.#performing = false;
    }
  }

  #performAll(outs: readonly StreamMuxOutput[]): void {
    for (const out of outs) {
      switch (out.type) {
        case 'send':
          this.carrier.sendStreamMessage(out.body, out.streamId, out.body.type === 'StreamCredit' ? HIGH : NORMAL);
          break;
        case 'opened': {
          const stream = new Stream(this, out.streamId, out.topic, false);
          if (this.onOpened === null) {
            this.mux.reset(out.streamId, 'refused: no stream handler');
            break;
          }
          this.#streams.set(out.streamId, stream);
          this.onOpened(stream);
          break;
        }
        case 'writable':
          this.#streams.get(out.streamId)?.pump();
          break;
        case 'ended':
          this.#streams.get(out.streamId)?.emit('end');
          break;
        case 'reset': {
          const stream = this.#streams.get(out.streamId);
          if (stream === undefined) break;
          this.#forget(stream, 'reset');
          stream.emit('reset', out.error);
          break;
        }
        case 'closed': {
          const stream = this.#streams.get(out.streamId);
          if (stream === undefined) break;
          this.#forget(stream, 'closed');
          stream.emit('close');
          break;
        }
      }
    }
  }

  #forget(stream: Stream, state: StreamState): void {
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    stream.finish(state);
  }
}

const EMPTY = new Uint8Array(0);
