// Round-robin: each candidate in turn. The cursor survives changes of the
// candidate set (it is taken modulo the new size), so a join or failure does
// not send a burst to the first node.
import type { RouteNode } from './route-node.js';
import type { Strategy } from './strategy.js';

export class RoundRobin implements Strategy {
  readonly name = 'round-robin';
  private cursor = 0;

  pick(candidates: readonly RouteNode[]): RouteNode {
    const n = candidates.length;
    if (this.cursor >= n) this.cursor = 0;
    return candidates[this.cursor++];
  }

  reset(): void {}

  metricsChanged(): void {}
}
