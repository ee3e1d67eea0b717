// One file this node receives: the receiving end of the transfer protocol
// over one connection, writing into `<directory>/.<name>.partial` with its
// manifest beside it (manifest.ts), and renaming the partial file to
// `<directory>/<name>` only once the whole digest matches.
//
// Protocol, receiver's side (the sender's is outgoing-transfer.ts):
//   Request  (id, name, size, chunk size)  ─▶  opened here (file-transfers.ts
//            checked the name and limits), resumed from a manifest when the
//            same sender asked for the same file before
//   ◀─ Ack Ok, acked = chunks held, missing = the first window of grants
//   Chunk i  ─▶  checked (granted, index/offset/length consistent, digest
//            present), hashed; a mismatch is granted again (Ack Resend,
//            missing = [i]) up to maxChunkRetries times; else written at its
//            offset, recorded in the manifest, then acknowledged
//   ◀─ Ack Ok, acked = [...], missing = next grants (one ack per turn)
//   Request with the digest ─▶  the seal, once every chunk is acknowledged:
//            the SHA-256 of the chunk digests must match; then fsync, rename,
//            fsync the directory, remove the manifest
//   ◀─ Ack Complete  (or Ack Failed with the reason; Ack Cancelled either way)
// A failure or cancel removes the partial file and the manifest; a lost
// connection only closes them, so that the transfer can resume.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ClusterwireError, DigestMismatchError, TransferCancelledError, TransferFailedError, TransferRefusedError } from '../../shared/errors.js';
import type { BodyOf } from '../../shared/envelope/index.js';
import type { Connection } from '../transport/connection.js';
import { ChunkGeometry, SHA256_BYTES, hex, listDigest, sameDigest } from './chunk-geometry.js';
import { ChunkLedger } from './chunk-ledger.js';
import type { ChunkHasher } from './chunk-source.js';
import { Manifest } from './manifest.js';
import { TransferStatus, reasonOf, type TransferChannel, type TransferEndpoint } from './transfer-channel.js';
import { manifestName, partialName } from './transfer-name.js';

export interface IncomingSetup {
  readonly channel: TransferChannel;
  readonly connection: Connection;
  readonly peer: string;
  readonly id: number;
  readonly name: string;
  readonly directory: string;
  readonly geometry: ChunkGeometry;
  readonly windowChunks: number;
  readonly maxChunkRetries: number;
  readonly hash: ChunkHasher;
  /** Keep chunks from an earlier attempt when the manifest matches. */
  readonly resume: boolean;
  /** The finished file may replace an existing one. */
  readonly overwrite: boolean;
  /** An fdatasync of the partial file starts each time this many bytes were written since the last began (0: none before the seal). */
  readonly syncEveryBytes: number;
  /** Shared by the incoming transfers of a node: one of their fdatasyncs runs at a time. */
  readonly writeback: Writeback;
}

/**
 * The fdatasync in progress among a node's incoming transfers. One at a
 * time: each holds one of libuv's few threads (4 by default) for as long as
 * the disk takes, and several would hold up every other file operation of
 * the process, the transfers' own writes first.
 */
export interface Writeback {
  running: boolean;
}

/** What became of an incoming transfer. */
export type IncomingOutcome =
  | { readonly status: 'complete'; readonly path: string }
  | { readonly status: 'suspended' }
  | { readonly status: 'failed'; readonly error: ClusterwireError };

export interface ReceivedFile {
  readonly name: string;
  readonly path: string;
  readonly from: string;
  readonly bytes: number;
  /** Chunks that were already held from an earlier attempt. */
  readonly resumedChunks: number;
}

export class IncomingTransfer implements TransferEndpoint {
  readonly partialPath: string;
  readonly manifestPath: string;
  readonly finalPath: string;
  /** Chunks that failed their digest and were asked for again. */
  corruptChunks = 0;
  resumedChunks = 0;
  #ledger: ChunkLedger | undefined;
  #manifest: Manifest | undefined;
  #file: fs.FileHandle | undefined;
  #acked: number[] = [];
  #grants: number[] = [];
  #ackScheduled = false;
  #working = 0;
  /** Bytes written since the last fdatasync began, and the one in progress. */
  #unsynced = 0;
  #syncing: Promise<void> | null = null;
  #syncError: Error | null = null;
  #over = false;
  #settle!: (outcome: IncomingOutcome) => void;
  /** Settles once the transfer is over, however it ended. */
  readonly outcome: Promise<IncomingOutcome>;

  constructor(readonly setup: IncomingSetup) {
    this.partialPath = path.join(setup.directory, partialName(setup.name));
    this.manifestPath = path.join(setup.directory, manifestName(setup.name));
    this.finalPath = path.join(setup.directory, setup.name);
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Opens (or resumes) the partial file and answers the request with the first grants. */
  async start(): Promise<void> {
    const s = this.setup;
    const g = s.geometry;
    const header = { totalBytes: g.totalBytes, chunkBytes: g.chunkBytes, count: g.count, name: s.name, from: s.peer };
    let manifest = s.resume ? await Manifest.open(this.manifestPath) : null;
    let file: fs.FileHandle | null = null;
    if (manifest !== null) {
      const h = manifest.header;
      const same = h.totalBytes === header.totalBytes && h.chunkBytes === header.chunkBytes && h.name === header.name && h.from === header.from;
      file = same ? await fs.open(this.partialPath, 'r+').catch(() => null) : null;
      if (file === null) {
        await manifest.close();
        manifest = null;
      }
    }
    let held: number[] = [];
    if (manifest === null || file === null) {
      manifest = await Manifest.create(this.manifestPath, header);
      file = await fs.open(this.partialPath, 'w+');
      await file.truncate(g.totalBytes);
    } else {
      held = await this.#recheck(manifest, file);
    }
    this.#manifest = manifest;
    this.#file = file;
    this.resumedChunks = held.length;
    this.#ledger = new ChunkLedger(g.count, s.windowChunks, s.maxChunkRetries, held);
    const grants = this.#ledger!.grant();
    if (!s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Ok, acked: held, missing: grants, reason: '' })) {
      await this.#suspend();
    }
  }

  onChunk(chunk: BodyOf<'FileTransferChunk'>): void {
    if (this.#over) return;
    if (this.#ledger === undefined) {
      void this.fail(new TransferFailedError(this.setup.name, 'protocol: a chunk before any was granted'), true);
      return;
    }
    const g = this.setup.geometry;
    const problem = g.problem(chunk.index, chunk.offset, chunk.data.length) ?? (chunk.sha256.length === SHA256_BYTES ? null : 'a chunk without its SHA-256');
    if (problem !== null) {
      void this.fail(new TransferFailedError(this.setup.name, `protocol: ${problem}`), true);
      return;
    }
    const arrival = this.#ledger!.arrive(chunk.index);
    if (arrival === 'duplicate') return;
    if (arrival === 'not-granted') {
      void this.fail(new TransferFailedError(this.setup.name, `protocol: chunk ${chunk.index} was not granted`), true);
      return;
    }
    this.#working++;
    const { connection } = this.setup;
    this.#take(chunk.index, chunk.data, chunk.sha256).then(
      () => {
        this.#working--;
        connection.recycle(chunk.data); // hashed, written and recorded: nothing refers to the chunk's bytes any more
      },
      (error: unknown) => {
        this.#working--;
        void this.fail(new TransferFailedError(this.setup.name, `writing chunk ${chunk.index}: ${(error as Error).message}`, { cause: error }), true);
      },
    );
  }

  onRequest(request: BodyOf<'FileTransferRequest'>): void {
    if (this.#over) return;
    if (this.#ledger === undefined) {
      void this.fail(new TransferFailedError(this.setup.name, 'protocol: a seal before the transfer was accepted'), true);
      return;
    }
    if (request.digest.length !== SHA256_BYTES) {
      void this.fail(new TransferFailedError(this.setup.name, 'protocol: a second request without the digest'), true);
      return;
    }
    void this.#seal(new Uint8Array(request.digest)).catch((error: unknown) =>
      this.fail(error instanceof ClusterwireError ? error : new TransferFailedError(this.setup.name, (error as Error).message, { cause: error }), true),
    );
  }

  onAck(ack: BodyOf<'FileTransferAck'>): void {
    if (this.#over) return;
    if (ack.status === TransferStatus.Cancelled) void this.fail(new TransferCancelledError(this.setup.name, ack.reason, true), false);
    else if (ack.status === TransferStatus.Failed) void this.fail(new TransferFailedError(this.setup.name, `the sender reports: ${ack.reason}`), false);
  }

  onClosed(): void {
    if (!this.#over) void this.#suspend();
  }

  /** Cancels from this side: the sender is told, the partial file removed. */
  cancel(reason = ''): Promise<void> {
    return this.fail(new TransferCancelledError(this.setup.name, reason, false), false, TransferStatus.Cancelled);
  }

  /** Ends the transfer with `error`: tells the sender (when `tell`), removes the partial file and the manifest. */
  async fail(error: ClusterwireError, tell: boolean, status: TransferStatus = TransferStatus.Failed): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    const s = this.setup;
    s.channel.remove(s.connection, 'in', s.id, this);
    if (tell || status === TransferStatus.Cancelled) {
      s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status, acked: [], missing: [], reason: error instanceof TransferCancelledError ? error.reason : reasonOf(error) });
    }
    await this.#release();
    await Promise.all([fs.rm(this.partialPath, { force: true }), fs.rm(this.manifestPath, { force: true })]).catch(() => undefined);
    this.#settle({ status: 'failed', error });
  }

  async #take(index: number, data: Uint8Array, claimed: Uint8Array): Promise<void> {
    const s = this.setup;
    const digest = await s.hash(data);
    if (this.#over) return;
    if (!sameDigest(digest, claimed)) {
      this.corruptChunks++;
      if (!this.#ledger!.corrupt(index)) {
        // not awaited: fail() waits for the chunks in work, this one included
        void this.fail(new TransferFailedError(s.name, `chunk ${index} failed its SHA-256 more than ${s.maxChunkRetries} times`), true);
        return;
      }
      s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Resend, acked: [], missing: [index], reason: 'chunk digest mismatch' });
      return;
    }
    await this.#file!.write(data, 0, data.length, s.geometry.offsetOf(index));
    if (this.#over) return;
    this.#wrote(data.length);
    await this.#manifest!.record(index, digest);
    if (this.#over) return;
    this.#ledger!.verified(index);
    this.#acked.push(index);
    for (const g of this.#ledger!.grant()) this.#grants.push(g);
    this.#scheduleAck();
  }

  /**
   * Starts an fdatasync of the partial file once syncEveryBytes were written
   * since the last one began, when no other incoming transfer's is running:
   * the disk writes the file while the rest arrives, instead of all of it in
   * the fsync before the rename.
   */
  #wrote(bytes: number): void {
    const every = this.setup.syncEveryBytes;
    this.#unsynced += bytes;
    const writeback = this.setup.writeback;
    if (every === 0 || this.#unsynced < every || writeback.running) return; // busy: the next write tries again
    this.#unsynced = 0;
    writeback.running = true;
    this.#syncing = this.#file!.datasync().then(
      () => {
        writeback.running = false;
        this.#syncing = null;
      },
      (error: unknown) => {
        writeback.running = false;
        this.#syncing = null;
        // pages a failed fdatasync could not write may be dropped, and a later fsync need not say so: the partial file is not trusted
        this.#syncError = error as Error;
        void this.fail(this.#syncFailure(), true);
      },
    );
  }

  #syncFailure(): TransferFailedError {
    const error = this.#syncError!;
    return new TransferFailedError(this.setup.name, `syncing the partial file: ${error.message}`, { cause: error });
  }

  /** One ack per turn carries what was verified and granted in it. */
  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      if (this.#over || (this.#acked.length === 0 && this.#grants.length === 0)) return;
      const s = this.setup;
      const acked = this.#acked;
      const missing = this.#grants;
      this.#acked = [];
      this.#grants = [];
      s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Ok, acked, missing, reason: '' });
    });
  }

  async #seal(expected: Uint8Array): Promise<void> {
    const s = this.setup;
    if (!this.#ledger!.complete || this.#working > 0) throw new TransferFailedError(s.name, `protocol: sealed with ${this.#ledger!.heldCount} of ${s.geometry.count} chunks held`);
    this.#over = true; // no chunk or cancel is taken from here on
    s.channel.remove(s.connection, 'in', s.id, this);
    try {
      const actual = listDigest(this.#manifest!.digests);
      if (!sameDigest(actual, expected)) throw new DigestMismatchError(s.name, hex(expected), hex(actual));
      if (!s.overwrite && (await exists(this.finalPath))) throw new TransferRefusedError(s.name, 'a file with that name exists');
      await this.#syncing;
      if (this.#syncError !== null) throw this.#syncFailure();
      await this.#file!.sync();
      await this.#release();
      await fs.rename(this.partialPath, this.finalPath);
      await syncDirectory(s.directory);
      await fs.rm(this.manifestPath, { force: true });
    } catch (error) {
      this.#over = false; // fail() ends it: the sender is told, the partial file removed
      await this.fail(error instanceof ClusterwireError ? error : new TransferFailedError(s.name, (error as Error).message, { cause: error }), true);
      return;
    }
    s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Complete, acked: [], missing: [], reason: '' });
    this.#settle({ status: 'complete', path: this.finalPath });
  }

  /** The connection is gone: the files stay for a resume. */
  async #suspend(): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    this.setup.channel.remove(this.setup.connection, 'in', this.setup.id, this);
    await this.#release();
    this.#settle({ status: 'suspended' });
  }

  async #release(): Promise<void> {
    // writes in progress finish first: a file handle is not closed under them
    while (this.#working > 0) await new Promise((r) => setImmediate(r));
    await this.#syncing;
    await this.#manifest?.close();
    await this.#file?.close().catch(() => undefined);
  }

  /** Hashes the chunks a manifest says are held; forgets those that no longer match. */
  async #recheck(manifest: Manifest, file: fs.FileHandle): Promise<number[]> {
    const g = this.setup.geometry;
    const held: number[] = [];
    const buffer = Buffer.allocUnsafe(g.chunkBytes);
    for (const i of manifest.held) {
      const length = g.lengthOf(i);
      const { bytesRead } = await file.read(buffer, 0, length, g.offsetOf(i));
      const ok = bytesRead === length && sameDigest(await this.setup.hash(buffer.subarray(0, length)), manifest.digestOf(i));
      if (ok) held.push(i);
      else await manifest.forget(i);
    }
    return held;
  }
}

/** fsync of a directory, so that a rename in it is durable; a platform that cannot is skipped. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: fs.FileHandle | null = null;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open a directory for fsync; the rename is as durable as it gets there
  } finally {
    await handle?.close();
  }
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
