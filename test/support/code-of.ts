import { expect } from 'vitest';
import { ClusterwireError } from '../../src/shared/errors.js';

/** The ClusterwireError code `p` rejects with, or 'resolved'. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterwireError);
    return (error as ClusterwireError).code;
  }
  return 'resolved';
}
