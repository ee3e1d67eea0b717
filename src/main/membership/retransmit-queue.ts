// Gossip waiting to be piggybacked: each item is sent a bounded number of
// times (the SWIM paper's infection-style dissemination, section 4.1: lambda
// log n retransmissions reach every member with high probability), fewest
// transmissions first so fresh news overtakes old news.
//
// Items are bucketed by how often they were sent; taking one is O(1). An item
// with the same key as a queued one replaces it (a newer state of the same
// member supersedes the old), the old entry is dropped lazily.

interface Entry<T> {
  readonly key: string;
  readonly item: T;
  readonly bytes: number;
  transmits: number;
  live: boolean;
}

export class RetransmitQueue<T> {
  private readonly buckets: Entry<T>[][] = [[]];
  private readonly byKey = new Map<string, Entry<T>>();
  private readonly moved: Entry<T>[] = [];

  /** Items still to be sent at least once more. */
  get size(): number {
    return this.byKey.size;
  }

  /** Queues `item` under `key`, replacing any queued item with that key. */
  push(key: string, item: T, bytes: number): void {
    const old = this.byKey.get(key);
    if (old !== undefined) old.live = false;
    const entry: Entry<T> = { key, item, bytes, transmits: 0, live: true };
    this.byKey.set(key, entry);
    this.buckets[0].push(entry);
  }

  /** True when an item with this key is queued. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Drops the item queued under `key`, if any. */
  delete(key: string): void {
    const old = this.byKey.get(key);
    if (old === undefined) return;
    old.live = false;
    this.byKey.delete(key);
  }

  /**
   * Moves items into `out`, fewest transmissions first (newest first among
   * equals), while they fit in `budgetBytes`; each counts as one transmission
   * and is dropped after `limit` of them. The item under `skipKey` stays
   * queued untouched. Returns the bytes used.
   */
  take(out: T[], budgetBytes: number, limit: number, skipKey = ''): number {
    if (this.byKey.size === 0) return 0;
    let used = 0;
    const moved = this.moved;
    const buckets = this.buckets;
    for (let t = 0; t < buckets.length; t++) {
      const bucket = buckets[t];
      if (t >= limit) {
        this.expire(bucket);
        continue;
      }
      let skipped = 0;
      for (let i = bucket.length - 1; i >= 0; i--) {
        const entry = bucket[i];
        if (!entry.live) {
          bucket.splice(i, 1);
          continue;
        }
        if (entry.bytes > budgetBytes - used || entry.key === skipKey) {
          skipped++;
          if (skipped > 8) break;
          continue;
        }
        bucket.splice(i, 1);
        used += entry.bytes;
        out.push(entry.item);
        entry.transmits = t + 1;
        if (entry.transmits >= limit) {
          entry.live = false;
          this.byKey.delete(entry.key);
        } else {
          moved.push(entry);
        }
      }
      if (budgetBytes - used < 32) break;
    }
    for (let i = 0; i < moved.length; i++) {
      const entry = moved[i];
      const t = entry.transmits;
      while (buckets.length <= t) buckets.push([]);
      buckets[t].push(entry);
    }
    if (moved.length > 0) moved.length = 0;
    return used;
  }

  private expire(bucket: Entry<T>[]): void {
    for (const entry of bucket) {
      if (entry.live) {
        entry.live = false;
        this.byKey.delete(entry.key);
      }
    }
    bucket.length = 0;
  }
}
