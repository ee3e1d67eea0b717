// The sender's side of request/response on one connection: a pure state
// machine. The caller hands in requests, responses, error replies and the
// time; the tracker hands out the attempts to send and how each request
// ended. No sockets, timers or clocks inside.
//
//   begin(request, now)        -> request id; a 'send' output (attempt 1)
//   tick(now)                  -> 'send' outputs (retries) and 'failed' (ERR_TIMEOUT)
//   receiveResponse(id, ...)   -> a 'resolved' output, or a late/duplicate answer dropped
//   receiveError(id, err, ...) -> a 'failed' output, or a retry after ERR_BACKPRESSURE
//   failAll(err)               -> a 'failed' output for every request (connection closed)
//   drain()                    -> the outputs since the last drain, in order
//   nextDeadline               -> when to call tick() next: the driver arms ONE timer
//
// Each request ends exactly once: one 'resolved' or one 'failed' output.
//
// RETRY IDENTITY. A request's id is the message id of its first attempt,
// drawn from the connection's message id sequence (deps.nextMessageId), and
// EVERY attempt of the request is sent with that same message id; the
// Request body's `attempt` field (1, 2, ... up to maxRetries + 1) tells the
// attempts apart. So:
//   - the receiver dedupes on (sending node, message id): the first message
//     id is the key, and no extra field is needed (dedupe-window.ts);
//   - a response (or error reply) names that id as its correlation id
//     whichever attempt it answers, so an answer to an earlier attempt that
//     arrives after a retry was sent still resolves the request, and a
//     receiver that is still working on attempt 1 when attempt 2 arrives
//     answers both with its one response.
// This requires the sender's message ids not to repeat within the
// receivers' dedupe window (dedupeWindowMs, 60 s by default), also across a
// restart of the sending process: a sequence that starts at a value drawn
// at random or from the wall clock, not at 1.
//
// RETRIES. Only a request marked idempotent is retried. Each attempt waits
// attemptTimeoutMs (but never past the overall deadline, begin time +
// timeoutMs); when it passes unanswered, the next attempt is sent after a
// delay from a Backoff (equal jitter by default) unless that would be at or
// after the overall deadline. The last attempt waits for the overall
// deadline. An ErrorReply of ERR_BACKPRESSURE (the receiver's table was
// full; nothing ran) also leads to a retry. A non-idempotent request is sent
// once and fails with ERR_TIMEOUT at its deadline, or with the error given
// to failAll() (ERR_PEER_UNAVAILABLE when the connection drops).
//
// BOUNDS. At most maxInFlightRequests requests and maxInFlightBytes payload
// bytes are held (payloads are kept, by reference, until the request ends,
// for resends: do not modify a payload after begin()). begin() at either cap
// throws BackpressureError and records nothing. Answers for requests that
// are no longer in flight are counted and dropped; to tell a duplicate (the
// request was resolved) from a late answer (it had failed or was cancelled)
// the ids of the last RECENT_SETTLED_MAX ended requests are remembered,
// oldest forgotten first (settled-ids.ts: no allocation per request); older
// ids count as 'unknown'.
import {
  BackpressureError,
  ClusterwireError,
  ErrorCode,
  InvalidConfigError,
  InvalidMessageError,
  TimeoutError,
} from '../../shared/errors.js';
import type { Request, Response } from '../../shared/schema/layout.js';
import { Backoff } from './backoff.js';
import { DeadlineHeap, type Deadline } from './deadline-heap.js';
import { MAX_REQUEST_TIMEOUT_MS, type RequestTrackerOptions } from './request-tracker-options.js';
import { IdTable } from './id-table.js';
import { SettledIds } from './settled-ids.js';

/** How many ended request ids are remembered to classify stray answers. */
export const RECENT_SETTLED_MAX = 4_096;

/** What is nondeterministic, injected (the simulator passes seeded ones). */
export interface RequestTrackerDeps {
  /** Uniform in [0, 1): the jitter of retry delays. */
  readonly random: () => number;
  /** The connection's next message id: a safe integer >= 1, not repeated within the dedupe window. */
  readonly nextMessageId: () => number;
}

/** What the caller asks for. */
export interface OutgoingRequest {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Safe to run more than once: retried on timeout. Default false. */
  readonly idempotent?: boolean;
  /** Overall deadline from begin(), in ms. Default options.requestTimeoutMs. */
  readonly timeoutMs?: number;
  /** Anything of the caller's (its waiter): handed back in the request's 'resolved' or 'failed' output. */
  readonly context?: unknown;
}

export type RequestOutput =
  /** Send `request` (a Request body, ready to send) in an envelope whose message id is `messageId` (the request id, for every attempt). */
  | { readonly type: 'send'; readonly messageId: number; readonly request: RequestBody }
  | {
      readonly type: 'resolved';
      readonly requestId: number;
      readonly response: Response;
      readonly attempts: number;
      /** From begin() to the response, in ms. */
      readonly elapsedMs: number;
      readonly context: unknown;
    }
  | { readonly type: 'failed'; readonly requestId: number; readonly error: ClusterwireError; readonly attempts: number; readonly context: unknown };

/**
 * What became of an answer: it ended the request ('resolved', 'failed'),
 * led to a retry ('retrying'), or was dropped because the request had
 * already been resolved ('duplicate'), had already failed or been cancelled
 * ('late'), or is not known ('unknown').
 */
export type AnswerOutcome = 'resolved' | 'failed' | 'retrying' | 'duplicate' | 'late' | 'unknown';

export interface RequestTrackerStats {
  readonly begun: number;
  /** Attempts sent after the first. */
  readonly retries: number;
  readonly resolved: number;
  readonly timedOut: number;
  /** Ended by an error reply or failAll(). */
  readonly failed: number;
  readonly cancelled: number;
  readonly duplicateAnswers: number;
  readonly lateAnswers: number;
  readonly unknownAnswers: number;
}

const NO_OUTPUTS: readonly RequestOutput[] = Object.freeze([]);

/** A Request as an envelope body. */
export type RequestBody = { readonly type: 'Request' } & Request;

type Phase = 'awaiting' | 'backoff';

class Pending implements Deadline {
  due = 0;
  heapIndex = -1;
  attempts = 0;
  phase: Phase = 'awaiting';
  backoff: Backoff | null = null;

  constructor(
    readonly order: number,
    readonly topic: string,
    readonly payload: Uint8Array,
    readonly idempotent: boolean,
    readonly maxAttempts: number,
    readonly startedAt: number,
    readonly deadlineAt: number,
    readonly timeoutMs: number,
    readonly context: unknown,
    /** The how-manieth begin() this was: failAll() ends requests in that order. */
    readonly seq: number,
  ) {}
}

export class RequestTracker {
  readonly options: RequestTrackerOptions;
  readonly #deps: RequestTrackerDeps;
  /** Requests in flight by id (an IdTable, not a Map: see id-table.ts). */
  readonly #pending = new IdTable<Pending>();
  readonly #heap = new DeadlineHeap<Pending>();
  /** Ended request ids and whether a response resolved them; the oldest is forgotten first. */
  readonly #recent = new SettledIds(RECENT_SETTLED_MAX);
  #outputs: RequestOutput[] = [];
  #spare: RequestOutput[] = [];
  #bytes = 0;
  #stats = { begun: 0, retries: 0, resolved: 0, timedOut: 0, failed: 0, cancelled: 0, duplicateAnswers: 0, lateAnswers: 0, unknownAnswers: 0 };

  constructor(options: RequestTrackerOptions, deps: RequestTrackerDeps) {
    this.options = options;
    this.#deps = deps;
  }

  /** Requests in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Payload bytes held by the requests in flight. */
  get inFlightBytes(): number {
    return this.#bytes;
  }

  /** The earliest time tick() has something to do (monotonic ms); Infinity when idle. */
  get nextDeadline(): number {
    return this.#heap.nextDue;
  }

  get stats(): RequestTrackerStats {
    return { ...this.#stats };
  }

  has(requestId: number): boolean {
    return this.#pending.has(requestId);
  }

  /**
   * Starts a request at monotonic time `now`: queues attempt 1 and returns
   * the request id. Throws BackpressureError at maxInFlightRequests or
   * maxInFlightBytes, InvalidMessageError for a bad field.
   */
  begin(request: OutgoingRequest, now: number): number {
    const { topic, payload } = request;
    if (typeof topic !== 'string') throw new InvalidMessageError('body.Request.topic', 'expected a string');
    if (!(payload instanceof Uint8Array)) throw new InvalidMessageError('body.Request.payload', 'expected a Uint8Array');
    const timeoutMs = request.timeoutMs ?? this.options.requestTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_REQUEST_TIMEOUT_MS) {
      throw new InvalidMessageError('body.Request.timeoutMs', `expected an integer in [1, ${MAX_REQUEST_TIMEOUT_MS}], got ${String(timeoutMs)}`);
    }
    const idempotent = request.idempotent === true;
    if (this.#pending.size >= this.options.maxInFlightRequests) {
      throw new BackpressureError('maxInFlightRequests', this.options.maxInFlightRequests);
    }
    if (this.#bytes + payload.byteLength > this.options.maxInFlightBytes) {
      throw new BackpressureError('maxInFlightBytes', this.options.maxInFlightBytes);
    }
    const id = this.#deps.nextMessageId();
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new InvalidConfigError('nextMessageId', `returned ${String(id)}, expected a safe integer >= 1`);
    }
    if (this.#pending.has(id)) throw new InvalidConfigError('nextMessageId', `returned ${id}, which is still in flight`);
    const maxAttempts = idempotent ? this.options.maxRetries + 1 : 1;
    const p = new Pending(id, topic, payload, idempotent, maxAttempts, now, now + timeoutMs, timeoutMs, request.context, this.#stats.begun);
    this.#pending.set(id, p);
    this.#recent.delete(id);
    this.#bytes += payload.byteLength;
    this.#stats.begun++;
    this.sendAttempt(p, now);
    return id;
  }

  /** Advances time: sends due retries and fails requests past their deadline. */
  tick(now: number): void {
    const heap = this.#heap;
    while (heap.nextDue <= now) {
      const p = heap.peek() as Pending;
      if (now >= p.deadlineAt) {
        this.#stats.timedOut++;
        this.settle(p, false, { type: 'failed', requestId: p.order, error: new TimeoutError(p.order, p.timeoutMs, p.attempts), attempts: p.attempts, context: p.context });
      } else if (p.phase === 'backoff') {
        this.sendAttempt(p, now);
      } else {
        this.scheduleRetry(p, now);
      }
    }
  }

  /** A Response whose correlation id is `requestId` arrived. */
  receiveResponse(requestId: number, response: Response, now: number): AnswerOutcome {
    const p = this.#pending.get(requestId);
    if (p === undefined) return this.stray(requestId);
    this.#stats.resolved++;
    this.settle(p, true, { type: 'resolved', requestId, response, attempts: p.attempts, elapsedMs: now - p.startedAt, context: p.context });
    return 'resolved';
  }

  /**
   * An ErrorReply answering `requestId` arrived, as the local `error` it
   * stands for. ERR_BACKPRESSURE on an idempotent request with attempts and
   * time left schedules a retry; anything else ends the request with `error`.
   */
  receiveError(requestId: number, error: ClusterwireError, now: number): AnswerOutcome {
    const p = this.#pending.get(requestId);
    if (p === undefined) return this.stray(requestId);
    if (error.code === ErrorCode.BACKPRESSURE && p.attempts < p.maxAttempts) {
      if (p.phase === 'awaiting') this.scheduleRetry(p, now);
      if (p.phase === 'backoff') return 'retrying';
    }
    this.#stats.failed++;
    this.settle(p, false, { type: 'failed', requestId, error, attempts: p.attempts, context: p.context });
    return 'failed';
  }

  /** Forgets a request without an output (the caller gave up on it). False when it was not in flight. */
  cancel(requestId: number): boolean {
    const p = this.#pending.get(requestId);
    if (p === undefined) return false;
    this.#stats.cancelled++;
    this.settle(p, false, null);
    return true;
  }

  /** Ends every request in flight with `error` (in the order they began); returns how many. */
  failAll(error: ClusterwireError): number {
    const pending = this.#pending.values().sort((a, b) => a.seq - b.seq);
    for (const p of pending) {
      this.#stats.failed++;
      this.settle(p, false, { type: 'failed', requestId: p.order, error, attempts: p.attempts, context: p.context });
    }
    return pending.length;
  }

  /** The outputs since the last drain, in order. The array is reused: valid until the next drain(). */
  drain(): readonly RequestOutput[] {
    if (this.#outputs.length === 0) return NO_OUTPUTS;
    const out = this.#outputs;
    this.#outputs = this.#spare;
    this.#outputs.length = 0;
    this.#spare = out;
    return out;
  }

  private sendAttempt(p: Pending, now: number): void {
    p.attempts++;
    if (p.attempts > 1) this.#stats.retries++;
    p.phase = 'awaiting';
    const due = p.attempts < p.maxAttempts ? Math.min(now + this.options.attemptTimeoutMs, p.deadlineAt) : p.deadlineAt;
    this.#heap.update(p, due);
    const request: RequestBody = {
      type: 'Request',
      topic: p.topic,
      payload: p.payload,
      idempotent: p.idempotent,
      attempt: p.attempts,
      // What is left of the overall budget, so the receiver can drop work nobody waits for.
      timeoutMs: Math.max(1, Math.ceil(p.deadlineAt - now)),
    };
    this.#outputs.push({ type: 'send', messageId: p.order, request });
  }

  /** The attempt in flight went unanswered (or was refused for backpressure): wait, then send the next. */
  private scheduleRetry(p: Pending, now: number): void {
    if (p.attempts >= p.maxAttempts) {
      this.#heap.update(p, p.deadlineAt);
      return;
    }
    p.backoff ??= new Backoff(this.options.retryBackoff, this.#deps);
    const at = now + p.backoff.next();
    if (at >= p.deadlineAt) {
      // No time for another attempt: the one in flight may still be answered.
      this.#heap.update(p, p.deadlineAt);
      return;
    }
    p.phase = 'backoff';
    this.#heap.update(p, at);
  }

  private settle(p: Pending, resolved: boolean, output: RequestOutput | null): void {
    this.#pending.delete(p.order);
    this.#heap.remove(p);
    this.#bytes -= p.payload.byteLength;
    this.#recent.add(p.order, resolved);
    if (output !== null) this.#outputs.push(output);
  }

  private stray(requestId: number): AnswerOutcome {
    const outcome = this.#recent.outcome(requestId);
    if (outcome === null) {
      this.#stats.unknownAnswers++;
      return 'unknown';
    }
    if (outcome === 'resolved') {
      this.#stats.duplicateAnswers++;
      return 'duplicate';
    }
    this.#stats.lateAnswers++;
    return 'late';
  }
}
