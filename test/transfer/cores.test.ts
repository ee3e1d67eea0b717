// The pure parts of file transfer: options, names, chunk geometry, the receiver's
// ledger of grants, the sender's queue, the bandwidth bucket, progress.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ChunkGeometry, ChunkLedger, FILE_TRANSFER_DEFAULTS, SendQueue, TokenBucket, resolveFileTransfersOptions, transferNameProblem } from '../../src/main/transfer/index.js';
import { ProgressMeter } from '../../src/main/transfer/progress-meter.js';
import { ErrorCode } from '../../src/shared/errors.js';

describe('transfer names', () => {
  it('takes plain file names and refuses anything that could leave the directory', () => {
    for (const ok of ['report.pdf', 'a', 'backup 2026-11-23.tar.gz', 'ünïcode-名前.bin', 'x'.repeat(240)]) expect(transferNameProblem(ok)).toBeNull();
    for (const bad of ['', '.', '..', '../etc/passwd', '..\\win.ini', '/etc/passwd', 'C:\\x', 'a/b', 'a\\b', 'nul\0byte', 'tab\there', '.hidden', '.x.partial', 'trailing.', 'trailing ', 'x'.repeat(241), 'é'.repeat(121)]) {
      expect(transferNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
    }
    expect(transferNameProblem(42)).toBe('not a string');
  });
});

describe('file transfer options', () => {
  it('fills in the defaults and refuses bad values, naming the field', () => {
    expect(resolveFileTransfersOptions({ directory: 'inbox' })).toEqual({ ...FILE_TRANSFER_DEFAULTS, directory: path.resolve('inbox') });
    expect(resolveFileTransfersOptions({ syncEveryBytes: 0 }).syncEveryBytes).toBe(0);
    for (const [field, value] of [
      ['syncEveryBytes', -1],
      ['syncEveryBytes', 1.5],
      ['chunkBytes', 1024],
      ['windowBytes', '16MiB'],
      ['maxChunkRetries', 101],
      ['overwrite', 'yes'],
    ] as const) {
      expect(() => resolveFileTransfersOptions({ [field]: value }), field).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG, message: expect.stringContaining(field) }));
    }
  });
});

describe('ChunkGeometry', () => {
  it('cuts a total into full chunks and a shorter last one, and refuses inconsistent chunks', () => {
    const g = new ChunkGeometry(10_000, 4096);
    expect(g.count).toBe(3);
    expect([g.offsetOf(2), g.lengthOf(2), g.lengthOf(0)]).toEqual([8192, 1808, 4096]);
    expect(g.problem(1, 4096, 4096)).toBeNull();
    expect(g.problem(2, 8192, 1808)).toBeNull();
    expect(g.problem(3, 12288, 1)).toMatch(/outside/);
    expect(g.problem(-1, 0, 4096)).toMatch(/outside/);
    expect(g.problem(1, 4095, 4096)).toMatch(/offset/);
    expect(g.problem(2, 8192, 4096)).toMatch(/bytes/);
    expect(new ChunkGeometry(0, 4096).count).toBe(0);
    expect(new ChunkGeometry(8192, 4096).lengthOf(1)).toBe(4096);
  });
});

describe('ChunkLedger', () => {
  it('grants at most a window, lowest first, skipping held chunks, and one more per verified chunk', () => {
    const l = new ChunkLedger(10, 3, 2, [1, 4]);
    expect(l.heldCount).toBe(2);
    expect(l.grant()).toEqual([0, 2, 3]);
    expect(l.grant()).toEqual([]);
    expect(l.arrive(5)).toBe('not-granted');
    expect(l.arrive(1)).toBe('duplicate');
    expect(l.arrive(0)).toBe('take');
    expect(l.arrive(0)).toBe('not-granted'); // a second copy while the first is in work
    l.verified(0);
    expect(l.grant()).toEqual([5]);
    expect(l.held()).toEqual([0, 1, 4]);
  });

  it('grants a corrupted chunk again up to maxRetries times', () => {
    const l = new ChunkLedger(2, 2, 2);
    l.grant();
    for (let i = 0; i < 2; i++) {
      expect(l.arrive(0)).toBe('take');
      expect(l.corrupt(0)).toBe(true);
    }
    expect(l.arrive(0)).toBe('take');
    expect(l.corrupt(0)).toBe(false);
  });

  it('is complete when every chunk is held', () => {
    const l = new ChunkLedger(3, 8, 0);
    for (const i of l.grant()) {
      expect(l.arrive(i)).toBe('take');
      l.verified(i);
    }
    expect(l.complete).toBe(true);
  });
});

describe('SendQueue', () => {
  it('sends grants in order once each, re-sends a chunk granted again, counts acks', () => {
    const q = new SendQueue(5);
    expect(q.grant([0, 1, 1, 2])).toBe(true);
    expect([q.next(), q.next(), q.next(), q.next()]).toEqual([0, 1, 2, -1]);
    expect(q.inFlight).toBe(3);
    expect(q.ack([0, 2])).toBe(true);
    expect(q.grant([1])).toBe(true); // a resend
    expect(q.next()).toBe(1);
    expect(q.grant([0])).toBe(true); // already acked: nothing to send
    expect(q.next()).toBe(-1);
    expect(q.ack([1, 3, 4])).toBe(true);
    expect(q.complete).toBe(true);
  });

  it('reports indexes outside the transfer', () => {
    const q = new SendQueue(2);
    expect(q.grant([2])).toBe(false);
    expect(q.ack([-1])).toBe(false);
    expect(q.grant([0.5])).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('starts empty, queues reservations as debt, and keeps at most a burst while idle', () => {
    const b = new TokenBucket(1000, 500, 0);
    expect(b.reserve(500, 0)).toBe(500);
    expect(b.reserve(500, 0)).toBe(1000); // behind the first
    expect(b.reserve(100, 1000)).toBeCloseTo(100);
    // idle for a long time: only the burst accrued
    expect(b.reserve(500, 100_000)).toBe(0);
    expect(b.reserve(1, 100_000)).toBe(1);
  });

  it('admits bytes at the rate over a long run', () => {
    const b = new TokenBucket(10_000, 1000, 0);
    let now = 0;
    for (let i = 0; i < 100; i++) now += b.reserve(1000, now);
    // 100 000 bytes at 10 000 B/s: 10 s, the first chunk waiting too
    expect(now).toBeCloseTo(10_000);
  });
});

describe('ProgressMeter', () => {
  it('reports bytes, rate over recent samples and the time left', () => {
    const m = new ProgressMeter(1000, 10, 0, 100);
    const p = m.update(300, 3, 1000);
    expect(p.rateBytesPerSec).toBe(200);
    expect(p.etaMs).toBe(3500);
    expect(m.update(1000, 10, 2000).etaMs).toBe(0);
    expect(m.averageRate(1000, 2000)).toBe(450);
  });
});
