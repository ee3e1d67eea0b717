// What the generated codec (src/shared/schema/codec.ts) calls: a bounded,
// checking reader and a forward writer for FlatBuffers.
//
// Reader. The flatbuffers TypeScript runtime has no verifier and reads
// out-of-range offsets as zeros, so received bytes are read only through
// this reader. It reads a buffer in place, as a range [lo, hi) of a larger
// array (a frame's payload inside the socket chunk it came in), and checks
// every position against that range as it goes: for each table the soffset to its
// vtable, the vtable's and table's sizes, that each present field lies inside
// its table, that every uoffset lands inside the buffer, that strings (with
// their NUL) and vectors fit, that required fields are present and union tags
// known, and that 64-bit integers are safe integers. The walk is bounded:
// nesting depth at most MAX_DEPTH and at most one table or string per 4 bytes
// of input, so offsets that all point at one table cannot make it spin.
//
// Writer. Writes forward in one pass into a growing buffer: a table's vtable,
// its inline fields, then its strings, vectors and sub-tables after it, each
// offset patched once its target is placed, so every uoffset points forward
// as FlatBuffers requires and any FlatBuffers reader reads the result.
// Alignment is relative to the start of the buffer: tables to their largest
// inline field (4 at least), strings and vectors to 4, vector data to its
// element size. A vtable identical to the last one written for the same table
// type is shared. Buffers are allocated without zero-filling, so every byte
// the writer skips is written as zero explicitly: alignment padding, struct
// padding, inline slots of absent fields (the generated code knows each of
// these statically). No stale memory leaves the process.
import { InvalidMessageError, MalformedEnvelopeError, UnknownMessageTypeError } from '../errors.js';
import { utf8Length, writeUtf8, readUtf8 } from '../utf8.js';

export const MAX_DEPTH = 16;
const TWO_32 = 0x1_0000_0000;
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function i32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

export class Reader {
  b: Uint8Array = EMPTY_BYTES;
  /** vtable and table byte sizes of the table last entered. */
  vs = 0;
  ts = 0;
  /** The buffer read is `b[lo, hi)`: every position is an index into `b`, checked against these. */
  lo = 0;
  hi = 0;
  private budget = 0;

  /** The input's ArrayBuffer and offset, read once: views are made from them. */
  private ab: ArrayBufferLike = EMPTY_BYTES.buffer;
  private abOffset = 0;

  /**
   * Starts reading the buffer `bytes[start, end)` (a payload inside a larger
   * receive buffer is read in place, with no view made for it).
   */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): void {
    if (!(start >= 0 && start <= end && end <= bytes.length)) throw new RangeError(`range [${start}, ${end}) outside ${bytes.length} bytes`);
    this.b = bytes;
    this.lo = start;
    this.hi = end;
    this.ab = bytes.buffer;
    this.abOffset = bytes.byteOffset;
    const n = end - start;
    this.budget = (n >>> 2) + 1;
    if (n < 8) throw new MalformedEnvelopeError(`${n} bytes, shorter than the smallest buffer`);
  }

  /** The error for a problem at position `at` (reported relative to the buffer's start). */
  bad(reason: string, at: number): MalformedEnvelopeError {
    return new MalformedEnvelopeError(reason, at - this.lo);
  }

  /** Enters the table at `pos`: checks it and its vtable, returns the vtable position. */
  table(pos: number, depth: number, name: string): number {
    const b = this.b;
    const hi = this.hi;
    if (depth > MAX_DEPTH) throw this.bad(`${name}: nesting deeper than ${MAX_DEPTH}`, pos);
    if (--this.budget < 0) throw this.bad(`${name}: more tables than the buffer can hold`, pos);
    if (pos + 4 > hi) throw this.bad(`${name}: table outside the buffer`, pos);
    const vt = pos - i32(b, pos);
    if (vt < this.lo || vt + 4 > hi) throw this.bad(`${name}: vtable outside the buffer`, pos);
    const vs = u16(b, vt);
    const ts = u16(b, vt + 2);
    if (vs < 4 || (vs & 1) !== 0 || vt + vs > hi) throw this.bad(`${name}: bad vtable size ${vs}`, vt);
    if (ts < 4 || pos + ts > hi) throw this.bad(`${name}: bad table size ${ts}`, vt);
    this.vs = vs;
    this.ts = ts;
    return vt;
  }

  /** A field's offset within its table (0 when absent), checked to fit `size` bytes. */
  field(vt: number, vs: number, ts: number, slotOffset: number, size: number, name: string): number {
    if (slotOffset >= vs) return 0;
    const o = u16(this.b, vt + slotOffset);
    if (o !== 0 && o + size > ts) throw this.bad(`${name}: field outside its table`, vt);
    return o;
  }

  /** Follows the uoffset at `at`. */
  off(at: number): number {
    const target = at + u32(this.b, at);
    if (target >= this.hi) throw this.bad(`offset points past the end (${target - this.lo})`, at);
    return target;
  }

  str(at: number, name: string): string {
    const b = this.b;
    const s = this.off(at);
    if (s + 4 > this.hi) throw this.bad(`${name}: string length outside the buffer`, s);
    const end = s + 4 + u32(b, s);
    if (end + 1 > this.hi) throw this.bad(`${name}: string runs past the end`, s);
    if (b[end] !== 0) throw this.bad(`${name}: string not NUL-terminated`, end);
    return this.strings_.get(b, s + 4, end);
  }

  /** Recently read strings: topics and node ids repeat on every message. */
  private readonly strings_ = new StringCache();

  /** Follows the uoffset at `at` to a vector of `n` elements of `size` bytes; returns its data position, sets `vn`. */
  vec(at: number, size: number, name: string): number {
    const b = this.b;
    const v = this.off(at);
    if (v + 4 > this.hi) throw this.bad(`${name}: vector length outside the buffer`, v);
    const n = u32(b, v);
    if (v + 4 + n * size > this.hi) throw this.bad(`${name}: vector of ${n} runs past the end`, v);
    this.vn = n;
    return v + 4;
  }

  /** Length of the vector last passed to `vec`. */
  vn = 0;

  /** A byte vector, as a view into the input. */
  bytes(at: number, name: string): Uint8Array {
    const data = this.vec(at, 1, name);
    return new Uint8Array(this.ab, this.abOffset + data, this.vn);
  }

  strings(at: number, name: string): string[] {
    const data = this.vec(at, 4, name);
    const n = this.vn;
    if ((this.budget -= n) < 0) throw this.bad(`${name}: more strings than the buffer can hold`, data);
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.str(data + 4 * i, name);
    return out;
  }

  scalars(at: number, size: number, type: string, name: string): number[] {
    const data = this.vec(at, size, name);
    const n = this.vn;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.scalar(data + i * size, type, name);
    return out;
  }

  scalar(at: number, type: string, name: string): number {
    const b = this.b;
    switch (type) {
      case 'u8':
        return b[at];
      case 'i8':
        return (b[at] << 24) >> 24;
      case 'u16':
        return u16(b, at);
      case 'i16':
        return (u16(b, at) << 16) >> 16;
      case 'u32':
        return u32(b, at);
      case 'i32':
        return i32(b, at);
      case 'u64':
        return this.u64(at, name);
      case 'i64':
        return this.i64(at, name);
      case 'f32':
        f32Bytes.set(b.subarray(at, at + 4));
        return f32[0];
      case 'f64':
        f64Bytes.set(b.subarray(at, at + 8));
        return f64[0];
      default:
        throw this.bad(`${name}: unknown scalar type ${type}`, at);
    }
  }

  u64(at: number, name: string): number {
    const high = u32(this.b, at + 4);
    if (high > 0x1f_ffff) throw this.bad(`${name}: integer above 2^53 - 1`, at);
    return high * TWO_32 + u32(this.b, at);
  }

  i64(at: number, name: string): number {
    const v = i32(this.b, at + 4) * TWO_32 + u32(this.b, at);
    if (!Number.isSafeInteger(v)) throw this.bad(`${name}: integer outside +-(2^53 - 1)`, at);
    return v;
  }

  missing(name: string, pos: number): MalformedEnvelopeError {
    return this.bad(`${name}: required field is missing`, pos);
  }

  unknownTag(tag: number): UnknownMessageTypeError {
    return new UnknownMessageTypeError(tag);
  }

  tagWithoutValue(name: string, tag: number, pos: number): MalformedEnvelopeError {
    return this.bad(`${name}: tag ${tag} without a value`, pos);
  }
}

/**
 * A direct-mapped cache of short strings by their bytes. A hit costs one
 * byte comparison instead of a UTF-8 decode (26 ns against 140 ns for an
 * 11-byte topic); strings longer than MAX_BYTES are decoded every time.
 */
export class StringCache {
  static readonly MAX_BYTES = 64;
  private static readonly SLOTS = 256;
  private readonly keys: Array<Uint8Array | null> = new Array<Uint8Array | null>(StringCache.SLOTS).fill(null);
  private readonly values: string[] = new Array<string>(StringCache.SLOTS).fill('');

  get(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    if (n > StringCache.MAX_BYTES) return readUtf8(b, start, end);
    const slot = (n * 31 + b[start] * 7 + b[end - 1] * 3 + b[start + (n >> 1)]) & (StringCache.SLOTS - 1);
    const key = this.keys[slot];
    if (key !== null && key.length === n) {
      let i = 0;
      while (i < n && key[i] === b[start + i]) i++;
      if (i === n) return this.values[slot];
    }
    const value = readUtf8(b, start, end);
    this.keys[slot] = b.slice(start, end);
    this.values[slot] = value;
    return value;
  }
}

export class Writer {
  buf: Uint8Array;
  pos = 0;
  /** Start of the buffer being written; alignment is relative to it. */
  base = 0;
  /**
   * A byte vector written by reference: when bytes() meets this very array,
   * it writes the vector's length and nothing of its bytes, and sets
   * `standInAt` to where they would start. Whoever set it sends the real
   * bytes in their place, which is sound only when nothing is written after
   * them (pos === standInAt once the root is done).
   */
  standIn: Uint8Array | null = null;
  standInAt = -1;
  private generation = 1;
  private readonly vtGeneration: Int32Array;
  private readonly vtMask: Int32Array;
  private readonly vtPos: Int32Array;

  constructor(tables: number, initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.vtGeneration = new Int32Array(tables);
    this.vtMask = new Int32Array(tables);
    this.vtPos = new Int32Array(tables);
  }

  /** Starts a new buffer at the current position; returns the root uoffset's position. */
  begin(): number {
    this.base = this.pos;
    this.generation++;
    this.ensure(4);
    this.pos += 4;
    return this.base;
  }

  ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.buf.subarray(0, this.pos), 0);
    this.buf = next;
  }

  /** Hands the bytes written so far over and continues in `next` when it holds nextBytes, else in a new buffer. */
  take(nextBytes: number, next: Uint8Array | null = null): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = next !== null && next.length >= nextBytes ? next : Buffer.allocUnsafe(nextBytes);
    this.pos = 0;
    this.base = 0;
    return out;
  }

  /** Moves back to `pos`: what was written after it is dropped. */
  rewind(pos: number): void {
    this.pos = pos;
  }

  align(align: number): void {
    const pad = (align - ((this.pos - this.base) & (align - 1))) & (align - 1);
    if (pad === 0) return;
    this.ensure(pad);
    const b = this.buf;
    for (let i = 0; i < pad; i++) b[this.pos + i] = 0;
    this.pos += pad;
  }

  /** Zeroes `n` bytes at `at` (padding the generated code knows of). */
  zero(at: number, n: number): void {
    const b = this.buf;
    for (let i = 0; i < n; i++) b[at + i] = 0;
  }

  /**
   * Writes (or reuses) the vtable of table `table`: `template` has every
   * field present; `clear[i]` is the vtable byte offset of the i-th optional
   * field, zeroed when bit i of `mask` is unset.
   */
  vtable(table: number, mask: number, template: Uint8Array, clear: readonly number[]): number {
    if (this.vtGeneration[table] === this.generation && this.vtMask[table] === mask) return this.vtPos[table];
    this.align(2);
    const n = template.length;
    this.ensure(n);
    const at = this.pos;
    const b = this.buf;
    for (let i = 0; i < n; i++) b[at + i] = template[i];
    for (let i = 0; i < clear.length; i++) {
      if ((mask & (1 << i)) === 0) {
        b[at + clear[i]] = 0;
        b[at + clear[i] + 1] = 0;
      }
    }
    this.pos = at + n;
    this.vtGeneration[table] = this.generation;
    this.vtMask[table] = mask;
    this.vtPos[table] = at;
    return at;
  }

  /** Places a table's inline part, writes its soffset, returns its position. */
  table(inlineBytes: number, align: number, vtable: number): number {
    this.align(align);
    this.ensure(inlineBytes);
    const at = this.pos;
    const b = this.buf;
    const soffset = at - vtable;
    b[at] = soffset;
    b[at + 1] = soffset >>> 8;
    b[at + 2] = soffset >>> 16;
    b[at + 3] = soffset >>> 24;
    this.pos = at + inlineBytes;
    return at;
  }

  /** Points the uoffset at `at` to `target`. */
  patch(at: number, target: number): void {
    const d = target - at;
    const b = this.buf;
    b[at] = d;
    b[at + 1] = d >>> 8;
    b[at + 2] = d >>> 16;
    b[at + 3] = d >>> 24;
  }

  str(s: string, name: string): number {
    if (typeof s !== 'string') throw new InvalidMessageError(name, `expected a string, got ${typeof s}`);
    const n = utf8Length(s);
    this.align(4);
    this.ensure(5 + n);
    const at = this.pos;
    const b = this.buf;
    this.u32At(at, n);
    writeUtf8(b, at + 4, s, n);
    b[at + 4 + n] = 0;
    this.pos = at + 5 + n;
    return at;
  }

  /** Starts a vector of `n` elements of `size` bytes, data aligned to `size`; returns the vector's position. */
  vector(n: number, size: number): number {
    this.align(4);
    if (size === 8 && ((this.pos + 4 - this.base) & 7) !== 0) {
      this.ensure(4);
      this.u32At(this.pos, 0);
      this.pos += 4;
    }
    this.ensure(4 + n * size);
    const at = this.pos;
    this.u32At(at, n);
    this.pos = at + 4;
    return at;
  }

  bytes(v: Uint8Array, name: string): number {
    if (!(v instanceof Uint8Array)) throw new InvalidMessageError(name, 'expected a Uint8Array');
    if (v === this.standIn) {
      this.align(4);
      this.ensure(4);
      const at = this.pos;
      this.u32At(at, v.length);
      this.pos = at + 4;
      this.standInAt = this.pos;
      return at;
    }
    const at = this.vector(v.length, 1);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return at;
  }

  scalars(v: readonly number[], size: number, type: string, name: string): number {
    const at = this.vector(v.length, size);
    for (let i = 0; i < v.length; i++) this.scalar(this.pos + i * size, type, v[i], name);
    this.pos += v.length * size;
    return at;
  }

  strings(v: readonly string[], name: string): number {
    const n = v.length;
    const at = this.vector(n, 4);
    const slots = this.pos;
    this.pos += 4 * n;
    for (let i = 0; i < n; i++) this.patch(slots + 4 * i, this.str(v[i], name));
    return at;
  }

  tables<T>(v: readonly T[], write: (w: Writer, value: T) => number): number {
    const n = v.length;
    const at = this.vector(n, 4);
    const slots = this.pos;
    this.pos += 4 * n;
    for (let i = 0; i < n; i++) this.patch(slots + 4 * i, write(this, v[i]));
    return at;
  }

  u32At(at: number, v: number): void {
    const b = this.buf;
    b[at] = v;
    b[at + 1] = v >>> 8;
    b[at + 2] = v >>> 16;
    b[at + 3] = v >>> 24;
  }

  /** Writes a scalar field; undefined means the default, 0. */
  scalar(at: number, type: string, value: unknown, name: string): void {
    const b = this.buf;
    if (type === 'bool') {
      b[at] = value ? 1 : 0;
      return;
    }
    const v = value === undefined ? 0 : (value as number);
    if (typeof v !== 'number') throw new InvalidMessageError(name, `expected a number, got ${typeof value}`);
    switch (type) {
      case 'u8':
        if (v !== (v & 0xff)) throw outOfRange(name, v, type);
        b[at] = v;
        return;
      case 'i8':
        if (v !== (v << 24) >> 24) throw outOfRange(name, v, type);
        b[at] = v;
        return;
      case 'u16':
        if (v !== (v & 0xffff)) throw outOfRange(name, v, type);
        b[at] = v;
        b[at + 1] = v >>> 8;
        return;
      case 'i16':
        if (v !== (v << 16) >> 16) throw outOfRange(name, v, type);
        b[at] = v;
        b[at + 1] = v >>> 8;
        return;
      case 'u32':
        if (v !== v >>> 0) throw outOfRange(name, v, type);
        this.u32At(at, v);
        return;
      case 'i32':
        if (v !== (v | 0)) throw outOfRange(name, v, type);
        this.u32At(at, v);
        return;
      case 'u64':
        if (!(v >= 0 && Number.isSafeInteger(v))) throw outOfRange(name, v, type);
        this.i64At(at, v);
        return;
      case 'i64':
        if (!Number.isSafeInteger(v)) throw outOfRange(name, v, type);
        this.i64At(at, v);
        return;
      case 'f32':
        f32[0] = v;
        b.set(f32Bytes, at);
        return;
      case 'f64':
        f64[0] = v;
        b.set(f64Bytes, at);
        return;
      default:
        throw new InvalidMessageError(name, `unknown scalar type ${type}`);
    }
  }

  /** A non-negative safe integer as u64. */
  u64At(at: number, v: number): void {
    const high = (v / TWO_32) >>> 0;
    this.u32At(at, v - high * TWO_32);
    this.u32At(at + 4, high);
  }

  /** A safe integer as 64-bit two's complement. */
  i64At(at: number, v: number): void {
    const high = Math.floor(v / TWO_32);
    this.u32At(at, v - high * TWO_32);
    this.u32At(at + 4, high);
  }

  missing(name: string): InvalidMessageError {
    return new InvalidMessageError(name, 'required field is missing');
  }

  range(name: string, v: unknown, type: string): InvalidMessageError {
    return typeof v === 'number' ? outOfRange(name, v, type) : new InvalidMessageError(name, `expected a number, got ${typeof v}`);
  }

  unknownMember(union: string, value: unknown): InvalidMessageError {
    return new InvalidMessageError(union, `unknown member ${String((value as { type?: unknown } | null)?.type)}`);
  }
}

function outOfRange(name: string, v: number, type: string): InvalidMessageError {
  return new InvalidMessageError(name, `${v} does not fit ${type === 'u64' || type === 'i64' ? `${type} as a safe integer` : type}`);
}
