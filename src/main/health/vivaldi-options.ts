// Options of the Vivaldi coordinate system (vivaldi.ts), validated once by
// resolveVivaldiOptions(). The defaults are those of the Vivaldi paper's
// evaluation and of Serf's network tomography, in milliseconds.
//
//   option                 default    meaning
//   dimensions             8          Euclidean dimensions of a coordinate (plus the height)
//   maxError               1.5        the largest (and initial) relative error a node claims
//   errorGain              0.25       ce: how fast the error estimate follows new samples
//   moveGain               0.25       cc: how far one sample moves the coordinate
//   adjustmentWindow       20         samples in the non-Euclidean adjustment average (0 = off)
//   minHeightMs            0.01       the smallest height (access-link latency) a node keeps
//   latencyFilterSize      3          RTTs per peer whose median is used (1 = no filter)
//   gravityRhoMs           150 000    the gravity pulling coordinates back to the origin
//   maxRttMs               10 000     RTT samples above this (or not positive) are ignored
//   maxPeers               4 096      peers with a latency filter; the least recently seen is dropped beyond
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption as integer, positiveOption as positive } from '../../shared/options.js';

export interface VivaldiOptionsInput {
  dimensions?: number;
  maxError?: number;
  errorGain?: number;
  moveGain?: number;
  adjustmentWindow?: number;
  minHeightMs?: number;
  latencyFilterSize?: number;
  gravityRhoMs?: number;
  maxRttMs?: number;
  maxPeers?: number;
}

export type VivaldiOptions = Readonly<Required<VivaldiOptionsInput>>;

export const DEFAULT_VIVALDI_OPTIONS: VivaldiOptions = Object.freeze({
  dimensions: 8,
  maxError: 1.5,
  errorGain: 0.25,
  moveGain: 0.25,
  adjustmentWindow: 20,
  minHeightMs: 0.01,
  latencyFilterSize: 3,
  gravityRhoMs: 150_000,
  maxRttMs: 10_000,
  maxPeers: 4_096,
});

export function resolveVivaldiOptions(input: VivaldiOptionsInput = {}): VivaldiOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const d = DEFAULT_VIVALDI_OPTIONS;
  return Object.freeze({
    dimensions: integer('dimensions', input.dimensions ?? d.dimensions, 1, 64),
    maxError: positive('maxError', input.maxError ?? d.maxError),
    errorGain: fraction('errorGain', input.errorGain ?? d.errorGain),
    moveGain: fraction('moveGain', input.moveGain ?? d.moveGain),
    adjustmentWindow: integer('adjustmentWindow', input.adjustmentWindow ?? d.adjustmentWindow, 0, 1_024),
    minHeightMs: positive('minHeightMs', input.minHeightMs ?? d.minHeightMs),
    latencyFilterSize: integer('latencyFilterSize', input.latencyFilterSize ?? d.latencyFilterSize, 1, 64),
    gravityRhoMs: positive('gravityRhoMs', input.gravityRhoMs ?? d.gravityRhoMs),
    maxRttMs: positive('maxRttMs', input.maxRttMs ?? d.maxRttMs),
    maxPeers: integer('maxPeers', input.maxPeers ?? d.maxPeers, 1, 1_048_576),
  });
}

function fraction(field: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new InvalidConfigError(field, `expected a number in (0, 1], got ${String(value)}`);
  return value;
}

