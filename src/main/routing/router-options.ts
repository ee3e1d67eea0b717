// Options of the router (router.ts), validated once by resolveRouterOptions();
// the router only reads resolved values.
//
//   option                  default       meaning
//   strategy                'adaptive'    how requests without a key are spread: 'round-robin',
//                                         'least-connections', 'weighted-round-robin', 'locality', 'adaptive'
//   adaptiveWeights         load 0.3, latency 0.3, resource 0.2, locality 0.2
//                                         the adaptive cost's terms (each >= 0, sum > 0; normalized)
//   datacenter              ''            this node's datacenter, for locality ('' = unknown: no preference)
//   rack                    ''            this node's rack
//   hotspotThresholdQps     1 000         a node routed more than this many requests per second is hot
//   hotspotWindowMs         60 000        the rolling window the rate is measured over
//   hotspotBucketMs         1 000         the window's resolution (windowMs / bucketMs counters per node, <= 3 600)
//   hotspotCoolRatio        0.9           a hot node cools below thresholdQps * coolRatio (0 < ratio <= 1)
//   affinityTimeoutMs       3 600 000     a sticky session idle this long is forgotten
//   maxAffinitySessions     100 000       sticky sessions held; the least recently used is evicted beyond
//   maxNodes                65 536        nodes the router tracks; setNode() of one more throws
import { InvalidConfigError } from '../../shared/errors.js';
import { DEFAULT_ADAPTIVE_WEIGHTS, type AdaptiveWeights } from './adaptive.js';
import { STRATEGY_NAMES, type StrategyName } from './strategy.js';
import { integerOption as integer, positiveOption as positive } from '../../shared/options.js';

export const DEFAULT_STRATEGY: StrategyName = 'adaptive';
export const DEFAULT_HOTSPOT_THRESHOLD_QPS = 1_000;
export const DEFAULT_HOTSPOT_WINDOW_MS = 60_000;
export const DEFAULT_HOTSPOT_BUCKET_MS = 1_000;
export const DEFAULT_HOTSPOT_COOL_RATIO = 0.9;
export const DEFAULT_AFFINITY_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_AFFINITY_SESSIONS = 100_000;
export const DEFAULT_MAX_NODES = 65_536;
const MAX_BUCKETS = 3_600;

export interface RouterOptionsInput {
  strategy?: StrategyName;
  adaptiveWeights?: Partial<AdaptiveWeights>;
  datacenter?: string;
  rack?: string;
  hotspotThresholdQps?: number;
  hotspotWindowMs?: number;
  hotspotBucketMs?: number;
  hotspotCoolRatio?: number;
  affinityTimeoutMs?: number;
  maxAffinitySessions?: number;
  maxNodes?: number;
}

export interface RouterOptions {
  readonly strategy: StrategyName;
  readonly adaptiveWeights: AdaptiveWeights;
  readonly datacenter: string;
  readonly rack: string;
  readonly hotspotThresholdQps: number;
  readonly hotspotWindowMs: number;
  readonly hotspotBucketMs: number;
  readonly hotspotCoolRatio: number;
  readonly affinityTimeoutMs: number;
  readonly maxAffinitySessions: number;
  readonly maxNodes: number;
}

export function resolveRouterOptions(input: RouterOptionsInput = {}): RouterOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const strategy = input.strategy ?? DEFAULT_STRATEGY;
  if (!STRATEGY_NAMES.includes(strategy)) {
    throw new InvalidConfigError('strategy', `expected one of ${STRATEGY_NAMES.join(', ')}, got ${String(strategy)}`);
  }
  const adaptiveWeights = resolveWeights(input.adaptiveWeights ?? {});
  const datacenter = text('datacenter', input.datacenter ?? '');
  const rack = text('rack', input.rack ?? '');
  const hotspotThresholdQps = positive('hotspotThresholdQps', input.hotspotThresholdQps ?? DEFAULT_HOTSPOT_THRESHOLD_QPS);
  const hotspotWindowMs = integer('hotspotWindowMs', input.hotspotWindowMs ?? DEFAULT_HOTSPOT_WINDOW_MS, 1, 86_400_000);
  const hotspotBucketMs = integer('hotspotBucketMs', input.hotspotBucketMs ?? DEFAULT_HOTSPOT_BUCKET_MS, 1, hotspotWindowMs);
  if (hotspotWindowMs / hotspotBucketMs > MAX_BUCKETS) {
    throw new InvalidConfigError('hotspotBucketMs', `the window holds at most ${MAX_BUCKETS} buckets; ${hotspotBucketMs} ms buckets over ${hotspotWindowMs} ms are too many`);
  }
  const hotspotCoolRatio = input.hotspotCoolRatio ?? DEFAULT_HOTSPOT_COOL_RATIO;
  if (typeof hotspotCoolRatio !== 'number' || !(hotspotCoolRatio > 0 && hotspotCoolRatio <= 1)) {
    throw new InvalidConfigError('hotspotCoolRatio', `expected a number in (0, 1], got ${String(hotspotCoolRatio)}`);
  }
  const affinityTimeoutMs = integer('affinityTimeoutMs', input.affinityTimeoutMs ?? DEFAULT_AFFINITY_TIMEOUT_MS, 1, Number.MAX_SAFE_INTEGER);
  const maxAffinitySessions = integer('maxAffinitySessions', input.maxAffinitySessions ?? DEFAULT_MAX_AFFINITY_SESSIONS, 0, 16_777_216);
  const maxNodes = integer('maxNodes', input.maxNodes ?? DEFAULT_MAX_NODES, 1, 1_048_576);
  return Object.freeze({
    strategy,
    adaptiveWeights,
    datacenter,
    rack,
    hotspotThresholdQps,
    hotspotWindowMs,
    hotspotBucketMs,
    hotspotCoolRatio,
    affinityTimeoutMs,
    maxAffinitySessions,
    maxNodes,
  });
}

function resolveWeights(value: unknown): AdaptiveWeights {
  if (value === null || typeof value !== 'object') throw new InvalidConfigError('adaptiveWeights', 'expected an object');
  const v = value as Partial<AdaptiveWeights>;
  const weight = (k: keyof AdaptiveWeights): number => {
    const w = v[k] ?? DEFAULT_ADAPTIVE_WEIGHTS[k];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new InvalidConfigError(`adaptiveWeights.${k}`, `expected a finite number >= 0, got ${String(w)}`);
    }
    return w;
  };
  const weights = { load: weight('load'), latency: weight('latency'), resource: weight('resource'), locality: weight('locality') };
  if (weights.load + weights.latency + weights.resource + weights.locality <= 0) {
    throw new InvalidConfigError('adaptiveWeights', 'at least one weight must be above 0');
  }
  return Object.freeze(weights);
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidConfigError(field, `expected a string, got ${typeof value}`);
  return value;
}

