// File transfer between connected nodes: the service an application (or the
// ClusterNode facade's sendFile) uses. It sends files and byte streams
// (outgoing-transfer.ts), receives files into one directory
// (incoming-transfer.ts), and holds what they share: the channel on the
// messenger, the node's bandwidth limit, the limit of concurrent transfers,
// and the checks every request from the network goes through.
//
//   const transfers = new FileTransfers(messenger, { directory: '/var/lib/app/inbox' }, { engine });
//   transfers.on('received', (file) => console.log(file.name, file.path, file.from));
//   const t = transfers.send(connection, '/data/backup.tar', { name: 'backup.tar', throttleBytesPerSec: 50e6 });
//   await t.done();
//
// A request from a peer is refused (Ack Failed, ERR_TRANSFER_REFUSED on the
// sender) when this node has no directory, the name is not a plain file name
// (transfer-name.ts), the size is above maxFileBytes, the chunk size is
// outside [4 KiB, 16 MiB] or the transfer would have more than 2^20 chunks, a
// file with that name exists (unless overwrite), the same name is being
// received from another node, maxConcurrentTransfers are being received, or
// the application's accept() says no. A new request for a name this node is
// receiving from the same node replaces the older transfer (the sender
// restarted or reconnected before this node saw the old connection go).
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ClusterwireError, InvalidConfigError, TransferRefusedError } from '../../shared/errors.js';
import type { BodyOf } from '../../shared/envelope/index.js';
import type { Engine } from '../engine/engine.js';
import type { Connection } from '../transport/connection.js';
import type { Messenger } from '../transport/messenger.js';
import { ChunkGeometry } from './chunk-geometry.js';
import { FileSource, MemorySource, StreamSource, chunkHasher, type ChunkHasher, type ChunkSource } from './chunk-source.js';
import { IncomingTransfer, exists, type ReceivedFile, type Writeback } from './incoming-transfer.js';
import { Transfer } from './outgoing-transfer.js';
import { TokenBucket } from './token-bucket.js';
import { TransferStatus, TransferChannel, reasonOf } from './transfer-channel.js';
import { transferNameProblem } from './transfer-name.js';
import { MAX_CHUNK_BYTES, MAX_TRANSFER_CHUNKS, MIN_CHUNK_BYTES, resolveFileTransfersOptions, throttle, windowChunks, type FileTransfersOptions, type FileTransfersOptionsInput } from './transfer-options.js';

export interface SendFileOptions {
  /** The name the file gets in the receiver's directory. Default: the source path's base name. */
  name?: string;
  /** Bytes per second for this transfer (the node's limit applies too). Default: no limit of its own. */
  throttleBytesPerSec?: number;
  /** Chunk size of this transfer. Default: the service's chunkBytes. */
  chunkBytes?: number;
  /** Ask the receiver to keep what it holds of an earlier attempt. Default true. */
  resume?: boolean;
  /** Aborting it cancels the transfer. */
  signal?: AbortSignal;
  /** For a byte stream: its exact length in bytes (required). */
  totalBytes?: number;
}

/** What a receiving node learns of a request before it accepts it. */
export interface TransferOffer {
  readonly name: string;
  readonly from: string;
  readonly totalBytes: number;
}

export interface FileTransfersCollaborators {
  /** Reads and hashes chunks in its workers; without it, hashing runs inline. */
  readonly engine?: Engine | null;
  /** Decides whether to take an offer that passed every check. Default: take it. */
  readonly accept?: (offer: TransferOffer) => boolean;
}

export interface FileTransfersEvents {
  received: [file: ReceivedFile];
  /** An incoming transfer failed or was cancelled (its partial file is removed). */
  'receive-failed': [failure: { readonly name: string; readonly from: string; readonly error: ClusterwireError }];
}

export class FileTransfers extends EventEmitter<FileTransfersEvents> {
  readonly options: FileTransfersOptions;
  readonly #channel: TransferChannel;
  readonly #hash: ChunkHasher;
  readonly #engine: Engine | null;
  readonly #accept: (offer: TransferOffer) => boolean;
  readonly #bucket: TokenBucket | null;
  /** Incoming transfers by name. */
  readonly #incoming = new Map<string, IncomingTransfer>();
  readonly #outgoing = new Set<Transfer>();
  readonly #writeback: Writeback = { running: false };
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #closed = false;

  constructor(messenger: Messenger, options: FileTransfersOptionsInput = {}, collaborators: FileTransfersCollaborators = {}) {
    super();
    this.options = resolveFileTransfersOptions(options);
    this.#engine = collaborators.engine ?? null;
    this.#hash = chunkHasher(this.#engine);
    this.#accept = collaborators.accept ?? (() => true);
    const rate = this.options.throttleBytesPerSec;
    this.#bucket = rate === Infinity ? null : new TokenBucket(rate, this.options.chunkBytes, performance.now());
    this.#channel = TransferChannel.of(messenger);
    this.#channel.use({ request: (request, connection, peer) => void this.#receive(request, connection, peer) });
  }

  /** Transfers being sent (or waiting their turn) and received now. */
  get active(): { readonly sending: number; readonly receiving: number } {
    return { sending: this.#outgoing.size, receiving: this.#incoming.size };
  }

  /**
   * Sends a file (a path), a byte stream (with options.totalBytes) or bytes
   * to the peer of `connection`. Returns at once; the transfer starts when
   * fewer than maxConcurrentTransfers are running.
   */
  send(connection: Connection, source: string | AsyncIterable<Uint8Array> | Uint8Array, options: SendFileOptions = {}): Transfer {
    const name = options.name ?? (typeof source === 'string' ? baseName(source) : undefined);
    if (name === undefined) throw new InvalidConfigError('name', 'required for a byte stream');
    const problem = transferNameProblem(name);
    if (problem !== null) throw new InvalidConfigError('name', `${JSON.stringify(name)} ${problem}`);
    const chunkBytes = options.chunkBytes ?? this.options.chunkBytes;
    if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) throw new InvalidConfigError('chunkBytes', `an integer in [${MIN_CHUNK_BYTES}, ${MAX_CHUNK_BYTES}]`);
    const buckets: TokenBucket[] = [];
    if (options.throttleBytesPerSec !== undefined) buckets.push(new TokenBucket(throttle('throttleBytesPerSec', options.throttleBytesPerSec), chunkBytes, performance.now()));
    if (this.#bucket !== null) buckets.push(this.#bucket);
    const open = this.#sourceOf(source, name, chunkBytes, options.totalBytes);
    const transfer = new Transfer({
      channel: this.#channel,
      connection,
      id: this.#channel.nextId(),
      name,
      source: open,
      resume: options.resume ?? true,
      buckets,
      maxFileBytes: this.options.maxFileBytes,
    });
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) queueMicrotask(() => transfer.cancel(String(signal.reason ?? 'aborted')));
      else {
        const onAbort = () => transfer.cancel(String(signal.reason ?? 'aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        void transfer.done().then(
          () => signal.removeEventListener('abort', onAbort),
          () => signal.removeEventListener('abort', onAbort),
        );
      }
    }
    this.#outgoing.add(transfer);
    void this.#start(transfer);
    return transfer;
  }

  /** Cancels the incoming transfer of `name`; false when none is in progress. */
  async cancelIncoming(name: string, reason = ''): Promise<boolean> {
    const incoming = this.#incoming.get(name);
    if (incoming === undefined) return false;
    await incoming.cancel(reason);
    return true;
  }

  /** Cancels every outgoing transfer and suspends every incoming one (their files stay for a resume). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#outgoing) t.cancel('the sender is closing');
    for (const waiter of this.#waiting.splice(0)) waiter();
    await Promise.all([...this.#incoming.values()].map((i) => (i.onClosed(), i.outcome)));
  }

  // ------------------------------------------------------------- sending

  async #start(transfer: Transfer): Promise<void> {
    if (this.#running >= this.options.maxConcurrentTransfers) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      if (this.#closed) transfer.cancel('the sender is closing');
      else await transfer.run();
    } finally {
      this.#running--;
      this.#outgoing.delete(transfer);
      this.#waiting.shift()?.();
    }
  }

  #sourceOf(source: string | AsyncIterable<Uint8Array> | Uint8Array, name: string, chunkBytes: number, totalBytes: number | undefined): () => Promise<ChunkSource> {
    if (typeof source === 'string') return () => FileSource.open(source, chunkBytes, this.#engine);
    if (source instanceof Uint8Array) return async () => new MemorySource(new ChunkGeometry(source.length, chunkBytes), source, this.#hash);
    if (totalBytes === undefined || !Number.isSafeInteger(totalBytes) || totalBytes < 0) throw new InvalidConfigError('totalBytes', 'a byte stream needs its length in bytes');
    const keep = 2 * Math.max(this.options.windowBytes, chunkBytes);
    return async () => new StreamSource(new ChunkGeometry(totalBytes, chunkBytes), source, this.#hash, keep, name);
  }

  // ------------------------------------------------------------- receiving

  async #receive(request: BodyOf<'FileTransferRequest'>, connection: Connection, peer: string): Promise<void> {
    const refuse = (reason: string) => {
      const error = new TransferRefusedError(String(request.name).slice(0, 64), reason);
      this.#channel.send(connection, { type: 'FileTransferAck', transferId: request.transferId, status: TransferStatus.Failed, acked: [], missing: [], reason: reasonOf(error) });
    };
    const o = this.options;
    if (o.directory === null || this.#closed) return refuse('this node does not receive files');
    if (request.digest.length !== 0) return refuse('a seal for a transfer this node does not hold');
    const name = request.name;
    const problem = transferNameProblem(name);
    if (problem !== null) return refuse(`the name ${problem}`);
    const { totalBytes, chunkBytes } = request;
    if (!Number.isSafeInteger(totalBytes) || totalBytes > o.maxFileBytes) return refuse(`${totalBytes} bytes exceed maxFileBytes (${o.maxFileBytes})`);
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) return refuse(`chunk size ${chunkBytes} outside [${MIN_CHUNK_BYTES}, ${MAX_CHUNK_BYTES}]`);
    const geometry = new ChunkGeometry(totalBytes, chunkBytes);
    if (geometry.count > MAX_TRANSFER_CHUNKS) return refuse(`${geometry.count} chunks exceed ${MAX_TRANSFER_CHUNKS}`);
    const current = this.#incoming.get(name);
    if (current !== undefined) {
      if (current.setup.peer !== peer) return refuse('the same name is being received from another node');
      // suspended, not failed: its files stay, and the new request resumes from them
      current.onClosed();
      await current.outcome;
    }
    if (this.#incoming.size >= o.maxConcurrentTransfers) return refuse(`already receiving ${o.maxConcurrentTransfers} transfers`);
    if (!o.overwrite && (await exists(path.join(o.directory, name)))) return refuse('a file with that name exists');
    if (!this.#accept({ name, from: peer, totalBytes })) return refuse('declined by the application');
    if (this.#incoming.has(name)) return refuse('the same name is being received');
    const incoming = new IncomingTransfer({
      channel: this.#channel,
      connection,
      peer,
      id: request.transferId,
      name,
      directory: o.directory,
      geometry,
      windowChunks: windowChunks(o.windowBytes, chunkBytes),
      maxChunkRetries: o.maxChunkRetries,
      hash: this.#hash,
      resume: request.resume,
      overwrite: o.overwrite,
      syncEveryBytes: o.syncEveryBytes,
      writeback: this.#writeback,
    });
    if (!this.#channel.add(connection, 'in', request.transferId, incoming)) return refuse('the transfer id is in use');
    this.#incoming.set(name, incoming);
    void incoming.outcome.then((outcome) => {
      if (this.#incoming.get(name) === incoming) this.#incoming.delete(name);
      if (outcome.status === 'complete') {
        this.emit('received', { name, path: outcome.path, from: peer, bytes: totalBytes, resumedChunks: incoming.resumedChunks });
      } else if (outcome.status === 'failed') {
        this.emit('receive-failed', { name, from: peer, error: outcome.error });
      }
    });
    try {
      await fs.promises.mkdir(o.directory, { recursive: true });
      await incoming.start();
    } catch (error) {
      await incoming.fail(new TransferRefusedError(name, `cannot open the partial file: ${(error as Error).message}`), true);
    }
  }
}

function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1];
}
