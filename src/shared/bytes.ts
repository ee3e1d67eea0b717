// Byte buffers.

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
