// Node metadata as members gossip it: datacenter, rack, capacity and tags in a
// small binary layout carried in the `meta` bytes of alive updates and
// push-pull records (bounded by maxMetaBytes, 512 by default).
//
//   u8 version (1) | str datacenter | str rack | u32 capacity (big-endian)
//   | u8 tag count | (str key | str value) * count
//   str = u8 length | UTF-8 bytes (at most 255)
import { InvalidMessageError } from '../../shared/errors.js';

export interface NodeMeta {
  readonly datacenter: string;
  readonly rack: string;
  /** Relative capacity (e.g. weight for routing); 0..2^32-1. */
  readonly capacity: number;
  readonly tags: Readonly<Record<string, string>>;
}

const VERSION = 1;
const MAX_TAGS = 255;

export function encodeNodeMeta(meta: NodeMeta, maxBytes = 512): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const str = (field: string, s: string): void => {
    const b = enc.encode(s);
    if (b.length > 255) throw new InvalidMessageError(`meta.${field}`, `longer than 255 bytes`);
    parts.push(Uint8Array.of(b.length), b);
  };
  str('datacenter', meta.datacenter);
  str('rack', meta.rack);
  if (!Number.isInteger(meta.capacity) || meta.capacity < 0 || meta.capacity > 0xffff_ffff) {
    throw new InvalidMessageError('meta.capacity', `expected an integer in [0, 2^32-1], got ${String(meta.capacity)}`);
  }
  const cap = new Uint8Array(4);
  new DataView(cap.buffer).setUint32(0, meta.capacity);
  parts.push(cap);
  const keys = Object.keys(meta.tags).sort();
  if (keys.length > MAX_TAGS) throw new InvalidMessageError('meta.tags', `at most ${MAX_TAGS} tags`);
  parts.push(Uint8Array.of(keys.length));
  for (const k of keys) {
    str('tags', k);
    str('tags', meta.tags[k]);
  }
  let n = 1;
  for (const p of parts) n += p.length;
  if (n > maxBytes) throw new InvalidMessageError('meta', `${n} bytes exceeds the limit of ${maxBytes}`);
  const out = new Uint8Array(n);
  out[0] = VERSION;
  let at = 1;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads metadata gossiped by a peer; null when the bytes are not a valid layout (or empty). */
export function decodeNodeMeta(bytes: Uint8Array): NodeMeta | null {
  if (bytes.length === 0 || bytes[0] !== VERSION) return null;
  const dec = new TextDecoder('utf-8', { fatal: true });
  let at = 1;
  const str = (): string | null => {
    if (at >= bytes.length) return null;
    const len = bytes[at++];
    if (at + len > bytes.length) return null;
    try {
      const s = dec.decode(bytes.subarray(at, at + len));
      at += len;
      return s;
    } catch {
      return null;
    }
  };
  const datacenter = str();
  const rack = str();
  if (datacenter === null || rack === null || at + 5 > bytes.length) return null;
  const capacity = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
  at += 4;
  const count = bytes[at++];
  const tags: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const k = str();
    const v = str();
    if (k === null || v === null) return null;
    tags[k] = v;
  }
  if (at !== bytes.length) return null;
  return { datacenter, rack, capacity, tags };
}
