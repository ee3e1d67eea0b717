// Where a batch runs: inline on the main thread, or in a worker. Decided per
// batch from its kind and payload bytes against thresholds fixed when the
// engine starts, and from how many batches already wait for workers (a full
// queue runs work inline rather than growing without bound).
import type { EngineOptions, OffloadKind } from './engine-options.js';

export type Placement = 'inline' | 'worker';

export class OffloadPolicy {
  private readonly encode: number;
  private readonly decode: number;
  private readonly compress: number;
  private readonly decompress: number;
  private readonly sha256: number;
  private readonly maxQueued: number;

  constructor(options: Pick<EngineOptions, 'workers' | 'offloadMinBytes' | 'maxQueuedBatches' | 'frame'>) {
    const t = options.offloadMinBytes;
    const never = options.workers === 0 ? Infinity : -1;
    const pick = (v: number): number => (never === Infinity ? Infinity : v);
    // encoding with compression on costs what compressing costs
    this.encode = pick(options.frame.compression === 'none' ? t.encode : t.compress);
    this.decode = pick(t.decode);
    this.compress = pick(t.compress);
    this.decompress = pick(t.decompress);
    this.sha256 = pick(t.sha256);
    this.maxQueued = options.maxQueuedBatches;
  }

  /** The threshold in force for a kind (Infinity: always inline). */
  thresholdFor(kind: OffloadKind): number {
    return this[kind];
  }

  /** Where a batch of `bytes` payload bytes runs while `queued` batches are in workers. */
  place(kind: OffloadKind, bytes: number, queued: number): Placement {
    return bytes >= this[kind] && queued < this.maxQueued ? 'worker' : 'inline';
  }
}
