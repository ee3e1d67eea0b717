// Adaptive routing: each candidate gets a cost in [0, 1], a weighted sum of
//
//   load       connections per unit of weight, over the largest among candidates
//   latency    latencyMs over the largest among candidates (unknown: 0.5)
//   resource   the node's reported resource use, clamped to [0, 1]
//   locality   0 same rack, 0.5 same datacenter, 1 elsewhere (localityTier / 2)
//
// with weights 0.3 / 0.3 / 0.2 / 0.2 by default (normalized to sum 1). Traffic
// is then spread by smooth weighted round-robin over weight * (1 - cost),
// floored at MIN_SHARE so that a poor node still sees a trickle of requests
// (and so fresh measurements). Spreading in proportion, rather than always
// taking the cheapest node, avoids the herd that follows a stale metric.
//
// The costs are recomputed at the next pick after any metric changes (one
// O(n) pass), not on every pick.
import { localityTier } from './locality.js';
import type { RouteNode } from './route-node.js';
import type { Strategy } from './strategy.js';
import { resetSmoothWeights, smoothWeightedPick } from './weighted-round-robin.js';

export interface AdaptiveWeights {
  readonly load: number;
  readonly latency: number;
  readonly resource: number;
  readonly locality: number;
}

export const DEFAULT_ADAPTIVE_WEIGHTS: AdaptiveWeights = Object.freeze({ load: 0.3, latency: 0.3, resource: 0.2, locality: 0.2 });

/** The smallest share of its weight a node keeps, however poor its cost. */
export const MIN_SHARE = 0.05;

/** Cost in [0, 1] of one node, given the candidates' largest load and latency. */
export function adaptiveCost(node: RouteNode, weights: AdaptiveWeights, maxLoad: number, maxLatencyMs: number, datacenter: string, rack: string): number {
  const load = maxLoad > 0 ? node.connections / node.weight / maxLoad : 0;
  const latency = node.latencyMs > 0 && maxLatencyMs > 0 ? node.latencyMs / maxLatencyMs : 0.5;
  const resource = node.resourceUse < 0 ? 0 : node.resourceUse > 1 ? 1 : node.resourceUse;
  const locality = localityTier(node, datacenter, rack) / 2;
  return weights.load * load + weights.latency * latency + weights.resource * resource + weights.locality * locality;
}

export class Adaptive implements Strategy {
  readonly name = 'adaptive';
  private dirty = true;
  private readonly weights: AdaptiveWeights;

  constructor(
    weights: AdaptiveWeights,
    private readonly datacenter: string,
    private readonly rack: string,
  ) {
    const sum = weights.load + weights.latency + weights.resource + weights.locality;
    this.weights = Object.freeze({ load: weights.load / sum, latency: weights.latency / sum, resource: weights.resource / sum, locality: weights.locality / sum });
  }

  pick(candidates: readonly RouteNode[]): RouteNode {
    if (this.dirty) this.recompute(candidates);
    return smoothWeightedPick(candidates, true);
  }

  reset(candidates: readonly RouteNode[]): void {
    resetSmoothWeights(candidates);
    this.dirty = true;
  }

  metricsChanged(): void {
    this.dirty = true;
  }

  private recompute(candidates: readonly RouteNode[]): void {
    let maxLoad = 0;
    let maxLatency = 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const load = c.connections / c.weight;
      if (load > maxLoad) maxLoad = load;
      if (c.latencyMs > maxLatency) maxLatency = c.latencyMs;
    }
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const goodness = 1 - adaptiveCost(c, this.weights, maxLoad, maxLatency, this.datacenter, this.rack);
      c.effective = c.weight * (goodness > MIN_SHARE ? goodness : MIN_SHARE);
    }
    this.dirty = false;
  }
}
