// The receiving half of credit flow control: the window invariant, credit
// returned on consumption (not arrival), and when grants fall due.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReceiveWindow } from '../../src/main/transport/stream-flow.js';

describe('ReceiveWindow', () => {
  it('refuses bytes beyond the credit the peer holds, counting nothing', () => {
    const w = new ReceiveWindow(100);
    expect(w.receive(60)).toBe(true);
    expect(w.receive(41)).toBe(false);
    expect([w.outstanding, w.buffered, w.pending]).toEqual([40, 60, 0]);
  });

  it('returns credit for consumed bytes, not for bytes that merely arrived', () => {
    const w = new ReceiveWindow(100);
    w.receive(100);
    expect(w.takeGrant()).toBe(0);
    expect(w.consume(30)).toBe(true);
    expect(w.takeGrant()).toBe(30); // the peer had nothing left: any consumption is granted at once
    expect([w.outstanding, w.buffered, w.pending]).toEqual([30, 70, 0]);
    expect(w.consume(71)).toBe(false);
  });

  it('on an empty buffer grants once half the window is consumed', () => {
    const w = new ReceiveWindow(100);
    w.receive(49);
    w.consume(49);
    expect(w.takeGrant()).toBe(0); // pending 49 < outstanding 51
    w.receive(1);
    w.consume(1);
    expect(w.takeGrant()).toBe(50);
    expect(w.outstanding).toBe(100);
  });

  it('shrinks the threshold with what unread data holds', () => {
    const w = new ReceiveWindow(100);
    w.receive(80); // 80 stuck, never read
    w.receive(10);
    w.consume(10); // the other 10 of the remaining 20 are consumed
    expect(w.takeGrant()).toBe(10);
  });

  it('keeps outstanding + buffered + pending = window under any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.tuple(fc.constantFrom('receive', 'consume', 'grant'), fc.nat(1200))), (size, ops) => {
        const w = new ReceiveWindow(size);
        for (const [op, n] of ops) {
          if (op === 'receive') w.receive(n);
          else if (op === 'consume') w.consume(n);
          else w.takeGrant();
          expect(w.outstanding + w.buffered + w.pending).toBe(size);
          expect(Math.min(w.outstanding, w.buffered, w.pending)).toBeGreaterThanOrEqual(0);
        }
        // Nothing buffered: a grant always comes due eventually (no deadlock).
        w.consume(w.buffered);
        w.takeGrant();
        if (w.pending > 0) expect(w.pending).toBeLessThan(w.outstanding);
        expect(w.outstanding).toBeGreaterThanOrEqual(size / 2);
      }),
    );
  });
});
