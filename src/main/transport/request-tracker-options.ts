// Options of the request tracker (request-tracker.ts), validated once by
// resolveRequestTrackerOptions(); the tracker only reads resolved values.
//
//   option                default   meaning
//   requestTimeoutMs      5 000     overall deadline of a request that names none (1 .. 2^32 - 1: a Request's uint)
//   attemptTimeoutMs      1 000     an idempotent request's attempt unanswered this long is sent again
//   maxRetries            3         retries of an idempotent request, so up to 4 attempts (0 .. 254)
//   maxInFlightRequests   10 000    requests awaiting an answer; begin() throws BackpressureError at the cap
//   maxInFlightBytes      64 MiB    payload bytes held until answered (for resends); likewise
//   retryBackoff          50 ms doubling to 1 s, equal jitter   delay before each retry (backoff.ts)
//
// attemptTimeoutMs applies to idempotent requests only; a non-idempotent
// request has exactly one attempt, which waits for the whole overall timeout.
// An attempt's deadline never passes the overall one, and no retry is sent
// that would start at or after the overall deadline.
import { InvalidConfigError } from '../../shared/errors.js';
import { resolveBackoffOptions, type BackoffOptions } from './backoff.js';
import { integerOption as integer } from '../../shared/options.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 1_000;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_MAX_IN_FLIGHT_REQUESTS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Retries wait less than reconnects: they run inside a request's few-second budget. */
export const DEFAULT_RETRY_BACKOFF: BackoffOptions = Object.freeze({
  initialDelayMs: 50,
  maxDelayMs: 1_000,
  multiplier: 2,
  jitter: 'equal',
});

/** The largest timeout a Request can carry (its timeout_ms is a uint). */
export const MAX_REQUEST_TIMEOUT_MS = 0xffff_ffff;
/** Attempts are numbered 1, 2, ... in the Request's attempt (a ubyte). */
export const MAX_ATTEMPTS = 255;

export interface RequestTrackerOptionsInput {
  requestTimeoutMs?: number;
  attemptTimeoutMs?: number;
  maxRetries?: number;
  maxInFlightRequests?: number;
  maxInFlightBytes?: number;
  retryBackoff?: Partial<BackoffOptions>;
}

export interface RequestTrackerOptions {
  readonly requestTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxRetries: number;
  readonly maxInFlightRequests: number;
  readonly maxInFlightBytes: number;
  readonly retryBackoff: BackoffOptions;
}

export function resolveRequestTrackerOptions(input: RequestTrackerOptionsInput = {}): RequestTrackerOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const requestTimeoutMs = integer('requestTimeoutMs', input.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1, MAX_REQUEST_TIMEOUT_MS);
  const attemptTimeoutMs = integer('attemptTimeoutMs', input.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS, 1, MAX_REQUEST_TIMEOUT_MS);
  const maxRetries = integer('maxRetries', input.maxRetries ?? DEFAULT_MAX_RETRIES, 0, MAX_ATTEMPTS - 1);
  const maxInFlightRequests = integer('maxInFlightRequests', input.maxInFlightRequests ?? DEFAULT_MAX_IN_FLIGHT_REQUESTS, 1, 16_777_216);
  const maxInFlightBytes = integer('maxInFlightBytes', input.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES, 0, Number.MAX_SAFE_INTEGER);
  const retryBackoff = resolveRetryBackoff(input.retryBackoff ?? {});
  return Object.freeze({ requestTimeoutMs, attemptTimeoutMs, maxRetries, maxInFlightRequests, maxInFlightBytes, retryBackoff });
}

function resolveRetryBackoff(value: unknown): BackoffOptions {
  if (value === null || typeof value !== 'object') throw new InvalidConfigError('retryBackoff', 'expected an object');
  const merged: Record<string, unknown> = { ...DEFAULT_RETRY_BACKOFF };
  for (const [key, v] of Object.entries(value)) if (v !== undefined) merged[key] = v;
  try {
    return resolveBackoffOptions(merged as Partial<BackoffOptions>);
  } catch (e) {
    if (e instanceof InvalidConfigError) throw new InvalidConfigError(`retryBackoff.${e.field}`, e.problem);
    throw e;
  }
}

