// The connections to one peer: kept between minConnections and
// maxConnections, chosen per message by a strategy, redialled with backoff
// when they fail, checked by periodic pings, and trimmed when idle.
//
//   strategy 'round-robin'      the next active connection in turn
//            'least-loaded'     the one with the fewest bytes queued
//            'first-available'  the first active one below its high-water mark
//
// A new connection is dialled (up to maxConnections) when every active one is
// above its high-water mark. A connection whose pings time out
// `unhealthyAfterMissedPings` times in a row is closed and replaced. Idle
// connections above minConnections are closed after idleCloseMs.
import { InvalidConfigError, PeerUnavailableError, type ClusterwireError } from '../../shared/errors.js';
import { Backoff, resolveBackoffOptions, type BackoffOptions } from './backoff.js';
import type { Connection } from './connection.js';
import type { Transport } from './transport.js';

export type PoolStrategy = 'round-robin' | 'least-loaded' | 'first-available';

export interface PoolOptions {
  /** Default 1. */
  readonly minConnections: number;
  /** Default 4. */
  readonly maxConnections: number;
  readonly strategy: PoolStrategy;
  /** Default 5 000; 0 turns health checks off. */
  readonly healthCheckIntervalMs: number;
  /** Default 2 000. */
  readonly pingTimeoutMs: number;
  /** Default 3. */
  readonly unhealthyAfterMissedPings: number;
  /** Connections above the minimum idle this long are closed. Default 60 000. */
  readonly idleCloseMs: number;
  readonly backoff: BackoffOptions;
}

export const POOL_DEFAULTS = Object.freeze({
  minConnections: 1,
  maxConnections: 4,
  strategy: 'round-robin' as PoolStrategy,
  healthCheckIntervalMs: 5_000,
  pingTimeoutMs: 2_000,
  unhealthyAfterMissedPings: 3,
  idleCloseMs: 60_000,
});

const STRATEGIES: readonly PoolStrategy[] = ['round-robin', 'least-loaded', 'first-available'];

export function resolvePoolOptions(input: Partial<Omit<PoolOptions, 'backoff'>> & { backoff?: Partial<BackoffOptions> } = {}): PoolOptions {
  const o = { ...POOL_DEFAULTS, ...input };
  for (const [name, min] of [['minConnections', 0], ['maxConnections', 1], ['healthCheckIntervalMs', 0], ['pingTimeoutMs', 1], ['unhealthyAfterMissedPings', 1], ['idleCloseMs', 1]] as const) {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidConfigError(name, `expected an integer >= ${min}, got ${String(v)}`);
  }
  if (o.maxConnections < o.minConnections) throw new InvalidConfigError('maxConnections', 'must be at least minConnections');
  if (!STRATEGIES.includes(o.strategy)) throw new InvalidConfigError('strategy', `expected one of ${STRATEGIES.join(', ')}`);
  return Object.freeze({ ...o, backoff: resolveBackoffOptions(input.backoff) });
}

export interface PoolPeer {
  nodeId: string;
  host: string;
  port: number;
}

/** Rolling window of the last round trips. */
const RTT_WINDOW = 100;

export class ConnectionPool {
  readonly options: PoolOptions;
  private readonly connections: Connection[] = [];
  private dialing = 0;
  private next = 0;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly missed = new Map<Connection, number>();
  private stopped = false;
  private readonly rtts: number[] = [];
  /** Callers of connection() waiting for a dial to finish. */
  private waiters: { resolve(c: Connection): void; reject(e: ClusterwireError): void }[] = [];
  /** The last error that made a dial fail. */
  lastError: ClusterwireError | null = null;
  /** Dials that failed, in a row. */
  failures = 0;

  constructor(
    private readonly transport: Transport,
    readonly peer: PoolPeer,
    options: Partial<Omit<PoolOptions, 'backoff'>> & { backoff?: Partial<BackoffOptions> } = {},
    random: () => number = Math.random,
  ) {
    this.options = resolvePoolOptions(options);
    this.backoff = new Backoff(this.options.backoff, { random });
  }

  /** Dials the minimum and starts health checks. */
  start(): void {
    this.fill();
    if (this.options.healthCheckIntervalMs > 0) {
      this.healthTimer = setInterval(() => this.checkHealth(), this.options.healthCheckIntervalMs);
      this.healthTimer.unref();
    }
  }

  /** Closes every connection and stops redialling. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.healthTimer !== null) clearInterval(this.healthTimer);
    this.retryTimer = this.healthTimer = null;
    for (const c of this.connections) c.close();
    this.settleWaiters(new PeerUnavailableError(this.peer.nodeId, 'pool stopped'));
  }

  /** Active connections now. */
  get size(): number {
    return this.connections.length;
  }

  /** Average and p99 of the last round trips, in ms (NaN before the first). */
  rtt(): { avgMs: number; p99Ms: number } {
    if (this.rtts.length === 0) return { avgMs: NaN, p99Ms: NaN };
    const sorted = [...this.rtts].sort((a, b) => a - b);
    return { avgMs: sorted.reduce((a, b) => a + b, 0) / sorted.length, p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] };
  }

  /** A connection for the next message, by the pool's strategy; ERR_PEER_UNAVAILABLE when there is none. */
  acquire(): Connection {
    const list = this.connections;
    const n = list.length;
    if (n === 0) {
      if (this.dialing === 0) this.fill(1);
      throw new PeerUnavailableError(this.peer.nodeId, this.lastError ? `no connection (${this.lastError.message})` : 'no connection yet');
    }
    let chosen: Connection;
    // (n > 0 from here)
    switch (this.options.strategy) {
      case 'round-robin':
        chosen = list[this.next++ % n];
        break;
      case 'least-loaded': {
        chosen = list[0];
        for (let i = 1; i < n; i++) if (list[i].queuedBytes < chosen.queuedBytes) chosen = list[i];
        break;
      }
      default: {
        chosen = list.find((c) => c.writable) ?? list[0];
      }
    }
    if (!chosen.writable && n + this.dialing < this.options.maxConnections && list.every((c) => !c.writable)) this.dial();
    return chosen;
  }

  /**
   * A connection for the next message, dialling one first when the pool has
   * none: resolves when that dial's handshake completes, rejects with its
   * error (the dial is bounded by the connect and handshake timeouts), so a
   * caller never waits out a backoff delay for a peer that just failed.
   */
  connection(): Promise<Connection> {
    if (this.connections.length > 0) return Promise.resolve(this.acquire());
    if (this.stopped) return Promise.reject(new PeerUnavailableError(this.peer.nodeId, 'pool stopped'));
    const waiting = new Promise<Connection>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.dialing === 0) {
      if (this.retryTimer !== null) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      this.dial();
    }
    return waiting;
  }

  /** Dials up to `target` connections, unless a retry is already scheduled. */
  private fill(target = this.options.minConnections): void {
    if (this.stopped || this.retryTimer !== null) return;
    while (this.connections.length + this.dialing < target) this.dial();
  }

  private dial(): void {
    this.dialing++;
    this.transport.connect(this.peer.host, this.peer.port, { nodeId: this.peer.nodeId }).then(
      (connection) => {
        this.dialing--;
        if (this.stopped) {
          connection.close();
          return;
        }
        this.backoff.reset();
        this.failures = 0;
        this.connections.push(connection);
        connection.socket.on('close', () => this.remove(connection));
        this.settleWaiters(null);
      },
      (error: ClusterwireError) => {
        this.dialing--;
        this.lastError = error;
        this.failures++;
        if (this.dialing === 0) this.settleWaiters(error);
        this.scheduleRetry();
      },
    );
  }

  private settleWaiters(error: ClusterwireError | null): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error === null && this.connections.length > 0) w.resolve(this.acquire());
      else w.reject(error ?? new PeerUnavailableError(this.peer.nodeId, 'no connection'));
    }
  }

  private remove(connection: Connection): void {
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    this.missed.delete(connection);
    if (connection.error !== null) this.lastError = connection.error;
    if (!this.stopped && this.connections.length < this.options.minConnections) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.fill(Math.max(1, this.options.minConnections));
    }, delay);
    this.retryTimer.unref();
  }

  private checkHealth(): void {
    const now = performance.now();
    for (const c of [...this.connections]) {
      if (this.connections.length > this.options.minConnections && (c.state === 'idle' || now - c.counters.lastActivityMs > this.options.idleCloseMs)) {
        c.close();
        continue;
      }
      c.ping(this.options.pingTimeoutMs).then(
        (rtt) => {
          this.missed.set(c, 0);
          this.rtts.push(rtt);
          if (this.rtts.length > RTT_WINDOW) this.rtts.shift();
        },
        () => {
          const missed = (this.missed.get(c) ?? 0) + 1;
          this.missed.set(c, missed);
          if (missed >= this.options.unhealthyAfterMissedPings) c.destroy(new PeerUnavailableError(this.peer.nodeId, `${missed} pings unanswered`));
        },
      );
    }
  }
}
