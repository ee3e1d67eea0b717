// How a task reports a failure of one item of a batch (a message that does
// not encode, a frame that does not check): plain data, so that it crosses
// threads as it is, and the same from the inline path and from a worker.
import { ClusterwireError, ErrorCode } from '../shared/errors.js';

export interface TaskError {
  /** Index of the item in its batch. */
  readonly index: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * The plain form of an error thrown while handling item `index`. Errors that
 * are not clusterwire's (a TypeError from a field of the wrong type) are
 * reported under `fallback`.
 */
export function taskError(index: number, error: unknown, fallback: ErrorCode): TaskError {
  if (error instanceof ClusterwireError) return { index, code: error.code, message: error.message };
  return { index, code: fallback, message: error instanceof Error ? error.message : String(error) };
}

/** A ClusterwireError carrying a task error's code and text. */
export function toError(error: TaskError): ClusterwireError {
  return new ClusterwireError(error.code, error.message);
}
