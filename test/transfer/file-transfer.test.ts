// File transfer between two nodes over real loopback sockets: a 256 MiB file
// verified end to end, resume after the connection and both processes'
// state are gone, a corrupted chunk asked for again, the throttle, cancel
// from either side, byte streams.
import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../../src/main/engine/index.js';
import { ClusterwireError, ErrorCode, PeerUnavailableError } from '../../src/shared/errors.js';
import type { BodyValue } from '../../src/shared/envelope/index.js';
import type { Connection, SendOptions } from '../../src/main/transport/connection.js';
import type { TransferProgress } from '../../src/main/transfer/index.js';
import { until } from '../support/until.js';
import { cleanUp, cleanups, connect, digestOf, listing, makeFile, node, tempDir } from './helpers.js';
import { codeOf } from '../support/code-of.js';

afterEach(cleanUp);

const MiB = 1024 * 1024;

/** Rewrites chunk envelopes on their way out of `connection` (a fault between hashing and the wire). */
function tamper(connection: Connection, change: (chunk: Extract<BodyValue, { type: 'FileTransferChunk' }>) => Uint8Array | null): void {
  const send = connection.send.bind(connection);
  connection.send = (body: BodyValue, options?: SendOptions) => {
    if (body.type === 'FileTransferChunk') {
      const data = change(body);
      if (data !== null) return send({ ...body, data }, options);
    }
    return send(body, options);
  };
}

describe('file transfer', () => {
  it('sends 256 MiB with every chunk hashed in workers and verified, then the whole digest, and renames in place', async () => {
    const engine = new Engine({ workers: 1 });
    cleanups.push(() => engine.close());
    const inbox = tempDir('inbox');
    const a = await node('a', { directory: inbox }, { engine });
    const b = await node('b', {}, { engine });
    const file = makeFile(tempDir('out'), 'big.bin', 256 * MiB);
    const conn = await connect(b, a, 'a');
    const received = new Promise<{ path: string; from: string }>((resolve) => a.transfers.once('received', resolve));
    const transfer = b.transfers.send(conn, file);
    const seen: TransferProgress[] = [];
    transfer.on('progress', (p) => seen.push(p));
    const result = await transfer.done();
    expect(result).toMatchObject({ name: 'big.bin', bytes: 256 * MiB, chunks: 256, chunksSent: 256, resumedChunks: 0 });
    const got = await received;
    expect(got).toMatchObject({ path: path.join(inbox, 'big.bin'), from: 'b' });
    expect(digestOf(got.path)).toBe(digestOf(file));
    expect(listing(inbox)).toEqual(['big.bin']); // no partial file, no manifest
    expect(seen.length).toBeGreaterThan(10);
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ bytes: 256 * MiB, chunks: 256, totalChunks: 256, etaMs: 0 });
    expect(seen[Math.floor(seen.length / 2)].rateBytesPerSec).toBeGreaterThan(0);
    expect(seen[Math.floor(seen.length / 2)].etaMs).toBeGreaterThan(0);
    // each chunk read and hashed in a worker on the sending side, hashed again on the receiving side
    // (in a worker, or inline when the engine's queue of batches is full)
    expect(engine.stats.workerBatches).toBeGreaterThanOrEqual(256);
    expect(engine.stats.workerBatches + engine.stats.inlineBatches).toBeGreaterThanOrEqual(512);
    console.log(`256 MiB: ${(result.rateBytesPerSec / 1e6).toFixed(0)} MB/s`);
  });

  it('resumes after the connection dropped and both nodes restarted: only chunks not acknowledged are sent again', async () => {
    const inbox = tempDir('inbox');
    const file = makeFile(tempDir('out'), 'resume.bin', 40 * MiB);
    const a1 = await node('a', { directory: inbox, windowBytes: 4 * MiB });
    const b1 = await node('b');
    const conn1 = await connect(b1, a1, 'a');
    const first = b1.transfers.send(conn1, file);
    let ackedAtKill = 0;
    first.on('progress', (p) => {
      if (p.chunks >= 12 && ackedAtKill === 0) {
        ackedAtKill = p.chunks;
        conn1.destroy(new PeerUnavailableError('a', 'cut by the test'));
      }
    });
    expect(await codeOf(first.done())).toBe(ErrorCode.PEER_UNAVAILABLE);
    expect(first.resumable).toBe(true);
    expect(ackedAtKill).toBeGreaterThanOrEqual(12);
    // both sides restart: nothing survives but the partial file and its manifest
    await until(() => a1.transfers.active.receiving === 0);
    await b1.stop();
    await a1.stop();
    expect(listing(inbox)).toEqual(['.resume.bin.manifest', '.resume.bin.partial']);

    const a2 = await node('a', { directory: inbox, windowBytes: 4 * MiB });
    const b2 = await node('b');
    const conn2 = await connect(b2, a2, 'a');
    const second = b2.transfers.send(conn2, file);
    const result = await second.done();
    expect(result.resumedChunks).toBeGreaterThanOrEqual(ackedAtKill);
    expect(result.resumedChunks).toBeLessThan(40);
    expect(result.chunksSent).toBe(40 - result.resumedChunks);
    expect(digestOf(path.join(inbox, 'resume.bin'))).toBe(digestOf(file));
    expect(listing(inbox)).toEqual(['resume.bin']);
  });

  it('asks again for a chunk that does not match its SHA-256, and fails cleanly when it never does', async () => {
    const inbox = tempDir('inbox');
    const out = tempDir('out');
    const file = makeFile(out, 'flaky.bin', 6 * MiB + 123);
    const a = await node('a', { directory: inbox, maxChunkRetries: 2 });
    const b = await node('b', { chunkBytes: 256 * 1024 });
    const conn = await connect(b, a, 'a');
    let corrupted = 0;
    tamper(conn, (chunk) => {
      if (chunk.index !== 5 || corrupted > 0) return null;
      corrupted++;
      const data = new Uint8Array(chunk.data); // a copy (Buffer.slice would be a view)
      data[1000] ^= 0x40;
      return data;
    });
    const transfer = b.transfers.send(conn, file);
    const resent: number[] = [];
    transfer.on('resend', (i) => resent.push(i));
    const result = await transfer.done();
    expect(corrupted).toBe(1);
    expect(resent).toEqual([5]);
    expect(result.chunksSent).toBe(result.chunks + 1);
    expect(digestOf(path.join(inbox, 'flaky.bin'))).toBe(digestOf(file));

    // a chunk corrupted every time: the transfer fails, nothing is left behind
    const bad = makeFile(out, 'bad.bin', 2 * MiB);
    tamper(conn, (chunk) => (chunk.index === 3 ? new Uint8Array(chunk.data.length) : null));
    const failed = new Promise<ClusterwireError>((resolve) => a.transfers.once('receive-failed', (f) => resolve(f.error)));
    expect(await codeOf(b.transfers.send(conn, bad).done())).toBe(ErrorCode.TRANSFER_FAILED);
    expect((await failed).code).toBe(ErrorCode.TRANSFER_FAILED);
    await until(() => listing(inbox).length === 1);
    expect(listing(inbox)).toEqual(['flaky.bin']);
  });

  it('holds a transfer to its throttle within 10 %', async () => {
    const inbox = tempDir('inbox');
    const file = makeFile(tempDir('out'), 'slow.bin', 6 * MiB);
    const a = await node('a', { directory: inbox });
    const b = await node('b', { chunkBytes: 128 * 1024 });
    const conn = await connect(b, a, 'a');
    const rate = 4 * MiB;
    const started = performance.now();
    const result = await b.transfers.send(conn, file, { throttleBytesPerSec: rate }).done();
    const measured = (6 * MiB * 1000) / (performance.now() - started);
    expect(measured / rate).toBeGreaterThan(0.9);
    expect(measured / rate).toBeLessThan(1.1);
    expect(result.rateBytesPerSec / rate).toBeGreaterThan(0.9);
    expect(result.rateBytesPerSec / rate).toBeLessThan(1.1);
  });

  it('syncs the partial file while it arrives; a sync that fails, then or in the seal, ends the transfer with nothing left behind', async () => {
    const inbox = tempDir('inbox');
    const out = tempDir('out');
    const file = makeFile(out, 'synced.bin', 4 * MiB);
    const a = await node('a', { directory: inbox, syncEveryBytes: MiB });
    const quiet = await node('q', { directory: tempDir('inbox-q'), syncEveryBytes: 0 });
    const b = await node('b', { chunkBytes: 256 * 1024 });
    // FileHandle is not exported: its prototype is that of any open handle
    const probe = await fs.promises.open(file, 'r');
    const handles = Object.getPrototypeOf(probe) as fs.promises.FileHandle;
    await probe.close();
    const datasync = vi.spyOn(handles, 'datasync');
    const sync = vi.spyOn(handles, 'sync');
    try {
      await b.transfers.send(await connect(b, a, 'a'), file).done();
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(1); // 16 chunks of 256 KiB, one sync at a time, each after 1 MiB
      expect(datasync.mock.calls.length).toBeLessThanOrEqual(4);
      expect(digestOf(path.join(inbox, 'synced.bin'))).toBe(digestOf(file));
      // two transfers at once: their syncs take turns, one in progress at a time over the node.
      // Throttled to 4 MiB/s each, both keep writing for about a second, long after the first
      // sync (50 ms) ends, so the second transfer's turn comes however late the timer fires.
      let running = 0;
      let most = 0;
      datasync.mockClear();
      datasync.mockImplementation(async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
      });
      const conn2 = await connect(b, a, 'a');
      const paced = { throttleBytesPerSec: 4 * MiB };
      await Promise.all([b.transfers.send(conn2, file, { ...paced, name: 'one.bin' }).done(), b.transfers.send(conn2, file, { ...paced, name: 'two.bin' }).done()]);
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(most).toBe(1);
      fs.rmSync(path.join(inbox, 'one.bin'));
      fs.rmSync(path.join(inbox, 'two.bin'));
      datasync.mockReset(); // the real fdatasync again, no calls counted
      await b.transfers.send(await connect(b, quiet, 'q'), file).done();
      expect(datasync).not.toHaveBeenCalled(); // syncEveryBytes 0: only the fsync before the rename

      // pages a failed fdatasync could not write may be gone: the transfer fails rather than trust a later fsync
      datasync.mockRejectedValue(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      const conn = await connect(b, a, 'a');
      const failed = new Promise<ClusterwireError>((resolve) => a.transfers.once('receive-failed', (f) => resolve(f.error)));
      expect(await codeOf(b.transfers.send(conn, file, { name: 'lost.bin' }).done())).toBe(ErrorCode.TRANSFER_FAILED);
      expect((await failed).message).toContain('syncing the partial file: EIO');
      await until(() => listing(inbox).length === 1);
      expect(listing(inbox)).toEqual(['synced.bin']);

      // the fsync before the rename fails: the sender hears of it, no file is left
      datasync.mockRestore();
      sync.mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
      const failedSeal = new Promise<ClusterwireError>((resolve) => a.transfers.once('receive-failed', (f) => resolve(f.error)));
      expect(await codeOf(b.transfers.send(conn, file, { name: 'unsealed.bin' }).done())).toBe(ErrorCode.TRANSFER_FAILED);
      expect((await failedSeal).message).toContain('EIO: i/o error, fsync');
      await until(() => listing(inbox).length === 1);
      expect(listing(inbox)).toEqual(['synced.bin']);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('cancels from either side: both sides stop, the partial file and manifest are removed, no timer or socket is left', async () => {
    const baseline = resources();
    const inbox = tempDir('inbox');
    const out = tempDir('out');
    const file = makeFile(out, 'cancel.bin', 8 * MiB);
    const a = await node('a', { directory: inbox });
    const b = await node('b', { chunkBytes: 64 * 1024 });
    const conn = await connect(b, a, 'a');

    // the sender cancels (through its AbortSignal)
    const abort = new AbortController();
    const t1 = b.transfers.send(conn, file, { throttleBytesPerSec: 2 * MiB, signal: abort.signal });
    const failed1 = new Promise<ClusterwireError>((resolve) => a.transfers.once('receive-failed', (f) => resolve(f.error)));
    await until(() => listing(inbox).length === 2);
    abort.abort('changed my mind');
    expect(await codeOf(t1.done())).toBe(ErrorCode.TRANSFER_CANCELLED);
    expect(t1.state).toBe('cancelled');
    const e1 = await failed1;
    expect(e1.code).toBe(ErrorCode.TRANSFER_CANCELLED);
    await until(() => listing(inbox).length === 0);

    // the receiver cancels
    const t2 = b.transfers.send(conn, file, { throttleBytesPerSec: 2 * MiB });
    await until(() => a.transfers.active.receiving === 1 && listing(inbox).length === 2);
    expect(await a.transfers.cancelIncoming('cancel.bin', 'disk quota')).toBe(true);
    const error = await t2.done().catch((e: unknown) => e as ClusterwireError);
    expect(error).toMatchObject({ code: ErrorCode.TRANSFER_CANCELLED, byPeer: true, reason: 'disk quota' });
    expect(listing(inbox)).toEqual([]);
    expect(a.transfers.active).toEqual({ sending: 0, receiving: 0 });
    expect(b.transfers.active).toEqual({ sending: 0, receiving: 0 });

    await cleanUp();
    await until(() => {
      const now = resources();
      return now.sockets <= baseline.sockets && now.timers <= baseline.timers;
    }, 3000);
  });

  it('sends a byte stream of a declared length, and fails one that is shorter than declared', async () => {
    const inbox = tempDir('inbox');
    const a = await node('a', { directory: inbox });
    const b = await node('b', { chunkBytes: 64 * 1024 });
    const conn = await connect(b, a, 'a');
    const pieces = Array.from({ length: 50 }, (_, i) => new Uint8Array(7919 + i).fill(i));
    const total = pieces.reduce((n, p) => n + p.length, 0);
    async function* stream(parts: Uint8Array[]) {
      for (const p of parts) {
        await new Promise((r) => setImmediate(r));
        yield p;
      }
    }
    const result = await b.transfers.send(conn, stream(pieces), { name: 'stream.bin', totalBytes: total }).done();
    expect(result.bytes).toBe(total);
    expect(Buffer.compare(fs.readFileSync(path.join(inbox, 'stream.bin')), Buffer.concat(pieces))).toBe(0);
    expect(await codeOf(b.transfers.send(conn, stream(pieces), { name: 'short.bin', totalBytes: total + 1 }).done())).toBe(ErrorCode.TRANSFER_FAILED);
    await until(() => !listing(inbox).some((n) => n.includes('short')));
    // bytes in memory, and an empty file
    await b.transfers.send(conn, new Uint8Array([1, 2, 3]), { name: 'three.bin' }).done();
    await b.transfers.send(conn, new Uint8Array(0), { name: 'empty.bin' }).done();
    expect([...fs.readFileSync(path.join(inbox, 'three.bin'))]).toEqual([1, 2, 3]);
    expect(fs.statSync(path.join(inbox, 'empty.bin')).size).toBe(0);
  });
});

function resources(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r.startsWith('TCP')).length, timers: info.filter((r) => r === 'Timeout').length };
}
