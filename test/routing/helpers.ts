import { Router } from '../../src/main/routing/router.js';
import type { RouterOptionsInput } from '../../src/main/routing/router-options.js';

/** A router with `n` alive nodes node-0 .. node-(n-1); hotspots off unless the options set them. */
export function routerWith(n: number, options: RouterOptionsInput = {}): Router {
  const r = new Router({ hotspotThresholdQps: 1e12, ...options });
  for (let i = 0; i < n; i++) r.setNode(`node-${i}`, { state: 'alive' });
  return r;
}

/** How many requests each id received. */
export function tally(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}
