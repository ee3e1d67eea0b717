// The baseline framing of the load harness: what plain net with batched writes
// costs, with no checksum, no schema and no handshake.
//   length u32 (whole frame) | id u32 | kind u8 | payload
// kind: 0 one-way, 1 request, 2 response.

export const RAW_HEADER = 9;
export const RAW_ONE_WAY = 0;
export const RAW_REQUEST = 1;
export const RAW_RESPONSE = 2;

export function writeRawFrame(id: number, kind: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RAW_HEADER + payload.length);
  out.writeUInt32BE(out.length, 0);
  out.writeUInt32BE(id >>> 0, 4);
  out[8] = kind;
  out.set(payload, RAW_HEADER);
  return out;
}

/**
 * Writes frames into one buffer, as a batching sender would. The next buffer
 * is sized by what the last one held (a buffer as large as a burst for bursts,
 * a small one for a lone request): a megabyte per lone request would leave the
 * baseline's latency to the garbage collector.
 */
export class RawBatch {
  private buf = Buffer.allocUnsafe(1 << 16);
  private pos = 0;

  append(id: number, kind: number, payload: Uint8Array): void {
    const need = this.pos + RAW_HEADER + payload.length;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const b = this.buf;
    const at = this.pos;
    b.writeUInt32BE(RAW_HEADER + payload.length, at);
    b.writeUInt32BE(id >>> 0, at + 4);
    b[at + 8] = kind;
    b.set(payload, at + RAW_HEADER);
    this.pos = need;
  }

  get pendingBytes(): number {
    return this.pos;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    let next = 4096;
    while (next < this.pos) next *= 2;
    this.buf = Buffer.allocUnsafe(next);
    this.pos = 0;
    return out;
  }
}

/**
 * Splits a byte stream into raw frames; a frame spanning chunks is copied
 * once, into a new buffer, or with `reuse` into one buffer kept for that (the
 * payload is then valid only during the callback).
 */
export class RawFramer {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes the frame being assembled needs (0 until its header is known). */
  private need = 0;
  private joined: Buffer = Buffer.alloc(0);

  constructor(private readonly reuse = false) {}

  private join(): Buffer {
    if (!this.reuse) return Buffer.concat(this.parts, this.partsBytes);
    if (this.joined.length < this.partsBytes) this.joined = Buffer.allocUnsafeSlow(this.partsBytes);
    let at = 0;
    for (const p of this.parts) {
      this.joined.set(p, at);
      at += p.length;
    }
    return this.joined.subarray(0, at);
  }

  push(chunk: Buffer, onFrame: (id: number, kind: number, payload: Buffer) => void): void {
    let buf = chunk;
    if (this.partsBytes > 0) {
      this.parts.push(chunk);
      this.partsBytes += chunk.length;
      if (this.need === 0 && this.partsBytes >= 4) this.need = Buffer.concat(this.parts).readUInt32BE(0);
      if (this.need === 0 || this.partsBytes < this.need) return;
      buf = this.join();
      this.parts = [];
      this.partsBytes = 0;
      this.need = 0;
    }
    let at = 0;
    while (buf.length - at >= RAW_HEADER) {
      const length = buf.readUInt32BE(at);
      if (buf.length - at < length) break;
      onFrame(buf.readUInt32BE(at + 4), buf[at + 8], buf.subarray(at + RAW_HEADER, at + length));
      at += length;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.parts = [rest];
      this.partsBytes = rest.length;
      this.need = rest.length >= 4 ? rest.readUInt32BE(0) : 0;
    }
  }
}
