// A synchronous 64-bit hash of a string, for key-based routing on the hot
// path. hash-wasm's xxhash64 needs an async instance and a UTF-8 encode per
// key plus a call into WebAssembly; this hash reads UTF-16 code units in
// place and costs a few multiplies per two characters: bench/routing.ts
// measures it about 5x faster than the prepared xxhash64 instance on
// ~30-character keys (bench/results/routing.md). It is not a cryptographic hash: rendezvous only needs keys
// to spread evenly, and rendezvousScore() mixes the result again with the
// node's own hash.
//
// Two 32-bit lanes take each 32-bit word (two code units): lane 1 with
// MurmurHash3's word mix and step, lane 2 with different multipliers and
// rotations. The tail and the length are folded in, then both lanes are
// finalized with an avalanche and cross-added, so every input bit reaches
// all 64 output bits.

/** The last hash's two halves; hashString() writes here, so the hot path allocates nothing. */
export const hashOut = new Uint32Array(2);

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const C3 = 0x85ebca77;
const C4 = 0xc2b2ae3d;

/** Hashes `s` into hashOut[0] (high half) and hashOut[1] (low half). */
export function hashString(s: string, seed = 0): void {
  const n = s.length;
  let h1 = (0x9747b28c ^ seed) | 0;
  let h2 = (0x2545f491 ^ Math.imul(seed, 0x27d4eb2f)) | 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 = (h2 + Math.imul(k ^ (k >>> 16), C3)) | 0;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2, 9) + 0x38495ab5) | 0;
  }
  if (i < n) {
    let k = Math.imul(s.charCodeAt(i), C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h1 ^= k;
    h2 = (h2 + Math.imul(k ^ (k >>> 16), C3)) | 0;
  }
  h1 ^= n;
  h2 ^= Math.imul(n, C4);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = avalanche(h1);
  h2 = avalanche(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  hashOut[0] = h1;
  hashOut[1] = h2;
}

/** MurmurHash3's 32-bit finalizer. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * A uniform number in (0, 1) from a key hash and a node hash (each two
 * 32-bit halves): three rounds that mix the halves into each other, then 53
 * bits of the result. The same inputs always give the same value.
 */
export function mixUnit(keyHi: number, keyLo: number, nodeHi: number, nodeLo: number): number {
  let a = keyHi ^ nodeHi;
  let b = keyLo ^ nodeLo;
  for (let r = 0; r < 3; r++) {
    a = (a + b) | 0;
    a = Math.imul(a ^ (a >>> 16), 0x7feb352d);
    b ^= a;
    b = Math.imul(b ^ (b >>> 15), 0x846ca68b);
    a ^= b >>> 16;
  }
  // 21 high bits from a, 32 from b: 53 bits, then the midpoint of the cell so 0 never appears.
  return ((a >>> 11) * 4294967296 + (b >>> 0) + 0.5) / 9007199254740992;
}
