// Options of one connection, with their defaults, validated once.
import { InvalidConfigError } from '../../shared/errors.js';
import { COMPRESSION_NAMES, type CompressionName } from '../../shared/compression.js';
import { DEFAULT_COMPRESS_MIN_BYTES, DEFAULT_MAX_FRAME_BYTES } from '../../shared/frame.js';

export type BackpressureMode = 'wait' | 'error';

export interface ConnectionOptions {
  /** Give up on a dial that has not connected by then. Default 5 000. */
  readonly connectTimeoutMs: number;
  /** An active connection with no traffic either way for this long is 'idle'. Default 30 000. */
  readonly idleTimeoutMs: number;
  /** Bytes handed to the socket must start draining within this. Default 10 000. */
  readonly writeTimeoutMs: number;
  /** Above this many queued bytes `send` reports false ('wait') or throws ERR_BACKPRESSURE ('error'). Default 4 MiB. */
  readonly highWaterMarkBytes: number;
  /** Never more than this many bytes queued: `send` throws ERR_BACKPRESSURE. Default 64 MiB. */
  readonly maxQueuedBytes: number;
  readonly backpressure: BackpressureMode;
  /** Append CRC-32 trailers. Default true; false on a Transport with TLS (the record layer authenticates every byte). */
  readonly checksum: boolean;
  /** Refuse frames without a CRC-32 trailer. Default true; false on a Transport with TLS. */
  readonly requireChecksum: boolean;
  /**
   * With checksums on, frames written together share one CRC-32 trailer
   * over up to about this many bytes (a checksum run, src/shared/frame.ts),
   * when the peer announced it accepts runs: one checksum call per run
   * instead of one per frame on each side. 0 gives every frame its own
   * trailer. Default 16 384.
   */
  readonly checksumRunBytes: number;
  readonly compression: CompressionName;
  readonly compressMinBytes: number;
  readonly maxFrameBytes: number;
  /** TCP keepalive probe delay; 0 turns keepalive off. Default 15 000. */
  readonly keepAliveMs: number;
  /**
   * Longest piece of a large envelope, in bytes: envelopes longer than this
   * leave as Chunk pieces interleaved with other traffic, so a Critical
   * message waits for at most one piece. At most maxFrameBytes - 1024. Default 65 536.
   */
  readonly chunkBytes: number;
  /** Largest envelope sent or reassembled from chunks, in bytes. At least chunkBytes. Default 128 MiB. */
  readonly maxMessageBytes: number;
  /** Chunked envelopes being reassembled at once. Default 16. */
  readonly maxPartialMessages: number;
  /** A chunked envelope with no piece for this long is dropped, in ms. Default 30 000. */
  readonly reassemblyTimeoutMs: number;
  /** Receive window granted to the peer on each stream, in bytes. Default 256 KiB. */
  readonly streamCreditBytes: number;
  /** Receive window over all streams of the connection, in bytes. At least streamCreditBytes. Default 16 MiB. */
  readonly connectionCreditBytes: number;
  /** A stream's write() returns false while more than this many bytes wait for credit. Default 1 MiB. */
  readonly streamHighWaterMarkBytes: number;
  /**
   * While a large envelope is being sent in Chunk pieces, the bytes written
   * but not yet known to have reached the peer, at most: the connection
   * follows its writes with a Ping and writes more as Pongs come back. This bounds what a Critical message
   * can find ahead of it in the kernel's buffers (its delay is about this
   * over the link's rate); a path with a large bandwidth-delay product needs
   * a larger window to reach its rate. 0 turns pacing off. Default 1 MiB.
   */
  readonly pacingWindowBytes: number;
  /**
   * Pacing protects Critical and High messages, so it applies only within
   * this long after send() last took one or ping() was called on the
   * connection: a connection that carries only bulk and Normal or Low
   * traffic writes at the socket's pace. The first urgent message after a
   * quiet spell may find the kernel's socket buffers ahead of it; later ones
   * find at most the window. 0 paces always. Default 10 000 ms.
   */
  readonly pacingIdleMs: number;
}

export type ConnectionOptionsInput = Partial<ConnectionOptions>;

export const CONNECTION_DEFAULTS: ConnectionOptions = Object.freeze({
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  writeTimeoutMs: 10_000,
  highWaterMarkBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  backpressure: 'wait',
  checksum: true,
  requireChecksum: true,
  checksumRunBytes: 16 * 1024,
  compression: 'none',
  compressMinBytes: DEFAULT_COMPRESS_MIN_BYTES,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  keepAliveMs: 15_000,
  chunkBytes: 65_536,
  maxMessageBytes: 128 * 1024 * 1024,
  maxPartialMessages: 16,
  reassemblyTimeoutMs: 30_000,
  streamCreditBytes: 256 * 1024,
  connectionCreditBytes: 16 * 1024 * 1024,
  streamHighWaterMarkBytes: 1024 * 1024,
  pacingWindowBytes: 1024 * 1024,
  pacingIdleMs: 10_000,
});

/** Room left in a frame for the Chunk envelope around a piece. */
export const CHUNK_FRAME_OVERHEAD_BYTES = 1024;
export const MIN_CHUNK_BYTES = 256;
const MAX_CREDIT_BYTES = 0xffff_ffff;

function positive(name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0) || !Number.isInteger(v)) {
    throw new InvalidConfigError(name, `expected a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  }
  return v;
}

export function resolveConnectionOptions(input: ConnectionOptionsInput = {}): ConnectionOptions {
  const o = { ...CONNECTION_DEFAULTS, ...input };
  positive('connectTimeoutMs', o.connectTimeoutMs);
  positive('idleTimeoutMs', o.idleTimeoutMs);
  positive('writeTimeoutMs', o.writeTimeoutMs);
  positive('highWaterMarkBytes', o.highWaterMarkBytes);
  positive('maxQueuedBytes', o.maxQueuedBytes);
  positive('compressMinBytes', o.compressMinBytes, true);
  positive('maxFrameBytes', o.maxFrameBytes);
  positive('keepAliveMs', o.keepAliveMs, true);
  positive('chunkBytes', o.chunkBytes);
  positive('maxMessageBytes', o.maxMessageBytes);
  positive('maxPartialMessages', o.maxPartialMessages);
  positive('reassemblyTimeoutMs', o.reassemblyTimeoutMs);
  positive('streamCreditBytes', o.streamCreditBytes);
  positive('connectionCreditBytes', o.connectionCreditBytes);
  positive('streamHighWaterMarkBytes', o.streamHighWaterMarkBytes);
  positive('pacingWindowBytes', o.pacingWindowBytes, true);
  positive('pacingIdleMs', o.pacingIdleMs, true);
  positive('checksumRunBytes', o.checksumRunBytes, true);
  if (o.pacingWindowBytes > 0 && o.pacingWindowBytes < 2 * o.chunkBytes) throw new InvalidConfigError('pacingWindowBytes', 'must be 0 (off) or at least 2 * chunkBytes');
  if (o.chunkBytes < MIN_CHUNK_BYTES || o.chunkBytes > o.maxFrameBytes - CHUNK_FRAME_OVERHEAD_BYTES) {
    throw new InvalidConfigError('chunkBytes', `must be in [${MIN_CHUNK_BYTES}, maxFrameBytes - ${CHUNK_FRAME_OVERHEAD_BYTES}]`);
  }
  if (o.maxMessageBytes < o.chunkBytes || o.maxMessageBytes > 2 ** 32 - 1) throw new InvalidConfigError('maxMessageBytes', 'must be in [chunkBytes, 2^32 - 1]');
  if (o.streamCreditBytes > MAX_CREDIT_BYTES) throw new InvalidConfigError('streamCreditBytes', 'must be at most 2^32 - 1');
  if (o.connectionCreditBytes < o.streamCreditBytes || o.connectionCreditBytes > MAX_CREDIT_BYTES) {
    throw new InvalidConfigError('connectionCreditBytes', 'must be in [streamCreditBytes, 2^32 - 1]');
  }
  if (o.maxQueuedBytes < o.highWaterMarkBytes) throw new InvalidConfigError('maxQueuedBytes', 'must be at least highWaterMarkBytes');
  if (o.backpressure !== 'wait' && o.backpressure !== 'error') throw new InvalidConfigError('backpressure', `expected 'wait' or 'error', got ${String(o.backpressure)}`);
  if (!COMPRESSION_NAMES.includes(o.compression)) throw new InvalidConfigError('compression', `expected one of ${COMPRESSION_NAMES.join(', ')}`);
  if (typeof o.checksum !== 'boolean') throw new InvalidConfigError('checksum', 'expected a boolean');
  if (typeof o.requireChecksum !== 'boolean') throw new InvalidConfigError('requireChecksum', 'expected a boolean');
  return Object.freeze(o);
}
