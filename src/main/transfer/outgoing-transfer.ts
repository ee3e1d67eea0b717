// One file or byte stream this node sends: the sending end of the transfer
// protocol (the receiver's end and the message sequence are described in
// incoming-transfer.ts), as the application sees it.
//
//   const transfer = transfers.send(connection, '/data/backup.tar', { name: 'backup.tar' });
//   transfer.on('progress', (p) => console.log(p.bytes, p.rateBytesPerSec, p.etaMs));
//   await transfer.done();            // resolves once the receiver renamed it in place
//   transfer.cancel('no longer needed');  // either side may cancel; both remove the partial file
//
// The sender sends only what the receiver grants, in the order granted, at
// Low priority: a chunk is read (and hashed) a few chunks ahead of the one
// being sent, waits for the bandwidth limit (this transfer's and the node's,
// token-bucket.ts), and waits while the connection's queue is above its
// high-water mark. Once every chunk is acknowledged it seals the transfer
// with the whole digest (the SHA-256 of the chunk digests, chunk-geometry.ts),
// hashing first any chunk the receiver already held from an earlier attempt.
//
// If the connection goes, done() rejects with ERR_PEER_UNAVAILABLE and
// `resumable` is true: sending the same file under the same name again (on
// any connection to the same node, from this process or after a restart)
// makes the receiver grant only the chunks it does not hold.
import { EventEmitter } from 'node:events';
import { ClusterwireError, PeerUnavailableError, TransferCancelledError, TransferFailedError, TransferRefusedError } from '../../shared/errors.js';
import type { BodyOf } from '../../shared/envelope/index.js';
import type { Connection } from '../transport/connection.js';
import { SHA256_BYTES, hex, listDigest } from './chunk-geometry.js';
import type { ChunkSource, SourceChunk } from './chunk-source.js';
import { ProgressMeter, type TransferProgress } from './progress-meter.js';
import { SendQueue } from './send-queue.js';
import type { TokenBucket } from './token-bucket.js';
import { TransferStatus, errorFromReason, open, reasonOf, type TransferChannel, type TransferEndpoint } from './transfer-channel.js';

/** Chunks read (and hashed) ahead of the one being sent. */
const READ_AHEAD = 3;

export interface TransferEvents {
  progress: [progress: TransferProgress];
  /** The receiver asked for a chunk again: its copy did not match its SHA-256. */
  resend: [index: number];
}

export interface TransferResult {
  readonly name: string;
  readonly bytes: number;
  readonly chunks: number;
  /** Chunks sent by this attempt (resends included). */
  readonly chunksSent: number;
  /** Chunks the receiver already held from an earlier attempt. */
  readonly resumedChunks: number;
  readonly elapsedMs: number;
  /** Average bytes per second of this attempt. */
  readonly rateBytesPerSec: number;
  /** Hex of the whole digest. */
  readonly digest: string;
}

export type TransferState = 'opening' | 'sending' | 'sealing' | 'complete' | 'failed' | 'cancelled';

export interface OutgoingSetup {
  readonly channel: TransferChannel;
  readonly connection: Connection;
  readonly id: number;
  readonly name: string;
  /** Opens the source; called once the transfer starts (a queued transfer waits its turn first). */
  readonly source: () => Promise<ChunkSource>;
  readonly resume: boolean;
  /** Bandwidth limits that apply: this transfer's and the node's. */
  readonly buckets: readonly TokenBucket[];
  readonly maxFileBytes: number;
}

export class Transfer extends EventEmitter<TransferEvents> implements TransferEndpoint {
  state: TransferState = 'opening';
  /** The transfer broke off with the connection: sending it again resumes it. */
  resumable = false;
  chunksSent = 0;
  resumedChunks = 0;
  readonly #done: Promise<TransferResult>;
  #resolve!: (result: TransferResult) => void;
  #reject!: (error: ClusterwireError) => void;
  #source: ChunkSource | null = null;
  #queue: SendQueue | null = null;
  #meter: ProgressMeter | null = null;
  #digests: Uint8Array | null = null;
  #known: Uint8Array | null = null;
  #ackedBytes = 0;
  #startedAt = 0;
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #sealed: ((ack: BodyOf<'FileTransferAck'>) => void) | null = null;
  #accepted: ((ack: BodyOf<'FileTransferAck'>) => void) | null = null;
  #digestHex = '';

  constructor(private readonly setup: OutgoingSetup) {
    super();
    this.#done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#done.catch(() => undefined); // a caller that never asks is not an unhandled rejection
  }

  get id(): number {
    return this.setup.id;
  }

  get name(): string {
    return this.setup.name;
  }

  /** Resolves when the receiver holds the whole file under its name; rejects with a typed error. */
  done(): Promise<TransferResult> {
    return this.#done;
  }

  /** Stops the transfer; the receiver removes its partial file. done() rejects with ERR_TRANSFER_CANCELLED. */
  cancel(reason = ''): void {
    if (this.#over) return;
    const s = this.setup;
    s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Cancelled, acked: [], missing: [], reason: reason.slice(0, 200) });
    this.#finish(new TransferCancelledError(s.name, reason, false), 'cancelled');
  }

  /** Runs the transfer (file-transfers.ts calls it once the transfer's turn comes). */
  async run(): Promise<void> {
    try {
      await this.#run();
    } catch (error) {
      const failure = error instanceof ClusterwireError ? error : new TransferFailedError(this.setup.name, (error as Error).message, { cause: error });
      // the receiver removes its partial file (a transfer never opened there is unknown to it: no harm)
      if (!this.#over && this.#queue !== null) {
        const s = this.setup;
        s.channel.send(s.connection, { type: 'FileTransferAck', transferId: s.id, status: TransferStatus.Failed, acked: [], missing: [], reason: reasonOf(failure) });
      }
      this.#finish(failure);
    } finally {
      this.#clearTimer();
      await this.#source?.close();
    }
  }

  // ---------------------------------------------------------- from the channel

  onAck(ack: BodyOf<'FileTransferAck'>): void {
    if (this.#over) return;
    const name = this.setup.name;
    switch (ack.status) {
      case TransferStatus.Ok:
      case TransferStatus.Resend: {
        if (this.#accepted !== null) {
          const accepted = this.#accepted;
          this.#accepted = null;
          accepted(ack);
          return;
        }
        const queue = this.#queue;
        if (queue === null) return;
        const wasAcked = queue.ackedCount;
        if (!queue.ack(ack.acked) || !queue.grant(ack.missing)) {
          this.#fail(new TransferFailedError(name, 'protocol: the receiver named a chunk outside the transfer'));
          return;
        }
        for (const i of ack.acked) this.#source?.release(i);
        if (ack.status === TransferStatus.Resend) for (const i of ack.missing) this.emit('resend', i);
        if (queue.ackedCount > wasAcked) this.#progress(ack.acked);
        this.#wakeUp();
        return;
      }
      case TransferStatus.Complete:
        if (this.#sealed !== null) this.#sealed(ack);
        else this.#fail(new TransferFailedError(name, 'protocol: Complete before the seal'));
        return;
      case TransferStatus.Cancelled:
        this.#finish(new TransferCancelledError(name, ack.reason, true), 'cancelled');
        return;
      default:
        this.#fail(errorFromReason(name, ack.reason, this.state === 'opening', this.#digestHex));
    }
  }

  onClosed(): void {
    if (this.#over) return;
    this.resumable = true;
    this.#fail(new PeerUnavailableError(this.setup.connection.peerName(), 'the connection closed during the transfer'));
  }

  // ------------------------------------------------------------- internals

  get #over(): boolean {
    return this.state === 'complete' || this.state === 'failed' || this.state === 'cancelled';
  }

  async #run(): Promise<void> {
    const s = this.setup;
    const source = await s.source();
    this.#source = source;
    if (this.#over) return;
    const g = source.geometry;
    if (g.totalBytes > s.maxFileBytes) throw new TransferRefusedError(s.name, `${g.totalBytes} bytes exceed maxFileBytes (${s.maxFileBytes})`);
    if (!s.channel.add(s.connection, 'out', s.id, this)) throw new PeerUnavailableError(s.connection.peerName(), `connection is ${s.connection.state}`);
    this.#queue = new SendQueue(g.count);
    this.#digests = new Uint8Array(g.count * SHA256_BYTES);
    this.#known = new Uint8Array(g.count);
    // open: the receiver answers with what it holds and the first grants
    const accepted = new Promise<BodyOf<'FileTransferAck'>>((resolve) => (this.#accepted = resolve));
    s.channel.send(s.connection, { type: 'FileTransferRequest', transferId: s.id, name: s.name, totalBytes: g.totalBytes, chunkBytes: g.chunkBytes, digest: new Uint8Array(0), resume: s.resume });
    const first = await this.#until(accepted);
    if (first === null) return;
    const queue = this.#queue;
    if (!queue.ack(first.acked) || !queue.grant(first.missing)) throw new TransferFailedError(s.name, 'protocol: the receiver named a chunk outside the transfer');
    this.resumedChunks = queue.ackedCount;
    this.state = 'sending';
    this.#startedAt = performance.now();
    for (const i of first.acked) this.#ackedBytes += g.lengthOf(i);
    this.#meter = new ProgressMeter(g.totalBytes, g.count, this.#startedAt, this.#ackedBytes);
    await this.#sendGranted();
    if (this.#over) return;
    // seal: every chunk's digest, then the list digest
    this.state = 'sealing';
    for (let i = 0; i < g.count; i++) {
      if (this.#known![i] === 1) continue;
      this.#record(i, await source.digest(i));
      if (this.#over) return;
    }
    const digest = listDigest(this.#digests);
    this.#digestHex = hex(digest);
    const sealed = new Promise<BodyOf<'FileTransferAck'>>((resolve) => (this.#sealed = resolve));
    s.channel.send(s.connection, { type: 'FileTransferRequest', transferId: s.id, name: s.name, totalBytes: g.totalBytes, chunkBytes: g.chunkBytes, digest, resume: true });
    if ((await this.#until(sealed)) === null) return;
    const now = performance.now();
    this.state = 'complete';
    s.channel.remove(s.connection, 'out', s.id, this);
    this.#resolve({
      name: s.name,
      bytes: g.totalBytes,
      chunks: g.count,
      chunksSent: this.chunksSent,
      resumedChunks: this.resumedChunks,
      elapsedMs: now - this.#startedAt,
      rateBytesPerSec: this.#meter.averageRate(g.totalBytes, now),
      digest: this.#digestHex,
    });
  }

  /** Sends granted chunks until every chunk is acknowledged. */
  async #sendGranted(): Promise<void> {
    const s = this.setup;
    const queue = this.#queue!;
    const source = this.#source!;
    const reading: Array<{ index: number; chunk: Promise<SourceChunk> }> = [];
    try {
      while (!this.#over && !queue.complete) {
        while (reading.length < READ_AHEAD) {
          const index = queue.next();
          if (index < 0) break;
          const chunk = source.read(index);
          chunk.catch(() => undefined);
          reading.push({ index, chunk });
        }
        const head = reading.shift();
        if (head === undefined) {
          await this.#sleep(null); // an ack wakes it
          continue;
        }
        const chunk = await head.chunk;
        if (this.#over) return;
        this.#record(head.index, chunk.sha256);
        const now = performance.now();
        let wait = 0;
        for (const bucket of s.buckets) wait = Math.max(wait, bucket.reserve(chunk.data.length, now));
        // an ack may wake the sleep early: sleep again until the time has come
        for (const until = now + wait; !this.#over && performance.now() < until; ) await this.#sleep(until - performance.now());
        if (!s.connection.writable) await s.connection.drain();
        if (this.#over) return;
        if (!open(s.connection)) {
          this.onClosed();
          return;
        }
        const offset = source.geometry.offsetOf(head.index);
        if (!s.channel.sendChunk(s.connection, { type: 'FileTransferChunk', transferId: s.id, index: head.index, offset, sha256: chunk.sha256, data: chunk.data })) {
          this.onClosed();
          return;
        }
        this.chunksSent++;
      }
    } finally {
      for (const r of reading) void r.chunk.catch(() => undefined);
    }
  }

  #record(index: number, digest: Uint8Array): void {
    this.#digests!.set(digest, index * SHA256_BYTES);
    this.#known![index] = 1;
  }

  #progress(acked: readonly number[]): void {
    const g = this.#source!.geometry;
    for (const i of acked) this.#ackedBytes += g.lengthOf(i);
    this.emit('progress', this.#meter!.update(this.#ackedBytes, this.#queue!.ackedCount, performance.now()));
  }

  /** Waits for `promise`, or for the transfer to end first (null). */
  async #until<T>(promise: Promise<T>): Promise<T | null> {
    const ended = new Promise<null>((resolve) => {
      this.#wake = () => {
        if (this.#over) resolve(null);
      };
    });
    const out = await Promise.race([promise, ended]);
    this.#wake = null;
    return this.#over ? null : out;
  }

  /** Sleeps `ms` (null: until woken by an ack or the end). */
  #sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        this.#clearTimer();
        resolve();
      };
      if (ms !== null) this.#timer = setTimeout(() => this.#wake?.(), ms);
    });
  }

  #wakeUp(): void {
    this.#wake?.();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #fail(error: ClusterwireError): void {
    this.#finish(error, 'failed');
  }

  #finish(error: ClusterwireError, state: 'failed' | 'cancelled' = 'failed'): void {
    if (this.#over) return;
    this.state = state;
    const s = this.setup;
    s.channel.remove(s.connection, 'out', s.id, this);
    this.#clearTimer();
    this.#reject(error);
    this.#wakeUp();
  }
}
