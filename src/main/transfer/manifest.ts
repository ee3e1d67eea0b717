// The receiver's manifest: a small binary file beside the partial file that
// says which chunks are already written and verified, with their digests, so
// that a transfer resumed after a dropped connection or a restart of either
// side asks only for the chunks not yet acknowledged.
//
//   0   'CWTM'                 magic
//   4   u32 version (1)
//   8   u64 totalBytes
//   16  u32 chunkBytes
//   20  u32 chunk count
//   24  u16 name bytes   26  u16 sender bytes
//   28  name (UTF-8), sender node id (UTF-8)
//   H   slot 0 | slot 1 | ...      slot i: u8 held (1) | SHA-256 of chunk i (32)
//
// A chunk's slot is written (one positional write of 33 bytes) only after
// the chunk's bytes were written to the partial file, and the chunk is
// acknowledged only after its slot is written: an acknowledged chunk is
// always in the manifest. Neither is fsynced per chunk (the partial file is
// fsynced once, before the rename): after a crash of the machine a slot may
// name bytes that never reached the disk, so a resumed receiver hashes every
// held chunk again against its slot and asks again for any that differ.
// A manifest that cannot be read, or describes another transfer, is
// discarded with its partial file, and the transfer starts over.
import fs from 'node:fs/promises';
import { SHA256_BYTES } from './chunk-geometry.js';

const MAGIC = 0x4357_544d; // 'CWTM'
const VERSION = 1;
const FIXED_BYTES = 28;
const SLOT_BYTES = 1 + SHA256_BYTES;

export interface ManifestHeader {
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly count: number;
  readonly name: string;
  /** The sending node's id: only it may resume the transfer. */
  readonly from: string;
}

export class Manifest {
  /** Every slot's digest, back to back (zeros where not held). */
  readonly digests: Uint8Array;
  readonly #slot = Buffer.alloc(SLOT_BYTES);

  private constructor(
    readonly path: string,
    readonly header: ManifestHeader,
    private readonly handle: fs.FileHandle,
    private readonly slotsAt: number,
    digests: Uint8Array,
    /** Indexes marked held when the manifest was opened. */
    readonly held: readonly number[],
  ) {
    this.digests = digests;
  }

  /** Creates (or truncates) a manifest with no chunk held. */
  static async create(file: string, header: ManifestHeader): Promise<Manifest> {
    const head = encodeHeader(header);
    const handle = await fs.open(file, 'w+');
    try {
      await handle.write(head, 0, head.length, 0);
      await handle.truncate(head.length + header.count * SLOT_BYTES);
      return new Manifest(file, header, handle, head.length, new Uint8Array(header.count * SHA256_BYTES), []);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Opens an existing manifest; null when there is none or it cannot be read. */
  static async open(file: string): Promise<Manifest | null> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r+');
    } catch {
      return null;
    }
    try {
      const bytes = await handle.readFile();
      const parsed = decode(bytes);
      if (parsed === null) {
        await handle.close();
        return null;
      }
      return new Manifest(file, parsed.header, handle, parsed.slotsAt, parsed.digests, parsed.held);
    } catch {
      await handle.close();
      return null;
    }
  }

  /** Marks chunk `index` held with `digest` (after its bytes were written). */
  async record(index: number, digest: Uint8Array): Promise<void> {
    const slot = Buffer.allocUnsafe(SLOT_BYTES);
    slot[0] = 1;
    slot.set(digest, 1);
    this.digests.set(digest, index * SHA256_BYTES);
    await this.handle.write(slot, 0, SLOT_BYTES, this.slotsAt + index * SLOT_BYTES);
  }

  /** Marks chunk `index` not held (it failed its check on resume). */
  async forget(index: number): Promise<void> {
    this.#slot.fill(0);
    this.digests.fill(0, index * SHA256_BYTES, (index + 1) * SHA256_BYTES);
    await this.handle.write(this.#slot, 0, SLOT_BYTES, this.slotsAt + index * SLOT_BYTES);
  }

  digestOf(index: number): Uint8Array {
    return this.digests.subarray(index * SHA256_BYTES, (index + 1) * SHA256_BYTES);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

function encodeHeader(h: ManifestHeader): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  const from = Buffer.from(h.from, 'utf8');
  const out = Buffer.alloc(FIXED_BYTES + name.length + from.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt32BE(VERSION, 4);
  out.writeBigUInt64BE(BigInt(h.totalBytes), 8);
  out.writeUInt32BE(h.chunkBytes, 16);
  out.writeUInt32BE(h.count, 20);
  out.writeUInt16BE(name.length, 24);
  out.writeUInt16BE(from.length, 26);
  name.copy(out, FIXED_BYTES);
  from.copy(out, FIXED_BYTES + name.length);
  return out;
}

function decode(bytes: Buffer): { header: ManifestHeader; slotsAt: number; digests: Uint8Array; held: number[] } | null {
  if (bytes.length < FIXED_BYTES || bytes.readUInt32BE(0) !== MAGIC || bytes.readUInt32BE(4) !== VERSION) return null;
  const totalBytes = Number(bytes.readBigUInt64BE(8));
  const chunkBytes = bytes.readUInt32BE(16);
  const count = bytes.readUInt32BE(20);
  const nameBytes = bytes.readUInt16BE(24);
  const fromBytes = bytes.readUInt16BE(26);
  const slotsAt = FIXED_BYTES + nameBytes + fromBytes;
  if (chunkBytes === 0 || !Number.isSafeInteger(totalBytes) || count !== Math.ceil(totalBytes / chunkBytes)) return null;
  if (bytes.length !== slotsAt + count * SLOT_BYTES) return null;
  const name = bytes.toString('utf8', FIXED_BYTES, FIXED_BYTES + nameBytes);
  const from = bytes.toString('utf8', FIXED_BYTES + nameBytes, slotsAt);
  const digests = new Uint8Array(count * SHA256_BYTES);
  const held: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = slotsAt + i * SLOT_BYTES;
    if (bytes[at] !== 1) continue;
    held.push(i);
    digests.set(bytes.subarray(at + 1, at + SLOT_BYTES), i * SHA256_BYTES);
  }
  return { header: { totalBytes, chunkBytes, count, name, from }, slotsAt, digests, held };
}
