// The envelope reader: the one step between received bytes and trusted values.
//
// The flatbuffers TypeScript runtime has no verifier and reads out-of-range
// offsets as zeros, so nothing reads a received buffer before this walk has
// checked it. For every table it reaches, from the root, it checks the
// soffset to the vtable, the vtable's size, the table's size, that each
// present field lies inside the table, that every uoffset lands inside the
// buffer, that strings (with their NUL) and vectors fit, that required fields
// are there and that union tags are known. The walk is bounded: nesting
// depth at most MAX_DEPTH, and at most one table visit per 4 bytes of input,
// so a buffer whose offsets all point at one table cannot make it spin.
//
// `verify` only checks (afterwards the flatc-generated accessors may read
// the buffer in place); `read` checks and returns plain objects in one pass.
// Byte vectors come back as views into the input, not copies. 64-bit
// integers must be safe integers.
import { MalformedEnvelopeError, UnknownMessageTypeError } from '../errors.js';
import { FieldKind, STRUCTS, TABLES, UNIONS, type FieldLayout, type ScalarType, type StructLayout } from '../schema/layout.js';
import { readUtf8 } from '../utf8.js';

export const MAX_DEPTH = 16;
const TWO_32 = 0x1_0000_0000;

export class TableWalker {
  private bytes: Uint8Array = new Uint8Array(0);
  private budget = 0;

  /** Checks a buffer whose root is table `rootTable`. */
  verify(bytes: Uint8Array, rootTable: number): void {
    this.walkRoot(bytes, rootTable, false);
  }

  /** Checks a buffer and returns its root as a plain object. */
  read(bytes: Uint8Array, rootTable: number): Record<string, unknown> {
    return this.walkRoot(bytes, rootTable, true) as Record<string, unknown>;
  }

  private walkRoot(bytes: Uint8Array, rootTable: number, materialize: boolean): Record<string, unknown> | null {
    this.bytes = bytes;
    this.budget = (bytes.length >>> 2) + 1;
    try {
      if (bytes.length < 8) throw new MalformedEnvelopeError(`${bytes.length} bytes, shorter than the smallest buffer`);
      const root = this.offsetTarget(0);
      return this.table(rootTable, root, 1, materialize);
    } finally {
      this.bytes = EMPTY;
    }
  }

  /** Follows the uoffset at `at`; the target is inside the buffer. */
  private offsetTarget(at: number): number {
    const bytes = this.bytes;
    if (at + 4 > bytes.length) throw new MalformedEnvelopeError('offset outside the buffer', at);
    const target = at + u32(bytes, at);
    if (target >= bytes.length) throw new MalformedEnvelopeError(`offset points past the end (${target})`, at);
    return target;
  }

  private table(tableIndex: number, pos: number, depth: number, materialize: boolean): Record<string, unknown> | null {
    const bytes = this.bytes;
    const layout = TABLES[tableIndex];
    if (depth > MAX_DEPTH) throw new MalformedEnvelopeError(`${layout.name}: nesting deeper than ${MAX_DEPTH}`, pos);
    if (--this.budget < 0) throw new MalformedEnvelopeError(`${layout.name}: more tables than the buffer can hold`, pos);
    if (pos + 4 > bytes.length) throw new MalformedEnvelopeError(`${layout.name}: table outside the buffer`, pos);
    const vtable = pos - i32(bytes, pos);
    if (vtable < 0 || vtable + 4 > bytes.length) throw new MalformedEnvelopeError(`${layout.name}: vtable outside the buffer`, pos);
    const vtableBytes = u16(bytes, vtable);
    const tableBytes = u16(bytes, vtable + 2);
    if (vtableBytes < 4 || (vtableBytes & 1) !== 0 || vtable + vtableBytes > bytes.length) {
      throw new MalformedEnvelopeError(`${layout.name}: bad vtable size ${vtableBytes}`, vtable);
    }
    if (tableBytes < 4 || pos + tableBytes > bytes.length) throw new MalformedEnvelopeError(`${layout.name}: bad table size ${tableBytes}`, vtable);

    const out: Record<string, unknown> | null = materialize ? {} : null;
    const fields = layout.fields;
    let unionTag = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const slotAt = 4 + 2 * f.slot;
      const fieldOffset = slotAt < vtableBytes ? u16(bytes, vtable + slotAt) : 0;
      if (fieldOffset === 0) {
        if (f.required) throw new MalformedEnvelopeError(`${layout.name}.${f.name}: required field is missing`, pos);
        if (f.kind === FieldKind.Union && unionTag !== 0) throw new MalformedEnvelopeError(`${layout.name}.${f.name}: tag ${unionTag} without a value`, pos);
        if (out !== null && f.kind !== FieldKind.UnionType) out[f.name] = emptyValue(f);
        continue;
      }
      const at = pos + fieldOffset;
      const size = f.kind === FieldKind.Scalar || f.kind === FieldKind.UnionType || f.kind === FieldKind.Struct ? f.size : 4;
      if (fieldOffset + size > tableBytes) throw new MalformedEnvelopeError(`${layout.name}.${f.name}: field outside its table`, at);
      switch (f.kind) {
        case FieldKind.Scalar:
          if (out !== null) out[f.name] = readScalar(bytes, at, f.scalar, layout.name, f.name);
          break;
        case FieldKind.UnionType:
          unionTag = bytes[at];
          break;
        case FieldKind.Struct:
          if (out !== null) out[f.name] = readStruct(bytes, at, STRUCTS[f.target], layout.name);
          break;
        case FieldKind.String: {
          const v = this.string(this.offsetTarget(at), materialize, layout.name, f.name);
          if (out !== null) out[f.name] = v;
          break;
        }
        case FieldKind.Table: {
          const v = this.table(f.target, this.offsetTarget(at), depth + 1, materialize);
          if (out !== null) out[f.name] = v;
          break;
        }
        case FieldKind.Union: {
          if (unionTag === 0) {
            if (out !== null) out[f.name] = null;
            break;
          }
          const union = UNIONS[f.target];
          const member = unionTag < union.members.length ? union.members[unionTag] : -1;
          if (member < 0) throw new UnknownMessageTypeError(unionTag);
          const v = this.table(member, this.offsetTarget(at), depth + 1, materialize);
          if (out !== null && v !== null) {
            v.type = union.names[unionTag];
            out[f.name] = v;
          }
          break;
        }
        default: {
          const v = this.vector(f, this.offsetTarget(at), depth, materialize, layout.name);
          if (out !== null) out[f.name] = v;
        }
      }
    }
    return out;
  }

  private string(at: number, materialize: boolean, table: string, field: string): string | null {
    const bytes = this.bytes;
    if (at + 4 > bytes.length) throw new MalformedEnvelopeError(`${table}.${field}: string length outside the buffer`, at);
    const n = u32(bytes, at);
    const end = at + 4 + n;
    if (end + 1 > bytes.length) throw new MalformedEnvelopeError(`${table}.${field}: string of ${n} bytes runs past the end`, at);
    if (bytes[end] !== 0) throw new MalformedEnvelopeError(`${table}.${field}: string not NUL-terminated`, end);
    return materialize ? readUtf8(bytes, at + 4, end) : null;
  }

  private vector(f: FieldLayout, at: number, depth: number, materialize: boolean, table: string): unknown {
    const bytes = this.bytes;
    if (at + 4 > bytes.length) throw new MalformedEnvelopeError(`${table}.${f.name}: vector length outside the buffer`, at);
    const n = u32(bytes, at);
    const data = at + 4;
    if (data + n * f.size > bytes.length) throw new MalformedEnvelopeError(`${table}.${f.name}: vector of ${n} runs past the end`, at);
    switch (f.kind) {
      case FieldKind.ScalarVector: {
        if (!materialize) return null;
        if (f.scalar === 'u8') return bytes.subarray(data, data + n);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = readScalar(bytes, data + i * f.size, f.scalar, table, f.name);
        return out;
      }
      case FieldKind.StructVector: {
        if (!materialize) return null;
        const layout = STRUCTS[f.target];
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = readStruct(bytes, data + i * layout.size, layout, table);
        return out;
      }
      case FieldKind.StringVector: {
        const out = materialize ? new Array<unknown>(n) : null;
        for (let i = 0; i < n; i++) {
          if (--this.budget < 0) throw new MalformedEnvelopeError(`${table}.${f.name}: more strings than the buffer can hold`, at);
          const s = this.string(this.offsetTarget(data + 4 * i), materialize, table, f.name);
          if (out !== null) out[i] = s;
        }
        return out;
      }
      default: {
        const out = materialize ? new Array<unknown>(n) : null;
        for (let i = 0; i < n; i++) {
          const t = this.table(f.target, this.offsetTarget(data + 4 * i), depth + 1, materialize);
          if (out !== null) out[i] = t;
        }
        return out;
      }
    }
  }
}

const EMPTY = new Uint8Array(0);

function emptyValue(f: FieldLayout): unknown {
  switch (f.kind) {
    case FieldKind.Scalar:
      return f.scalar === 'bool' ? false : 0;
    case FieldKind.String:
      return '';
    case FieldKind.ScalarVector:
      return f.scalar === 'u8' ? EMPTY : [];
    case FieldKind.StructVector:
    case FieldKind.StringVector:
    case FieldKind.TableVector:
      return [];
    default:
      return null;
  }
}

function readStruct(bytes: Uint8Array, at: number, layout: StructLayout, table: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of layout.fields) out[f.name] = readScalar(bytes, at + f.offset, f.scalar, table, `${layout.name}.${f.name}`);
  return out;
}

const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

function readScalar(bytes: Uint8Array, at: number, type: ScalarType, table: string, field: string): number | boolean {
  switch (type) {
    case 'bool':
      return bytes[at] !== 0;
    case 'u8':
      return bytes[at];
    case 'i8':
      return (bytes[at] << 24) >> 24;
    case 'u16':
      return u16(bytes, at);
    case 'i16':
      return (u16(bytes, at) << 16) >> 16;
    case 'u32':
      return u32(bytes, at);
    case 'i32':
      return i32(bytes, at);
    case 'u64': {
      const high = u32(bytes, at + 4);
      if (high > 0x1f_ffff) throw new MalformedEnvelopeError(`${table}.${field}: integer above 2^53 - 1`, at);
      return high * TWO_32 + u32(bytes, at);
    }
    case 'i64': {
      const v = i32(bytes, at + 4) * TWO_32 + u32(bytes, at);
      if (!Number.isSafeInteger(v)) throw new MalformedEnvelopeError(`${table}.${field}: integer outside +-(2^53 - 1)`, at);
      return v;
    }
    case 'f32':
      f32Bytes.set(bytes.subarray(at, at + 4));
      return f32[0];
    case 'f64':
      f64Bytes.set(bytes.subarray(at, at + 8));
      return f64[0];
    default:
      throw new MalformedEnvelopeError(`${table}.${field}: unknown scalar type ${type}`, at);
  }
}

export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function i32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}
