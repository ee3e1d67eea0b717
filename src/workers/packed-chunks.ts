// Many byte chunks in one buffer: what compression and hashing tasks return,
// so that a worker hands back one ArrayBuffer (moved, not copied) however
// many chunks a batch has.
//
//   bytes: | chunk 0 | chunk 1 | ... | chunk n-1 |
//   ends:  [ end 0,   end 1,   ...,   end n-1 ]    chunk i = bytes[ends[i-1], ends[i])

export interface PackedChunks {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

/** Copies `chunks` into one buffer of their own. */
export function packChunks(chunks: readonly Uint8Array[]): PackedChunks {
  let total = 0;
  for (const c of chunks) total += c.length;
  const bytes = new Uint8Array(new ArrayBuffer(total));
  const ends = new Uint32Array(chunks.length);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    bytes.set(chunks[i], at);
    at += chunks[i].length;
    ends[i] = at;
  }
  return { bytes, ends };
}

/** Chunk `i` of a packed batch, as a view. */
export function chunkAt(packed: PackedChunks, i: number): Uint8Array {
  return packed.bytes.subarray(i === 0 ? 0 : packed.ends[i - 1], packed.ends[i]);
}

/** Every chunk of a packed batch, as views. */
export function unpackChunks(packed: PackedChunks): Uint8Array[] {
  const out: Uint8Array[] = new Array(packed.ends.length);
  for (let i = 0; i < out.length; i++) out[i] = chunkAt(packed, i);
  return out;
}
