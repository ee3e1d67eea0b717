// What a peer sends is checked before it is used: names that would leave the
// directory, sizes above the limits, chunks never granted or inconsistent,
// unknown transfer ids. And service-state sync: inline and chunked
// snapshots, full and incremental, verified; unknown services refused.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Messenger } from '../../src/main/transport/messenger.js';
import type { Connection } from '../../src/main/transport/connection.js';
import type { BodyOf } from '../../src/shared/envelope/index.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { StateSync, type Snapshot } from '../../src/main/transfer/index.js';
import { TransferStatus } from '../../src/main/transfer/transfer-channel.js';
import { until } from '../support/until.js';
import { cleanUp, cleanups, connect, listing, node, tempDir } from './helpers.js';
import { codeOf } from '../support/code-of.js';

afterEach(cleanUp);

type Ack = BodyOf<'FileTransferAck'>;

/** A bare peer: sends raw transfer messages and collects the acks it gets. */
async function rawPeer(receiverPort: number): Promise<{ conn: Connection; acks: Ack[] }> {
  const messenger = new Messenger({ nodeId: 'mallory', cluster: 'ft', heartbeats: false });
  cleanups.push(() => messenger.close());
  const acks: Ack[] = [];
  messenger.handleBody('FileTransferAck', (e) => void acks.push({ ...(e.body as Ack) }));
  const conn = await messenger.transport.connect('127.0.0.1', receiverPort, { nodeId: 'a' });
  return { conn, acks };
}

function request(transferId: number, name: string, totalBytes = 1000, chunkBytes = 4096): BodyOf<'FileTransferRequest'> {
  return { type: 'FileTransferRequest', transferId, name, totalBytes, chunkBytes, digest: new Uint8Array(0), resume: true };
}

describe('hostile input', () => {
  it('refuses names that would leave the directory, on both sides', async () => {
    const root = tempDir('root');
    const inbox = path.join(root, 'inbox');
    const a = await node('a', { directory: inbox });
    const b = await node('b');
    const conn = await connect(b, a, 'a');
    for (const name of ['../escape', '/etc/passwd', 'a/b', 'a\0b', '.hidden', '..']) {
      expect(() => b.transfers.send(conn, new Uint8Array(1), { name }), name).toThrow(/invalid option name/);
    }
    const { conn: raw, acks } = await rawPeer(a.port);
    const names = ['../escape', '../../escape', '/tmp/abs', 'sub/file', 'nul\0.txt', '..', '.manifest', 'C:\\win'];
    names.forEach((name, i) => raw.send(request(100 + i, name)));
    await until(() => acks.length === names.length);
    for (const ack of acks) {
      expect(ack.status).toBe(TransferStatus.Failed);
      expect(ack.reason).toMatch(/^ERR_TRANSFER_REFUSED: .*the name/);
    }
    expect(listing(root)).toEqual([]); // nothing created, not even the inbox
  });

  it('refuses sizes above the limits, chunks not granted or inconsistent, and unknown transfer ids', async () => {
    const inbox = tempDir('inbox');
    const a = await node('a', { directory: inbox, maxFileBytes: 1024 * 1024, windowBytes: 8192 });
    const { conn, acks } = await rawPeer(a.port);
    conn.send(request(1, 'huge.bin', 2 * 1024 * 1024));
    conn.send(request(2, 'tiny-chunks.bin', 1000, 16));
    conn.send(request(3, 'giant-chunks.bin', 1000, 64 * 1024 * 1024));
    await until(() => acks.length === 3);
    expect(acks.map((x) => x.reason.split(':')[0])).toEqual(['ERR_TRANSFER_REFUSED', 'ERR_TRANSFER_REFUSED', 'ERR_TRANSFER_REFUSED']);
    expect(acks[0].reason).toMatch(/maxFileBytes/);

    // accepted: 40 000 bytes in 4 KiB chunks, a window of 2
    acks.length = 0;
    conn.send(request(10, 'ok.bin', 40_000, 4096));
    await until(() => acks.length === 1);
    expect(acks[0]).toMatchObject({ transferId: 10, status: TransferStatus.Ok, acked: [], missing: [0, 1] });
    const data = new Uint8Array(4096).fill(1);
    const sha = crypto.createHash('sha256').update(data).digest();
    // chunk 5 was never granted
    conn.send({ type: 'FileTransferChunk', transferId: 10, index: 5, offset: 5 * 4096, sha256: sha, data });
    await until(() => acks.length === 2);
    expect(acks[1]).toMatchObject({ transferId: 10, status: TransferStatus.Failed });
    expect(acks[1].reason).toMatch(/^ERR_TRANSFER_FAILED: .*not granted/);
    await until(() => listing(inbox).length === 0);

    // an offset that does not match the index
    conn.send(request(11, 'ok2.bin', 40_000, 4096));
    await until(() => acks.length === 3);
    conn.send({ type: 'FileTransferChunk', transferId: 11, index: 1, offset: 4095, sha256: sha, data });
    await until(() => acks.length === 4);
    expect(acks[3].reason).toMatch(/offset 4095/);

    // an unknown transfer id
    conn.send({ type: 'FileTransferChunk', transferId: 999, index: 0, offset: 0, sha256: sha, data });
    await until(() => acks.length === 5);
    expect(acks[4]).toMatchObject({ transferId: 999, status: TransferStatus.Failed });
    expect(acks[4].reason).toMatch(/unknown transfer id/);
    // the partial file goes before the transfer is counted out: wait for both
    await until(() => listing(inbox).length === 0 && a.transfers.active.receiving === 0);
    expect(a.transfers.active.receiving).toBe(0);
  });

  it('refuses a file that exists, and a seal whose digest does not match (no file at the destination)', async () => {
    const inbox = tempDir('inbox');
    fs.writeFileSync(path.join(inbox, 'taken.bin'), 'old');
    const a = await node('a', { directory: inbox });
    const b = await node('b');
    const conn = await connect(b, a, 'a');
    expect(await codeOf(b.transfers.send(conn, new Uint8Array(10), { name: 'taken.bin' }).done())).toBe(ErrorCode.TRANSFER_REFUSED);
    expect(fs.readFileSync(path.join(inbox, 'taken.bin'), 'utf8')).toBe('old');

    const { conn: raw, acks } = await rawPeer(a.port);
    const data = new Uint8Array(5000).fill(9);
    raw.send(request(20, 'forged.bin', 5000, 4096));
    await until(() => acks.length === 1);
    for (const index of [0, 1]) {
      const part = data.subarray(index * 4096, Math.min(5000, (index + 1) * 4096));
      raw.send({ type: 'FileTransferChunk', transferId: 20, index, offset: index * 4096, sha256: crypto.createHash('sha256').update(part).digest(), data: part });
    }
    await until(() => acks.some((x) => x.acked.length > 0 && x.acked.includes(1)) || acks.filter((x) => x.acked.length > 0).flatMap((x) => x.acked).length === 2);
    raw.send({ ...request(20, 'forged.bin', 5000, 4096), digest: new Uint8Array(32).fill(1) });
    await until(() => acks.some((x) => x.status === TransferStatus.Failed));
    expect(acks.find((x) => x.status === TransferStatus.Failed)!.reason).toMatch(/^ERR_DIGEST_MISMATCH/);
    await until(() => listing(inbox).length === 1);
    expect(listing(inbox)).toEqual(['taken.bin']);
  });
});

describe('service-state sync', () => {
  async function pair(options = {}) {
    const ma = new Messenger({ nodeId: 'a', cluster: 'sync', heartbeats: false });
    const mb = new Messenger({ nodeId: 'b', cluster: 'sync', heartbeats: false });
    cleanups.push(() => ma.close(), () => mb.close());
    const a = new StateSync(ma, options);
    const b = new StateSync(mb, options);
    const { port } = await ma.transport.listen(0);
    const conn = await mb.transport.connect('127.0.0.1', port, { nodeId: 'a' });
    return { a, b, conn, ma };
  }

  // a versioned log of entries: a full snapshot is every entry, an incremental one the entries after a version
  function log(entries: number, entryBytes: number) {
    const all = Array.from({ length: entries }, (_, i) => crypto.createHash('sha256').update(String(i)).digest().subarray(0, 1).toString('hex').repeat(entryBytes / 2));
    return {
      version: entries,
      snapshot({ sinceVersion, full }: { sinceVersion: number; full: boolean }): Snapshot {
        if (full || sinceVersion === 0 || sinceVersion > entries) return { version: entries, baseVersion: 0, full: true, bytes: Buffer.from(all.join('')) };
        return { version: entries, baseVersion: sinceVersion, full: false, bytes: Buffer.from(all.slice(sinceVersion).join('')) };
      },
      entriesFrom(v: number) {
        return all.slice(v).join('');
      },
    };
  }

  it('pulls full and incremental snapshots, inline and in chunks, each verified', async () => {
    const { a, b, conn } = await pair();
    const small = log(100, 64);
    const large = log(3000, 1024); // ~3 MiB: chunked
    a.serve('small', small);
    a.serve('large', large);
    const full = await b.pull(conn, 'small');
    expect(full).toMatchObject({ version: 100, baseVersion: 0, full: true });
    expect(Buffer.from(full.bytes).toString()).toBe(small.entriesFrom(0));
    const delta = await b.pull(conn, 'small', { sinceVersion: 90 });
    expect(delta).toMatchObject({ version: 100, baseVersion: 90, full: false });
    expect(Buffer.from(delta.bytes).toString()).toBe(small.entriesFrom(90));
    const big = await b.pull(conn, 'large');
    expect(big.bytes.length).toBe(3000 * 1024);
    expect(Buffer.from(big.bytes).toString()).toBe(large.entriesFrom(0));
    const bigDelta = await b.pull(conn, 'large', { sinceVersion: 1000 });
    expect(bigDelta).toMatchObject({ baseVersion: 1000, full: false });
    expect(Buffer.from(bigDelta.bytes).toString()).toBe(large.entriesFrom(1000));
  });

  it('refuses an unknown service, a snapshot above maxSnapshotBytes, and re-requests a corrupted chunk', async () => {
    const { a, b, conn, ma } = await pair({ maxSnapshotBytes: 2 * 1024 * 1024 });
    expect(await codeOf(b.pull(conn, 'nobody'))).toBe(ErrorCode.TRANSFER_REFUSED);
    a.serve('big', log(3000, 1024)); // 3 MiB
    expect(await codeOf(b.pull(conn, 'big'))).toBe(ErrorCode.TRANSFER_REFUSED);
    a.serve('failing', {
      snapshot() {
        throw new Error('store offline');
      },
    });
    expect(await codeOf(b.pull(conn, 'failing'))).toBe(ErrorCode.TRANSFER_FAILED);

    // the responder's chunk 1 is corrupted once after it was hashed: the puller asks for it again
    const source = log(1500, 1024);
    a.serve('mid', source);
    const responder = [...ma.transport.connections][0];
    let corrupted = 0;
    const send = responder.send.bind(responder);
    responder.send = (body, options) => {
      if (body.type === 'FileTransferChunk' && body.index === 1 && corrupted === 0) {
        corrupted++;
        const data = new Uint8Array(body.data); // a copy (Buffer.slice would be a view)
        data[7] ^= 1;
        return send({ ...body, data }, options);
      }
      return send(body, options);
    };
    const got = await b.pull(conn, 'mid');
    expect(corrupted).toBe(1);
    expect(Buffer.from(got.bytes).toString()).toBe(source.entriesFrom(0));
  });
});
