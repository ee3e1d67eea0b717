// File transfer and service-state sync between connected nodes.
export { FileTransfers, type FileTransfersCollaborators, type FileTransfersEvents, type SendFileOptions, type TransferOffer } from './file-transfers.js';
export { Transfer, type TransferEvents, type TransferResult, type TransferState } from './outgoing-transfer.js';
export type { ReceivedFile } from './incoming-transfer.js';
export type { TransferProgress } from './progress-meter.js';
export { StateSync, SNAPSHOT_CHUNK_BYTES, type PullOptions, type Snapshot, type SnapshotRequest, type StateProvider, type StateSyncCollaborators } from './state-sync.js';
export {
  FILE_TRANSFER_DEFAULTS,
  STATE_SYNC_DEFAULTS,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  MAX_TRANSFER_CHUNKS,
  resolveFileTransfersOptions,
  resolveStateSyncOptions,
  type FileTransfersOptions,
  type FileTransfersOptionsInput,
  type StateSyncOptions,
  type StateSyncOptionsInput,
} from './transfer-options.js';
export { MAX_NAME_BYTES, transferNameProblem } from './transfer-name.js';
export { ChunkGeometry, listDigest } from './chunk-geometry.js';
export { ChunkLedger } from './chunk-ledger.js';
export { SendQueue } from './send-queue.js';
export { TokenBucket } from './token-bucket.js';
