/** Polls `cond` until it holds; throws when it has not within `ms`. */
export async function until(cond: () => boolean, ms = 8000, pollMs = 2): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
