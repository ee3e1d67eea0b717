// Least connections: the candidate with the fewest requests in flight per
// unit of weight (connections / weight; equal weights make it plain least
// connections). Ties are broken by a rotating start, so idle nodes share the
// traffic instead of the first one taking all of it.
import type { RouteNode } from './route-node.js';
import type { Strategy } from './strategy.js';

export class LeastConnections implements Strategy {
  readonly name = 'least-connections';
  private start = 0;

  pick(candidates: readonly RouteNode[]): RouteNode {
    const n = candidates.length;
    if (this.start >= n) this.start = 0;
    let i = this.start;
    let best = candidates[i];
    let bestLoad = best.connections / best.weight;
    for (let k = 1; k < n; k++) {
      if (++i === n) i = 0;
      const c = candidates[i];
      const load = c.connections / c.weight;
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    this.start++;
    return best;
  }

  reset(): void {}

  metricsChanged(): void {}
}
