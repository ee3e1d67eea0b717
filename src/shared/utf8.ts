// UTF-8 for short strings on hot paths. TextEncoder/TextDecoder cost a native
// call each; most strings on the wire (topics, node ids) are short ASCII, which
// a plain loop handles faster. Anything else falls back to the built-ins.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Byte length of `s` in UTF-8. */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else bytes += 2; // 3 bytes (lone surrogates become U+FFFD, also 3 bytes)
  }
  return bytes;
}

/** Writes `s` at `offset`; `bytes` must be `utf8Length(s)`. */
export function writeUtf8(target: Uint8Array, offset: number, s: string, bytes: number): void {
  if (bytes === s.length) {
    for (let i = 0; i < bytes; i++) target[offset + i] = s.charCodeAt(i);
    return;
  }
  encoder.encodeInto(s, target.subarray(offset, offset + bytes));
}

/** Decodes `bytes[start, end)`; invalid sequences become U+FFFD. */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(start, end));
}
