// Byte buffers.

/**
 * A copy of `b` in memory of its own. (Not `b.slice()`: on a Buffer, which
 * is also a Uint8Array, slice() returns a view of the same memory.)
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * A Uint8Array of `length` bytes that are not zeroed first, in an
 * ArrayBuffer of its own (never a slice of Node's shared pool, whose
 * neighbouring bytes a view's `.buffer` would expose and keep alive). For
 * buffers the caller fills completely before anyone reads them: zeroing a
 * megabyte costs about as much as copying one.
 */
export function uninitializedBytes(length: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}
