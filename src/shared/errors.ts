// Every error clusterwire raises, in one catalogue.
//
// Each error is a class with a stable string `code` (what applications match
// on) and a numeric `wireCode` (what an ErrorReply carries to the peer; the
// WireError enum of schema/clusterwire.fbs). The two are separate on purpose:
// local codes may be added freely, wire codes are append-only.
import { WireError } from './schema/generated/clusterwire/wire/wire-error.js';

export const ErrorCode = {
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  MALFORMED_FRAME: 'ERR_MALFORMED_FRAME',
  TRUNCATED_FRAME: 'ERR_TRUNCATED_FRAME',
  CHECKSUM: 'ERR_CHECKSUM',
  CHECKSUM_REQUIRED: 'ERR_CHECKSUM_REQUIRED',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  RESERVED_FLAGS: 'ERR_RESERVED_FLAGS',
  UNKNOWN_COMPRESSION: 'ERR_UNKNOWN_COMPRESSION',
  DECOMPRESSED_TOO_LARGE: 'ERR_DECOMPRESSED_TOO_LARGE',
  CORRUPT_PAYLOAD: 'ERR_CORRUPT_PAYLOAD',
  MALFORMED_ENVELOPE: 'ERR_MALFORMED_ENVELOPE',
  UNKNOWN_MESSAGE_TYPE: 'ERR_UNKNOWN_MESSAGE_TYPE',
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  INVALID_MESSAGE: 'ERR_INVALID_MESSAGE',
  HANDSHAKE_REJECTED: 'ERR_HANDSHAKE_REJECTED',
  TIMEOUT: 'ERR_TIMEOUT',
  REQUEST_CANCELLED: 'ERR_REQUEST_CANCELLED',
  PEER_UNAVAILABLE: 'ERR_PEER_UNAVAILABLE',
  BACKPRESSURE: 'ERR_BACKPRESSURE',
  FORBIDDEN: 'ERR_FORBIDDEN',
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  CHUNK_SEQUENCE: 'ERR_CHUNK_SEQUENCE',
  REASSEMBLY_LIMIT: 'ERR_REASSEMBLY_LIMIT',
  FLOW_CONTROL: 'ERR_FLOW_CONTROL',
  STREAM_STATE: 'ERR_STREAM_STATE',
  STREAM_LIMIT: 'ERR_STREAM_LIMIT',
  STREAM_RESET: 'ERR_STREAM_RESET',
  NO_HANDLER: 'ERR_NO_HANDLER',
  HANDLER_FAILED: 'ERR_HANDLER_FAILED',
  REMOTE: 'ERR_REMOTE',
  NO_ELIGIBLE_NODE: 'ERR_NO_ELIGIBLE_NODE',
  SEED_SOURCE: 'ERR_SEED_SOURCE',
  WORKER_FAILED: 'ERR_WORKER_FAILED',
  ENGINE_CLOSED: 'ERR_ENGINE_CLOSED',
  TRANSFER_REFUSED: 'ERR_TRANSFER_REFUSED',
  TRANSFER_FAILED: 'ERR_TRANSFER_FAILED',
  DIGEST_MISMATCH: 'ERR_DIGEST_MISMATCH',
  TRANSFER_CANCELLED: 'ERR_TRANSFER_CANCELLED',
  NOT_LEADER: 'ERR_NOT_LEADER',
  ELECTION_STATE: 'ERR_ELECTION_STATE',
  JOIN_FAILED: 'ERR_JOIN_FAILED',
  NODE_STOPPED: 'ERR_NODE_STOPPED',
  TRANSACTION_LOG: 'ERR_TRANSACTION_LOG',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One row of the catalogue: what the README's error table shows. */
export interface ErrorEntry {
  readonly code: ErrorCode;
  readonly wireCode: WireError;
  readonly meaning: string;
}

export const ERRORS: readonly ErrorEntry[] = [
  { code: ErrorCode.FRAME_TOO_LARGE, wireCode: WireError.FrameTooLarge, meaning: 'A frame length above maxFrameBytes; refused before any allocation.' },
  { code: ErrorCode.MALFORMED_FRAME, wireCode: WireError.MalformedFrame, meaning: 'A frame length below the smallest frame, or a message id above 2^53 - 1.' },
  { code: ErrorCode.TRUNCATED_FRAME, wireCode: WireError.MalformedFrame, meaning: 'The bytes ended inside a frame.' },
  { code: ErrorCode.CHECKSUM, wireCode: WireError.Checksum, meaning: 'The CRC-32 trailer does not match the header and payload.' },
  { code: ErrorCode.CHECKSUM_REQUIRED, wireCode: WireError.Checksum, meaning: 'A frame without a checksum where the receiver requires one.' },
  { code: ErrorCode.UNSUPPORTED_VERSION, wireCode: WireError.UnsupportedVersion, meaning: 'A frame or handshake with a protocol version this node does not speak.' },
  { code: ErrorCode.RESERVED_FLAGS, wireCode: WireError.ReservedFlags, meaning: 'Reserved flag bits 8-15 are not zero.' },
  { code: ErrorCode.UNKNOWN_COMPRESSION, wireCode: WireError.UnknownCompression, meaning: 'A compression id other than 0 (none), 1 (LZ4), 2 (Zstd).' },
  { code: ErrorCode.DECOMPRESSED_TOO_LARGE, wireCode: WireError.DecompressedTooLarge, meaning: 'A compressed payload declares more bytes than the limit; refused before inflating.' },
  { code: ErrorCode.CORRUPT_PAYLOAD, wireCode: WireError.MalformedFrame, meaning: 'A compressed payload does not inflate to exactly its declared length.' },
  { code: ErrorCode.MALFORMED_ENVELOPE, wireCode: WireError.MalformedEnvelope, meaning: 'The payload is not a valid Envelope: an offset, length or required field is wrong.' },
  { code: ErrorCode.UNKNOWN_MESSAGE_TYPE, wireCode: WireError.MalformedEnvelope, meaning: 'An Envelope body type this node does not know (a newer peer).' },
  { code: ErrorCode.INVALID_CONFIG, wireCode: WireError.Unknown, meaning: 'An option failed validation; the message names the field.' },
  { code: ErrorCode.INVALID_MESSAGE, wireCode: WireError.Unknown, meaning: 'A message to send has a field that does not fit its wire type, or lacks a required field.' },
  { code: ErrorCode.HANDSHAKE_REJECTED, wireCode: WireError.HandshakeRejected, meaning: 'The handshake was refused; `reason` says why (cluster_mismatch, version_unsupported, auth_failed, clock_skew, replay, ...).' },
  { code: ErrorCode.TIMEOUT, wireCode: WireError.Timeout, meaning: 'A request got no response within its timeout, after every attempt it was allowed.' },
  { code: ErrorCode.REQUEST_CANCELLED, wireCode: WireError.Unknown, meaning: "The caller's AbortSignal aborted the request before its answer came (`cause` is the signal's reason); a request already sent may still be handled by the peer." },
  { code: ErrorCode.PEER_UNAVAILABLE, wireCode: WireError.PeerUnavailable, meaning: 'The connection to the peer closed or failed while the request was in flight.' },
  { code: ErrorCode.BACKPRESSURE, wireCode: WireError.Backpressure, meaning: 'A bounded queue or table is full (in-flight requests, dedupe window); retry later.' },
  { code: ErrorCode.FORBIDDEN, wireCode: WireError.Forbidden, meaning: 'The peer (by node id or certificate role) may not send this message type; it was not dispatched.' },
  { code: ErrorCode.MESSAGE_TOO_LARGE, wireCode: WireError.FrameTooLarge, meaning: 'A chunked message declares a total above maxMessageBytes; refused before any allocation.' },
  { code: ErrorCode.CHUNK_SEQUENCE, wireCode: WireError.MalformedEnvelope, meaning: 'A Chunk out of order: a gap or overlap in offsets, a changed total, an empty piece, or bytes past the total.' },
  { code: ErrorCode.REASSEMBLY_LIMIT, wireCode: WireError.Backpressure, meaning: 'Too many chunked messages in flight at once, or their declared bytes above the reassembly budget.' },
  { code: ErrorCode.FLOW_CONTROL, wireCode: WireError.MalformedEnvelope, meaning: 'Stream data beyond the credit granted (on the stream or the connection), or credit grown past 2^32 - 1.' },
  { code: ErrorCode.STREAM_STATE, wireCode: WireError.MalformedEnvelope, meaning: 'A stream message that does not fit the state of the stream: data after fin, an unknown or reused stream id, a seq gap.' },
  { code: ErrorCode.STREAM_LIMIT, wireCode: WireError.Backpressure, meaning: 'Opening a stream would exceed the concurrent streams the peer accepts (maxStreams).' },
  { code: ErrorCode.STREAM_RESET, wireCode: WireError.Unknown, meaning: 'The stream was reset by this node or the peer; `reason` says why.' },
  { code: ErrorCode.NO_HANDLER, wireCode: WireError.NoHandler, meaning: 'The peer has no handler for the request topic.' },
  { code: ErrorCode.HANDLER_FAILED, wireCode: WireError.HandlerFailed, meaning: "The peer's handler threw; the message carries its text." },
  { code: ErrorCode.REMOTE, wireCode: WireError.Unknown, meaning: 'The peer answered with an error this node has no class for; `wireCode` and the text say which.' },
  { code: ErrorCode.NO_ELIGIBLE_NODE, wireCode: WireError.PeerUnavailable, meaning: 'The router has no alive node to send a request to (every candidate is suspected, dead or unknown).' },
  { code: ErrorCode.SEED_SOURCE, wireCode: WireError.Unknown, meaning: 'A seed source could not produce seeds: a DNS lookup failed, or a seed file is unreadable or malformed; `source` says which.' },
  { code: ErrorCode.WORKER_FAILED, wireCode: WireError.Unknown, meaning: 'A worker thread died or failed while running a batch, and so did the retry on a fresh worker; the batch was not done. `task` and `attempts` say which.' },
  { code: ErrorCode.ENGINE_CLOSED, wireCode: WireError.Unknown, meaning: 'Work was handed to the worker engine after close(), or was still waiting for a batch when it closed.' },
  { code: ErrorCode.TRANSFER_REFUSED, wireCode: WireError.Unknown, meaning: 'The receiver refused a file transfer or state sync: a name that would leave its directory, a size above maxFileBytes, too many transfers, an existing file, an unknown service; `reason` says which.' },
  { code: ErrorCode.TRANSFER_FAILED, wireCode: WireError.Unknown, meaning: 'A transfer broke off: a chunk failed verification more than maxChunkRetries times, the disk failed, or a peer broke the transfer protocol (a chunk not granted, an inconsistent index or offset, an unknown transfer id).' },
  { code: ErrorCode.DIGEST_MISMATCH, wireCode: WireError.Unknown, meaning: 'The whole digest of a transfer or snapshot does not match its bytes; nothing was written to the destination.' },
  { code: ErrorCode.TRANSFER_CANCELLED, wireCode: WireError.Unknown, meaning: 'The transfer was cancelled by this node or the peer; both sides removed its partial file.' },
  { code: ErrorCode.NOT_LEADER, wireCode: WireError.Unknown, meaning: 'An operation only the Raft leader may perform (a leadership transfer) was asked of a node that is not the leader; `leader` names the one it knows, if any.' },
  { code: ErrorCode.ELECTION_STATE, wireCode: WireError.Unknown, meaning: 'The persisted Raft term and vote cannot be read: the file is unreadable or a record before the last is damaged; `file` says which.' },
  { code: ErrorCode.JOIN_FAILED, wireCode: WireError.Unknown, meaning: 'No seed answered within the join attempts; `seeds` and `attempts` say which were tried.' },
  { code: ErrorCode.NODE_STOPPED, wireCode: WireError.PeerUnavailable, meaning: 'The ClusterNode was asked to do something after stop() or leave(), or was stopped while the operation waited.' },
  { code: ErrorCode.TRANSACTION_LOG, wireCode: WireError.Unknown, meaning: 'The two-phase commit log cannot be read: the file is unreadable or a record before the last is damaged (a torn last record is dropped, not an error); `file` says which.' },
];

const WIRE_CODES = new Map<ErrorCode, WireError>(ERRORS.map((e) => [e.code, e.wireCode]));

export interface ClusterwireErrorOptions {
  cause?: unknown;
}

/** The base of every error clusterwire raises. */
export class ClusterwireError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ClusterwireErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /** The code an ErrorReply carries to the peer. */
  get wireCode(): WireError {
    return WIRE_CODES.get(this.code) ?? WireError.Unknown;
  }
}

export class FrameTooLargeError extends ClusterwireError {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(ErrorCode.FRAME_TOO_LARGE, `frame of ${length} bytes exceeds the limit of ${limit} bytes`);
  }
}

export class MalformedFrameError extends ClusterwireError {
  constructor(readonly reason: string) {
    super(ErrorCode.MALFORMED_FRAME, `malformed frame: ${reason}`);
  }
}

export class TruncatedFrameError extends ClusterwireError {
  constructor(
    readonly expected: number,
    readonly available: number,
  ) {
    super(ErrorCode.TRUNCATED_FRAME, `truncated frame: ${available} of ${expected} bytes`);
  }
}

export class ChecksumError extends ClusterwireError {
  constructor(
    readonly expected: number,
    readonly actual: number,
    readonly messageId: number,
  ) {
    super(
      ErrorCode.CHECKSUM,
      `checksum mismatch on message ${messageId}: trailer 0x${expected.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}`,
    );
  }
}

export class ChecksumRequiredError extends ClusterwireError {
  constructor(readonly messageId: number) {
    super(ErrorCode.CHECKSUM_REQUIRED, `message ${messageId} has no checksum and this receiver requires one`);
  }
}

export class UnsupportedVersionError extends ClusterwireError {
  constructor(
    readonly version: number,
    readonly supported: readonly number[],
  ) {
    super(ErrorCode.UNSUPPORTED_VERSION, `protocol version ${version} is not supported (supported: ${supported.join(', ')})`);
  }
}

export class ReservedFlagsError extends ClusterwireError {
  constructor(readonly flags: number) {
    super(ErrorCode.RESERVED_FLAGS, `reserved flag bits set: 0x${flags.toString(16).padStart(4, '0')}`);
  }
}

export class UnknownCompressionError extends ClusterwireError {
  constructor(readonly algorithm: number | string) {
    super(ErrorCode.UNKNOWN_COMPRESSION, `unknown compression algorithm ${String(algorithm)}`);
  }
}

export class DecompressedTooLargeError extends ClusterwireError {
  constructor(
    readonly declared: number,
    readonly limit: number,
  ) {
    super(ErrorCode.DECOMPRESSED_TOO_LARGE, `compressed payload declares ${declared} bytes, above the limit of ${limit}`);
  }
}

export class CorruptPayloadError extends ClusterwireError {
  constructor(reason: string, options?: ClusterwireErrorOptions) {
    super(ErrorCode.CORRUPT_PAYLOAD, `corrupt compressed payload: ${reason}`, options);
  }
}

export class MalformedEnvelopeError extends ClusterwireError {
  constructor(
    readonly reason: string,
    /** Byte offset in the payload where the problem was found; -1 if none. */
    readonly offset: number = -1,
  ) {
    super(ErrorCode.MALFORMED_ENVELOPE, offset >= 0 ? `malformed envelope at byte ${offset}: ${reason}` : `malformed envelope: ${reason}`);
  }
}

export class UnknownMessageTypeError extends ClusterwireError {
  constructor(readonly type: number) {
    super(ErrorCode.UNKNOWN_MESSAGE_TYPE, `unknown message type ${type}`);
  }
}

export class InvalidMessageError extends ClusterwireError {
  constructor(
    /** Path of the field, e.g. "body.Request.timeoutMs". */
    readonly field: string,
    readonly problem: string,
  ) {
    super(ErrorCode.INVALID_MESSAGE, `cannot encode ${field}: ${problem}`);
  }
}

export class InvalidConfigError extends ClusterwireError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(ErrorCode.INVALID_CONFIG, `invalid option ${field}: ${problem}`);
  }
}

/** Why a handshake was refused, as applications match on it. */
export type HandshakeRejectReason =
  | 'cluster_mismatch'
  | 'version_unsupported'
  | 'auth_failed'
  | 'clock_skew'
  | 'replay'
  | 'node_id_mismatch'
  | 'too_many_connections'
  | 'malformed'
  | 'timeout'
  | 'duplicate_node_id';

export class HandshakeRejectedError extends ClusterwireError {
  constructor(
    readonly reason: HandshakeRejectReason,
    detail: string,
    /** True when the peer refused us; false when this node refused the peer. */
    readonly byPeer: boolean = false,
  ) {
    super(ErrorCode.HANDSHAKE_REJECTED, `handshake rejected (${reason})${byPeer ? ' by peer' : ''}: ${detail}`);
  }
}

export class RequestCancelledError extends ClusterwireError {
  constructor(
    /** What the request was for. */
    readonly topic: string,
    /** The signal's reason. */
    reason: unknown,
  ) {
    super(ErrorCode.REQUEST_CANCELLED, `request on ${JSON.stringify(topic)} cancelled${reason instanceof Error ? `: ${reason.message}` : reason === undefined ? '' : `: ${String(reason)}`}`, { cause: reason });
  }
}

export class TimeoutError extends ClusterwireError {
  constructor(
    /** The request's id: the message id every attempt carried. */
    readonly requestId: number,
    /** The overall timeout that expired, in ms. */
    readonly timeoutMs: number,
    /** How many attempts were sent. */
    readonly attempts: number,
  ) {
    super(ErrorCode.TIMEOUT, `request ${requestId} timed out after ${timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'})`);
  }
}

export class PeerUnavailableError extends ClusterwireError {
  constructor(
    /** The peer's node id ('' when not known). */
    readonly peer: string,
    readonly reason: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.PEER_UNAVAILABLE, `peer ${peer === '' ? '(unknown)' : peer} unavailable: ${reason}`, options);
  }
}

export class BackpressureError extends ClusterwireError {
  constructor(
    /** What is full, e.g. "maxInFlightRequests". */
    readonly resource: string,
    readonly limit: number,
  ) {
    super(ErrorCode.BACKPRESSURE, `${resource} reached its limit of ${limit}`);
  }
}

export class ForbiddenError extends ClusterwireError {
  constructor(
    /** The message (body) type that was refused, e.g. "Request". */
    readonly messageType: string,
    /** The peer's node id. */
    readonly peer: string,
    /** The peer's certificate role, or null when it has none. */
    readonly role: string | null = null,
  ) {
    super(ErrorCode.FORBIDDEN, `peer ${peer}${role === null ? '' : ` (role ${role})`} may not send ${messageType}`);
  }
}

export class MessageTooLargeError extends ClusterwireError {
  constructor(
    /** The chunked message's id. */
    readonly messageId: number,
    /** The total it declared, in bytes. */
    readonly totalBytes: number,
    readonly limit: number,
  ) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `chunked message ${messageId} declares ${totalBytes} bytes, above the limit of ${limit}`);
  }
}

export class ChunkSequenceError extends ClusterwireError {
  constructor(
    readonly messageId: number,
    readonly reason: string,
  ) {
    super(ErrorCode.CHUNK_SEQUENCE, `chunk of message ${messageId} out of sequence: ${reason}`);
  }
}

export class ReassemblyLimitError extends ClusterwireError {
  constructor(
    /** Which bound was hit: "maxPartialMessages" or "maxPartialBytes". */
    readonly resource: string,
    readonly limit: number,
    readonly messageId: number,
  ) {
    super(ErrorCode.REASSEMBLY_LIMIT, `chunked message ${messageId} refused: ${resource} reached its limit of ${limit}`);
  }
}

export class FlowControlError extends ClusterwireError {
  constructor(
    /** The stream whose credit was exceeded; 0 = the connection. */
    readonly streamId: number,
    readonly bytes: number,
    /** The credit there was, in bytes. */
    readonly credit: number,
  ) {
    super(ErrorCode.FLOW_CONTROL, `${streamId === 0 ? 'connection' : `stream ${streamId}`}: ${bytes} bytes exceed the credit of ${credit}`);
  }
}

export class StreamStateError extends ClusterwireError {
  constructor(
    readonly streamId: number,
    readonly reason: string,
  ) {
    super(ErrorCode.STREAM_STATE, `stream ${streamId}: ${reason}`);
  }
}

export class StreamLimitError extends ClusterwireError {
  constructor(readonly limit: number) {
    super(ErrorCode.STREAM_LIMIT, `the peer accepts at most ${limit} concurrent streams`);
  }
}

export class StreamResetError extends ClusterwireError {
  constructor(
    readonly streamId: number,
    readonly reason: string,
    /** True when the peer reset the stream; false when this node did. */
    readonly byPeer: boolean,
  ) {
    super(ErrorCode.STREAM_RESET, `stream ${streamId} reset${byPeer ? ' by peer' : ''}${reason === '' ? '' : `: ${reason}`}`);
  }
}

export class NoHandlerError extends ClusterwireError {
  constructor(
    readonly topic: string,
    readonly peer: string,
  ) {
    super(ErrorCode.NO_HANDLER, `${peer === '' ? 'this node' : `peer ${peer}`} has no handler for topic ${JSON.stringify(topic)}`);
  }
}

export class HandlerFailedError extends ClusterwireError {
  constructor(
    readonly topic: string,
    readonly detail: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.HANDLER_FAILED, `handler for ${JSON.stringify(topic)} failed: ${detail}`, options);
  }
}

/** An ErrorReply whose wire code has no local class. */
export class RemoteError extends ClusterwireError {
  constructor(
    readonly remoteWireCode: number,
    readonly detail: string,
  ) {
    super(ErrorCode.REMOTE, `peer answered with wire error ${remoteWireCode}: ${detail}`);
  }
}

export class NoEligibleNodeError extends ClusterwireError {
  constructor(
    /** Nodes the router knows, in any state. */
    readonly known: number,
    /** Of those, how many are suspected or dead. */
    readonly unavailable: number,
  ) {
    super(ErrorCode.NO_ELIGIBLE_NODE, `no eligible node to route to (${known} known, ${unavailable} suspected or dead)`);
  }
}

export class SeedSourceError extends ClusterwireError {
  constructor(
    /** The source that failed, e.g. "dns:cluster.local" or "file:/etc/seeds". */
    readonly source: string,
    readonly reason: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.SEED_SOURCE, `seed source ${source} failed: ${reason}`, options);
  }
}

export class WorkerFailedError extends ClusterwireError {
  constructor(
    /** The engine task, e.g. "encodeBatch". */
    readonly task: string,
    /** Attempts made, each on a live worker. */
    readonly attempts: number,
    options?: ClusterwireErrorOptions,
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(ErrorCode.WORKER_FAILED, `${task} failed in a worker after ${attempts} attempt${attempts === 1 ? '' : 's'}${detail}`, options);
  }
}

export class EngineClosedError extends ClusterwireError {
  constructor(readonly task: string) {
    super(ErrorCode.ENGINE_CLOSED, `${task}: the engine is closed`);
  }
}

export class NotLeaderError extends ClusterwireError {
  constructor(
    /** The leader this node knows of, or null. */
    readonly leader: string | null,
    readonly term: number,
  ) {
    super(ErrorCode.NOT_LEADER, `not the leader (term ${term}, leader ${leader ?? 'unknown'})`);
  }
}

export class ElectionStateError extends ClusterwireError {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.ELECTION_STATE, `election state ${file}: ${reason}`, options);
  }
}

export class JoinFailedError extends ClusterwireError {
  constructor(
    readonly seeds: readonly string[],
    readonly attempts: number,
  ) {
    super(ErrorCode.JOIN_FAILED, `join failed: no answer from ${seeds.length === 0 ? 'any seed' : seeds.join(', ')} after ${attempts} attempts`);
  }
}

export class NodeStoppedError extends ClusterwireError {
  constructor(readonly operation: string) {
    super(ErrorCode.NODE_STOPPED, `${operation}: the node is stopped`);
  }
}

export class TransferRefusedError extends ClusterwireError {
  constructor(
    /** The file name (or state service) the transfer was for. */
    readonly transfer: string,
    readonly reason: string,
  ) {
    super(ErrorCode.TRANSFER_REFUSED, `transfer of ${JSON.stringify(transfer)} refused: ${reason}`);
  }
}

export class TransferFailedError extends ClusterwireError {
  constructor(
    readonly transfer: string,
    readonly reason: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.TRANSFER_FAILED, `transfer of ${JSON.stringify(transfer)} failed: ${reason}`, options);
  }
}

export class DigestMismatchError extends ClusterwireError {
  constructor(
    readonly transfer: string,
    /** Hex of the digest announced by the sender. */
    readonly expected: string,
    /** Hex of the digest of the bytes received. */
    readonly actual: string,
  ) {
    super(ErrorCode.DIGEST_MISMATCH, `${JSON.stringify(transfer)}: digest ${actual} does not match the announced ${expected}`);
  }
}

export class TransferCancelledError extends ClusterwireError {
  constructor(
    readonly transfer: string,
    readonly reason: string,
    /** True when the peer cancelled; false when this node did. */
    readonly byPeer: boolean,
  ) {
    super(ErrorCode.TRANSFER_CANCELLED, `transfer of ${JSON.stringify(transfer)} cancelled${byPeer ? ' by peer' : ''}${reason === '' ? '' : `: ${reason}`}`);
  }
}

export class TransactionLogError extends ClusterwireError {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ClusterwireErrorOptions,
  ) {
    super(ErrorCode.TRANSACTION_LOG, `transaction log ${file}: ${reason}`, options);
  }
}
