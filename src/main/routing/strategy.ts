// The contract every load-distribution strategy fulfils. The router hands a
// strategy the candidates that may take the request (alive, and not hot
// unless every alive node is hot) as an array it rebuilds only when the set
// changes; pick() runs per request and must not allocate.
import type { RouteNode } from './route-node.js';

export type StrategyName = 'round-robin' | 'least-connections' | 'weighted-round-robin' | 'locality' | 'adaptive';

export const STRATEGY_NAMES: readonly StrategyName[] = ['round-robin', 'least-connections', 'weighted-round-robin', 'locality', 'adaptive'];

export interface Strategy {
  readonly name: StrategyName;
  /** Chooses one of `candidates` (never empty). */
  pick(candidates: readonly RouteNode[]): RouteNode;
  /** The candidate set changed (a join, a failure, a hotspot): drop per-set state. */
  reset(candidates: readonly RouteNode[]): void;
  /** A node's load, latency, resource use or weight changed. */
  metricsChanged(): void;
}
