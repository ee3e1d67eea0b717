// Validation of option values, shared by every resolveXOptions(): a bad value
// is refused once, at the edge, with an error naming the field.
import { InvalidConfigError } from './errors.js';

/** `value` as an integer in [min, max], or InvalidConfigError naming `field`. */
export function integerOption(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(field, `expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** `value` as a finite number above 0, or InvalidConfigError naming `field`. */
export function positiveOption(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidConfigError(field, `expected a finite number above 0, got ${String(value)}`);
  }
  return value;
}
