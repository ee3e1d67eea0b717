// The replay cache: handshake nonces seen recently, so that a captured
// HandshakeRequest sent again is refused.
//
// One cache serves every accepted connection of a listener. Each nonce is
// remembered for `windowMs` of the MONOTONIC clock from when it was first
// seen, so a wall-clock step (NTP, a VM resume) can neither shorten nor
// lengthen how long it is remembered. The acceptor uses twice its clock-skew
// allowance: a request stamped T passes the skew check while the acceptor's
// wall clock is anywhere in [T - skew, T + skew], a span of 2 x skew, and its
// nonce must be remembered for all of it.
//
// Memory is bounded: at most `maxEntries` nonces (of at most 64 bytes) are
// kept. When the cache is full of nonces that have not yet expired it FAILS
// CLOSED: the new nonce is not recorded and remember() answers 'full', and
// the acceptor refuses that handshake ('too_many_connections') until old
// entries expire. Evicting the oldest entry instead would let a flood of
// handshakes push a captured nonce out and then replay it; refusing keeps
// the guarantee that no nonce is ever accepted twice within the window, at
// the price of refusing new handshakes during such a flood (which a flood of
// connections costs anyway).
//
// Entries are kept in a Map in insertion order; with a non-decreasing clock
// that is also expiry order, so expired entries are dropped from the front
// in amortised O(1).
import { InvalidConfigError } from '../../shared/errors.js';

export type NonceVerdict = 'fresh' | 'replay' | 'full';

export interface NonceCacheOptions {
  /** How long a nonce is remembered, in monotonic milliseconds. */
  readonly windowMs: number;
  /** Most nonces kept at once. */
  readonly maxEntries: number;
}

export class NonceCache {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** Nonce (as a latin1 string, one char per byte) -> monotonic expiry time. */
  readonly #expiry = new Map<string, number>();

  constructor(options: NonceCacheOptions) {
    const { windowMs, maxEntries } = options;
    if (typeof windowMs !== 'number' || !Number.isSafeInteger(windowMs) || windowMs < 1) {
      throw new InvalidConfigError('windowMs', `expected a positive integer, got ${String(windowMs)}`);
    }
    if (typeof maxEntries !== 'number' || !Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidConfigError('maxEntries', `expected a positive integer, got ${String(maxEntries)}`);
    }
    this.windowMs = windowMs;
    this.maxEntries = maxEntries;
  }

  /** Nonces currently held (some may have expired since the last call). */
  get size(): number {
    return this.#expiry.size;
  }

  /**
   * Records `nonce` as seen at monotonic time `now`. Answers 'fresh' when it
   * was not seen within the window (it is now remembered), 'replay' when it
   * was, and 'full' when the cache holds maxEntries live nonces (nothing is
   * recorded).
   */
  remember(nonce: Uint8Array, now: number): NonceVerdict {
    this.purge(now);
    const key = keyOf(nonce);
    const expiresAt = this.#expiry.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return 'replay';
      // Expired but behind a live entry (the clock went backwards once).
      this.#expiry.delete(key);
    }
    if (this.#expiry.size >= this.maxEntries) return 'full';
    this.#expiry.set(key, now + this.windowMs);
    return 'fresh';
  }

  /** True when `nonce` was seen within the window before `now`. */
  has(nonce: Uint8Array, now: number): boolean {
    const expiresAt = this.#expiry.get(keyOf(nonce));
    return expiresAt !== undefined && expiresAt > now;
  }

  /** Drops the entries expired at `now`; returns how many. */
  purge(now: number): number {
    let dropped = 0;
    for (const [key, expiresAt] of this.#expiry) {
      if (expiresAt > now) break;
      this.#expiry.delete(key);
      dropped++;
    }
    return dropped;
  }
}

function keyOf(nonce: Uint8Array): string {
  return Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('latin1');
}
