// Messaging over the transport: one-way messages, request/response and
// heartbeats, with handlers by topic. The adapter that drives the pure cores
// on real connections:
//
//   request-tracker.ts   the sender's requests: ids, deadlines, retries
//   dedupe-window.ts     the receiver's memory of idempotent requests
//   authorization.ts     which message types each peer may send
//   heartbeat.ts         per-connection heartbeats, RTT and missed beats
//
// Each connection gets a tracker, a heartbeat and its compiled authorization
// when its handshake completes, and one timer armed at the earlier of the
// tracker's and the heartbeat's next deadline. A request's answer (Response
// or ErrorReply) names it by correlation id. An idempotent request is run at
// most once per (sender node, message id) within the dedupe window: a
// duplicate in progress is dropped (the one answer carries the shared id), a
// duplicate after completion gets the cached answer again. A message the
// peer may not send is answered with ERR_FORBIDDEN and never dispatched.
// Body types of other layers (file transfer, state sync, ...) go, after the
// same check, to the handler registered for the type with handleBody().
import { ClusterwireError, InvalidConfigError, ForbiddenError, HandlerFailedError, NoHandlerError, RemoteError, BackpressureError, TimeoutError, PeerUnavailableError, RequestCancelledError, type ErrorCode } from '../../shared/errors.js';
import type { BodyName, BodyOf, Envelope } from '../../shared/envelope/index.js';
import type { ErrorReply, Response } from '../../shared/schema/layout.js';
import { WireError } from '../../shared/schema/generated/clusterwire/wire/wire-error.js';
import { NodeStatus } from '../../shared/schema/generated/clusterwire/wire/node-status.js';
import { Authorization, forbiddenReply, resolveAuthorizationOptions, type AuthorizationOptionsInput, type PeerAuthorization } from './authorization.js';
import { DedupeWindow, resolveDedupeWindowOptions, type DedupeReply, type DedupeWindowOptionsInput } from './dedupe-window.js';
import { Heartbeat, resolveHeartbeatOptions, type HeartbeatOptions, type HeartbeatOptionsInput, type HeartbeatOutput } from './heartbeat.js';
import { RequestTracker, type OutgoingRequest } from './request-tracker.js';
import { resolveRequestTrackerOptions, type RequestTrackerOptions, type RequestTrackerOptionsInput } from './request-tracker-options.js';
import type { Connection, SendOptions } from './connection.js';
import type { HandshakeSession } from './handshake.js';
import { Transport, type TransportOptionsInput } from './transport.js';

const HIGH = 1;
const CRITICAL = 0;
/** The payload of a Response whose handler returned nothing: only ever encoded, so one serves all. */
const EMPTY_PAYLOAD = new Uint8Array(0);

/** The answer to a request whose handler threw or rejected. */
function handlerFailed(id: number, error: unknown): DedupeReply {
  return { type: 'ErrorReply', code: WireError.HandlerFailed, inReplyTo: id, message: String((error as Error)?.message ?? error).slice(0, 512) };
}

/** A message or request as a handler sees it. */
export interface Incoming {
  readonly topic: string;
  /** A view into the received bytes: copy what outlives the handler. */
  readonly payload: Uint8Array;
  /** The sender's node id. */
  readonly from: string;
  readonly envelope: Envelope;
  readonly connection: Connection;
}

/** For a request, the returned bytes are the response; for a one-way message the result is ignored. */
export type TopicHandler = (message: Incoming) => Uint8Array | void | Promise<Uint8Array | void>;

/**
 * Takes the envelopes of one body type that belongs to another layer. Byte
 * fields are views into the frame's receive buffer, which the transport
 * allocates per frame (or per reassembled message) and never reuses: a
 * handler may keep them, and keeps that buffer alive while it does.
 */
export type BodyHandler = (envelope: Envelope, connection: Connection, peer: string) => void;

/** Body types the messenger reads itself: handleBody() may not take them. */
const OWN_TYPES: ReadonlySet<BodyName> = new Set(['Message', 'Request', 'Response', 'ErrorReply', 'HeartbeatPing', 'HeartbeatPong']);

export interface RequestOptions {
  timeoutMs?: number;
  idempotent?: boolean;
  /**
   * Aborting it rejects the request at once with ERR_REQUEST_CANCELLED and
   * forgets it (an answer that still comes is dropped as late); an attempt
   * already sent may still be handled by the peer.
   */
  signal?: AbortSignal;
}

export interface SendMessageOptions {
  priority?: number;
  /** The payload is lent, not copied: see Connection's SendOptions.lend. */
  lend?: boolean;
}

export type PeerEvent = { readonly connection: Connection } & HeartbeatOutput;

export interface MessengerOptionsInput extends TransportOptionsInput {
  requests?: RequestTrackerOptionsInput;
  dedupe?: DedupeWindowOptionsInput;
  heartbeat?: HeartbeatOptionsInput;
  /** null: no heartbeats (the pool's pings still measure RTT). */
  heartbeats?: boolean;
  authorization?: AuthorizationOptionsInput;
}

export interface MessengerHandlers {
  onEstablished?(connection: Connection, session: HandshakeSession): void;
  onClose?(connection: Connection, error: ClusterwireError | null): void;
  /** Heartbeat events: missed beats, unresponsive and recovered peers, status changes. */
  onPeerEvent?(event: PeerEvent): void;
}

interface Waiter {
  resolve: (payload: Uint8Array) => void;
  reject: (error: ClusterwireError) => void;
}

/** What the messenger keeps per established connection. */
class Link {
  timer: NodeJS.Timeout | null = null;
  timerAt = Infinity;

  constructor(
    readonly connection: Connection,
    readonly peer: string,
    readonly tracker: RequestTracker,
    readonly heartbeat: Heartbeat | null,
    readonly authorization: PeerAuthorization,
  ) {}
}

export class Messenger {
  readonly transport: Transport;
  private readonly handlers = new Map<string, TopicHandler>();
  private readonly bodyHandlers = new Map<BodyName, BodyHandler>();
  private readonly links = new Map<Connection, Link>();
  private readonly dedupe: DedupeWindow;
  private readonly authorization: Authorization;
  private readonly requestOptions: RequestTrackerOptions;
  private readonly heartbeatOptions: HeartbeatOptions | null;
  private status: NodeStatus = NodeStatus.Healthy;
  /** Send options of replies and of request attempts, refilled per send (Connection.send reads them before it returns). */
  private readonly replyOptions: SendOptions = { correlationId: 0, priority: HIGH };
  private readonly requestOptionsOut: SendOptions = { messageId: 0 };
  /** One-way messages with no handler for their topic: counted and dropped. */
  unhandled = 0;

  constructor(
    options: MessengerOptionsInput,
    private readonly events: MessengerHandlers = {},
    private readonly random: () => number = Math.random,
  ) {
    this.requestOptions = resolveRequestTrackerOptions(options.requests);
    this.dedupe = new DedupeWindow(resolveDedupeWindowOptions(options.dedupe));
    this.authorization = new Authorization(resolveAuthorizationOptions(options.authorization));
    this.heartbeatOptions = options.heartbeats === false ? null : resolveHeartbeatOptions(options.heartbeat);
    this.transport = new Transport(options, {
      onMessage: (connection, envelope) => this.receive(connection, envelope),
      onEstablished: (connection, session) => this.attach(connection, session),
      onClose: (connection, error) => this.detach(connection, error),
    });
  }

  /** Registers the handler of a topic (requests and one-way messages). */
  handle(topic: string, handler: TopicHandler): void {
    this.handlers.set(topic, handler);
  }

  /** Registers the receiver of a body type of another layer (e.g. FileTransferChunk); one handler per type. */
  handleBody(type: BodyName, handler: BodyHandler): void {
    if (OWN_TYPES.has(type)) throw new InvalidConfigError('type', `${type} is read by the messenger itself`);
    this.bodyHandlers.set(type, handler);
  }

  /** Removes the handler of a topic: its requests are answered ERR_NO_HANDLER again. */
  unhandle(topic: string): void {
    this.handlers.delete(topic);
  }

  /** Sends a one-way message. Throws ERR_PEER_UNAVAILABLE / ERR_BACKPRESSURE as Connection.send does. */
  send(connection: Connection, topic: string, payload: Uint8Array, options?: SendMessageOptions): void {
    connection.send({ type: 'Message', topic, payload }, options === undefined ? undefined : { priority: options.priority, lend: options.lend === true });
  }

  /** Sends a request; resolves with the response payload or rejects with a typed error. */
  request(connection: Connection, topic: string, payload: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const link = this.links.get(connection);
    if (link === undefined) return Promise.reject(new PeerUnavailableError(connection.peerName(), `connection is ${connection.state}`));
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(new RequestCancelledError(topic, signal.reason));
    let waiter!: Waiter;
    const promise = new Promise<Uint8Array>((resolve, reject) => (waiter = { resolve, reject }));
    const request: OutgoingRequest = { topic, payload, idempotent: options.idempotent ?? false, timeoutMs: options.timeoutMs, context: waiter };
    let id: number;
    try {
      id = link.tracker.begin(request, performance.now());
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal !== undefined) cancelOnAbort(link.tracker, id, topic, signal, waiter);
    this.performRequests(link);
    this.armForRequests(link);
    return promise;
  }

  /** This node's status, carried by its heartbeats. */
  setStatus(status: NodeStatus): void {
    this.status = status;
    const now = performance.now();
    for (const link of this.links.values()) {
      link.heartbeat?.setStatus(status, now);
      this.perform(link);
    }
  }

  /** RTT and missed beats of a connection's heartbeat. */
  heartbeatOf(connection: Connection): Heartbeat | null {
    return this.links.get(connection)?.heartbeat ?? null;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  // ------------------------------------------------------------- internals

  private attach(connection: Connection, session: HandshakeSession): void {
    const ids = this.transport.messageIds;
    const tracker = new RequestTracker(this.requestOptions, { random: this.random, nextMessageId: () => ids.next() });
    const heartbeat = this.heartbeatOptions === null ? null : new Heartbeat(this.heartbeatOptions, this.status);
    const link = new Link(connection, session.peerNodeId, tracker, heartbeat, this.authorization.forPeer(session.peerNodeId, connection.role));
    this.links.set(connection, link);
    heartbeat?.start(performance.now());
    this.perform(link);
    this.events.onEstablished?.(connection, session);
  }

  private detach(connection: Connection, error: ClusterwireError | null): void {
    const link = this.links.get(connection);
    if (link !== undefined) {
      this.links.delete(connection);
      if (link.timer !== null) clearTimeout(link.timer);
      link.tracker.failAll(error ?? new PeerUnavailableError(link.peer, 'connection closed'));
      this.performRequests(link);
    }
    this.events.onClose?.(connection, error);
  }

  private receive(connection: Connection, envelope: Envelope): void {
    const link = this.links.get(connection);
    if (link === undefined) return;
    const body = envelope.body;
    const forbidden = link.authorization.check(body.type);
    if (forbidden !== null) {
      this.reply(link, envelope.header.messageId, { type: 'ErrorReply', ...forbiddenReply(forbidden, envelope.header.messageId) });
      return;
    }
    switch (body.type) {
      case 'Message':
        this.dispatchMessage(link, envelope, body);
        return;
      case 'Request':
        this.dispatchRequest(link, envelope, body);
        return;
      case 'Response':
        link.tracker.receiveResponse(envelope.header.correlationId, body, performance.now());
        this.performRequests(link);
        this.armForRequests(link);
        return;
      case 'ErrorReply':
        if (envelope.header.correlationId !== 0) link.tracker.receiveError(envelope.header.correlationId, errorFromReply(body, link.peer), performance.now());
        this.performRequests(link);
        this.armForRequests(link);
        return;
      case 'HeartbeatPing':
        link.heartbeat?.receivePing(body);
        break;
      case 'HeartbeatPong':
        link.heartbeat?.receivePong(body, performance.now());
        break;
      default: {
        // other families belong to other layers (membership, raft, file transfer, ...)
        const handler = this.bodyHandlers.get(body.type);
        if (handler !== undefined) handler(envelope, connection, link.peer);
        return;
      }
    }
    this.perform(link);
  }

  private incoming(link: Link, envelope: Envelope, topic: string, payload: Uint8Array): Incoming {
    return { topic, payload, from: link.peer, envelope, connection: link.connection };
  }

  private dispatchMessage(link: Link, envelope: Envelope, body: BodyOf<'Message'>): void {
    const handler = this.handlers.get(body.topic);
    if (handler === undefined) {
      this.unhandled++;
      return;
    }
    try {
      const result = handler(this.incoming(link, envelope, body.topic, body.payload));
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      // a one-way message has no one to tell; the handler's failure stays local
    }
  }

  private dispatchRequest(link: Link, envelope: Envelope, body: BodyOf<'Request'>): void {
    const id = envelope.header.messageId;
    if (body.idempotent) {
      const verdict = this.dedupe.begin(link.peer, id, performance.now(), body.timeoutMs > 0 ? body.timeoutMs : Number.POSITIVE_INFINITY);
      switch (verdict.kind) {
        case 'in-progress':
        case 'completed-uncached':
          return;
        case 'completed':
          this.reply(link, id, verdict.reply);
          return;
        case 'full':
          this.reply(link, id, { type: 'ErrorReply', code: WireError.Backpressure, inReplyTo: id, message: 'request table full' });
          return;
        default:
          break;
      }
    }
    const handler = this.handlers.get(body.topic);
    if (handler === undefined) {
      this.finishRequest(link, id, body.idempotent, { type: 'ErrorReply', code: WireError.NoHandler, inReplyTo: id, message: body.topic });
      return;
    }
    let result: Uint8Array | void | Promise<Uint8Array | void>;
    try {
      result = handler(this.incoming(link, envelope, body.topic, body.payload));
    } catch (error) {
      this.finishRequest(link, id, body.idempotent, handlerFailed(id, error));
      return;
    }
    if (!(result instanceof Promise)) {
      this.finishRequest(link, id, body.idempotent, { type: 'Response', payload: result ?? EMPTY_PAYLOAD });
      return;
    }
    const idempotent = body.idempotent;
    result.then(
      (payload) => this.finishRequest(link, id, idempotent, { type: 'Response', payload: payload ?? EMPTY_PAYLOAD }),
      (error: unknown) => this.finishRequest(link, id, idempotent, handlerFailed(id, error)),
    );
  }

  /** A request was handled: its answer is remembered (idempotent requests) and sent. */
  private finishRequest(link: Link, id: number, idempotent: boolean, answer: DedupeReply): void {
    if (idempotent) this.dedupe.complete(link.peer, id, answer, performance.now());
    this.reply(link, id, answer);
  }

  private reply(link: Link, correlationId: number, answer: DedupeReply | ({ type: 'ErrorReply' } & ErrorReply) | ({ type: 'Response' } & Response)): void {
    if (link.connection.state !== 'active' && link.connection.state !== 'idle') return;
    try {
      const options = this.replyOptions;
      options.correlationId = correlationId;
      link.connection.send(answer, options);
    } catch (error) {
      if (!(error instanceof ClusterwireError)) throw error;
      // the connection is going or full: the requester's deadline answers for us
    }
  }

  /** Sends what the cores want sent, settles what ended, re-arms the timer. */
  private perform(link: Link): void {
    const connection = link.connection;
    this.performRequests(link);
    if (link.heartbeat !== null) {
      for (const out of link.heartbeat.drain()) {
        if (out.type === 'send') {
          try {
            connection.send(out.message, { priority: CRITICAL });
          } catch (error) {
            if (!(error instanceof ClusterwireError)) throw error;
          }
        } else this.events.onPeerEvent?.({ connection, ...out });
      }
    }
    this.arm(link);
  }

  /** Sends the request tracker's attempts and settles the requests that ended. */
  private performRequests(link: Link): void {
    const connection = link.connection;
    const tracker = link.tracker;
    // a send that fails is reported back to the tracker, whose answer comes in the next drain
    for (let outs = tracker.drain(); outs.length > 0; outs = tracker.drain()) {
      for (let i = 0; i < outs.length; i++) {
        const out = outs[i];
        if (out.type === 'send') {
          try {
            const options = this.requestOptionsOut;
            options.messageId = out.messageId;
            connection.send(out.request, options);
          } catch (error) {
            if (!(error instanceof ClusterwireError)) throw error;
            tracker.receiveError(out.messageId, error, performance.now());
          }
        } else if (out.type === 'resolved') (out.context as Waiter).resolve(out.response.payload);
        else (out.context as Waiter).reject(out.error);
      }
    }
  }

  /**
   * Makes sure the link's timer fires by the earliest deadline of its cores.
   * A timer already armed for that time or earlier is kept: when it fires
   * early (the request it was armed for was answered) the cores find nothing
   * due and it is armed again for what is next. So answers, which move the
   * earliest deadline later, never touch the timer; only a deadline earlier
   * than the armed one re-arms it.
   */
  private arm(link: Link): void {
    const at = Math.min(link.tracker.nextDeadline, link.heartbeat?.nextDeadline ?? Infinity);
    if (at >= link.timerAt) return;
    if (link.timer !== null) clearTimeout(link.timer);
    link.timerAt = at;
    link.timer = setTimeout(() => {
      link.timer = null;
      link.timerAt = Infinity;
      if (!this.links.has(link.connection)) return;
      const now = performance.now();
      link.tracker.tick(now);
      link.heartbeat?.tick(now);
      this.perform(link);
    }, Math.max(0, at - performance.now()) + 1);
    link.timer.unref();
  }

  /**
   * arm() after a change to the request tracker alone. The timer is always
   * armed by the heartbeat's deadline (every change to the heartbeat is
   * followed by perform()), so only an earlier request deadline needs it.
   */
  private armForRequests(link: Link): void {
    if (link.tracker.nextDeadline < link.timerAt) this.arm(link);
  }
}

/** Makes `signal` cancel request `id` (it ends with ERR_REQUEST_CANCELLED); the listener goes when the request ends. */
function cancelOnAbort(tracker: RequestTracker, id: number, topic: string, signal: AbortSignal, waiter: Waiter): void {
  const { resolve, reject } = waiter;
  const onAbort = () => {
    if (tracker.cancel(id)) reject(new RequestCancelledError(topic, signal.reason));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  waiter.resolve = (payload) => {
    signal.removeEventListener('abort', onAbort);
    resolve(payload);
  };
  waiter.reject = (error) => {
    signal.removeEventListener('abort', onAbort);
    reject(error);
  };
}

/** The local error for a peer's ErrorReply. */
export function errorFromReply(reply: ErrorReply, peer: string): ClusterwireError {
  switch (reply.code) {
    case WireError.NoHandler:
      return new NoHandlerError(reply.message, peer);
    case WireError.HandlerFailed:
      return new HandlerFailedError('', reply.message);
    case WireError.Backpressure:
      return new BackpressureError(`request table of ${peer}`, 0);
    case WireError.Forbidden:
      return new ForbiddenError(reply.message, peer);
    case WireError.Timeout:
      return new TimeoutError(reply.inReplyTo, 0, 1);
    default:
      return new RemoteError(reply.code, reply.message);
  }
}

export type { ErrorCode };
