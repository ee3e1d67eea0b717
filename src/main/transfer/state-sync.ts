// Service-state sync: a node pulls a named state from a peer, as a full
// snapshot or as the changes since a version it holds, verified by SHA-256.
// The application owns the state and its encoding; this moves the bytes.
//
//   const sync = new StateSync(messenger);
//   sync.serve('sessions', { snapshot: ({ sinceVersion, full }) => store.snapshot(sinceVersion, full) });
//   const s = await sync.pull(connection, 'sessions', { sinceVersion: local.version });
//   if (s.full) local.replace(s.bytes, s.version); else local.apply(s.bytes, s.baseVersion, s.version);
//
// Wire: SyncRequest (service, since_version, full) is answered, by
// correlation id, with a SyncResponse (base_version, version, full,
// total_bytes, the SHA-256 of the bytes). A snapshot up to
// inlineSnapshotBytes travels inside it; a larger one follows as
// FileTransferChunk messages of SNAPSHOT_CHUNK_BYTES on the same chunking
// as file transfer: the puller grants chunks (a window of windowBytes),
// checks each chunk's SHA-256 and asks again for a corrupted one, writes it
// into one buffer of total_bytes (bounded by maxSnapshotBytes, allocated
// before the first grant), checks the whole digest, and acks Complete (or
// Failed). A refusal (no such service, a provider that threw) is a
// FileTransferAck Failed with transfer id 0, by correlation id.
// A provider answers an incremental request it cannot serve with a full
// snapshot (full = true); the puller sees which it got.
import { ClusterwireError, DigestMismatchError, InvalidConfigError, PeerUnavailableError, TimeoutError, TransferFailedError, TransferRefusedError } from '../../shared/errors.js';
import type { BodyOf, Envelope } from '../../shared/envelope/index.js';
import type { Engine } from '../engine/engine.js';
import type { Connection } from '../transport/connection.js';
import type { Messenger } from '../transport/messenger.js';
import { ChunkGeometry, SHA256_BYTES, hex, sameDigest, sha256 } from './chunk-geometry.js';
import { ChunkLedger } from './chunk-ledger.js';
import { MemorySource, chunkHasher, type ChunkHasher } from './chunk-source.js';
import { SendQueue } from './send-queue.js';
import { TransferChannel, TransferStatus, errorFromReason, reasonOf, type TransferEndpoint } from './transfer-channel.js';
import { resolveStateSyncOptions, windowChunks, type StateSyncOptions, type StateSyncOptionsInput } from './transfer-options.js';
import { copyBytes } from '../../shared/bytes.js';

/** Chunk size of snapshots sent in chunks: a protocol constant (SyncResponse has no field for it). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const MAX_SERVICE_BYTES = 256;

export interface Snapshot {
  /** The version the bytes bring the state to. */
  readonly version: number;
  /** For an incremental snapshot, the version it applies to; 0 for a full one. */
  readonly baseVersion: number;
  readonly full: boolean;
  readonly bytes: Uint8Array;
}

export interface SnapshotRequest {
  readonly sinceVersion: number;
  readonly full: boolean;
  /** The asking node's id. */
  readonly from: string;
}

export interface StateProvider {
  snapshot(request: SnapshotRequest): Snapshot | Promise<Snapshot>;
}

export interface PullOptions {
  /** The version the puller holds (0: none). Default 0. */
  sinceVersion?: number;
  /** Ask for a full snapshot. Default: when sinceVersion is 0. */
  full?: boolean;
}

export interface StateSyncCollaborators {
  readonly engine?: Engine | null;
}

interface Pull {
  readonly service: string;
  readonly connection: Connection;
  resolve(snapshot: Snapshot): void;
  reject(error: ClusterwireError): void;
  timer: NodeJS.Timeout | null;
}

export class StateSync {
  readonly options: StateSyncOptions;
  readonly #channel: TransferChannel;
  readonly #hash: ChunkHasher;
  readonly #providers = new Map<string, StateProvider>();
  /** Pulls waiting for their SyncResponse, by the SyncRequest's message id. */
  readonly #pulls = new Map<number, Pull>();

  constructor(messenger: Messenger, options: StateSyncOptionsInput = {}, collaborators: StateSyncCollaborators = {}) {
    this.options = resolveStateSyncOptions(options);
    this.#hash = chunkHasher(collaborators.engine ?? null);
    this.#channel = TransferChannel.of(messenger);
    this.#channel.use({
      syncRequest: (request, envelope, connection, peer) => void this.#answer(request, envelope, connection, peer),
      syncResponse: (response, envelope, connection) => this.#response(response, envelope, connection),
      syncRefused: (ack, correlationId, connection) => {
        const pull = this.#pulls.get(correlationId);
        if (pull === undefined || pull.connection !== connection) return;
        this.#settle(correlationId, errorFromReason(pull.service, ack.reason, false));
      },
    });
  }

  /** Serves the state `service` to peers that pull it. */
  serve(service: string, provider: StateProvider): void {
    if (typeof service !== 'string' || service === '' || Buffer.byteLength(service) > MAX_SERVICE_BYTES) throw new InvalidConfigError('service', `a name of 1 to ${MAX_SERVICE_BYTES} bytes`);
    this.#providers.set(service, provider);
  }

  /** Pulls `service` from the peer of `connection`: resolves with the verified snapshot. */
  pull(connection: Connection, service: string, options: PullOptions = {}): Promise<Snapshot> {
    const sinceVersion = options.sinceVersion ?? 0;
    if (!Number.isSafeInteger(sinceVersion) || sinceVersion < 0) return Promise.reject(new InvalidConfigError('sinceVersion', 'a non-negative integer'));
    const full = options.full ?? sinceVersion === 0;
    return new Promise((resolve, reject) => {
      const id = this.#channel.sendSyncRequest(connection, { type: 'SyncRequest', service, sinceVersion, full });
      if (id < 0) {
        reject(new PeerUnavailableError(connection.peerName(), `connection is ${connection.state}`));
        return;
      }
      const pull: Pull = { service, connection, resolve, reject, timer: null };
      this.#pulls.set(id, pull);
      this.#arm(id, pull);
    });
  }

  // ------------------------------------------------------------ responding

  async #answer(request: BodyOf<'SyncRequest'>, envelope: Envelope, connection: Connection, peer: string): Promise<void> {
    const correlationId = envelope.header.messageId;
    const refuse = (error: ClusterwireError) =>
      this.#channel.send(connection, { type: 'FileTransferAck', transferId: 0, status: TransferStatus.Failed, acked: [], missing: [], reason: reasonOf(error) }, undefined, correlationId);
    const service = request.service;
    const provider = this.#providers.get(service);
    if (provider === undefined) return void refuse(new TransferRefusedError(service.slice(0, 64), 'no such service'));
    let snapshot: Snapshot;
    try {
      snapshot = await provider.snapshot({ sinceVersion: request.sinceVersion, full: request.full, from: peer });
    } catch (error) {
      return void refuse(new TransferFailedError(service, `the provider failed: ${(error as Error)?.message ?? String(error)}`));
    }
    // a copy of its own: the chunks are lent to the connection, and the provider may reuse its buffer
    const bytes = copyBytes(snapshot.bytes);
    const response = {
      type: 'SyncResponse' as const,
      service,
      baseVersion: snapshot.full ? 0 : snapshot.baseVersion,
      version: snapshot.version,
      full: snapshot.full,
      totalBytes: bytes.length,
      digest: sha256(bytes),
      transferId: 0,
      inlineData: new Uint8Array(0),
    };
    if (bytes.length <= this.options.inlineSnapshotBytes) {
      this.#channel.send(connection, { ...response, inlineData: bytes }, undefined, correlationId);
      return;
    }
    const id = this.#channel.nextId();
    const sender = new SnapshotSender(this.#channel, connection, id, new MemorySource(new ChunkGeometry(bytes.length, SNAPSHOT_CHUNK_BYTES), bytes, this.#hash), this.options.syncTimeoutMs);
    if (!this.#channel.add(connection, 'out', id, sender)) return;
    this.#channel.send(connection, { ...response, transferId: id }, undefined, correlationId);
  }

  // -------------------------------------------------------------- pulling

  #response(response: BodyOf<'SyncResponse'>, envelope: Envelope, connection: Connection): void {
    const id = envelope.header.correlationId;
    const pull = this.#pulls.get(id);
    if (pull === undefined || pull.connection !== connection) return; // late or unasked
    const fail = (reason: string) => this.#settle(id, new TransferFailedError(pull.service, `protocol: ${reason}`));
    if (response.service !== pull.service) return fail(`answered for ${JSON.stringify(response.service)}`);
    if (response.digest.length !== SHA256_BYTES) return fail('no digest');
    const { totalBytes } = response;
    if (!Number.isSafeInteger(totalBytes) || totalBytes > this.options.maxSnapshotBytes) {
      return this.#settle(id, new TransferRefusedError(pull.service, `a snapshot of ${totalBytes} bytes exceeds maxSnapshotBytes (${this.options.maxSnapshotBytes})`));
    }
    const expected = new Uint8Array(response.digest);
    const snapshot = (bytes: Uint8Array): Snapshot => ({ version: response.version, baseVersion: response.full ? 0 : response.baseVersion, full: response.full, bytes });
    if (response.transferId === 0) {
      if (response.inlineData.length !== totalBytes) return fail(`${response.inlineData.length} inline bytes, ${totalBytes} announced`);
      const bytes = new Uint8Array(response.inlineData);
      const actual = sha256(bytes);
      if (!sameDigest(actual, expected)) return this.#settle(id, new DigestMismatchError(pull.service, hex(expected), hex(actual)));
      return this.#settle(id, snapshot(bytes));
    }
    const receiver = new SnapshotReceiver(this.#channel, connection, response.transferId, pull.service, totalBytes, expected, this.options, this.#hash, (result) =>
      this.#settle(id, result instanceof ClusterwireError ? result : snapshot(result)),
    );
    if (!this.#channel.add(connection, 'in', response.transferId, receiver)) return fail('a transfer id in use');
    receiver.progress = () => this.#arm(id, pull);
    receiver.start();
  }

  /** (Re)arms a pull's timer: it fails after syncTimeoutMs without an answer or a chunk. */
  #arm(id: number, pull: Pull): void {
    if (pull.timer !== null) clearTimeout(pull.timer);
    pull.timer = setTimeout(() => this.#settle(id, new TimeoutError(id, this.options.syncTimeoutMs, 1)), this.options.syncTimeoutMs);
    pull.timer.unref();
  }

  #settle(id: number, result: Snapshot | ClusterwireError): void {
    const pull = this.#pulls.get(id);
    if (pull === undefined) return;
    this.#pulls.delete(id);
    if (pull.timer !== null) clearTimeout(pull.timer);
    if (result instanceof ClusterwireError) pull.reject(result);
    else pull.resolve(result);
  }
}

/** The responder's side of a chunked snapshot: sends what the puller grants. */
class SnapshotSender implements TransferEndpoint {
  readonly #queue: SendQueue;
  #timer: NodeJS.Timeout | null = null;
  #sending = false;
  #over = false;

  constructor(
    private readonly channel: TransferChannel,
    private readonly connection: Connection,
    private readonly id: number,
    private readonly source: MemorySource,
    private readonly timeoutMs: number,
  ) {
    this.#queue = new SendQueue(source.geometry.count);
    this.#arm();
  }

  onAck(ack: BodyOf<'FileTransferAck'>): void {
    if (this.#over) return;
    if (ack.status !== TransferStatus.Ok && ack.status !== TransferStatus.Resend) return this.#end();
    if (!this.#queue.ack(ack.acked) || !this.#queue.grant(ack.missing)) return this.#end();
    this.#arm();
    void this.#send();
  }

  onClosed(): void {
    this.#end();
  }

  async #send(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      for (let i = this.#queue.next(); i >= 0 && !this.#over; i = this.#queue.next()) {
        const chunk = await this.source.read(i);
        const offset = this.source.geometry.offsetOf(i);
        if (this.#over || !this.channel.sendChunk(this.connection, { type: 'FileTransferChunk', transferId: this.id, index: i, offset, sha256: chunk.sha256, data: chunk.data })) return;
      }
    } finally {
      this.#sending = false;
    }
  }

  /** A puller that goes quiet for timeoutMs is given up: the snapshot is released. */
  #arm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#end(), this.timeoutMs);
    this.#timer.unref();
  }

  #end(): void {
    if (this.#over) return;
    this.#over = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.channel.remove(this.connection, 'out', this.id, this);
  }
}

/** The puller's side of a chunked snapshot: grants, verifies and assembles chunks in memory. */
class SnapshotReceiver implements TransferEndpoint {
  readonly #geometry: ChunkGeometry;
  readonly #ledger: ChunkLedger;
  readonly #bytes: Uint8Array;
  #over = false;
  progress: () => void = () => undefined;

  constructor(
    private readonly channel: TransferChannel,
    private readonly connection: Connection,
    private readonly id: number,
    private readonly service: string,
    totalBytes: number,
    private readonly expected: Uint8Array,
    options: StateSyncOptions,
    private readonly hash: ChunkHasher,
    private readonly done: (result: Uint8Array | ClusterwireError) => void,
  ) {
    this.#geometry = new ChunkGeometry(totalBytes, SNAPSHOT_CHUNK_BYTES);
    this.#ledger = new ChunkLedger(this.#geometry.count, windowChunks(options.windowBytes, SNAPSHOT_CHUNK_BYTES), options.maxChunkRetries);
    this.#bytes = new Uint8Array(totalBytes);
  }

  start(): void {
    this.#ack(TransferStatus.Ok, [], this.#ledger.grant());
  }

  onChunk(chunk: BodyOf<'FileTransferChunk'>): void {
    if (this.#over) return;
    const problem = this.#geometry.problem(chunk.index, chunk.offset, chunk.data.length) ?? (chunk.sha256.length === SHA256_BYTES ? null : 'a chunk without its SHA-256');
    if (problem !== null) return this.#fail(new TransferFailedError(this.service, `protocol: ${problem}`));
    const arrival = this.#ledger.arrive(chunk.index);
    if (arrival === 'duplicate') return;
    if (arrival === 'not-granted') return this.#fail(new TransferFailedError(this.service, `protocol: chunk ${chunk.index} was not granted`));
    this.progress();
    const { index, data, sha256: claimed } = chunk;
    void this.hash(data).then((digest) => {
      if (this.#over) return;
      if (!sameDigest(digest, claimed)) {
        if (!this.#ledger.corrupt(index)) return this.#fail(new TransferFailedError(this.service, `chunk ${index} failed its SHA-256 too often`));
        return this.#ack(TransferStatus.Resend, [], [index]);
      }
      this.#bytes.set(data, this.#geometry.offsetOf(index));
      this.#ledger.verified(index);
      if (!this.#ledger.complete) return this.#ack(TransferStatus.Ok, [index], this.#ledger.grant());
      const actual = sha256(this.#bytes);
      if (!sameDigest(actual, this.expected)) return this.#fail(new DigestMismatchError(this.service, hex(this.expected), hex(actual)));
      this.#over = true;
      this.channel.remove(this.connection, 'in', this.id, this);
      this.#ack(TransferStatus.Complete, [], []);
      this.done(this.#bytes);
    });
  }

  onAck(ack: BodyOf<'FileTransferAck'>): void {
    if (ack.status === TransferStatus.Cancelled || ack.status === TransferStatus.Failed) this.#fail(errorFromReason(this.service, ack.reason, false), false);
  }

  onClosed(): void {
    this.#fail(new PeerUnavailableError(this.connection.peerName(), 'the connection closed during the sync'), false);
  }

  #ack(status: TransferStatus, acked: number[], missing: number[], reason = ''): void {
    this.channel.send(this.connection, { type: 'FileTransferAck', transferId: this.id, status, acked, missing, reason });
  }

  #fail(error: ClusterwireError, tell = true): void {
    if (this.#over) return;
    this.#over = true;
    this.channel.remove(this.connection, 'in', this.id, this);
    if (tell) this.#ack(TransferStatus.Failed, [], [], reasonOf(error));
    this.done(error);
  }
}
