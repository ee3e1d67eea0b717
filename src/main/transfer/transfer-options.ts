// Options of file transfer and state sync, with their defaults, validated
// once at the edge.
//
//   option                  default     meaning
//   directory               null        where received files go; null: requests are refused
//   chunkBytes              1 MiB       chunk size of transfers this node sends (4 KiB .. 16 MiB)
//   windowBytes             16 MiB      bytes a receiver grants per transfer at once (at least 1 chunk)
//   maxConcurrentTransfers  8           transfers sent at once (more wait their turn), and received
//                                       at once (more are refused)
//   maxFileBytes            64 GiB      largest file sent or accepted
//   throttleBytesPerSec     Infinity    bytes per second over every transfer this node sends
//   maxChunkRetries         3           times one chunk may fail its digest before the transfer fails
//   overwrite               false       a received file may replace an existing one
//   syncEveryBytes          16 MiB      a receiver starts an fdatasync of the partial file each time
//                                       this many bytes were written since the last one began, so
//                                       the disk writes while the transfer goes on and the final
//                                       fsync has little left to do; one at a time over the
//                                       node's incoming transfers (0: only the final fsync)
//   inlineSnapshotBytes     256 KiB     state snapshots up to this travel inside the SyncResponse
//   maxSnapshotBytes        256 MiB     largest snapshot pulled
//   syncTimeoutMs           30 000      a pull with no answer or no progress for this long fails
//   (state sync: windowBytes 8 MiB, maxChunkRetries 3; snapshots are cut in 1 MiB chunks)
import path from 'node:path';
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption as integer, positiveOption } from '../../shared/options.js';

export const MIN_CHUNK_BYTES = 4 * 1024;
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** Most chunks in one transfer: what a receiver keeps per transfer is 33 bytes a chunk. */
export const MAX_TRANSFER_CHUNKS = 1 << 20;

export interface FileTransfersOptions {
  readonly directory: string | null;
  readonly chunkBytes: number;
  readonly windowBytes: number;
  readonly maxConcurrentTransfers: number;
  readonly maxFileBytes: number;
  readonly throttleBytesPerSec: number;
  readonly maxChunkRetries: number;
  readonly overwrite: boolean;
  readonly syncEveryBytes: number;
}

export type FileTransfersOptionsInput = Partial<FileTransfersOptions>;

export const FILE_TRANSFER_DEFAULTS: FileTransfersOptions = Object.freeze({
  directory: null,
  chunkBytes: 1024 * 1024,
  windowBytes: 16 * 1024 * 1024,
  maxConcurrentTransfers: 8,
  maxFileBytes: 64 * 1024 ** 3,
  throttleBytesPerSec: Infinity,
  maxChunkRetries: 3,
  overwrite: false,
  syncEveryBytes: 16 * 1024 * 1024,
});

export function resolveFileTransfersOptions(input: FileTransfersOptionsInput = {}): FileTransfersOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const o = { ...FILE_TRANSFER_DEFAULTS, ...input };
  if (o.directory !== null && (typeof o.directory !== 'string' || o.directory === '')) throw new InvalidConfigError('directory', 'expected a path or null');
  const directory = o.directory === null ? null : path.resolve(o.directory);
  integer('chunkBytes', o.chunkBytes, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
  integer('windowBytes', o.windowBytes, MIN_CHUNK_BYTES, 2 ** 32 - 1);
  integer('maxConcurrentTransfers', o.maxConcurrentTransfers, 1, 4096);
  integer('maxFileBytes', o.maxFileBytes, 0, Number.MAX_SAFE_INTEGER);
  throttle('throttleBytesPerSec', o.throttleBytesPerSec);
  integer('maxChunkRetries', o.maxChunkRetries, 0, 100);
  if (typeof o.overwrite !== 'boolean') throw new InvalidConfigError('overwrite', 'expected a boolean');
  integer('syncEveryBytes', o.syncEveryBytes, 0, Number.MAX_SAFE_INTEGER);
  return Object.freeze({ ...o, directory });
}

/** A bytes-per-second limit: a positive number, Infinity for none. */
export function throttle(field: string, value: unknown): number {
  if (value === Infinity) return Infinity;
  return positiveOption(field, value);
}

export interface StateSyncOptions {
  readonly windowBytes: number;
  readonly inlineSnapshotBytes: number;
  readonly maxSnapshotBytes: number;
  readonly maxChunkRetries: number;
  readonly syncTimeoutMs: number;
}

export type StateSyncOptionsInput = Partial<StateSyncOptions>;

export const STATE_SYNC_DEFAULTS: StateSyncOptions = Object.freeze({
  windowBytes: 8 * 1024 * 1024,
  inlineSnapshotBytes: 256 * 1024,
  maxSnapshotBytes: 256 * 1024 * 1024,
  maxChunkRetries: 3,
  syncTimeoutMs: 30_000,
});

export function resolveStateSyncOptions(input: StateSyncOptionsInput = {}): StateSyncOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const o = { ...STATE_SYNC_DEFAULTS, ...input };
  integer('windowBytes', o.windowBytes, MIN_CHUNK_BYTES, 2 ** 32 - 1);
  integer('inlineSnapshotBytes', o.inlineSnapshotBytes, 0, 4 * 1024 * 1024);
  integer('maxSnapshotBytes', o.maxSnapshotBytes, 0, 2 ** 31 - 1);
  integer('maxChunkRetries', o.maxChunkRetries, 0, 100);
  integer('syncTimeoutMs', o.syncTimeoutMs, 1, 24 * 3600 * 1000);
  return Object.freeze(o);
}

/** Chunks a receiver grants at once for a transfer cut in `chunkBytes`. */
export function windowChunks(windowBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.floor(windowBytes / chunkBytes));
}
