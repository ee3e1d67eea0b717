// Reconnect backoff: how long to wait before the next attempt to reach a peer.
//
// Attempt n (counting from 0 since the last success) has a ceiling
//
//   ceiling(n) = min(maxDelayMs, initialDelayMs x multiplier^n)
//
// that is 100 ms, 200 ms, 400 ms, ... up to 30 s with the defaults, and the
// delay is drawn with EQUAL JITTER from [ceiling / 2, ceiling].
//
// Why equal jitter: reconnects are correlated (every node notices the same
// dead or restarted peer at about the same time, or a partition heals for
// many nodes at once), so the delays must be spread or the peer is met by a
// synchronised storm of dials at each step. Full jitter ([0, ceiling])
// spreads widest but sometimes draws a delay near zero at every step, so a
// refused peer can be redialled almost at once again and again; equal jitter
// keeps half of the ceiling as a floor, which bounds the dial rate against a
// dead peer, and still spreads the other half over a window as wide as that
// floor. 'full' and 'none' are available for callers who want them.
//
// The policy is pure: the caller passes a random source (the same seed gives
// the same delays) and arms its own timer with the delay returned.
import { InvalidConfigError } from '../../shared/errors.js';

export type JitterMode = 'equal' | 'full' | 'none';

export interface BackoffOptions {
  /** Ceiling of the first attempt, in ms. Default 100. */
  readonly initialDelayMs: number;
  /** Largest delay ever returned, in ms. Default 30 000. */
  readonly maxDelayMs: number;
  /** Growth of the ceiling per failed attempt. Default 2. */
  readonly multiplier: number;
  /** How the delay is drawn below the ceiling. Default 'equal'. */
  readonly jitter: JitterMode;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 'equal',
});

const HOUR_MS = 3_600_000;
const JITTER_MODES: readonly JitterMode[] = ['equal', 'full', 'none'];

export function resolveBackoffOptions(input: Partial<BackoffOptions> = {}): BackoffOptions {
  const initialDelayMs = input.initialDelayMs ?? DEFAULT_BACKOFF.initialDelayMs;
  const maxDelayMs = input.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
  const multiplier = input.multiplier ?? DEFAULT_BACKOFF.multiplier;
  const jitter = input.jitter ?? DEFAULT_BACKOFF.jitter;
  if (typeof initialDelayMs !== 'number' || !Number.isInteger(initialDelayMs) || initialDelayMs < 1 || initialDelayMs > HOUR_MS) {
    throw new InvalidConfigError('initialDelayMs', `expected an integer in [1, ${HOUR_MS}], got ${String(initialDelayMs)}`);
  }
  if (typeof maxDelayMs !== 'number' || !Number.isInteger(maxDelayMs) || maxDelayMs < initialDelayMs || maxDelayMs > HOUR_MS) {
    throw new InvalidConfigError('maxDelayMs', `expected an integer in [initialDelayMs (${initialDelayMs}), ${HOUR_MS}], got ${String(maxDelayMs)}`);
  }
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1 || multiplier > 10) {
    throw new InvalidConfigError('multiplier', `expected a number in [1, 10], got ${String(multiplier)}`);
  }
  if (!JITTER_MODES.includes(jitter)) {
    throw new InvalidConfigError('jitter', `expected one of ${JITTER_MODES.join(', ')}, got ${String(jitter)}`);
  }
  return Object.freeze({ initialDelayMs, maxDelayMs, multiplier, jitter });
}

/** The ceiling of attempt `attempt` (0-based), in whole ms. */
export function backoffCeilingMs(options: BackoffOptions, attempt: number): number {
  // multiplier ** attempt reaches Infinity for large attempts; min() caps it.
  return Math.min(options.maxDelayMs, Math.floor(options.initialDelayMs * options.multiplier ** attempt));
}

export interface BackoffDeps {
  /** Uniform in [0, 1), like Math.random (a seeded generator in tests and the simulator). */
  readonly random: () => number;
}

export class Backoff {
  readonly options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions, deps: BackoffDeps) {
    this.options = options;
    this.#random = deps.random;
  }

  /** Failed attempts since the last success (or since creation). */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in whole ms; counts one more failed attempt. */
  next(): number {
    const ceiling = backoffCeilingMs(this.options, this.#attempt);
    this.#attempt++;
    switch (this.options.jitter) {
      case 'none':
        return ceiling;
      case 'full':
        return Math.floor(this.draw() * (ceiling + 1));
      case 'equal': {
        const floor = Math.ceil(ceiling / 2);
        return floor + Math.floor(this.draw() * (ceiling - floor + 1));
      }
    }
  }

  /** Starts over from initialDelayMs: call after a successful connection. */
  reset(): void {
    this.#attempt = 0;
  }

  private draw(): number {
    const r = this.#random();
    if (typeof r !== 'number' || !(r >= 0 && r < 1)) {
      throw new InvalidConfigError('random', `returned ${String(r)}, expected a number in [0, 1)`);
    }
    return r;
  }
}
