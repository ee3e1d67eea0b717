// Key-based routing by rendezvous (highest random weight) hashing: every
// candidate scores the key, the highest score takes it. The same key goes to
// the same node while the candidate set is unchanged, and when a node joins
// or fails only the keys whose winner changes move: those the new node now
// wins (about 1/N of them) or those the failed node held. No ring, no
// virtual nodes, and nothing to rebuild on a membership change.
//
// Weights use the logarithmic method (Schindelhauer and Schomaker, "Weighted
// distributed hash tables"; Resch's weighted rendezvous): score =
// weight / -ln(u) with u uniform in (0, 1), which gives each node a share of
// keys proportional to its weight and keeps the minimal-movement property.
// With equal weights -ln is skipped: u orders the nodes the same way.
import { hashOut, hashString, mixUnit } from './key-hash.js';
import type { RouteNode } from './route-node.js';

/** The rendezvous score of `node` for a key hashed into (keyHi, keyLo). */
export function rendezvousScore(node: RouteNode, keyHi: number, keyLo: number, weighted: boolean): number {
  const u = mixUnit(keyHi, keyLo, node.seedHi, node.seedLo);
  return weighted ? node.weight / -Math.log(u) : u;
}

/** Gives a node its rendezvous seed (the hash of its id); done once, when the router learns the node. */
export function seedNode(node: RouteNode): void {
  hashString(node.id);
  node.seedHi = hashOut[0];
  node.seedLo = hashOut[1];
}

export class Rendezvous {
  /** False when every candidate has the same weight. */
  private weighted = false;

  /** The candidate set changed: decide once whether weights matter. */
  reset(candidates: readonly RouteNode[]): void {
    this.weighted = false;
    for (let i = 1; i < candidates.length; i++) if (candidates[i].weight !== candidates[0].weight) this.weighted = true;
  }

  /** The node that owns `key` among `candidates` (never empty). */
  pick(candidates: readonly RouteNode[], key: string): RouteNode {
    hashString(key);
    const hi = hashOut[0];
    const lo = hashOut[1];
    const weighted = this.weighted;
    let best = candidates[0];
    let bestScore = rendezvousScore(best, hi, lo, weighted);
    for (let i = 1; i < candidates.length; i++) {
      const c = candidates[i];
      const s = rendezvousScore(c, hi, lo, weighted);
      // Ties (vanishingly rare) go to the smaller id, so every node agrees.
      if (s > bestScore || (s === bestScore && c.id < best.id)) {
        best = c;
        bestScore = s;
      }
    }
    return best;
  }

  /**
   * The `count` best nodes for `key`, best first (for replicas or fallbacks);
   * allocates, so it is for setup paths rather than per request.
   */
  rank(candidates: readonly RouteNode[], key: string, count: number): RouteNode[] {
    hashString(key);
    const hi = hashOut[0];
    const lo = hashOut[1];
    const scored = candidates.map((c) => ({ c, s: rendezvousScore(c, hi, lo, this.weighted) }));
    scored.sort((x, y) => y.s - x.s || (x.c.id < y.c.id ? -1 : 1));
    return scored.slice(0, count).map((e) => e.c);
  }
}
