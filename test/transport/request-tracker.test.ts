// The request tracker under a virtual clock: attempts and their deadlines,
// retry identity, stray answers, failAll, the caps, options; and a
// fast-check property over any interleaving of begins, answers, ticks,
// cancels and failures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BackpressureError,
  ClusterwireError,
  ErrorCode,
  ForbiddenError,
  InvalidConfigError,
  InvalidMessageError,
  PeerUnavailableError,
  TimeoutError,
} from '../../src/shared/errors.js';
import { backoffCeilingMs } from '../../src/main/transport/backoff.js';
import { RECENT_SETTLED_MAX, RequestTracker, type RequestOutput } from '../../src/main/transport/request-tracker.js';
import { resolveRequestTrackerOptions, type RequestTrackerOptionsInput } from '../../src/main/transport/request-tracker-options.js';

/** A seeded uniform source in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NO_JITTER = { jitter: 'none' } as const;
const payload = (n = 4): Uint8Array => new Uint8Array(n).fill(7);
const response = { payload: new Uint8Array([1, 2]) };

function tracker(input: RequestTrackerOptionsInput = {}, random: () => number = () => 0): { t: RequestTracker; ids: { calls: number } } {
  const ids = { calls: 0 };
  const t = new RequestTracker(resolveRequestTrackerOptions({ retryBackoff: NO_JITTER, ...input }), {
    random,
    nextMessageId: () => 1_000 + ++ids.calls,
  });
  return { t, ids };
}

const sends = (out: readonly RequestOutput[]) =>
  out.filter((o): o is Extract<RequestOutput, { type: 'send' }> => o.type === 'send').map((o) => [o.messageId, o.request.attempt, o.request.timeoutMs]);

describe('RequestTracker: attempts', () => {
  it('sends attempt 1 at once, with the request id as message id and the whole budget', () => {
    const { t } = tracker();
    const id = t.begin({ topic: 'orders', payload: payload(), idempotent: true, timeoutMs: 3_000 }, 100);
    expect(id).toBe(1_001);
    const [out] = t.drain();
    expect(out).toEqual({
      type: 'send',
      messageId: id,
      request: { type: 'Request', topic: 'orders', payload: payload(), idempotent: true, attempt: 1, timeoutMs: 3_000 },
    });
    expect(t.size).toBe(1);
    expect(t.inFlightBytes).toBe(4);
  });

  it('never retries a non-idempotent request; it fails with ERR_TIMEOUT at its deadline, not before', () => {
    const { t } = tracker();
    const id = t.begin({ topic: 'pay', payload: payload() }, 0);
    t.drain();
    expect(t.nextDeadline).toBe(5_000); // the default requestTimeoutMs
    t.tick(4_999);
    expect(t.drain()).toEqual([]);
    t.tick(5_000);
    const [out] = t.drain();
    expect(out.type).toBe('failed');
    const error = (out as Extract<RequestOutput, { type: 'failed' }>).error;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(error).toMatchObject({ requestId: id, timeoutMs: 5_000, attempts: 1 });
    expect(t.size).toBe(0);
    expect(t.nextDeadline).toBe(Number.POSITIVE_INFINITY);
  });

  it('retries an idempotent request with the same message id, attempt 1..4, after attemptTimeoutMs plus backoff', () => {
    const { t } = tracker();
    const id = t.begin({ topic: 'get', payload: payload(), idempotent: true }, 0);
    const all: RequestOutput[] = [...t.drain()];
    // Drive the single timer the way a driver does.
    while (t.nextDeadline !== Number.POSITIVE_INFINITY) {
      t.tick(t.nextDeadline);
      all.push(...t.drain());
    }
    // 0: attempt 1; 1000 + 50: attempt 2; 2050 + 100: attempt 3; 3150 + 200: attempt 4 (waits until 5000).
    expect(sends(all)).toEqual([
      [id, 1, 5_000],
      [id, 2, 3_950],
      [id, 3, 2_850],
      [id, 4, 1_650],
    ]);
    const failed = all.at(-1) as Extract<RequestOutput, { type: 'failed' }>;
    expect(failed.error).toMatchObject({ code: 'ERR_TIMEOUT', requestId: id, attempts: 4, timeoutMs: 5_000 });
    expect(t.stats).toMatchObject({ begun: 1, retries: 3, timedOut: 1 });
  });

  it('keeps each attempt deadline within the overall deadline', () => {
    const { t } = tracker();
    t.begin({ topic: 'x', payload: payload(), idempotent: true, timeoutMs: 400 }, 10);
    expect(t.nextDeadline).toBe(410);
  });

  it('sends no retry that would start at or after the overall deadline', () => {
    const { t } = tracker();
    t.begin({ topic: 'x', payload: payload(), idempotent: true, timeoutMs: 1_050 }, 0);
    t.drain();
    t.tick(1_000); // the next attempt would go at 1050 = the deadline
    expect(t.drain()).toEqual([]);
    expect(t.nextDeadline).toBe(1_050);
    t.tick(1_050);
    expect(t.drain().map((o) => o.type)).toEqual(['failed']);
  });

  it('with maxRetries 0 sends an idempotent request once', () => {
    const { t } = tracker({ maxRetries: 0 });
    t.begin({ topic: 'x', payload: payload(), idempotent: true }, 0);
    t.drain();
    expect(t.nextDeadline).toBe(5_000);
  });

  it('draws retry delays from the backoff with equal jitter', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const { t } = tracker({ retryBackoff: {} }, seeded(seed));
        t.begin({ topic: 'x', payload: payload(), idempotent: true, timeoutMs: 60_000 }, 0);
        t.drain();
        let sentAt = 0;
        for (let attempt = 2; attempt <= 4; attempt++) {
          t.tick(sentAt + 1_000);
          expect(t.drain()).toEqual([]);
          const delay = t.nextDeadline - (sentAt + 1_000);
          const ceiling = backoffCeilingMs(t.options.retryBackoff, attempt - 2);
          expect(delay).toBeGreaterThanOrEqual(Math.ceil(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
          sentAt = t.nextDeadline;
          t.tick(sentAt);
          expect(sends(t.drain()).map((s) => s[1])).toEqual([attempt]);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('RequestTracker: answers', () => {
  it('resolves on a response to an earlier attempt after a retry was sent', () => {
    const { t } = tracker();
    const id = t.begin({ topic: 'x', payload: payload(), idempotent: true }, 0);
    t.tick(1_000);
    t.tick(1_050);
    expect(sends(t.drain()).map((s) => s[1])).toEqual([1, 2]);
    expect(t.receiveResponse(id, response, 1_300)).toBe('resolved');
    expect(t.drain()).toEqual([{ type: 'resolved', requestId: id, response, attempts: 2, elapsedMs: 1_300 }]);
    expect(t.size).toBe(0);
    expect(t.inFlightBytes).toBe(0);
    expect(t.nextDeadline).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts and drops duplicate, late and unknown answers', () => {
    const { t } = tracker();
    const a = t.begin({ topic: 'x', payload: payload() }, 0);
    const b = t.begin({ topic: 'x', payload: payload(), timeoutMs: 10 }, 0);
    const c = t.begin({ topic: 'x', payload: payload() }, 0);
    t.receiveResponse(a, response, 5);
    t.tick(10);
    t.cancel(c);
    t.drain();
    expect(t.receiveResponse(a, response, 20)).toBe('duplicate');
    expect(t.receiveResponse(b, response, 20)).toBe('late');
    expect(t.receiveError(c, new ForbiddenError('Request', 'n1'), 20)).toBe('late');
    expect(t.receiveResponse(77, response, 20)).toBe('unknown');
    expect(t.drain()).toEqual([]);
    expect(t.stats).toMatchObject({ resolved: 1, timedOut: 1, cancelled: 1, duplicateAnswers: 1, lateAnswers: 2, unknownAnswers: 1 });
  });

  it(`remembers the last ${RECENT_SETTLED_MAX} ended ids to classify stray answers, then forgets the oldest`, () => {
    const { t } = tracker({ maxInFlightRequests: 1 });
    const first = t.begin({ topic: 'x', payload: payload() }, 0);
    t.receiveResponse(first, response, 0);
    for (let i = 0; i < RECENT_SETTLED_MAX - 1; i++) t.receiveResponse(t.begin({ topic: 'x', payload: payload() }, 0), response, 0);
    expect(t.receiveResponse(first, response, 0)).toBe('duplicate');
    t.receiveResponse(t.begin({ topic: 'x', payload: payload() }, 0), response, 0);
    expect(t.receiveResponse(first, response, 0)).toBe('unknown');
  });

  it('retries an idempotent request refused with ERR_BACKPRESSURE; fails others with the error', () => {
    const { t } = tracker();
    const idem = t.begin({ topic: 'x', payload: payload(), idempotent: true }, 0);
    const once = t.begin({ topic: 'x', payload: payload() }, 0);
    const other = t.begin({ topic: 'x', payload: payload(), idempotent: true }, 0);
    t.drain();
    const busy = new BackpressureError('dedupeWindow', 10);
    expect(t.receiveError(idem, busy, 200)).toBe('retrying');
    expect(t.receiveError(idem, busy, 210)).toBe('retrying'); // already waiting: no second schedule
    expect(t.receiveError(once, busy, 200)).toBe('failed');
    const forbidden = new ForbiddenError('Request', 'n1');
    expect(t.receiveError(other, forbidden, 200)).toBe('failed');
    expect(t.drain()).toEqual([
      { type: 'failed', requestId: once, error: busy, attempts: 1 },
      { type: 'failed', requestId: other, error: forbidden, attempts: 1 },
    ]);
    t.tick(250);
    expect(sends(t.drain())).toEqual([[idem, 2, 4_750]]);
  });

  it('fails an idempotent request refused with ERR_BACKPRESSURE when no attempt is left', () => {
    const { t } = tracker({ maxRetries: 0 });
    const id = t.begin({ topic: 'x', payload: payload(), idempotent: true }, 0);
    expect(t.receiveError(id, new BackpressureError('dedupeWindow', 1), 5)).toBe('failed');
  });

  it('failAll ends every request with the error, in the order they began', () => {
    const { t } = tracker();
    const ids = [t.begin({ topic: 'a', payload: payload() }, 0), t.begin({ topic: 'b', payload: payload(), idempotent: true }, 1)];
    t.tick(1_000);
    t.drain();
    const gone = new PeerUnavailableError('n2', 'connection closed');
    expect(t.failAll(gone)).toBe(2);
    expect(t.drain()).toEqual(ids.map((requestId) => ({ type: 'failed', requestId, error: gone, attempts: 1 })));
    expect(t.size).toBe(0);
    expect(t.inFlightBytes).toBe(0);
    expect(t.nextDeadline).toBe(Number.POSITIVE_INFINITY);
    expect(t.receiveResponse(ids[0], response, 2_000)).toBe('late');
    t.tick(100_000);
    expect(t.drain()).toEqual([]);
  });

  it("hands each request's context back in the output that ends it, however it ends", () => {
    const { t } = tracker();
    const ctx = (name: string) => ({ name });
    const answered = t.begin({ topic: 'a', payload: payload(), context: ctx('answered') }, 0);
    const refused = t.begin({ topic: 'a', payload: payload(), context: ctx('refused') }, 0);
    t.begin({ topic: 'a', payload: payload(), timeoutMs: 10, context: ctx('timed out') }, 0);
    t.begin({ topic: 'a', payload: payload(), timeoutMs: 1_000, context: ctx('dropped') }, 0);
    t.begin({ topic: 'a', payload: payload() }, 0);
    t.drain();
    t.receiveResponse(answered, response, 1);
    t.receiveError(refused, new ForbiddenError('a', 'peer'), 2);
    t.tick(10);
    t.failAll(new PeerUnavailableError('peer', 'gone'));
    const ended = t.drain().map((o) => [o.type, o.type === 'send' ? null : o.context]);
    expect(ended).toEqual([
      ['resolved', { name: 'answered' }],
      ['failed', { name: 'refused' }],
      ['failed', { name: 'timed out' }],
      ['failed', { name: 'dropped' }],
      ['failed', undefined],
    ]);
  });

  it('cancel() ends a request without an output', () => {
    const { t } = tracker();
    const id = t.begin({ topic: 'x', payload: payload() }, 0);
    t.drain();
    expect(t.cancel(id)).toBe(true);
    expect(t.cancel(id)).toBe(false);
    t.tick(10_000);
    expect(t.drain()).toEqual([]);
  });
});

describe('RequestTracker: bounds and inputs', () => {
  it('throws BackpressureError at maxInFlightRequests and records nothing', () => {
    const { t, ids } = tracker({ maxInFlightRequests: 2 });
    const a = t.begin({ topic: 'x', payload: payload() }, 0);
    t.begin({ topic: 'x', payload: payload() }, 0);
    t.drain();
    const attempt = () => t.begin({ topic: 'x', payload: payload() }, 0);
    expect(attempt).toThrow(BackpressureError);
    expect(attempt).toThrow(/maxInFlightRequests reached its limit of 2/);
    expect(ids.calls).toBe(2);
    expect(t.drain()).toEqual([]);
    expect(t.size).toBe(2);
    t.receiveResponse(a, response, 1);
    expect(attempt()).toBe(1_003);
  });

  it('throws BackpressureError at maxInFlightBytes', () => {
    const { t } = tracker({ maxInFlightBytes: 10 });
    t.begin({ topic: 'x', payload: payload(6) }, 0);
    expect(() => t.begin({ topic: 'x', payload: payload(5) }, 0)).toThrow(expect.objectContaining({ resource: 'maxInFlightBytes', limit: 10 }));
    expect(t.begin({ topic: 'x', payload: payload(4) }, 0)).toBe(1_002);
    expect(t.inFlightBytes).toBe(10);
  });

  it('refuses a bad timeout, topic or payload as InvalidMessageError', () => {
    const { t } = tracker();
    expect(() => t.begin({ topic: 'x', payload: payload(), timeoutMs: 0 }, 0)).toThrow(InvalidMessageError);
    expect(() => t.begin({ topic: 'x', payload: payload(), timeoutMs: 2 ** 32 }, 0)).toThrow(/timeoutMs/);
    expect(() => t.begin({ topic: 1 as never, payload: payload() }, 0)).toThrow(/topic/);
    expect(() => t.begin({ topic: 'x', payload: [1] as never }, 0)).toThrow(/payload/);
    expect(t.size).toBe(0);
  });

  it('refuses message ids that are not safe integers >= 1 or are still in flight', () => {
    const opts = resolveRequestTrackerOptions();
    const zero = new RequestTracker(opts, { random: () => 0, nextMessageId: () => 0 });
    expect(() => zero.begin({ topic: 'x', payload: payload() }, 0)).toThrow(InvalidConfigError);
    const same = new RequestTracker(opts, { random: () => 0, nextMessageId: () => 5 });
    same.begin({ topic: 'x', payload: payload() }, 0);
    expect(() => same.begin({ topic: 'x', payload: payload() }, 0)).toThrow(/nextMessageId.*still in flight/);
    expect(same.size).toBe(1);
  });
});

describe('resolveRequestTrackerOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveRequestTrackerOptions()).toEqual({
      requestTimeoutMs: 5_000,
      attemptTimeoutMs: 1_000,
      maxRetries: 3,
      maxInFlightRequests: 10_000,
      maxInFlightBytes: 64 * 1024 * 1024,
      retryBackoff: { initialDelayMs: 50, maxDelayMs: 1_000, multiplier: 2, jitter: 'equal' },
    });
    expect(resolveRequestTrackerOptions({ retryBackoff: { initialDelayMs: undefined, maxDelayMs: 400 } }).retryBackoff.initialDelayMs).toBe(50);
  });

  const bad: [string, RequestTrackerOptionsInput][] = [
    ['requestTimeoutMs', { requestTimeoutMs: 0 }],
    ['requestTimeoutMs', { requestTimeoutMs: 2 ** 32 }],
    ['attemptTimeoutMs', { attemptTimeoutMs: 1.5 }],
    ['maxRetries', { maxRetries: 255 }],
    ['maxRetries', { maxRetries: -1 }],
    ['maxInFlightRequests', { maxInFlightRequests: 0 }],
    ['maxInFlightBytes', { maxInFlightBytes: -1 }],
    ['retryBackoff.initialDelayMs', { retryBackoff: { initialDelayMs: 0 } }],
    ['retryBackoff.jitter', { retryBackoff: { jitter: 'wild' as never } }],
    ['retryBackoff', { retryBackoff: 5 as never }],
  ];
  for (const [field, input] of bad) {
    it(`refuses ${JSON.stringify(input)} naming ${field}`, () => {
      expect(() => resolveRequestTrackerOptions(input)).toThrow(InvalidConfigError);
      expect(() => resolveRequestTrackerOptions(input)).toThrow(`invalid option ${field}:`);
    });
  }
});

type Op =
  | { op: 'begin'; idempotent: boolean; timeoutMs: number; bytes: number }
  | { op: 'response'; pick: number }
  | { op: 'error'; pick: number; backpressure: boolean }
  | { op: 'advance'; ms: number }
  | { op: 'cancel'; pick: number }
  | { op: 'failAll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('begin' as const), idempotent: fc.boolean(), timeoutMs: fc.integer({ min: 1, max: 6_000 }), bytes: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('response' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('error' as const), pick: fc.nat(), backpressure: fc.boolean() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.constant({ op: 'failAll' as const }),
);

describe('RequestTracker: property', () => {
  it('under any interleaving ends each request exactly once, within its bounds and caps', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.array(opArb, { maxLength: 120 }), (seed, maxRetries, cap, ops) => {
        const { t } = tracker({ maxRetries, maxInFlightRequests: cap, maxInFlightBytes: 100, attemptTimeoutMs: 300, retryBackoff: {} }, seeded(seed));
        interface Model { begunAt: number; timeoutMs: number; idempotent: boolean; ends: number; attempts: number[]; cancelled: boolean }
        const model = new Map<number, Model>();
        const ids: number[] = [];
        let now = 0;
        const check = (): void => {
          for (const o of t.drain()) {
            const id = o.type === 'send' ? o.messageId : o.requestId;
            const m = model.get(id);
            expect(m).toBeDefined();
            if (m === undefined) continue;
            expect(m.ends).toBe(0); // nothing after the end
            if (o.type === 'send') {
              m.attempts.push(o.request.attempt);
              expect(o.request.attempt).toBe(m.attempts.length);
              expect(o.request.idempotent).toBe(m.idempotent);
              expect(o.request.timeoutMs).toBe(m.begunAt + m.timeoutMs - now);
              expect(now).toBeLessThan(m.begunAt + m.timeoutMs);
            } else {
              m.ends++;
              expect(o.attempts).toBe(m.attempts.length);
              if (o.type === 'failed' && o.error instanceof TimeoutError) expect(now).toBeGreaterThanOrEqual(m.begunAt + m.timeoutMs);
            }
            expect(m.attempts.length).toBeLessThanOrEqual(m.idempotent ? maxRetries + 1 : 1);
          }
          expect(t.size).toBeLessThanOrEqual(cap);
          expect(t.inFlightBytes).toBeLessThanOrEqual(100);
          expect(t.nextDeadline).toBeGreaterThanOrEqual(now);
          const live = [...model.entries()].filter(([id]) => t.has(id));
          expect(live.length).toBe(t.size);
          for (const [id, m] of live) {
            expect(m.ends).toBe(0);
            expect(t.nextDeadline).toBeLessThanOrEqual(m.begunAt + m.timeoutMs);
            expect(m.begunAt + m.timeoutMs).toBeGreaterThan(now); // nothing overdue survives a tick
            expect(id).toBeGreaterThan(0);
          }
        };
        for (const op of ops) {
          const pick = (n: number): number => ids[n % Math.max(1, ids.length)] ?? 1;
          switch (op.op) {
            case 'begin':
              try {
                const id = t.begin({ topic: 't', payload: new Uint8Array(op.bytes), idempotent: op.idempotent, timeoutMs: op.timeoutMs }, now);
                model.set(id, { begunAt: now, timeoutMs: op.timeoutMs, idempotent: op.idempotent, ends: 0, attempts: [], cancelled: false });
                ids.push(id);
              } catch (e) {
                expect(e).toBeInstanceOf(BackpressureError);
                expect(t.size === cap || t.inFlightBytes + op.bytes > 100).toBe(true);
              }
              break;
            case 'response':
              t.receiveResponse(pick(op.pick), response, now);
              break;
            case 'error':
              t.receiveError(pick(op.pick), op.backpressure ? new BackpressureError('dedupeWindow', 1) : new ClusterwireError(ErrorCode.FORBIDDEN, 'no'), now);
              break;
            case 'advance':
              now += op.ms;
              t.tick(now);
              break;
            case 'cancel': {
              const id = pick(op.pick);
              if (t.cancel(id)) (model.get(id) as Model).cancelled = true;
              break;
            }
            case 'failAll':
              t.failAll(new PeerUnavailableError('n', 'closed'));
              break;
          }
          check();
        }
        // Whatever is left ends by its deadline.
        now += 10_000;
        t.tick(now);
        check();
        expect(t.size).toBe(0);
        for (const m of model.values()) expect(m.ends).toBe(m.cancelled ? 0 : 1);
      }),
      { numRuns: 300 },
    );
  });
});
