// PacingWindow: bytes in flight bounded by the window, probes every quarter
// window, acknowledgement by the Pong of a probe (and of any later probe).
import { describe, expect, it } from 'vitest';
import { PACING_SEQ_BASE, PacingWindow } from '../../src/main/transport/pacing.js';

describe('PacingWindow', () => {
  it('asks for a probe every quarter window and blocks once a window is unacknowledged', () => {
    const p = new PacingWindow(1000);
    expect(p.wrote(100)).toBe(-1);
    expect(p.wrote(150)).toBe(PACING_SEQ_BASE); // 250 written: first probe
    expect(p.wrote(250)).toBe(PACING_SEQ_BASE + 1); // 500
    expect(p.wrote(250)).toBe(PACING_SEQ_BASE + 2); // 750
    expect(p.blocked).toBe(false);
    expect(p.wrote(250)).toBe(PACING_SEQ_BASE + 3); // 1000
    expect(p.blocked).toBe(true);
    expect(p.inFlight).toBe(1000);
  });

  it('acknowledges up to the mark of the answered probe, earlier probes included', () => {
    const p = new PacingWindow(1000);
    const seqs = [300, 300, 300, 300].map((n) => p.wrote(n));
    expect(p.blocked).toBe(true);
    expect(p.answered(seqs[1])).toBe(true); // the first two probes: 600 acknowledged
    expect(p.inFlight).toBe(600);
    expect(p.blocked).toBe(false);
    expect(p.answered(seqs[0])).toBe(false); // already covered: a stray answer
    expect(p.answered(seqs[3])).toBe(true);
    expect(p.inFlight).toBe(0);
  });

  it('ignores Pongs of probes it never sent, and never blocks with a window of 0', () => {
    const p = new PacingWindow(1000);
    p.wrote(600);
    expect(p.answered(PACING_SEQ_BASE + 99)).toBe(true); // covers every probe sent so far
    expect(p.inFlight).toBe(0);
    expect(p.answered(PACING_SEQ_BASE + 100)).toBe(false);
    const off = new PacingWindow(0);
    expect(off.wrote(10 ** 9)).toBe(-1);
    expect(off.blocked).toBe(false);
    expect(PacingWindow.isProbe(PACING_SEQ_BASE)).toBe(true);
    expect(PacingWindow.isProbe(17)).toBe(false);
  });

  it('keeps the bytes in flight within the window plus one write, whatever the write sizes', () => {
    const p = new PacingWindow(64 * 1024);
    const sent: number[] = [];
    let worst = 0;
    let x = 7;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      if (!p.blocked) {
        const seq = p.wrote(1 + (x % 20_000));
        if (seq >= 0) sent.push(seq);
      } else {
        expect(sent.length).toBeGreaterThan(0); // blocked only with a probe outstanding
      }
      worst = Math.max(worst, p.inFlight);
      if (x % 3 === 0 && sent.length > 0) p.answered(sent.shift() as number);
    }
    expect(worst).toBeLessThan(64 * 1024 + 20_000);
  });
});
