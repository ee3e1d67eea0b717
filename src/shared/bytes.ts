// Byte buffers.

/**
 * A Uint8Array of `length` bytes that are not zeroed first (what
 * Buffer.allocUnsafe gives, as a plain Uint8Array). For buffers the caller
 * fills completely before anyone reads them: zeroing a megabyte costs about
 * as much as copying one.
 */
export function uninitializedBytes(length: number): Uint8Array {
  const b = Buffer.allocUnsafe(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}
