// Smooth weighted round-robin (the scheme nginx uses for upstream weights):
// per pick every candidate's running value grows by its weight, the largest
// is chosen and loses the sum of all weights. Over any run of sum(weights)
// picks each node is chosen exactly weight times (for integer weights), and
// the picks of a heavy node are spread out rather than sent in a burst.
//
// The adaptive strategy runs the same step over weights it derives from
// metrics: smoothWeightedPick() takes the weight field to read.
import type { RouteNode } from './route-node.js';
import type { Strategy } from './strategy.js';

/** One smooth weighted round-robin step over `weight` (useEffective: the adaptive weight). */
export function smoothWeightedPick(candidates: readonly RouteNode[], useEffective: boolean): RouteNode {
  let best = candidates[0];
  let total = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    const w = useEffective ? c.effective : c.weight;
    c.current += w;
    total += w;
    if (c.current > best.current) best = c;
  }
  best.current -= total;
  return best;
}

export function resetSmoothWeights(candidates: readonly RouteNode[]): void {
  for (let i = 0; i < candidates.length; i++) candidates[i].current = 0;
}

export class WeightedRoundRobin implements Strategy {
  readonly name = 'weighted-round-robin';

  pick(candidates: readonly RouteNode[]): RouteNode {
    return smoothWeightedPick(candidates, false);
  }

  reset(candidates: readonly RouteNode[]): void {
    resetSmoothWeights(candidates);
  }

  metricsChanged(): void {}
}
