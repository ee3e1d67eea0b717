import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import {
  createRing,
  RING_CONTROL_BYTES,
  RING_WRAP_MARKER,
  RingIndex,
  RingReader,
  RingWriter,
  ringRecordBytes,
} from '../../src/shared/ring.js';
import { InvalidConfigError } from '../../src/shared/errors.js';

/** Byte `i` of record `seq`: every record's bytes differ from its neighbours'. */
function patternByte(seq: number, i: number): number {
  return (Math.imul(seq + 1, 0x9e37_79b1) + Math.imul(i, 0x85eb_ca6b)) >>> 24;
}

function fill(view: Uint8Array, seq: number): void {
  for (let i = 0; i < view.length; i++) view[i] = patternByte(seq, i);
}

/** A small seeded generator (xorshift32) for record lengths. */
function lengths(seed: number, count: number, max: number): number[] {
  let x = seed || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = (x >>> 0) % 100;
    // mostly small, some at the limits: empty and the largest record
    out.push(r < 5 ? 0 : r < 10 ? max : r < 15 ? max - 1 - ((x >>> 8) % 8) : (x >>> 8) % (max + 1));
  }
  return out;
}

describe('ring in one thread', () => {
  it('refuses capacities that are not a power of two in range', () => {
    expect(() => createRing(100)).toThrow(InvalidConfigError);
    expect(() => createRing(32)).toThrow(InvalidConfigError);
    expect(() => new RingReader(new SharedArrayBuffer(RING_CONTROL_BYTES + 64))).toThrow(/createRing/);
    expect(createRing(64).byteLength).toBe(RING_CONTROL_BYTES + 64);
  });

  it('shows records to the consumer only after publish', () => {
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    expect(w.tryWrite(Uint8Array.of(1, 2, 3))).toBe(true);
    expect(r.tryRead()).toBeNull();
    w.publish();
    expect(Array.from(r.tryRead()!)).toEqual([1, 2, 3]);
    expect(r.tryRead()).toBeNull();
  });

  it('is full when the unreleased bytes leave no room, and takes records again after release', () => {
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    // 4 records of 12 bytes take 16 bytes each: exactly the capacity
    for (let i = 0; i < 4; i++) expect(w.tryWrite(new Uint8Array(12).fill(i))).toBe(true);
    expect(w.tryWrite(new Uint8Array(0))).toBe(false);
    w.publish();
    expect(r.tryRead()![0]).toBe(0);
    expect(w.tryWrite(new Uint8Array(0))).toBe(false); // read, not released
    r.release();
    expect(w.tryWrite(new Uint8Array(12).fill(9))).toBe(true);
    w.publish();
    expect([r.tryRead()![0], r.tryRead()![0], r.tryRead()![0], r.tryRead()![0]]).toEqual([1, 2, 3, 9]);
  });

  it('wraps a record that does not fit before the end behind a marker', () => {
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    expect(w.tryWrite(new Uint8Array(40).fill(7))).toBe(true); // 44 bytes
    w.publish();
    r.tryRead();
    r.release();
    // 20 bytes left before the end; a 24-byte record goes to offset 0
    expect(w.tryWrite(new Uint8Array(20).fill(8))).toBe(true);
    w.publish();
    const words = new Uint32Array(sab, RING_CONTROL_BYTES, 16);
    expect(words[44 / 4]).toBe(RING_WRAP_MARKER);
    expect(words[0]).toBe(20);
    const got = r.tryRead()!;
    expect(got.byteOffset).toBe(RING_CONTROL_BYTES + 4);
    expect(Array.from(got)).toEqual(new Array(20).fill(8));
    r.release();
    expect(Atomics.load(new Int32Array(sab), RingIndex.tail)).toBe(44 + 20 + 24);
  });

  it('takes the largest record (capacity - 4) from any starting offset', () => {
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    expect(w.maxRecordBytes).toBe(60);
    expect(() => w.tryReserve(61)).toThrow(RangeError);
    for (let start = 0; start < 64; start += 4) {
      const big = new Uint8Array(60).map((_, i) => i + start);
      // the small record ahead must be read first; a wrap marker may be
      // published alone while the ring is still occupied
      let tries = 0;
      while (!w.tryWrite(big)) {
        w.publish();
        r.tryRead();
        r.release();
        expect(++tries).toBeLessThan(3);
      }
      w.publish();
      expect(Array.from(r.tryRead()!)).toEqual(Array.from(big));
      r.release();
      // move the start by one small record
      expect(w.tryWrite(new Uint8Array(start % 8))).toBe(true);
    }
  });

  it('counts a record in 4-byte steps and signals the end after close', () => {
    expect([0, 1, 4, 5].map(ringRecordBytes)).toEqual([4, 8, 8, 12]);
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    w.tryWrite(Uint8Array.of(5));
    expect(r.drained).toBe(false);
    w.close();
    expect(r.drained).toBe(false);
    expect(Array.from(r.tryRead()!)).toEqual([5]);
    expect(r.drained).toBe(true);
  });

  it('resolves a main-thread wait when the other end moves, and times out otherwise', async () => {
    const sab = createRing(64);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    expect(await r.readable(5)).toBe('timed-out');
    const waiting = r.readable(5_000);
    w.tryWrite(Uint8Array.of(1));
    w.publish();
    expect(await waiting).toBe('ready');
    while (w.tryWrite(new Uint8Array(8)));
    w.publish();
    expect(await w.writable(5)).toBe('timed-out');
    const space = w.writable(5_000);
    r.tryRead();
    r.release();
    expect(await space).toBe('ready');
  });
});

interface EchoStats {
  records: number;
  fullWaits: number;
  emptyWaits: number;
}

/**
 * Main thread → worker → main thread through two rings: the worker copies
 * each record to the second ring. The main thread never blocks: it waits for
 * room or records with Atomics.waitAsync.
 */
async function roundTrip(options: { capacity: number; maxLength: number; count: number; seed: number; publishEvery: number }) {
  const input = createRing(options.capacity);
  const output = createRing(options.capacity);
  const worker = new Worker(new URL('./fixtures/ring-echo.mjs', import.meta.url), {
    workerData: { input, output, publishEvery: options.publishEvery },
  });
  const done = new Promise<EchoStats>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const writer = new RingWriter(input);
  const reader = new RingReader(output);
  const sizes = lengths(options.seed, options.count, options.maxLength);
  let sent = 0;
  let received = 0;
  let mismatches = 0;
  let inputFull = 0;
  const scratch = new Uint8Array(options.maxLength);
  while (received < options.count) {
    let progressed = false;
    // write until full or a batch is out
    for (let k = 0; sent < options.count && k < options.publishEvery; k++) {
      const view = writer.tryReserve(sizes[sent]);
      if (view === null) {
        inputFull++;
        break;
      }
      fill(view, sent);
      writer.commit();
      sent++;
      progressed = true;
    }
    writer.publish();
    if (sent === options.count) writer.close();
    // read everything published
    for (let record = reader.tryRead(); record !== null; record = reader.tryRead()) {
      const seq = received++;
      if (record.length !== sizes[seq]) mismatches++;
      else {
        fill(scratch.subarray(0, record.length), seq);
        for (let i = 0; i < record.length; i++) {
          if (record[i] !== scratch[i]) {
            mismatches++;
            break;
          }
        }
      }
      progressed = true;
    }
    reader.release();
    if (!progressed) {
      if (sent < options.count) await Promise.race([writer.writable(20), reader.readable(20)]);
      else await reader.readable(20);
    }
  }
  const stats = await done;
  expect(reader.tryRead()).toBeNull();
  expect(reader.drained).toBe(true);
  await worker.terminate();
  return { mismatches, received, inputFull, stats };
}

describe('ring across two threads', () => {
  it('delivers every byte of random-size records in order across wrap-around and full rings (publish each record)', async () => {
    const r = await roundTrip({ capacity: 256, maxLength: 252, count: 20_000, seed: 7, publishEvery: 1 });
    expect(r.mismatches).toBe(0);
    expect(r.received).toBe(20_000);
    expect(r.stats.records).toBe(20_000);
  });

  it('delivers every byte with batched publishing on a larger ring', async () => {
    const r = await roundTrip({ capacity: 4096, maxLength: 700, count: 30_000, seed: 99, publishEvery: 64 });
    expect(r.mismatches).toBe(0);
    expect(r.received).toBe(30_000);
    expect(r.stats.records).toBe(30_000);
    // the run must have hit the edges it claims to cover
    expect(r.inputFull + r.stats.fullWaits).toBeGreaterThan(0);
  });

  it('delivers records of every size from 0 to the largest through a tiny ring', async () => {
    const r = await roundTrip({ capacity: 64, maxLength: 60, count: 10_000, seed: 12345, publishEvery: 3 });
    expect(r.mismatches).toBe(0);
    expect(r.received).toBe(10_000);
  });
});
