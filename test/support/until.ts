/**
 * Polls `cond` until it holds; throws when it has not within `ms`. `state`,
 * when given, says what was seen instead, in the error.
 */
export async function until(cond: () => boolean, ms = 8000, pollMs = 2, state?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(state === undefined ? 'condition not met in time' : `condition not met in time: ${state()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
