// The engine with real worker threads (loaded from dist: `npm run build` first).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Engine, chunkAt } from '../../src/main/engine/index.js';
import { refusedFlags, startWithFlags, withWorkerFlags, withoutFlags } from '../../src/main/engine/worker-flags.js';
import { FrameEncoder, encodeMessage, type Envelope } from '../../src/shared/envelope/index.js';
import { ClusterwireError, EngineClosedError, ErrorCode, WorkerFailedError } from '../../src/shared/errors.js';

const CRASH_ALWAYS = 0xdead01;
const CRASH_ONCE = 0xdead02;
const crashingModule = new URL('./fixtures/crashing-tasks.mjs', import.meta.url).href;

function message(id: number, payload: Uint8Array): Envelope {
  return {
    header: { messageId: id, correlationId: 0, sender: 42, timestampUs: 1_763_000_000_000_000 + id, streamId: 0, priority: 2 },
    body: { type: 'Message', topic: 'orders', payload },
  } as Envelope;
}

function custom(id: number, kind: number, payload: Uint8Array): Envelope {
  return { header: { ...message(id, payload).header }, body: { type: 'Custom', kind, payload } } as Envelope;
}

function text(n: number, seed = 0): Uint8Array {
  const words = Buffer.from('member suspect alive probe ack nack gossip incarnation ');
  return new Uint8Array(n).map((_, i) => words[(i * 7 + seed + (i >> 9)) % words.length]);
}

function reference(envelopes: Envelope[], options: ConstructorParameters<typeof FrameEncoder>[0] = {}): Buffer {
  const encoder = new FrameEncoder(options);
  for (const e of envelopes) encoder.append(e);
  return Buffer.from(encoder.take());
}

const engines: Engine[] = [];
function engine(...args: ConstructorParameters<typeof Engine>): Engine {
  const e = new Engine(...args);
  engines.push(e);
  return e;
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('engine in workers', () => {
  it('encodes byte-identical frames in a worker and inline, with and without compression', async () => {
    const envelopes = [message(1, text(64)), message(2, text(100_000, 3)), message(3, new Uint8Array(0)), message(4, text(5000, 1))];
    for (const compression of ['none', 'lz4', 'zstd'] as const) {
      const inWorker = engine({ workers: 1, offloadMinBytes: 0, frame: { compression } });
      const inline = engine({ workers: 0, frame: { compression } });
      const a = await inWorker.encodeBatch(envelopes);
      const b = await inline.encodeBatch(envelopes);
      expect(inWorker.stats.workerBatches).toBe(1);
      expect(inline.stats.inlineBatches).toBe(1);
      expect(Buffer.from(a.bytes).equals(reference(envelopes, { compression }))).toBe(true);
      expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
      expect(Array.from(a.ends)).toEqual(Array.from(b.ends));
    }
  });

  it('decodes in a worker what it decodes inline, per-frame errors included', async () => {
    const envelopes = [message(10, text(300)), message(11, text(70_000)), message(12, text(10))];
    const bytes = Uint8Array.from(reference(envelopes, { compression: 'lz4' }));
    bytes[bytes.length - 8] ^= 1; // the last frame's payload
    const inWorker = engine({ workers: 1, offloadMinBytes: 0 });
    const inline = engine({ workers: 0 });
    const a = await inWorker.decodeBatch(bytes);
    const b = await inline.decodeBatch(bytes);
    expect(a.frames.map((f) => f.error?.code ?? 'ok')).toEqual(['ok', 'ok', ErrorCode.CHECKSUM]);
    expect(a.frames.map((f) => f.error?.code ?? 'ok')).toEqual(b.frames.map((f) => f.error?.code ?? 'ok'));
    expect(a.consumed).toBe(bytes.length);
    for (let i = 0; i < 2; i++) {
      expect(a.frames[i].envelope).toEqual(b.frames[i].envelope);
      const payload = (a.frames[i].envelope!.body as { payload: Uint8Array }).payload;
      expect(Buffer.from(payload).equals(Buffer.from((envelopes[i].body as { payload: Uint8Array }).payload))).toBe(true);
    }
  });

  it('compresses, decompresses, hashes and chunks files in workers as inline', async () => {
    const inWorker = engine({ workers: 2, offloadMinBytes: 0 });
    const inline = engine({ workers: 0 });
    const chunks = [text(200_000), crypto.randomBytes(1000), text(3000, 5)];
    for (const algorithm of ['lz4', 'zstd'] as const) {
      const [a, b] = await Promise.all([inWorker.compress(chunks, algorithm), inline.compress(chunks, algorithm)]);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      expect(Array.from(a.compressed)).toEqual([1, 0, 1]);
      const back = await inWorker.decompress([chunkAt(a, 0), chunkAt(a, 2)], algorithm, 1 << 20);
      expect(Buffer.from(chunkAt(back, 0)).equals(Buffer.from(chunks[0]))).toBe(true);
      expect(Buffer.from(chunkAt(back, 1)).equals(Buffer.from(chunks[2]))).toBe(true);
    }
    const digests = await inWorker.sha256(chunks);
    expect(Buffer.from(digests).equals(Buffer.from(await inline.sha256(chunks)))).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-engine-'));
    try {
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, chunks[0]);
      const region = await inWorker.chunkFile(file, 100, 150_000, 65_536);
      expect(region.bytes.length).toBe(150_000);
      expect(Buffer.from(region.digests.subarray(64)).toString('hex')).toBe(
        crypto.createHash('sha256').update(chunks[0].subarray(100 + 131_072, 100 + 150_000)).digest('hex'),
      );
      await expect(inWorker.chunkFile(path.join(dir, 'missing'), 0, 10, 4)).rejects.toMatchObject({ name: 'FileChunkError', code: 'ENOENT' });
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
    expect(inWorker.stats.inlineBatches).toBe(0);
    expect(inWorker.stats.failedBatches).toBe(0);
  });

  it('reads a file region into shared memory the caller passes, in a worker or inline, and refuses any other buffer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-engine-'));
    try {
      const file = path.join(dir, 'f');
      const content = text(300_000, 3);
      fs.writeFileSync(file, content);
      for (const e of [engine({ workers: 1 }), engine({ workers: 0 })]) {
        const into = new Uint8Array(new SharedArrayBuffer(200_000));
        const region = await e.chunkFile(file, 1000, 150_000, 50_000, into);
        expect(Buffer.from(into.subarray(0, 150_000)).equals(Buffer.from(content.subarray(1000, 151_000)))).toBe(true);
        region.bytes[0] ^= 0xff; // the region's bytes are the caller's memory, not a copy
        expect(into[0]).toBe(content[1000] ^ 0xff);
        expect(Buffer.from(region.digests.subarray(32, 64)).toString('hex')).toBe(crypto.createHash('sha256').update(content.subarray(51_000, 101_000)).digest('hex'));
        const again = await e.chunkFile(file, 0, 100, 100, into); // the same memory, read again
        expect(Buffer.from(again.bytes).equals(Buffer.from(content.subarray(0, 100)))).toBe(true);
        await expect(e.chunkFile(file, 0, 100, 100, new Uint8Array(100))).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
        await expect(e.chunkFile(file, 0, 100, 100, new Uint8Array(new SharedArrayBuffer(99)))).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
      }
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('hashes many batches at once in workers, each from its own staged copy, whatever is reused and wherever the chunks start', async () => {
    const e = engine({ workers: 2, offloadMinBytes: 0 });
    const inline = engine({ workers: 0 });
    for (let round = 0; round < 3; round++) {
      // more batches in flight than staging buffers kept; sizes that fit each other's buffers
      // views at every offset modulo 8, staged at their own alignment
      const batches = Array.from({ length: 12 }, (_, i) => [text(40_000 + ((i * 7919 + round) % 30_000), i + round).subarray(i % 8), text(1000 + i, i).subarray((i * 3) % 8)]);
      const got = await Promise.all(batches.map((b) => e.sha256(b)));
      const want = await Promise.all(batches.map((b) => inline.sha256(b)));
      for (let i = 0; i < batches.length; i++) expect(Buffer.from(got[i]).equals(Buffer.from(want[i])), `round ${round} batch ${i}`).toBe(true);
    }
    expect(e.stats.workerBatches).toBeGreaterThanOrEqual(12); // the rest inline, once the queue is full
    expect(e.stats.workerBatches + e.stats.inlineBatches).toBe(36);
  });

  it('runs batches under the threshold inline and at it in a worker', async () => {
    const e = engine({ workers: 1, offloadMinBytes: { sha256: 10_000 } });
    await e.sha256([new Uint8Array(9_999)]);
    expect(e.stats).toMatchObject({ inlineBatches: 1, workerBatches: 0 });
    await e.sha256([new Uint8Array(5_000), new Uint8Array(5_000)]);
    expect(e.stats).toMatchObject({ inlineBatches: 1, workerBatches: 1 });
  });

  it('gathers single envelopes into batches of at most batchMaxMessages, each resolving to its own frame', async () => {
    const e = engine({ workers: 1, offloadMinBytes: 0, batchMaxMessages: 4 });
    const envelopes = Array.from({ length: 10 }, (_, i) => message(i + 1, text(50 + i)));
    const frames = await Promise.all(envelopes.map((env) => e.encode(env)));
    expect(e.stats.workerBatches).toBe(3); // 4 + 4 at the limit, 2 at the end of the turn
    frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(encodeMessage(envelopes[i])))).toBe(true));
    // a bad envelope rejects alone
    const [ok, bad] = await Promise.allSettled([e.encode(message(20, text(5))), e.encode(message(-1, text(5)))]);
    expect(ok.status).toBe('fulfilled');
    expect(bad.status === 'rejected' && (bad.reason as ClusterwireError).code).toBe(ErrorCode.MALFORMED_FRAME);
  });
});

describe('worker failure', () => {
  it('retries a batch whose worker died mid-batch on a fresh worker, and the pool replaces the worker', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cw-crash-')), 'once');
    const e = engine({ workers: 1, offloadMinBytes: 0 }, { taskModule: crashingModule });
    const envelopes = [message(1, text(1000)), custom(2, CRASH_ONCE, Buffer.from(marker)), message(3, text(2000))];
    const batch = await e.encodeBatch(envelopes);
    expect(Buffer.from(batch.bytes).equals(reference(envelopes))).toBe(true);
    expect(e.stats).toMatchObject({ workerBatches: 1, retriedBatches: 1, failedBatches: 0, workersStarted: 2 });
    const after = await e.encodeBatch([message(4, text(10))]);
    expect(Buffer.from(after.bytes).equals(reference([message(4, text(10))]))).toBe(true);
    fs.rmSync(path.dirname(marker), { recursive: true });
  });

  it('fails a batch that kills its worker twice with ERR_WORKER_FAILED, and loses no other batch', async () => {
    const e = engine({ workers: 2, offloadMinBytes: 0 }, { taskModule: crashingModule });
    const poison = [message(1, text(100)), custom(2, CRASH_ALWAYS, new Uint8Array(4))];
    const others = Array.from({ length: 6 }, (_, i) => [message(10 + i, text(3000, i))]);
    const results = await Promise.allSettled([e.encodeBatch(poison), ...others.map((b) => e.encodeBatch(b))]);
    const failed = results[0];
    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as WorkerFailedError;
    expect(error).toBeInstanceOf(WorkerFailedError);
    expect(error.code).toBe(ErrorCode.WORKER_FAILED);
    expect([error.task, error.attempts]).toEqual(['encodeBatch', 2]);
    expect(String((error.cause as Error).message)).toMatch(/exited/);
    // every other batch was done, by a surviving or a replacement worker, or retried
    results.slice(1).forEach((r, i) => {
      expect(r.status).toBe('fulfilled');
      expect(Buffer.from((r as PromiseFulfilledResult<{ bytes: Uint8Array }>).value.bytes).equals(reference(others[i]))).toBe(true);
    });
    expect(e.stats.failedBatches).toBe(1);
    // both attempts killed a worker: two replacements join the two first workers
    const after = await Promise.all([e.encodeBatch([message(98, text(10))]), e.encodeBatch([message(99, text(10))])]);
    expect(after.map((b) => b.errors)).toEqual([[], []]);
    await vi.waitFor(() => expect(e.stats.workersStarted).toBe(4), { timeout: 5_000 });
  });
});

describe('close', () => {
  it('finishes what was handed over before close, and refuses work after it', async () => {
    const e = new Engine({ workers: 1, offloadMinBytes: 0 });
    const pending = e.encode(message(1, text(100)));
    const batch = e.sha256([text(10)]);
    await e.close();
    expect((await pending).length).toBeGreaterThan(100);
    expect((await batch).length).toBe(32);
    await expect(e.encode(message(2, text(1)))).rejects.toBeInstanceOf(EngineClosedError);
    await expect(e.decodeBatch(new Uint8Array(0))).rejects.toMatchObject({ code: ErrorCode.ENGINE_CLOSED });
    await e.close();
  });

  it('leaves nothing that keeps the process alive', async () => {
    const script = new URL('./fixtures/close-exits.mjs', import.meta.url);
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [script.pathname], { timeout: 15_000 });
    const { stats } = JSON.parse(stdout) as { stats: { workerBatches: number; failedBatches: number } };
    expect(stats.workerBatches).toBe(5);
    expect(stats.failedBatches).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('starts its workers in a process started with flags a worker refuses (V8 and per-process flags)', async () => {
    const script = new URL('./fixtures/close-exits.mjs', import.meta.url);
    const flags = ['--max-old-space-size=512', '--stack-size=900', '--title', 'cw-engine-flags', '--enable-source-maps'];
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, script.pathname], { timeout: 15_000 });
    const { stats } = JSON.parse(stdout) as { stats: { workerBatches: number; failedBatches: number } };
    expect(stats.workerBatches).toBe(5);
    expect(stats.failedBatches).toBe(0);
  });
});

describe('worker flags', () => {
  it('drops the flags a worker refuses, by name, with a value given as the next argument', () => {
    const argv = ['--enable-source-maps', '--max-old-space-size=512', '--title', 'x', '--stack-size', '900', '--import', 'tsx', '--no-warnings'];
    expect(withoutFlags(argv, ['--max-old-space-size=512', '--title', '--stack-size'])).toEqual(['--enable-source-maps', '--import', 'tsx', '--no-warnings']);
    expect(withoutFlags(argv, [])).toEqual(argv);
    expect(withoutFlags(['--title', '--no-warnings'], ['--title'])).toEqual(['--no-warnings']); // no value: the next flag stays
  });

  it('reads the flags from ERR_WORKER_INVALID_EXEC_ARGV and nothing from other errors', () => {
    const error = Object.assign(new Error('Initiated Worker with invalid execArgv flags: --max-old-space-size=512, --perf-basic-prof'), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
    expect(refusedFlags(error)).toEqual(['--max-old-space-size=512', '--perf-basic-prof']);
    expect(refusedFlags(new Error('Initiated Worker with invalid execArgv flags: --x'))).toBeNull();
    expect(refusedFlags(null)).toBeNull();
  });

  it('tries again without the refused flags, and gives up on an error that names none of them', () => {
    const seen: string[][] = [];
    const refuse = (argv: string[]) => {
      seen.push(argv);
      const bad = argv.filter((a) => a.startsWith('--perf') || a.startsWith('--stack-size'));
      if (bad.length > 0) throw Object.assign(new Error(`Initiated Worker with invalid execArgv flags: ${bad.join(', ')}`), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
      return 'started';
    };
    const flags = ['--enable-source-maps', '--perf-basic-prof', '--stack-size', '900', '--no-experimental-require-module'];
    expect(startWithFlags(flags, refuse)).toEqual({ value: 'started', flags: ['--enable-source-maps', '--no-experimental-require-module'] });
    expect(seen).toHaveLength(2);
    const invalid = (names: string) => Object.assign(new Error(`Initiated Worker with invalid execArgv flags: ${names}`), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
    const fails = (error: Error) => () =>
      startWithFlags(flags, () => {
        throw error;
      });
    expect(fails(invalid('--not-ours'))).toThrow('--not-ours');
    expect(fails(new Error('no threads'))).toThrow('no threads');
    // the pools' flags: this process's own first (a worker refuses none of them here)
    expect(withWorkerFlags((argv) => argv).slice(0, process.execArgv.length)).toEqual(process.execArgv);
  });
});
