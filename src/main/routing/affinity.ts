// Connection affinity (sticky sessions): a session id stays bound to the node
// that served it until the session has been idle for the timeout (1 h by
// default). Every use renews the binding.
//
// The table is a Map kept in order of last use: a use moves the entry to the
// end, so the least recently used entry is always first. That makes both
// expiry (drop from the front while expired) and the bound (evict the front
// when full) O(1) per entry, with no timer and no scan.

export interface AffinityEntry<T> {
  target: T;
  expiresAt: number;
}

export class AffinityTable<T> {
  private readonly entries = new Map<string, AffinityEntry<T>>();
  /** Bindings dropped because the table was full. */
  evictions = 0;
  /** Bindings dropped because they expired. */
  expirations = 0;

  constructor(
    readonly timeoutMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The target bound to `session` at `nowMs`, renewing it; undefined when none or expired. */
  lookup(session: string, nowMs: number): T | undefined {
    const e = this.entries.get(session);
    if (e === undefined) return undefined;
    this.entries.delete(session);
    if (e.expiresAt <= nowMs) {
      this.expirations++;
      return undefined;
    }
    e.expiresAt = nowMs + this.timeoutMs;
    this.entries.set(session, e);
    return e.target;
  }

  /** Binds (or rebinds) `session` to `target` from `nowMs`. */
  bind(session: string, target: T, nowMs: number): void {
    let e = this.entries.get(session);
    if (e !== undefined) {
      this.entries.delete(session);
      e.target = target;
      e.expiresAt = nowMs + this.timeoutMs;
    } else {
      this.sweep(nowMs);
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
        this.evictions++;
      }
      e = { target, expiresAt: nowMs + this.timeoutMs };
    }
    this.entries.set(session, e);
  }

  /** Ends a session's binding; true when there was one. */
  unbind(session: string): boolean {
    return this.entries.delete(session);
  }

  /** Drops every binding expired at `nowMs`; returns how many. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [session, e] of this.entries) {
      if (e.expiresAt > nowMs) break;
      this.entries.delete(session);
      dropped++;
    }
    this.expirations += dropped;
    return dropped;
  }

  /** Drops every binding whose target matches (a node that left); O(size). */
  unbindWhere(match: (target: T) => boolean): number {
    let dropped = 0;
    for (const [session, e] of this.entries) {
      if (match(e.target)) {
        this.entries.delete(session);
        dropped++;
      }
    }
    return dropped;
  }
}
