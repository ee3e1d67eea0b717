// The randomness a membership core is given. Cores never call Math.random():
// the caller injects a source, so a seeded source replays a run exactly.

export interface Random {
  /** A uniform integer in [0, bound), bound >= 1. */
  nextInt(bound: number): number;
  /** A uniform float in [0, 1). */
  nextFloat(): number;
}

/** Shuffles the first `length` items in place (Fisher-Yates) with the given source; arrays and typed arrays alike. */
export function shuffle<T>(items: { [index: number]: T; readonly length: number }, rng: Random, length = items.length): void {
  for (let i = length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}
