// A Vivaldi coordinate as bytes, the way members attach it to their probe
// acks (big-endian):
//
//   u8 version (1) | u8 dimensions | f64 * dimensions | f64 height ms
//   | f64 error | f64 adjustment ms
//
// 90 bytes at 8 dimensions. A peer's bytes are checked (version, length,
// finite and sane values) before they are believed.
import { isValidCoordinate, type Coordinate } from './vivaldi.js';

const VERSION = 1;

export function encodeCoordinate(c: Coordinate): Uint8Array {
  const dims = c.vec.length;
  const out = new Uint8Array(2 + 8 * (dims + 3));
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = dims;
  let at = 2;
  for (const x of c.vec) {
    view.setFloat64(at, x);
    at += 8;
  }
  view.setFloat64(at, c.heightMs);
  view.setFloat64(at + 8, c.error);
  view.setFloat64(at + 16, c.adjustmentMs);
  return out;
}

/** The coordinate in `bytes`, or null when they are not one of `dimensions`. */
export function decodeCoordinate(bytes: Uint8Array, dimensions: number): Coordinate | null {
  if (bytes.length !== 2 + 8 * (dimensions + 3) || bytes[0] !== VERSION || bytes[1] !== dimensions) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const vec: number[] = [];
  let at = 2;
  for (let i = 0; i < dimensions; i++, at += 8) vec.push(view.getFloat64(at));
  const c = { vec, heightMs: view.getFloat64(at), error: view.getFloat64(at + 8), adjustmentMs: view.getFloat64(at + 16) };
  return isValidCoordinate(c, dimensions) ? c : null;
}
