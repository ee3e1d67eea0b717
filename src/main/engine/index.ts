// The worker engine: batches of byte work, inline or in worker threads.
export { Engine, FileChunkError, type EngineCollaborators, type EngineStats, type FileRegion } from './engine.js';
export {
  DEFAULT_OFFLOAD_MIN_BYTES,
  OFFLOAD_KINDS,
  defaultWorkers,
  resolveEngineOptions,
  type EngineOptions,
  type EngineOptionsInput,
  type OffloadKind,
} from './engine-options.js';
export { OffloadPolicy, type Placement } from './offload-policy.js';
export { EncodeBatcher } from './encode-batcher.js';
export type { DecodedBatch, DecodedFrame, EncodedBatch } from '../../workers/frame-batch.js';
export type { CompressedBatch, DecompressedBatch } from '../../workers/compression-batch.js';
export { chunkAt, unpackChunks, type PackedChunks } from '../../workers/packed-chunks.js';
export { toError, type TaskError } from '../../workers/task-error.js';
