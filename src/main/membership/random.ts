// The randomness a membership core is given. Cores never call Math.random():
// the caller injects a source, so a seeded source replays a run exactly.

export interface Random {
  /** A uniform integer in [0, bound), bound >= 1. */
  nextInt(bound: number): number;
  /** A uniform float in [0, 1). */
  nextFloat(): number;
}

/** Shuffles `items` in place (Fisher-Yates) with the given source. */
export function shuffle<T>(items: T[], rng: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}
