// Locality-aware routing: the candidates in this node's rack first, then the
// rest of its datacenter, then anywhere; round-robin within the nearest tier
// that has a candidate. The tiers are rebuilt only when the candidate set
// changes. An empty local datacenter (not configured) puts every node in one
// tier, which is plain round-robin.
import type { RouteNode } from './route-node.js';
import type { Strategy } from './strategy.js';

/** How near a node is to the local one: 0 same rack, 1 same datacenter, 2 elsewhere. */
export function localityTier(node: RouteNode, datacenter: string, rack: string): 0 | 1 | 2 {
  if (datacenter === '' || node.datacenter !== datacenter) return datacenter === '' ? 0 : 2;
  return rack !== '' && node.rack === rack ? 0 : 1;
}

export class Locality implements Strategy {
  readonly name = 'locality';
  private readonly tiers: RouteNode[][] = [[], [], []];
  private readonly cursors = [0, 0, 0];

  constructor(
    private readonly datacenter: string,
    private readonly rack: string,
  ) {}

  pick(candidates: readonly RouteNode[]): RouteNode {
    for (let t = 0; t < 3; t++) {
      const tier = this.tiers[t];
      const n = tier.length;
      if (n === 0) continue;
      let c = this.cursors[t];
      if (c >= n) c = 0;
      this.cursors[t] = c + 1;
      return tier[c];
    }
    // reset() was not called for this set (cannot happen through the Router); stay correct anyway.
    return candidates[0];
  }

  reset(candidates: readonly RouteNode[]): void {
    for (const tier of this.tiers) tier.length = 0;
    for (const c of candidates) this.tiers[localityTier(c, this.datacenter, this.rack)].push(c);
  }

  metricsChanged(): void {}
}
