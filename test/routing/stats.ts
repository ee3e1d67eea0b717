// Goodness-of-fit helpers for the distribution tests.

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
export function chiSquareUniform(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  return chi;
}

/** Pearson's chi-square statistic against expected shares (summing to 1). */
export function chiSquare(counts: readonly number[], shares: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let chi = 0;
  counts.forEach((c, i) => {
    const e = total * shares[i];
    chi += (c - e) ** 2 / e;
  });
  return chi;
}

/**
 * The chi-square critical value for `df` degrees of freedom at p = 0.001
 * (Wilson-Hilferty approximation; z = 3.090).
 */
export function chiSquareCritical001(df: number): number {
  const z = 3.090232;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}
