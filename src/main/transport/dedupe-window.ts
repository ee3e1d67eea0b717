// The receiver's side of idempotent requests: a window of recently handled
// requests, so that a retried or duplicated request runs at most once.
//
// KEY. An entry is keyed by (sender, request id): the sender is the peer's
// node id as the connection authenticated it in the handshake (not the
// header's claimed sender number), the request id is the envelope's message
// id, which every attempt of a request carries unchanged (the attempt number
// travels in the Request body; see request-tracker.ts). One window serves
// every connection of a node, so a duplicate that arrives over a new
// connection is still recognised. Only requests marked idempotent go
// through the window; a non-idempotent request is never retried and is
// simply dispatched.
//
// LIFE OF AN ENTRY. begin() for a key not held records it IN PROGRESS and
// answers 'new': dispatch the request, then call complete() with the reply
// sent (a Response, or the ErrorReply if the handler failed) so that it is
// cached; or release() if the request was NOT run after all (e.g. the node
// is shutting down), which forgets the key so a retry may run it. While in
// progress a duplicate is answered 'in-progress': drop it, because the one
// reply answers every attempt (they share the message id, which the reply
// names as its correlation id). In progress entries never expire. A
// completed entry is kept for dedupeWindowMs from its completion, or less
// when the request said how long its sender keeps trying (begin()'s
// `budgetMs`, the Request's timeoutMs: what was left of the sender's
// overall deadline when the attempt left): then until twice that budget
// plus RETRY_GRACE_MS after the attempt arrived, which covers every attempt
// the sender may still send, and frames of it held up in queues as long
// again. A duplicate in that time is answered 'completed' with the cached
// reply, to be sent again. The window must cover the retry span of senders
// that give no budget: the default 60 s is well above the 5 s default
// request timeout. With the budget, a sender of 5 s requests takes an entry
// for about 11 s instead of 60, so the per-sender cap allows five times the
// sustained rate of idempotent requests.
//
// BOUNDS, and what happens at them. At most maxEntries entries in all and
// maxEntriesPerSender per sender (in progress and completed alike); at
// either cap, after expired entries are dropped, begin() answers 'full' and
// records nothing: answer ERR_BACKPRESSURE and do not run the request (the
// sender retries an idempotent request after a backoff). No entry is ever
// evicted early, since a forgotten entry would let its duplicate run twice.
// Cached reply bytes (Response payloads, ErrorReply messages counted at 3
// bytes per UTF-16 unit) are bounded by maxBytes: a reply that does not fit
// is not cached, but its entry is kept as handled, and a duplicate is then
// answered 'completed-uncached': do not run it, answer with an error. The
// cached reply is kept by reference: its payload must not be modified.
//
// Completed entries are kept in a list in expiry order, so expired ones are
// dropped from the front in amortised O(1); lookups are two Map gets.
import { InvalidConfigError } from '../../shared/errors.js';
import type { ErrorReply, Response } from '../../shared/schema/layout.js';
import { integerOption as integer } from '../../shared/options.js';

//   option                 default    meaning
//   dedupeWindowMs         60 000     how long a completed request is remembered, from its completion
//   maxEntries             100 000    requests remembered at most (in progress and completed)
//   maxEntriesPerSender    10 000     of which from one sender at most, so one peer cannot fill the window
//   maxBytes               32 MiB     cached reply bytes at most
export const DEFAULT_DEDUPE_WINDOW_MS = 60_000;
export const DEFAULT_DEDUPE_MAX_ENTRIES = 100_000;
export const DEFAULT_DEDUPE_MAX_ENTRIES_PER_SENDER = 10_000;
export const DEFAULT_DEDUPE_MAX_BYTES = 32 * 1024 * 1024;
/** Added to twice a request's budget before its entry may expire (ms). */
export const RETRY_GRACE_MS = 1_000;

export interface DedupeWindowOptionsInput {
  dedupeWindowMs?: number;
  maxEntries?: number;
  maxEntriesPerSender?: number;
  maxBytes?: number;
}

export interface DedupeWindowOptions {
  readonly dedupeWindowMs: number;
  readonly maxEntries: number;
  readonly maxEntriesPerSender: number;
  readonly maxBytes: number;
}

export function resolveDedupeWindowOptions(input: DedupeWindowOptionsInput = {}): DedupeWindowOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const dedupeWindowMs = integer('dedupeWindowMs', input.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS, 1, 86_400_000);
  const maxEntries = integer('maxEntries', input.maxEntries ?? DEFAULT_DEDUPE_MAX_ENTRIES, 1, 16_777_216);
  const maxEntriesPerSender = integer(
    'maxEntriesPerSender',
    input.maxEntriesPerSender ?? Math.min(DEFAULT_DEDUPE_MAX_ENTRIES_PER_SENDER, maxEntries),
    1,
    maxEntries,
  );
  const maxBytes = integer('maxBytes', input.maxBytes ?? DEFAULT_DEDUPE_MAX_BYTES, 0, Number.MAX_SAFE_INTEGER);
  return Object.freeze({ dedupeWindowMs, maxEntries, maxEntriesPerSender, maxBytes });
}

/** The reply a handled request was answered with. */
export type DedupeReply = ({ type: 'Response' } & Response) | ({ type: 'ErrorReply' } & ErrorReply);

/** What to do with a request: see the file comment. */
export type DedupeVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'completed'; readonly reply: DedupeReply }
  | { readonly kind: 'completed-uncached' }
  | { readonly kind: 'full' };

const NEW: DedupeVerdict = Object.freeze({ kind: 'new' });
const IN_PROGRESS: DedupeVerdict = Object.freeze({ kind: 'in-progress' });
const UNCACHED: DedupeVerdict = Object.freeze({ kind: 'completed-uncached' });
const FULL: DedupeVerdict = Object.freeze({ kind: 'full' });

export interface DedupeWindowStats {
  readonly admitted: number;
  readonly duplicatesInProgress: number;
  readonly duplicatesCompleted: number;
  readonly refusedFull: number;
  readonly uncached: number;
  readonly expired: number;
}

class Entry {
  /** null while in progress; then the verdict duplicates get. */
  verdict: DedupeVerdict | null = null;
  bytes = 0;
  expiresAt = Number.POSITIVE_INFINITY;
  next: Entry | null = null;

  constructor(
    readonly sender: string,
    readonly key: number,
    /** No attempt of the request is expected after this (monotonic ms); Infinity when the request gave no budget. */
    readonly attemptsUntil: number,
  ) {}
}

export class DedupeWindow {
  readonly options: DedupeWindowOptions;
  readonly #bySender = new Map<string, Map<number, Entry>>();
  /** Completed entries, oldest expiry first. */
  #head: Entry | null = null;
  #tail: Entry | null = null;
  #size = 0;
  #inProgress = 0;
  #bytes = 0;
  #stats = { admitted: 0, duplicatesInProgress: 0, duplicatesCompleted: 0, refusedFull: 0, uncached: 0, expired: 0 };

  constructor(options: DedupeWindowOptions) {
    this.options = options;
  }

  /** Entries held, in progress and completed (some may have expired since the last call). */
  get size(): number {
    return this.#size;
  }

  get inProgress(): number {
    return this.#inProgress;
  }

  /** Cached reply bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** When the oldest completed entry expires (monotonic ms); Infinity when none. */
  get nextExpiry(): number {
    return this.#head?.expiresAt ?? Number.POSITIVE_INFINITY;
  }

  get stats(): DedupeWindowStats {
    return { ...this.#stats };
  }

  /** Entries held for `sender`. */
  sizeOf(sender: string): number {
    return this.#bySender.get(sender)?.size ?? 0;
  }

  /**
   * A request `key` from `sender` arrived at monotonic time `now`: what to
   * do with it. `budgetMs`, when given, is how long its sender may still
   * send attempts of it (the Request's timeoutMs).
   */
  begin(sender: string, key: number, now: number, budgetMs = Number.POSITIVE_INFINITY): DedupeVerdict {
    this.purge(now);
    let entries = this.#bySender.get(sender);
    const e = entries?.get(key);
    if (e !== undefined) {
      if (e.verdict === null) {
        this.#stats.duplicatesInProgress++;
        return IN_PROGRESS;
      }
      this.#stats.duplicatesCompleted++;
      return e.verdict;
    }
    if (this.#size >= this.options.maxEntries || (entries?.size ?? 0) >= this.options.maxEntriesPerSender) {
      this.#stats.refusedFull++;
      return FULL;
    }
    if (entries === undefined) {
      entries = new Map();
      this.#bySender.set(sender, entries);
    }
    entries.set(key, new Entry(sender, key, now + 2 * budgetMs + RETRY_GRACE_MS));
    this.#size++;
    this.#inProgress++;
    this.#stats.admitted++;
    return NEW;
  }

  /**
   * The request begun as 'new' was answered with `reply` at `now`: caches it
   * for dedupeWindowMs (or marks the entry handled without it when it does
   * not fit maxBytes). False when no such request is in progress.
   */
  complete(sender: string, key: number, reply: DedupeReply, now: number): boolean {
    const e = this.#bySender.get(sender)?.get(key);
    if (e === undefined || e.verdict !== null) return false;
    const bytes = replyBytes(reply);
    if (this.#bytes + bytes <= this.options.maxBytes) {
      e.verdict = Object.freeze({ kind: 'completed', reply });
      e.bytes = bytes;
      this.#bytes += bytes;
    } else {
      e.verdict = UNCACHED;
      this.#stats.uncached++;
    }
    this.#inProgress--;
    // Never before the current tail, so the list stays in expiry order (even if the clock
    // stepped back, or an earlier request had a longer budget): an entry may outlive its
    // time, never fall short of it.
    e.expiresAt = Math.max(Math.min(now + this.options.dedupeWindowMs, e.attemptsUntil), this.#tail?.expiresAt ?? 0);
    if (this.#tail === null) this.#head = e;
    else this.#tail.next = e;
    this.#tail = e;
    return true;
  }

  /**
   * Forgets a request begun as 'new' that was NOT run, so that a retry may
   * run it. False when no such request is in progress (a completed entry is
   * never released: that would let its duplicate run twice).
   */
  release(sender: string, key: number): boolean {
    const entries = this.#bySender.get(sender);
    const e = entries?.get(key);
    if (entries === undefined || e === undefined || e.verdict !== null) return false;
    this.forget(entries, e);
    this.#inProgress--;
    return true;
  }

  /** Drops the completed entries expired at `now`; returns how many. */
  purge(now: number): number {
    let dropped = 0;
    for (let e = this.#head; e !== null && e.expiresAt <= now; e = this.#head) {
      this.#head = e.next;
      if (this.#head === null) this.#tail = null;
      e.next = null;
      this.#bytes -= e.bytes;
      this.forget(this.#bySender.get(e.sender) as Map<number, Entry>, e);
      dropped++;
    }
    this.#stats.expired += dropped;
    return dropped;
  }

  private forget(entries: Map<number, Entry>, e: Entry): void {
    entries.delete(e.key);
    if (entries.size === 0) this.#bySender.delete(e.sender);
    this.#size--;
  }
}

/** Bytes a cached reply holds: a Response's payload, or an upper bound of an ErrorReply message's UTF-8. */
export function replyBytes(reply: DedupeReply): number {
  return reply.type === 'Response' ? reply.payload.byteLength : reply.message.length * 3;
}

