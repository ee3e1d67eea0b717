// The dedupe window under a virtual clock: each verdict, the window, the
// caps and what happens at them, options; and a fast-check comparison with
// a naive reference (a request is never run twice within the window).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/shared/errors.js';
import {
  DedupeWindow,
  RETRY_GRACE_MS,
  replyBytes,
  resolveDedupeWindowOptions,
  type DedupeReply,
  type DedupeWindowOptionsInput,
} from '../../src/main/transport/dedupe-window.js';

const window = (input: DedupeWindowOptionsInput = {}): DedupeWindow => new DedupeWindow(resolveDedupeWindowOptions(input));
const ok = (n = 3): DedupeReply => ({ type: 'Response', payload: new Uint8Array(n).fill(n) });

describe('DedupeWindow: verdicts', () => {
  it('admits a request once; a duplicate while it runs is dropped', () => {
    const w = window();
    expect(w.begin('n1', 42, 0)).toEqual({ kind: 'new' });
    expect(w.begin('n1', 42, 10)).toEqual({ kind: 'in-progress' });
    expect(w.inProgress).toBe(1);
    // Keys are per sender.
    expect(w.begin('n2', 42, 10)).toEqual({ kind: 'new' });
    expect(w.size).toBe(2);
  });

  it('re-sends the cached reply to a duplicate after completion', () => {
    const w = window();
    const reply = ok();
    w.begin('n1', 42, 0);
    expect(w.complete('n1', 42, reply, 100)).toBe(true);
    const again = w.begin('n1', 42, 200);
    expect(again).toEqual({ kind: 'completed', reply });
    expect(again.kind === 'completed' && again.reply).toBe(reply);
    expect(w.begin('n1', 42, 300)).toBe(again); // the same verdict object: no allocation per duplicate
    expect(w.stats).toMatchObject({ admitted: 1, duplicatesCompleted: 2 });
  });

  it('caches an error reply like a response: a failed handler is not run again', () => {
    const w = window();
    const failed: DedupeReply = { type: 'ErrorReply', code: 15, inReplyTo: 42, message: 'handler threw' };
    w.begin('n1', 42, 0);
    w.complete('n1', 42, failed, 1);
    expect(w.begin('n1', 42, 2)).toEqual({ kind: 'completed', reply: failed });
    expect(w.bytes).toBe(replyBytes(failed));
    expect(replyBytes(failed)).toBe(13 * 3);
  });

  it('remembers a completed request for exactly dedupeWindowMs from its completion', () => {
    const w = window({ dedupeWindowMs: 1_000 });
    w.begin('n1', 1, 0);
    w.complete('n1', 1, ok(), 5_000); // a long handler: the window starts at completion
    expect(w.nextExpiry).toBe(6_000);
    expect(w.begin('n1', 1, 5_999).kind).toBe('completed');
    expect(w.begin('n1', 1, 6_000).kind).toBe('new');
  });

  it("with a request's budget, forgets it once no attempt can come: twice the budget plus the grace after it arrived, never sooner than the entries before it", () => {
    const w = window({ dedupeWindowMs: 60_000 });
    w.begin('n1', 1, 0, 2_000); // a sender that tries for 2 s more
    w.complete('n1', 1, ok(), 100);
    expect(w.nextExpiry).toBe(2 * 2_000 + RETRY_GRACE_MS);
    expect(w.begin('n1', 1, 4_999).kind).toBe('completed');
    expect(w.begin('n1', 1, 5_000).kind).toBe('new');

    // a budget longer than the window: the window rules
    w.begin('n2', 7, 10_000, 100_000);
    w.complete('n2', 7, ok(), 10_000);
    expect(w.nextExpiry).toBe(70_000);
    // a shorter budget behind it waits its turn (kept longer, never shorter)
    w.begin('n2', 8, 10_000, 10);
    w.complete('n2', 8, ok(), 10_001);
    expect(w.begin('n2', 8, 69_999).kind).toBe('completed');
    expect(w.begin('n2', 8, 70_000).kind).toBe('new');
    // a handler that outlasts the budget: the entry goes at once after completion, as the window allows
    w.begin('n3', 9, 100_000, 100);
    w.complete('n3', 9, ok(), 200_000);
    expect(w.begin('n3', 9, 200_000).kind).toBe('new');
  });

  it('takes five times the sustained rate of idempotent 5 s requests per sender with their budgets', () => {
    const rate = (withBudget: boolean): number => {
      const w = window({ maxEntriesPerSender: 10_000 });
      let admitted = 0;
      for (let i = 1; i <= 2_000 * 120; i++) {
        const now = i / 2; // 2 000 requests a second, for two minutes
        if (w.begin('n1', i, now, withBudget ? 5_000 : undefined).kind !== 'new') continue;
        w.complete('n1', i, ok(1), now);
        admitted++;
      }
      return admitted / 120;
    };
    expect(rate(false)).toBeLessThan(200); // 10 000 per 60 s
    expect(rate(true)).toBeGreaterThan(900); // 10 000 per 11 s
  });

  it('never expires a request in progress', () => {
    const w = window({ dedupeWindowMs: 10 });
    w.begin('n1', 1, 0);
    expect(w.purge(1_000_000)).toBe(0);
    expect(w.begin('n1', 1, 1_000_000).kind).toBe('in-progress');
  });

  it('release() forgets a request that was not run, and only such a request', () => {
    const w = window();
    w.begin('n1', 1, 0);
    expect(w.release('n1', 1)).toBe(true);
    expect(w.release('n1', 1)).toBe(false);
    expect(w.size).toBe(0);
    expect(w.sizeOf('n1')).toBe(0);
    expect(w.begin('n1', 1, 1).kind).toBe('new');
    w.complete('n1', 1, ok(), 2);
    expect(w.release('n1', 1)).toBe(false);
    expect(w.begin('n1', 1, 3).kind).toBe('completed');
  });

  it('complete() of a request not in progress changes nothing', () => {
    const w = window();
    expect(w.complete('n1', 9, ok(), 0)).toBe(false);
    w.begin('n1', 9, 0);
    w.complete('n1', 9, ok(1), 0);
    expect(w.complete('n1', 9, ok(5), 0)).toBe(false);
    expect(w.bytes).toBe(1);
  });
});

describe('DedupeWindow: caps', () => {
  it('at maxEntries answers full, records nothing and evicts nothing, until entries expire', () => {
    const w = window({ dedupeWindowMs: 1_000, maxEntries: 2 });
    w.begin('a', 1, 0);
    w.complete('a', 1, ok(), 0);
    w.begin('b', 2, 0); // stays in progress
    expect(w.begin('c', 3, 500)).toEqual({ kind: 'full' });
    expect(w.size).toBe(2);
    expect(w.sizeOf('c')).toBe(0);
    expect(w.begin('a', 1, 600).kind).toBe('completed'); // still remembered, not evicted for room
    expect(w.begin('c', 3, 1_000)).toEqual({ kind: 'new' }); // a/1 expired at 1000
    expect(w.begin('d', 4, 1_000_000)).toEqual({ kind: 'full' }); // b/2 and c/3 in progress never expire
    expect(w.begin('b', 2, 1_000_000).kind).toBe('in-progress');
    expect(w.stats.refusedFull).toBe(2);
  });

  it('at maxEntriesPerSender refuses that sender only', () => {
    const w = window({ maxEntries: 10, maxEntriesPerSender: 2 });
    w.begin('noisy', 1, 0);
    w.begin('noisy', 2, 0);
    expect(w.begin('noisy', 3, 0).kind).toBe('full');
    expect(w.begin('quiet', 1, 0).kind).toBe('new');
  });

  it('at maxBytes keeps the entry handled without its reply: a duplicate is not run again', () => {
    const w = window({ maxBytes: 10 });
    w.begin('n1', 1, 0);
    w.complete('n1', 1, ok(8), 0);
    w.begin('n1', 2, 0);
    w.complete('n1', 2, ok(3), 0); // 8 + 3 > 10
    expect(w.bytes).toBe(8);
    expect(w.begin('n1', 2, 1)).toEqual({ kind: 'completed-uncached' });
    expect(w.begin('n1', 1, 1).kind).toBe('completed');
    expect(w.stats.uncached).toBe(1);
    w.purge(60_000);
    expect(w.bytes).toBe(0);
    expect(w.size).toBe(0);
  });
});

describe('resolveDedupeWindowOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveDedupeWindowOptions()).toEqual({ dedupeWindowMs: 60_000, maxEntries: 100_000, maxEntriesPerSender: 10_000, maxBytes: 32 * 1024 * 1024 });
    expect(resolveDedupeWindowOptions({ maxEntries: 50 }).maxEntriesPerSender).toBe(50);
  });

  const bad: [string, DedupeWindowOptionsInput][] = [
    ['dedupeWindowMs', { dedupeWindowMs: 0 }],
    ['dedupeWindowMs', { dedupeWindowMs: 1.5 }],
    ['maxEntries', { maxEntries: 0 }],
    ['maxEntriesPerSender', { maxEntries: 10, maxEntriesPerSender: 11 }],
    ['maxBytes', { maxBytes: -1 }],
  ];
  for (const [field, input] of bad) {
    it(`refuses ${JSON.stringify(input)} naming ${field}`, () => {
      expect(() => resolveDedupeWindowOptions(input)).toThrow(InvalidConfigError);
      expect(() => resolveDedupeWindowOptions(input)).toThrow(`invalid option ${field}:`);
    });
  }
});

type Op = { op: 'begin' | 'complete' | 'release'; sender: number; key: number; bytes: number } | { op: 'advance'; ms: number };

describe('DedupeWindow: property', () => {
  it('agrees with a naive reference; never runs a key twice within the window; never exceeds a cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constantFrom('begin' as const, 'complete' as const, 'release' as const), sender: fc.nat(2), key: fc.nat(5), bytes: fc.nat(12) }),
            fc.record({ op: fc.constant('advance' as const), ms: fc.nat(60) }),
          ),
          { maxLength: 200 },
        ),
        (windowMs, maxEntries, perSender, maxBytes, ops: Op[]) => {
          const maxEntriesPerSender = Math.min(perSender, maxEntries);
          const w = window({ dedupeWindowMs: windowMs, maxEntries, maxEntriesPerSender, maxBytes });
          // Reference: key -> state, scanned in full.
          interface Ref { sender: string; running: boolean; expiresAt: number; bytes: number; reply: DedupeReply | null }
          let ref = new Map<string, Ref>();
          /** When each key was last run to completion (for the at-most-once check). */
          const handledAt = new Map<string, number>();
          let now = 0;
          for (const op of ops) {
            if (op.op === 'advance') {
              now += op.ms;
              continue;
            }
            const sender = `s${op.sender}`;
            const id = `${sender}/${op.key}`;
            ref = new Map([...ref].filter(([, r]) => r.running || r.expiresAt > now));
            const r = ref.get(id);
            if (op.op === 'begin') {
              const verdict = w.begin(sender, op.key, now);
              let expected: string;
              if (r !== undefined) expected = r.running ? 'in-progress' : r.reply === null ? 'completed-uncached' : 'completed';
              else if (ref.size >= maxEntries || [...ref.values()].filter((x) => x.sender === sender).length >= maxEntriesPerSender) expected = 'full';
              else {
                expected = 'new';
                ref.set(id, { sender, running: true, expiresAt: Infinity, bytes: 0, reply: null });
                const last = handledAt.get(id);
                // The at-most-once rule: never admitted again within the window after it ran.
                expect(last === undefined || now >= last + windowMs).toBe(true);
              }
              expect(verdict.kind).toBe(expected);
              if (verdict.kind === 'completed') expect(verdict.reply).toBe(r?.reply);
            } else if (op.op === 'complete') {
              const reply = ok(op.bytes);
              expect(w.complete(sender, op.key, reply, now)).toBe(r?.running === true);
              if (r?.running === true) {
                const used = [...ref.values()].reduce((n, x) => n + x.bytes, 0);
                const fits = used + op.bytes <= maxBytes;
                ref.set(id, { sender, running: false, expiresAt: now + windowMs, bytes: fits ? op.bytes : 0, reply: fits ? reply : null });
                handledAt.set(id, now);
              }
            } else {
              expect(w.release(sender, op.key)).toBe(r?.running === true);
              if (r?.running === true) ref.delete(id);
            }
            expect(w.size).toBeLessThanOrEqual(maxEntries);
            w.purge(now); // size counts expired entries until a purge
            expect(w.size).toBe(ref.size);
            expect(w.bytes).toBe([...ref.values()].reduce((n, x) => n + x.bytes, 0));
            expect(w.bytes).toBeLessThanOrEqual(maxBytes);
            for (let s = 0; s <= 2; s++) expect(w.sizeOf(`s${s}`)).toBeLessThanOrEqual(maxEntriesPerSender);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
