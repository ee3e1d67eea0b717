// One connection to a peer: the adapter between a socket (net or tls) and the
// pure cores. It owns the socket, its timers and its byte buffers, and holds
// no protocol logic of its own: the handshake is handshake-*.ts, framing is
// src/shared/frame*.ts, envelopes are src/shared/envelope/.
//
//   connecting ──connect──▶ handshaking ──established──▶ active ◀──▶ idle
//        │                      │                          │
//        └──────── error / timeout / refusal ──────────────┴──▶ failed
//   close() ──▶ closing ──▶ closed
//
// Reading: bytes go through one FrameDecoder; until the handshake is
// established only handshake messages are taken, and any other frame fails
// it. After that every envelope goes to `onMessage`. Anything malformed from
// the peer (a bad frame, a bad envelope, an unknown message type) is answered
// with an ErrorReply where the framing still allows one, and the connection
// is cut: one bad peer never disturbs another.
//
// Handshake messages are framed whole and written at once, never cut into
// pieces (the peer takes no Chunk before the handshake completes). The
// handshake tells the largest frame the peer takes; for a peer that takes
// less than a chunk plus CHUNK_FRAME_OVERHEAD_BYTES, pieces are cut smaller,
// and checksum runs kept short enough for it.
//
// Writing (outbound.ts decides the way of each envelope): while nothing is
// scheduled and the socket holds less than a chunk, `send` frames a small
// envelope straight into a FrameEncoder; the frames queued before the process
// next yields (the synchronous code and the promise continuations it
// triggers) leave in one socket write, flushed from process.nextTick: a burst
// costs one syscall, and a lone request waits for nothing. When the handshake
// showed that the peer accepts checksum runs, frames written together share
// CRC trailers (connection option checksumRunBytes). Otherwise (the
// socket backed up, something already scheduled, an envelope longer than
// chunkBytes) the envelope goes to the SendScheduler by priority, large ones
// cut into Chunk pieces. The scheduler is pumped at the end of each turn and
// whenever the socket has taken the last write: about PUMP_WRITE_CHUNKS
// chunks per write (one syscall; shorter writes cost measurably more CPU per
// message on loopback), only while the socket holds less than a chunk, at
// most PUMP_TURN_WRITES writes per event-loop turn (timers and reads run in
// between). Critical messages (ping, pong, heartbeat) leave first
// at the end of their turn, ahead of everything scheduled: while a transfer
// is being pumped, they wait behind at most what the socket buffer holds
// in this process (the last pump write, about PUMP_WRITE_CHUNKS chunks, or
// the last direct write, at most 8 chunks of small frames); bytes
// already in the kernel's buffers cannot be overtaken by anyone, so while a
// large envelope is being cut into pieces the pump is paced: every quarter of
// pacingWindowBytes it follows its writes with a Ping, and it stops while
// more than the window is written and not yet answered by a Pong. That bounds
// what a Critical message finds ahead of it in the kernel's buffers to about
// one window. Pacing costs bulk throughput (the sender waits for Pongs), and
// it has something to protect only on a connection that carries urgent
// messages: it applies within pacingIdleMs after the application last sent a
// Critical or High message on it (send) or a Ping (ping). The bytes handed
// to the socket are never written again. Large envelopes' buffers come back
// to the outbound once the write carrying their last piece is done. Queued
// bytes (encoders, scheduler and socket) are bounded: above
// highWaterMarkBytes `writable` is false (backpressure 'wait': await
// drain()) or `send` throws ERR_BACKPRESSURE ('error'); above maxQueuedBytes
// it always throws. A socket that does not drain within writeTimeoutMs fails
// the connection.
//
// Reading chunked envelopes: Chunk pieces go to a ChunkAssembler (bounded by
// maxMessageBytes, maxPartialMessages, reassemblyTimeoutMs; one timer drives
// its timeouts); the whole envelope is read and dispatched like any other.
//
// Streams (stream.ts): StreamControl, StreamData and StreamCredit envelopes go
// by header.streamId to the connection's StreamMux, created on first use with
// the handshake's maxStreams; streams the peer opens reach `onStream`.
//
// Liveness: a Ping is answered with a Pong by the connection itself (never
// dispatched); `ping()` measures the round trip.
import type net from 'node:net';
import tls from 'node:tls';
import {
  BackpressureError,
  ClusterwireError,
  HandlerFailedError,
  HandshakeRejectedError,
  MalformedEnvelopeError,
  MalformedFrameError,
  PeerUnavailableError,
  TimeoutError,
} from '../../shared/errors.js';
import { decodePayload, encodeEnvelope, peekChunkPiece, readEnvelope, type BodyValue, type Envelope } from '../../shared/envelope/index.js';
import { FrameDecoder } from '../../shared/frame-decoder.js';
import { encodeFrame, FEATURE_CHECKSUM_RUNS } from '../../shared/frame.js';
import { WireError } from '../../shared/schema/generated/clusterwire/wire/wire-error.js';
import type { HandshakeAcceptor } from './handshake-acceptor.js';
import type { HandshakeInitiator } from './handshake-initiator.js';
import type { HandshakeSession, HandshakeStep, PeerExpectation } from './handshake.js';
import { CHUNK_FRAME_OVERHEAD_BYTES, MIN_CHUNK_BYTES, type ConnectionOptions } from './connection-options.js';
import { ChunkAssembler, resolveChunkAssemblerOptions } from './chunk-assembler.js';
import type { Chunk } from '../../shared/schema/layout.js';
import { Outbound } from './outbound.js';
import { PacingWindow } from './pacing.js';
import { resolveStreamMuxOptions, type StreamMux } from './stream-mux.js';
import { ConnectionStreams, type Stream, type StreamCarrier } from './stream.js';

export type ConnectionState = 'connecting' | 'handshaking' | 'active' | 'idle' | 'closing' | 'closed' | 'failed';

export interface ConnectionCounters {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  errors: number;
  /** performance.now() of the last byte in or out. */
  lastActivityMs: number;
}

export interface ConnectionHandlers {
  /** The handshake completed; messages may flow. */
  onEstablished?(connection: Connection, session: HandshakeSession): void;
  /** An application envelope from the peer (never a handshake message). */
  onMessage(connection: Connection, envelope: Envelope): void;
  /** The connection is gone; `error` is null after a clean close. */
  onClose?(connection: Connection, error: ClusterwireError | null): void;
  onStateChange?(connection: Connection, state: ConnectionState): void;
  /** The peer opened a stream; without this handler such streams are reset ("refused: no stream handler"). */
  onStream?(connection: Connection, stream: Stream): void;
}

/** Message ids of one node: one sequence for all its connections. */
export interface MessageIds {
  next(): number;
}

export interface SendOptions {
  priority?: number;
  correlationId?: number;
  streamId?: number;
  /** The message id to use instead of the next one (a retried request keeps its first id). */
  messageId?: number;
  /**
   * The caller lends its payload (or data) and will not change those bytes
   * afterwards: a message longer than chunkBytes is sent from them, not
   * copied first.
   */
  lend?: boolean;
}

const HANDSHAKE_TYPES = new Set(['HandshakeRequest', 'HandshakeResponse', 'HandshakeConfirm']);
const HIGH = 1;
const NORMAL = 2;
/** What the reused envelope holds between sends (nothing is encoded from it). */
const NO_BODY: BodyValue = { type: 'Ping', seq: 0, sentUs: 0 };

/** Ids counting up from `start`. */
export function counterFrom(start: number): MessageIds {
  let next = start;
  return { next: () => next++ };
}
/** Pings awaiting their pong, at most. */
const MAX_PINGS = 16;
/** One write of scheduled pieces carries about this many chunks (one syscall). */
const PUMP_WRITE_CHUNKS = 4;
/** Writes of scheduled pieces per event-loop turn at most; the rest waits for the next turn. */
const PUMP_TURN_WRITES = 4;
/** The largest maxStreams a StreamMux takes. */
const MAX_MUX_STREAMS = 1 << 20;

export class Connection {
  state: ConnectionState;
  session: HandshakeSession | null = null;
  /** Set when the connection failed. */
  error: ClusterwireError | null = null;
  readonly counters: ConnectionCounters = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, errors: 0, lastActivityMs: 0 };
  /** Where the peer is, for logs and errors. */
  readonly remote: string;
  /** The peer's role from its TLS certificate (OU), when it has one. */
  role: string | null = null;

  private readonly decoder: FrameDecoder;
  private outbound: Outbound;
  /** Buffers of one write, reused. */
  private readonly writeList: Uint8Array[] = [];
  private pumpWriteBytes: number;
  private pumpScheduled = false;
  /** Bytes written while a transfer was cut, and the Pings that acknowledge them (pacing.ts). */
  private readonly pacing: PacingWindow;
  /** Pacing applies until then (µs, as turnTimestampUs): pacingIdleMs after send() last took a Critical or High message or ping() was called. */
  private pacedUntilUs: number;
  private readonly pacingIdleUs: number;
  /** The pump writes while the socket holds less than this (one chunk). */
  private socketBudget: number;
  private assembler: ChunkAssembler | null = null;
  private reassemblyTimer: NodeJS.Timeout | null = null;
  private streamDriver: ConnectionStreams | null = null;
  private flushScheduled = false;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private writeTimer: NodeJS.Timeout | null = null;
  private drainWaiters: Array<() => void> = [];
  /** Wall-clock microseconds, read once per flush turn rather than per message. */
  private turnTimestampUs = 0;
  private readonly scratch: Envelope;
  private pingSeq = 0;
  private readonly pings = new Map<number, { sentAt: number; resolve: (rttMs: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Round trips of answered pings, in ms: the last one. */
  lastRttMs = -1;

  constructor(
    readonly socket: net.Socket,
    private readonly party: HandshakeInitiator | HandshakeAcceptor,
    /** This node's number (the envelope header's `sender`). */
    private readonly sender: number,
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
    connecting: boolean,
    private readonly expect: PeerExpectation = {},
    private readonly ids: MessageIds = counterFrom(1),
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.scratch = { header: { messageId: 0, correlationId: 0, sender, timestampUs: 0, streamId: 0, priority: NORMAL }, body: NO_BODY };
    // checksum runs only once the handshake has announced that this side takes them
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes, requireChecksum: options.requireChecksum, checksumRuns: false });
    this.outbound = this.newOutbound(options.chunkBytes);
    this.pumpWriteBytes = PUMP_WRITE_CHUNKS * options.chunkBytes;
    this.socketBudget = options.chunkBytes;
    this.pacing = new PacingWindow(options.pacingWindowBytes);
    this.pacingIdleUs = options.pacingIdleMs * 1000;
    this.pacedUntilUs = options.pacingIdleMs === 0 ? Infinity : -Infinity;
    this.state = connecting ? 'connecting' : 'handshaking';
    socket.setNoDelay(true);
    if (options.keepAliveMs > 0) socket.setKeepAlive(true, options.keepAliveMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.fail(new PeerUnavailableError(this.peerName(), error.message, { cause: error })));
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => this.onDrain());
    socket.on('timeout', () => this.onIdle());
    if (connecting) {
      this.connectTimer = setTimeout(() => this.fail(new PeerUnavailableError(this.peerName(), `no connection within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => this.onConnect());
    } else {
      this.startHandshake();
    }
  }

  /** The peer's node id once known, else its address. */
  peerName(): string {
    return this.session?.peerNodeId ?? this.expect.nodeId ?? this.remote;
  }

  /** Bytes waiting to leave: framed, scheduled, and in the socket. */
  get queuedBytes(): number {
    return this.outbound.queuedBytes + this.socket.writableLength;
  }

  /** This connection's stream multiplexer; null until a stream is first used. */
  get streams(): StreamMux | null {
    return this.streamDriver?.mux ?? null;
  }

  /**
   * Opens a stream to the peer (see stream.ts for its API). Throws
   * ERR_PEER_UNAVAILABLE when not active, ERR_STREAM_LIMIT at the peer's maxStreams.
   */
  openStream(topic = ''): Stream {
    if (this.state !== 'active' && this.state !== 'idle') throw new PeerUnavailableError(this.peerName(), `connection is ${this.state}`);
    return this.streamsOf().open(topic);
  }

  /**
   * Queues one application message. Returns its message id. Throws
   * ERR_PEER_UNAVAILABLE when not active, ERR_BACKPRESSURE past the limits;
   * `writable` turns false above the high-water mark (await drain()).
   */
  send(body: BodyValue, options?: SendOptions): number {
    if (this.state !== 'active' && this.state !== 'idle') throw new PeerUnavailableError(this.peerName(), `connection is ${this.state}`);
    const queued = this.queuedBytes;
    if (queued >= this.options.maxQueuedBytes || (this.options.backpressure === 'error' && queued >= this.options.highWaterMarkBytes)) {
      throw new BackpressureError(`send queue of ${this.peerName()}`, this.options.backpressure === 'error' ? this.options.highWaterMarkBytes : this.options.maxQueuedBytes);
    }
    const id = this.enqueue(body, options);
    this.counters.messagesOut++;
    if (options?.priority !== undefined && options.priority <= HIGH) this.urgentSent();
    return id;
  }

  /** False while queued bytes are above the high-water mark. */
  get writable(): boolean {
    return this.queuedBytes < this.options.highWaterMarkBytes;
  }

  /** Resolves once queued bytes are below the high-water mark (at once if they are). */
  drain(): Promise<void> {
    if (this.writable || this.state === 'closed' || this.state === 'failed') return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Sends a Ping; resolves with the round trip in ms, or rejects with ERR_TIMEOUT. */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.pings.size >= MAX_PINGS) return Promise.reject(new BackpressureError(`pings to ${this.peerName()}`, MAX_PINGS));
    const seq = ++this.pingSeq;
    const sentAt = performance.now();
    this.enqueue({ type: 'Ping', seq, sentUs: Math.round(sentAt * 1000) }, { priority: 0 });
    this.urgentSent();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(seq);
        reject(new TimeoutError(seq, timeoutMs, 1));
      }, timeoutMs);
      this.pings.set(seq, { sentAt, resolve, reject, timer });
    });
  }

  /**
   * Gives back a large received message's bytes (an envelope that arrived in
   * Chunk pieces: any view of them, such as its payload) once nothing refers
   * to them any more: the next large message is reassembled in their buffer
   * instead of a new one. Bytes of other messages are ignored. Keeping a view
   * of the bytes after giving them back sees them overwritten.
   */
  recycle(bytes: Uint8Array): void {
    this.assembler?.recycle(bytes);
  }

  /** Sends what is queued, then closes. */
  close(): void {
    if (this.state === 'closed' || this.state === 'failed' || this.state === 'closing') return;
    this.setState('closing');
    this.flush(); // ends the socket once nothing is scheduled
  }

  /** Cuts the connection at once with `error`. */
  destroy(error: ClusterwireError): void {
    this.fail(error);
  }

  // ------------------------------------------------------------- internals

  private enqueue(body: BodyValue, options?: SendOptions): number {
    const id = options?.messageId ?? this.ids.next();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.turnTimestampUs = Date.now() * 1000;
      process.nextTick(this.flushBound);
    }
    // one envelope object per connection, refilled per message: the outbound
    // encodes it before add() returns and keeps nothing of it but the id
    const envelope = this.scratch;
    const header = envelope.header;
    header.messageId = id;
    header.correlationId = options?.correlationId ?? 0;
    header.timestampUs = this.turnTimestampUs;
    header.streamId = options?.streamId ?? 0;
    header.priority = options?.priority ?? NORMAL;
    envelope.body = body;
    let now: Uint8Array | null;
    try {
      now = this.outbound.add(envelope, this.socket.writableLength, options?.lend === true);
    } finally {
      envelope.body = NO_BODY;
    }
    if (now !== null) this.write(now);
    return id;
  }

  private readonly flushBound = (): void => this.flush();

  /** An urgent message was queued in this turn: pacing applies for pacingIdleMs. */
  private urgentSent(): void {
    if (this.pacedUntilUs !== Infinity) this.pacedUntilUs = this.turnTimestampUs + this.pacingIdleUs;
  }

  /** End of a turn: Critical and direct frames leave, then the scheduler is pumped. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.socket.destroyed) return;
    const list = this.writeList;
    this.outbound.takeTurn(list);
    this.writeAll(list);
    this.pump();
  }

  private readonly pumpBound = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /**
   * Writes scheduled pieces, about PUMP_WRITE_CHUNKS chunks per write, while
   * the socket holds less than a chunk, at most PUMP_TURN_WRITES writes per
   * turn; continues from the next turn or once the socket took the last write.
   */
  private pump(): void {
    const socket = this.socket;
    const list = this.writeList;
    let budget = PUMP_TURN_WRITES;
    const pacing = this.pacing;
    while (this.outbound.scheduled && socket.writableLength < this.socketBudget && budget-- > 0 && !socket.destroyed) {
      // Pacing applies while a transfer is being cut into pieces, soon after an
      // urgent message (and not while closing: Pongs are not read then); it
      // counts only the bytes written then.
      const timestampUs = Date.now() * 1000;
      const paced = this.outbound.chunking && this.state !== 'closing' && timestampUs < this.pacedUntilUs;
      if (paced && pacing.blocked) return; // a Pong resumes it
      let bytes = 0;
      while (bytes < this.pumpWriteBytes && this.outbound.scheduled) bytes += this.outbound.pull(list, timestampUs);
      const retired = this.outbound.takeRetired();
      this.writeAll(list, retired === null ? null : this.givingBack(retired));
      if (!paced) continue;
      const probe = pacing.wrote(bytes);
      if (probe >= 0) this.enqueue({ type: 'Ping', seq: probe, sentUs: 0 }, { priority: 0 });
    }
    if (this.outbound.scheduled) {
      if (budget <= 0 && socket.writableLength < this.socketBudget) this.schedulePump();
    } else if (this.state === 'closing' && !socket.writableEnded) {
      socket.end();
    }
    this.releaseIfWritable();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.socket.destroyed) return;
    this.pumpScheduled = true;
    setImmediate(this.pumpBound);
  }

  /**
   * Writes the buffers in `list` (one syscall for several) and empties it.
   * `last`, when given, is called once the socket has written the last of
   * them (and so all of them: writes complete in order) instead of writtenBound.
   */
  private writeAll(list: Uint8Array[], last: (() => void) | null = null): void {
    if (list.length === 0) return;
    if (list.length === 1) {
      this.write(list[0], last);
    } else {
      this.socket.cork();
      const n = list.length - 1;
      for (let i = 0; i < n; i++) this.write(list[i], null);
      this.write(list[n], last);
      this.socket.uncork();
    }
    list.length = 0;
  }

  private write(bytes: Uint8Array, last: (() => void) | null = null): void {
    this.counters.bytesOut += bytes.length;
    this.counters.lastActivityMs = performance.now();
    const written = last ?? (this.outbound.recyclable(bytes) ? this.recycling(bytes) : this.writtenBound);
    if (!this.socket.write(bytes, written) && this.writeTimer === null) {
      this.writeTimer = setTimeout(
        () => this.fail(new PeerUnavailableError(this.peerName(), `socket did not drain within ${this.options.writeTimeoutMs} ms`)),
        this.options.writeTimeoutMs,
      );
    }
  }

  /** writtenBound for the write that carries the last pieces of large envelopes, whose buffers then go back to the outbound. */
  private givingBack(buffers: readonly ArrayBufferLike[]): () => void {
    return () => {
      if (this.state !== 'closed' && this.state !== 'failed') this.outbound.giveBack(buffers);
      this.writtenBound();
    };
  }

  /** writtenBound for a direct-frame buffer, which goes back to the outbound once written. */
  private recycling(bytes: Uint8Array): () => void {
    return () => {
      this.outbound.recycle(bytes);
      this.writtenBound();
    };
  }

  /** A write reached the kernel: the scheduler may go on (from the next turn, never from this tick). */
  private readonly writtenBound = (): void => {
    if (this.outbound.scheduled && this.socket.writableLength < this.socketBudget) this.schedulePump();
    else if (this.state === 'closing' && !this.outbound.scheduled && this.socket.writableLength === 0 && !this.socket.writableEnded) this.socket.end();
    this.releaseIfWritable();
  };

  private onDrain(): void {
    if (this.writeTimer !== null) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    if (this.outbound.scheduled) this.schedulePump();
    this.releaseIfWritable();
  }

  private releaseIfWritable(): void {
    if (!this.writable) return;
    if (this.drainWaiters.length > 0) this.releaseDrainWaiters();
    if (this.streamDriver !== null && this.streamDriver.blocked) this.streamDriver.resume();
  }

  /** The stream driver, created on first use. */
  private streamsOf(): ConnectionStreams {
    if (this.streamDriver !== null) return this.streamDriver;
    const session = this.session;
    if (session === null) throw new PeerUnavailableError(this.peerName(), 'streams before the handshake completed');
    const maxStreams = Math.min(session.capabilities.maxStreams, MAX_MUX_STREAMS);
    const mux = resolveStreamMuxOptions({
      initialStreamCreditBytes: this.options.streamCreditBytes,
      connectionCreditBytes: this.options.connectionCreditBytes,
      maxStreams,
    });
    const onStream = this.handlers.onStream;
    this.streamDriver = new ConnectionStreams(
      this.carrier,
      mux,
      { role: session.role, peerMaxStreams: maxStreams },
      this.options.streamHighWaterMarkBytes,
      this.options.maxQueuedBytes,
      onStream === undefined ? null : (stream) => onStream(this, stream),
    );
    return this.streamDriver;
  }

  private readonly carrier: StreamCarrier = ((connection: Connection): StreamCarrier => ({
    sendStreamMessage: (body, streamId, priority) => void connection.enqueue(body, { streamId, priority }),
    get writable() {
      return connection.writable;
    },
  }))(this);

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onConnect(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.startHandshake();
  }

  private startHandshake(): void {
    this.setState('handshaking');
    let expect = this.expect;
    if (this.socket instanceof tls.TLSSocket) {
      // The certificate names the peer: its CN is the node id the handshake must carry.
      const subject = this.socket.getPeerCertificate()?.subject;
      const cn = typeof subject?.CN === 'string' ? subject.CN : '';
      if (cn === '' || (expect.nodeId !== undefined && expect.nodeId !== cn)) {
        this.fail(new HandshakeRejectedError('node_id_mismatch', `certificate names ${cn === '' ? 'no node' : cn}, expected ${expect.nodeId ?? 'a node id'}`));
        return;
      }
      expect = { ...expect, nodeId: cn };
      this.role = typeof subject?.OU === 'string' ? subject.OU : null;
    }
    this.performHandshakeStep(this.party.start(expect));
  }

  private newOutbound(chunkBytes: number): Outbound {
    const o = this.options;
    return new Outbound({
      chunkBytes,
      checksum: o.checksum,
      compression: o.compression,
      compressMinBytes: o.compressMinBytes,
      maxFrameBytes: o.maxFrameBytes,
      highWaterMarkBytes: o.highWaterMarkBytes,
      maxQueuedBytes: o.maxQueuedBytes,
      maxMessageBytes: o.maxMessageBytes,
      sender: this.sender,
    });
  }

  /**
   * Writes a handshake message as one frame of its own, at once: never cut
   * into Chunk pieces (a peer takes none before the handshake completes),
   * whatever chunkBytes is.
   */
  private writeHandshakeMessage(body: BodyValue): void {
    const header = { messageId: this.ids.next(), correlationId: 0, sender: this.sender, timestampUs: Date.now() * 1000, streamId: 0, priority: 0 };
    this.write(encodeFrame(header.messageId, encodeEnvelope({ header, body }), { checksum: this.options.checksum, maxFrameBytes: 2 ** 32 - 1 }));
  }

  /**
   * The peer takes frames of at most `maxFrameBytes` (the smaller of the two
   * announced): pieces of large messages are cut small enough for it. Only
   * right after the handshake, while nothing is queued.
   */
  private fitPeerFrames(maxFrameBytes: number): void {
    const chunkBytes = Math.max(MIN_CHUNK_BYTES, maxFrameBytes - CHUNK_FRAME_OVERHEAD_BYTES);
    if (chunkBytes < this.options.chunkBytes && this.outbound.queuedBytes === 0) {
      this.outbound = this.newOutbound(chunkBytes);
      this.pumpWriteBytes = PUMP_WRITE_CHUNKS * chunkBytes;
      this.socketBudget = chunkBytes;
    }
  }

  private performHandshakeStep(step: HandshakeStep): void {
    for (const message of step.send) this.writeHandshakeMessage(message as BodyValue);
    if (step.status === 'pending') {
      if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
      if (Number.isFinite(step.deadlineAt)) {
        const wait = Math.max(0, step.deadlineAt - performance.now());
        this.handshakeTimer = setTimeout(() => this.performHandshakeStep(this.party.tick(performance.now())), wait + 1);
      }
      return;
    }
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    if (step.status === 'established') {
      this.session = step.session;
      const peerMaxFrameBytes = step.session.capabilities.maxFrameBytes;
      this.fitPeerFrames(peerMaxFrameBytes);
      if (this.party.options.capabilities.features.includes(FEATURE_CHECKSUM_RUNS)) this.decoder.acceptRuns();
      if (this.options.checksum && this.options.checksumRunBytes > 0 && step.session.capabilities.features.includes(FEATURE_CHECKSUM_RUNS)) {
        // a run is sealed once it reaches its length, so it may be one frame (at most about a chunk) longer
        const runBytes = Math.min(this.options.checksumRunBytes, peerMaxFrameBytes - this.socketBudget - CHUNK_FRAME_OVERHEAD_BYTES);
        if (runBytes > 0) this.outbound.useChecksumRuns(runBytes);
      }
      this.setState('active');
      this.socket.setTimeout(this.options.idleTimeoutMs);
      this.handlers.onEstablished?.(this, step.session);
      return;
    }
    // failed: the refusal (if any) leaves first, then the connection ends
    this.flush();
    this.fail(step.error);
  }

  private onData(chunk: Buffer): void {
    this.counters.bytesIn += chunk.length;
    this.counters.lastActivityMs = performance.now();
    if (this.state === 'idle') this.setState('active');
    else if (this.state !== 'active' && this.state !== 'handshaking') return; // closing or failed: nothing more is taken
    try {
      this.decoder.eachPayload(chunk, this.onPayload);
    } catch (error) {
      if (this.state !== 'active' && this.state !== 'handshaking') return; // closed while the chunk was read
      if (!(error instanceof ClusterwireError)) {
        // a handler threw: the rest of the chunk is lost with it, so the stream cannot go on
        this.fail(new HandlerFailedError('', String((error as Error)?.message ?? error), { cause: error }));
        throw error;
      }
      this.counters.errors++;
      this.refuse(error);
    }
  }

  /** One checked frame's payload, read in place from the receive buffer (FrameDecoder.eachPayload). */
  private readonly onPayload = (bytes: Uint8Array, start: number, end: number, messageId: number): void => {
    const state = this.state;
    if (state === 'active') {
      const envelope = decodePayload(bytes, start, end, messageId);
      this.dispatch(envelope);
      // a piece is copied out by the assembler: the decoder may fill its buffer again
      if (envelope.body.type === 'Chunk') this.decoder.reuse(bytes);
    } else if (state === 'handshaking') {
      const envelope = decodePayload(bytes, start, end, messageId);
      if (!HANDSHAKE_TYPES.has(envelope.body.type)) {
        throw new MalformedFrameError(`${envelope.body.type} before the handshake completed`);
      }
      this.performHandshakeStep(this.party.receive(envelope.body));
    }
    // closing or failed: nothing more is taken
  };

  private dispatch(envelope: Envelope): void {
    const body = envelope.body;
    switch (body.type) {
      case 'Ping':
        this.enqueue({ type: 'Pong', seq: body.seq, echoSentUs: body.sentUs }, { priority: 0, correlationId: envelope.header.messageId });
        return;
      case 'Pong':
        this.onPong(body.seq);
        return;
      case 'Chunk':
        this.onChunk(body);
        return;
      case 'StreamData':
        this.streamsOf().receiveData(envelope.header.streamId, body);
        return;
      case 'StreamCredit':
        this.streamsOf().receiveCredit(envelope.header.streamId, body.bytes);
        return;
      case 'StreamControl':
        this.streamsOf().receiveControl(envelope.header.streamId, body);
        return;
      default:
        this.counters.messagesIn++;
        this.handlers.onMessage(this, envelope);
    }
  }

  /** One piece of a chunked envelope; the whole envelope is dispatched once complete. */
  private onChunk(chunk: Chunk): void {
    const assembler = this.assembler ?? this.newAssembler();
    const whole = assembler.push(chunk, performance.now());
    if (whole === null) {
      this.armReassemblyTimer();
      return;
    }
    const envelope = readEnvelope(whole);
    if (envelope.header.messageId !== chunk.messageId) {
      throw new MalformedEnvelopeError(`chunked envelope carries message id ${envelope.header.messageId}, its pieces ${chunk.messageId}`);
    }
    if (envelope.body.type === 'Chunk') throw new MalformedEnvelopeError('a Chunk inside a chunked envelope');
    this.dispatch(envelope);
  }

  /**
   * The assembler, made at the first piece. From then on the decoder
   * assembles a piece that spans socket reads right in its message's buffer
   * when the assembler has a place for it (ChunkAssembler.place): one copy
   * of its bytes instead of two.
   */
  private newAssembler(): ChunkAssembler {
    const assembler = new ChunkAssembler(
      resolveChunkAssemblerOptions({
        maxMessageBytes: this.options.maxMessageBytes,
        maxPartialMessages: this.options.maxPartialMessages,
        maxPartialBytes: Math.min(2 * this.options.maxMessageBytes, 2 ** 50),
        partialTimeoutMs: this.options.reassemblyTimeoutMs,
      }),
    );
    this.assembler = assembler;
    this.decoder.setSpanTarget((bytes, start, available, length) => {
      const head = peekChunkPiece(bytes, start, start + available);
      return head === null ? null : assembler.place(head.messageId, head.offset, head.totalBytes, head.pieceAt, length);
    });
    return assembler;
  }

  /** One timer for the assembler: armed while pieces of an envelope are held. */
  private armReassemblyTimer(): void {
    const assembler = this.assembler;
    if (this.reassemblyTimer !== null || assembler === null || assembler.partialCount === 0) return;
    const wait = Math.max(0, assembler.nextDeadline() - performance.now());
    this.reassemblyTimer = setTimeout(() => {
      this.reassemblyTimer = null;
      assembler.tick(performance.now());
      this.armReassemblyTimer();
    }, wait + 1);
    this.reassemblyTimer.unref();
  }

  private onPong(seq: number): void {
    if (PacingWindow.isProbe(seq)) {
      if (this.pacing.answered(seq) && this.outbound.scheduled) this.schedulePump();
      return;
    }
    const ping = this.pings.get(seq);
    if (ping === undefined) return; // late or unasked: ignored
    this.pings.delete(seq);
    clearTimeout(ping.timer);
    this.lastRttMs = performance.now() - ping.sentAt;
    ping.resolve(this.lastRttMs);
  }

  /** Answers a bad frame or envelope with an ErrorReply, then cuts the connection. */
  private refuse(error: ClusterwireError): void {
    if (this.state === 'active' && !this.socket.destroyed && !(error instanceof HandshakeRejectedError)) {
      try {
        this.enqueue({ type: 'ErrorReply', code: error.wireCode ?? WireError.Unknown, inReplyTo: 0, message: error.message.slice(0, 200) }, { priority: 0 });
        this.flush();
      } catch {
        // the reply is best effort: the connection is cut either way
      }
    }
    this.fail(error);
  }

  private onIdle(): void {
    if (this.state === 'active') this.setState('idle');
  }

  private fail(error: ClusterwireError): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.error = error;
    this.counters.errors++;
    this.setState('failed');
    this.teardown();
    // let a refusal already handed to the socket leave before the reset
    if (this.socket.writableLength > 0) this.socket.end();
    else this.socket.destroy();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.handlers.onClose?.(this, error);
  }

  private onSocketClose(): void {
    this.teardown();
    if (this.state === 'failed' || this.state === 'closed') return;
    if (this.state === 'closing') {
      this.setState('closed');
      this.handlers.onClose?.(this, null);
      return;
    }
    this.fail(new PeerUnavailableError(this.peerName(), this.state === 'handshaking' ? 'closed during the handshake' : 'connection closed by the peer'));
  }

  private teardown(): void {
    for (const t of [this.handshakeTimer, this.connectTimer, this.writeTimer, this.reassemblyTimer]) if (t !== null) clearTimeout(t);
    this.handshakeTimer = this.connectTimer = this.writeTimer = this.reassemblyTimer = null;
    this.outbound.clear();
    this.assembler?.clear();
    if (this.streamDriver !== null) this.streamDriver.closeAll(`connection ${this.state}`);
    this.socket.setTimeout(0);
    this.releaseDrainWaiters();
    for (const ping of this.pings.values()) {
      clearTimeout(ping.timer);
      ping.reject(new PeerUnavailableError(this.peerName(), `connection ${this.state}`));
    }
    this.pings.clear();
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.handlers.onStateChange?.(this, state);
  }
}
