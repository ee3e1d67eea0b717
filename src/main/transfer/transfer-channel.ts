// The file-transfer and state-sync envelopes of one Messenger, routed to the
// transfers they belong to. The adapter between the messenger and the
// transfer endpoints: it keeps the endpoints by connection and transfer id,
// hands them what arrives, sends what they send, and tells them when their
// connection is gone.
//
// Routing (ids are chosen by the sending side, from one sequence per node):
//   FileTransferChunk    to the incoming transfer with its id on that
//                        connection; an unknown id is refused with a Failed ack
//   FileTransferAck      to the outgoing transfer with its id (the receiver's
//                        acks and grants), else to the incoming one (a sender's
//                        cancel); an ack with a correlation id answers a SyncRequest
//   FileTransferRequest  to the incoming transfer with its id (the sender seals
//                        it), else to the request handler (a new transfer)
//   SyncRequest, SyncResponse  to the state-sync handlers
// A FileTransferChunk is the only bulk message: it goes at Low priority, so
// transfers never hold up heartbeats or requests; acks, grants and the rest
// go at High, so a receiver's credit is not queued behind its own bulk.
import crypto from 'node:crypto';
import { ClusterwireError, DigestMismatchError, ErrorCode, TransferFailedError, TransferRefusedError } from '../../shared/errors.js';
import type { BodyOf, BodyValue, Envelope } from '../../shared/envelope/index.js';
import { Priority } from '../../shared/schema/generated/clusterwire/wire/priority.js';
import { TransferStatus } from '../../shared/schema/generated/clusterwire/wire/transfer-status.js';
import type { Connection, SendOptions } from '../transport/connection.js';
import type { Messenger } from '../transport/messenger.js';

export { TransferStatus };

/** What a transfer endpoint takes from the channel. */
export interface TransferEndpoint {
  onChunk?(chunk: BodyOf<'FileTransferChunk'>): void;
  onAck?(ack: BodyOf<'FileTransferAck'>): void;
  onRequest?(request: BodyOf<'FileTransferRequest'>): void;
  /** The connection closed or failed. */
  onClosed(): void;
}

export type Direction = 'out' | 'in';

export interface ChannelHandlers {
  /** A FileTransferRequest for no transfer held: a new or resumed incoming transfer. */
  request?(request: BodyOf<'FileTransferRequest'>, connection: Connection, peer: string): void;
  syncRequest?(request: BodyOf<'SyncRequest'>, envelope: Envelope, connection: Connection, peer: string): void;
  syncResponse?(response: BodyOf<'SyncResponse'>, envelope: Envelope, connection: Connection): void;
  /** A FileTransferAck carrying a correlation id and no transfer: a refused SyncRequest. */
  syncRefused?(ack: BodyOf<'FileTransferAck'>, correlationId: number, connection: Connection): void;
}

interface Endpoints {
  readonly out: Map<number, TransferEndpoint>;
  readonly in: Map<number, TransferEndpoint>;
}

const channels = new WeakMap<Messenger, TransferChannel>();
const LEND_LOW: SendOptions = Object.freeze({ priority: Priority.Low, lend: true });

export class TransferChannel {
  readonly #links = new Map<Connection, Endpoints>();
  readonly #handlers: ChannelHandlers = {};
  #nextId: number;
  /** Chunks and acks for transfers this node does not hold: refused. */
  unknown = 0;

  /** The channel of `messenger`, created on first use. */
  static of(messenger: Messenger): TransferChannel {
    let channel = channels.get(messenger);
    if (channel === undefined) {
      channel = new TransferChannel(messenger);
      channels.set(messenger, channel);
    }
    return channel;
  }

  private constructor(messenger: Messenger) {
    // ids start at a random point below 2^48: a restarted node does not reuse the ids a peer may still hold
    this.#nextId = 1 + crypto.randomInt(0, 2 ** 47);
    messenger.handleBody('FileTransferChunk', (e, c) => this.#chunk(e, c));
    messenger.handleBody('FileTransferAck', (e, c) => this.#ack(e, c));
    messenger.handleBody('FileTransferRequest', (e, c, peer) => this.#request(e, c, peer));
    messenger.handleBody('SyncRequest', (e, c, peer) => this.#handlers.syncRequest?.(e.body as BodyOf<'SyncRequest'>, e, c, peer));
    messenger.handleBody('SyncResponse', (e, c) => this.#handlers.syncResponse?.(e.body as BodyOf<'SyncResponse'>, e, c));
  }

  /** Sets the handlers of one user of the channel (file transfers, state sync). */
  use(handlers: ChannelHandlers): void {
    Object.assign(this.#handlers, handlers);
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** Registers an endpoint; false when the connection is already gone or the id is taken. */
  add(connection: Connection, direction: Direction, id: number, endpoint: TransferEndpoint): boolean {
    if (!open(connection)) return false;
    let link = this.#links.get(connection);
    if (link === undefined) {
      link = { out: new Map(), in: new Map() };
      this.#links.set(connection, link);
      connection.socket.once('close', () => this.#closed(connection));
    }
    const map = link[direction];
    if (map.has(id)) return false;
    map.set(id, endpoint);
    return true;
  }

  remove(connection: Connection, direction: Direction, id: number, endpoint: TransferEndpoint): void {
    const map = this.#links.get(connection)?.[direction];
    if (map?.get(id) === endpoint) map.delete(id);
  }

  /**
   * Sends a chunk at Low priority, lending its data to the connection (the
   * chunk sources never change a chunk once read); false when the connection
   * is gone. Throws nothing.
   */
  sendChunk(connection: Connection, chunk: BodyOf<'FileTransferChunk'>): boolean {
    return this.#send(connection, chunk, LEND_LOW);
  }

  /** Sends a control message (ack, request, sync) at High priority; false when the connection is gone. */
  send(connection: Connection, body: BodyValue, priority: number = Priority.High, correlationId = 0): boolean {
    return this.#send(connection, body, correlationId === 0 ? { priority } : { priority, correlationId });
  }

  #send(connection: Connection, body: BodyValue, options: SendOptions): boolean {
    if (!open(connection)) return false;
    try {
      connection.send(body, options);
      return true;
    } catch (error) {
      if (!(error instanceof ClusterwireError)) throw error;
      return false;
    }
  }

  /** The messageId a SyncRequest went with, to match its answer; -1 when the connection is gone. */
  sendSyncRequest(connection: Connection, body: BodyOf<'SyncRequest'>): number {
    if (!open(connection)) return -1;
    try {
      return connection.send(body, { priority: Priority.High });
    } catch (error) {
      if (!(error instanceof ClusterwireError)) throw error;
      return -1;
    }
  }

  #chunk(envelope: Envelope, connection: Connection): void {
    const chunk = envelope.body as BodyOf<'FileTransferChunk'>;
    const endpoint = this.#links.get(connection)?.in.get(chunk.transferId);
    if (endpoint?.onChunk !== undefined) {
      endpoint.onChunk(chunk);
      return;
    }
    this.unknown++;
    const reason = reasonOf(new TransferFailedError(`transfer ${chunk.transferId}`, 'unknown transfer id'));
    this.send(connection, { type: 'FileTransferAck', transferId: chunk.transferId, status: TransferStatus.Failed, acked: [], missing: [], reason });
  }

  #ack(envelope: Envelope, connection: Connection): void {
    const ack = envelope.body as BodyOf<'FileTransferAck'>;
    const correlationId = envelope.header.correlationId;
    if (correlationId !== 0 && ack.transferId === 0) {
      this.#handlers.syncRefused?.(ack, correlationId, connection);
      return;
    }
    const link = this.#links.get(connection);
    const endpoint = link?.out.get(ack.transferId) ?? link?.in.get(ack.transferId);
    if (endpoint?.onAck !== undefined) endpoint.onAck(ack);
    else this.unknown++; // an ack for a transfer already over: nothing to answer
  }

  #request(envelope: Envelope, connection: Connection, peer: string): void {
    const request = envelope.body as BodyOf<'FileTransferRequest'>;
    const endpoint = this.#links.get(connection)?.in.get(request.transferId);
    if (endpoint !== undefined) endpoint.onRequest?.(request);
    else this.#handlers.request?.(request, connection, peer);
  }

  #closed(connection: Connection): void {
    const link = this.#links.get(connection);
    if (link === undefined) return;
    this.#links.delete(connection);
    for (const endpoint of [...link.out.values(), ...link.in.values()]) endpoint.onClosed();
  }
}

/** True while `connection` can carry messages. */
export function open(connection: Connection): boolean {
  return connection.state === 'active' || connection.state === 'idle';
}

/** The reason a Failed ack carries: the local error's code first, so the peer can raise the same kind of error. */
export function reasonOf(error: ClusterwireError): string {
  return `${error.code}: ${error.message}`.slice(0, 400);
}

/** The error for a Failed ack's reason (reasonOf); `opening`: the transfer was not accepted yet. */
export function errorFromReason(name: string, reason: string, opening: boolean, digest = ''): ClusterwireError {
  const colon = reason.indexOf(': ');
  const code = colon < 0 ? '' : reason.slice(0, colon);
  const text = colon < 0 ? reason : reason.slice(colon + 2);
  if (code === ErrorCode.DIGEST_MISMATCH) return new DigestMismatchError(name, digest, `(the receiver's) ${text}`);
  if (code === ErrorCode.TRANSFER_REFUSED || opening) return new TransferRefusedError(name, `by the receiver: ${text}`);
  return new TransferFailedError(name, `the receiver reports: ${text}`);
}
