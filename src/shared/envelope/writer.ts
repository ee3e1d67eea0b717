// The envelope writer: plain objects in, FlatBuffers bytes out, driven by the
// generated layout (src/shared/schema/layout.ts) rather than by per-message
// builder calls.
//
// It writes forward in one pass into a growing buffer: a table's vtable, then
// its inline fields, then its strings, vectors and sub-tables after it, with
// each offset patched once its target is placed. Every uoffset therefore
// points forward, as FlatBuffers requires, and any FlatBuffers reader (the
// flatc-generated accessors included) reads the result. Positions are
// aligned relative to the start of the envelope: 8 for tables holding 8-byte
// fields or structs, 4 for tables, strings and vectors, the element size for
// vector data. Identical vtables of one table type are written once per
// envelope and shared. Padding is always zeroed: no stale memory leaves.
//
// Conventions of the plain objects: an absent or empty optional string, byte
// vector or vector is left out of the buffer (and reads back empty); null
// sub-tables and unions are left out; scalars are always written. Values that
// do not fit their field type are refused with InvalidMessageError.
import { InvalidMessageError } from '../errors.js';
import {
  FieldKind,
  STRUCTS,
  TABLES,
  UNIONS,
  type FieldLayout,
  type ScalarType,
  type StructLayout,
  type TableLayout,
} from '../schema/layout.js';
import { utf8Length, writeUtf8 } from '../utf8.js';

/** Per table: where each field sits inline, fixed once at load. */
interface TablePlan {
  readonly layout: TableLayout;
  readonly index: number;
  /** Inline offset of each field of `layout.fields`, same order. */
  readonly inline: readonly number[];
  readonly inlineBytes: number;
  readonly align: number;
  readonly vtableBytes: number;
}

const PLANS: readonly TablePlan[] = TABLES.map(planTable);

function inlineSize(f: FieldLayout): number {
  switch (f.kind) {
    case FieldKind.Scalar:
    case FieldKind.UnionType:
    case FieldKind.Struct:
      return f.size;
    default:
      return 4;
  }
}

function inlineAlign(f: FieldLayout): number {
  if (f.kind === FieldKind.Struct) return STRUCTS[f.target].align;
  return Math.min(inlineSize(f), 8);
}

function planTable(layout: TableLayout, index: number): TablePlan {
  const order = layout.fields.map((f, i) => i).sort((a, b) => inlineAlign(layout.fields[b]) - inlineAlign(layout.fields[a]) || a - b);
  const inline = new Array<number>(layout.fields.length).fill(0);
  let offset = 4; // the soffset to the vtable
  let align = 4;
  for (const i of order) {
    const f = layout.fields[i];
    const a = inlineAlign(f);
    align = Math.max(align, a);
    offset = (offset + a - 1) & ~(a - 1);
    inline[i] = offset;
    offset += inlineSize(f);
  }
  return { layout, index, inline, inlineBytes: offset, align, vtableBytes: 4 + 2 * layout.slots };
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const TWO_32 = 0x1_0000_0000;

/** A growable output buffer shared by every write of one encoder. */
export class ByteSink {
  buf: Uint8Array;
  pos = 0;

  constructor(initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
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

  /** Zero-pads up to `align` relative to `base`. */
  align(base: number, align: number): void {
    const pad = (align - ((this.pos - base) & (align - 1))) & (align - 1);
    if (pad === 0) return;
    this.ensure(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }
}

interface Pending {
  /** Absolute position of the uoffset to patch. */
  readonly at: number;
  readonly field: FieldLayout;
  readonly value: unknown;
  /** For union values: the member table. */
  readonly table: number;
}

/**
 * Writes one FlatBuffer whose root is table `rootTable` holding `value`, at
 * the sink's position (which is taken as the buffer's start for alignment).
 * Returns the number of bytes written.
 */
export function writeRoot(sink: ByteSink, rootTable: number, value: Record<string, unknown>): number {
  const base = sink.pos;
  const vtables = new Map<string, number>();
  sink.ensure(4);
  const rootAt = sink.pos;
  sink.pos += 4;
  const table = writeTable(sink, base, vtables, rootTable, value, TABLES[rootTable].name);
  patch(sink.buf, rootAt, table);
  return sink.pos - base;
}

function patch(buf: Uint8Array, at: number, target: number): void {
  writeU32LE(buf, at, target - at);
}

function present(f: FieldLayout, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (f.kind) {
    case FieldKind.String:
      return f.required || (v as string).length > 0;
    case FieldKind.ScalarVector:
    case FieldKind.StructVector:
    case FieldKind.StringVector:
    case FieldKind.TableVector:
      return f.required || (v as ArrayLike<unknown>).length > 0;
    default:
      return true;
  }
}

function writeTable(sink: ByteSink, base: number, vtables: Map<string, number>, tableIndex: number, value: Record<string, unknown>, path: string): number {
  const plan = PLANS[tableIndex];
  const fields = plan.layout.fields;
  // Which fields are present: decides the vtable.
  let key = `${tableIndex}:`;
  const values = new Array<unknown>(fields.length);
  let unionTable = -1;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.kind === FieldKind.UnionType) continue;
    let v = value[f.name];
    if (f.kind === FieldKind.Union) {
      if (v !== undefined && v !== null) {
        const name = (v as { type?: unknown }).type;
        const union = UNIONS[f.target];
        const tag = typeof name === 'string' ? union.names.indexOf(name) : -1;
        if (tag <= 0) throw new InvalidMessageError(`${path}.${f.name}`, `unknown ${union.name} member ${String(name)}`);
        unionTable = union.members[tag];
        values[i] = v;
        // the tag goes in the UnionType field that precedes this one
        const tagField = fields.findIndex((g) => g.kind === FieldKind.UnionType && g.target === f.target);
        values[tagField] = tag;
      }
      continue;
    }
    if (!present(f, v)) {
      if (f.required) throw new InvalidMessageError(`${path}.${f.name}`, 'required field is missing');
      if (f.kind === FieldKind.Scalar) v = f.scalar === 'bool' ? false : 0;
      else continue;
    }
    values[i] = v;
  }
  const mask: number[] = [];
  for (let i = 0; i < fields.length; i++) if (values[i] !== undefined) mask.push(i);
  key += mask.join(',');

  // The vtable: shared when one with the same fields was already written.
  let vtable = vtables.get(key);
  if (vtable === undefined) {
    sink.align(base, 2);
    sink.ensure(plan.vtableBytes);
    vtable = sink.pos;
    const buf = sink.buf;
    buf.fill(0, vtable, vtable + plan.vtableBytes);
    writeU16LE(buf, vtable, plan.vtableBytes);
    writeU16LE(buf, vtable + 2, plan.inlineBytes);
    for (const i of mask) writeU16LE(buf, vtable + 4 + 2 * fields[i].slot, plan.inline[i]);
    sink.pos += plan.vtableBytes;
    vtables.set(key, vtable);
  }

  // The inline part.
  sink.align(base, plan.align);
  sink.ensure(plan.inlineBytes);
  const start = sink.pos;
  let buf = sink.buf;
  buf.fill(0, start, start + plan.inlineBytes);
  writeI32LE(buf, start, start - vtable);
  sink.pos += plan.inlineBytes;
  const pending: Pending[] = [];
  for (const i of mask) {
    const f = fields[i];
    const at = start + plan.inline[i];
    const v = values[i];
    switch (f.kind) {
      case FieldKind.Scalar:
      case FieldKind.UnionType:
        writeScalar(buf, at, f.scalar, v, `${path}.${f.name}`);
        break;
      case FieldKind.Struct:
        writeStruct(buf, at, STRUCTS[f.target], v as Record<string, unknown>, `${path}.${f.name}`);
        break;
      default:
        pending.push({ at, field: f, value: v, table: f.kind === FieldKind.Union ? unionTable : f.target });
    }
  }

  // Children, in field order, after the table.
  for (const p of pending) {
    const f = p.field;
    const childPath = `${path}.${f.name}`;
    let target: number;
    switch (f.kind) {
      case FieldKind.String:
        target = writeString(sink, base, p.value, childPath);
        break;
      case FieldKind.Table:
      case FieldKind.Union:
        target = writeTable(sink, base, vtables, p.table, p.value as Record<string, unknown>, childPath);
        break;
      case FieldKind.ScalarVector:
        target = writeScalarVector(sink, base, f, p.value as ArrayLike<unknown>, childPath);
        break;
      case FieldKind.StructVector:
        target = writeStructVector(sink, base, STRUCTS[f.target], p.value as ArrayLike<Record<string, unknown>>, childPath);
        break;
      case FieldKind.StringVector:
      case FieldKind.TableVector:
        target = writeOffsetVector(sink, base, vtables, f, p.value as ArrayLike<unknown>, childPath);
        break;
      default:
        throw new InvalidMessageError(childPath, `field kind ${f.kind} has no out-of-line part`);
    }
    buf = sink.buf; // may have grown
    patch(buf, p.at, target);
  }
  return start;
}

function writeString(sink: ByteSink, base: number, value: unknown, path: string): number {
  if (typeof value !== 'string') throw new InvalidMessageError(path, `expected a string, got ${typeof value}`);
  const bytes = utf8Length(value);
  sink.align(base, 4);
  sink.ensure(4 + bytes + 1);
  const at = sink.pos;
  writeU32LE(sink.buf, at, bytes);
  writeUtf8(sink.buf, at + 4, value, bytes);
  sink.buf[at + 4 + bytes] = 0;
  sink.pos = at + 4 + bytes + 1;
  return at;
}

/** Places a vector's length so that its elements are `elemAlign`-aligned. */
function startVector(sink: ByteSink, base: number, count: number, elemSize: number, elemAlign: number): number {
  sink.align(base, 4);
  if (elemAlign > 4) {
    // the data after the 4-byte length must be elemAlign-aligned
    while (((sink.pos + 4 - base) & (elemAlign - 1)) !== 0) {
      sink.ensure(4);
      writeU32LE(sink.buf, sink.pos, 0);
      sink.pos += 4;
    }
  }
  sink.ensure(4 + count * elemSize);
  const at = sink.pos;
  writeU32LE(sink.buf, at, count);
  sink.pos += 4;
  return at;
}

function writeScalarVector(sink: ByteSink, base: number, f: FieldLayout, value: ArrayLike<unknown>, path: string): number {
  const n = value.length;
  const at = startVector(sink, base, n, f.size, f.size);
  const buf = sink.buf;
  if (f.scalar === 'u8' && value instanceof Uint8Array) {
    buf.set(value, sink.pos);
  } else {
    for (let i = 0; i < n; i++) writeScalar(buf, sink.pos + i * f.size, f.scalar, value[i], `${path}[${i}]`);
  }
  sink.pos += n * f.size;
  return at;
}

function writeStructVector(sink: ByteSink, base: number, layout: StructLayout, value: ArrayLike<Record<string, unknown>>, path: string): number {
  const n = value.length;
  const at = startVector(sink, base, n, layout.size, layout.align);
  for (let i = 0; i < n; i++) writeStruct(sink.buf, sink.pos + i * layout.size, layout, value[i], `${path}[${i}]`);
  sink.pos += n * layout.size;
  return at;
}

function writeOffsetVector(sink: ByteSink, base: number, vtables: Map<string, number>, f: FieldLayout, value: ArrayLike<unknown>, path: string): number {
  const n = value.length;
  const at = startVector(sink, base, n, 4, 4);
  const slots = sink.pos;
  sink.buf.fill(0, slots, slots + 4 * n);
  sink.pos += 4 * n;
  for (let i = 0; i < n; i++) {
    const target =
      f.kind === FieldKind.StringVector
        ? writeString(sink, base, value[i], `${path}[${i}]`)
        : writeTable(sink, base, vtables, f.target, value[i] as Record<string, unknown>, `${path}[${i}]`);
    patch(sink.buf, slots + 4 * i, target);
  }
  return at;
}

function writeStruct(buf: Uint8Array, at: number, layout: StructLayout, value: Record<string, unknown>, path: string): void {
  if (typeof value !== 'object' || value === null) throw new InvalidMessageError(path, `expected a ${layout.name} struct`);
  buf.fill(0, at, at + layout.size);
  for (const f of layout.fields) writeScalar(buf, at + f.offset, f.scalar, value[f.name] ?? 0, `${path}.${f.name}`);
}

function writeScalar(buf: Uint8Array, at: number, type: ScalarType, value: unknown, path: string): void {
  if (type === 'bool') {
    buf[at] = value ? 1 : 0;
    return;
  }
  const v = value as number;
  if (typeof v !== 'number') throw new InvalidMessageError(path, `expected a number, got ${typeof value}`);
  switch (type) {
    case 'u8':
      if (v !== (v & 0xff)) throw outOfRange(path, v, type);
      buf[at] = v;
      return;
    case 'i8':
      if (v !== (v << 24) >> 24) throw outOfRange(path, v, type);
      buf[at] = v;
      return;
    case 'u16':
      if (v !== (v & 0xffff)) throw outOfRange(path, v, type);
      writeU16LE(buf, at, v);
      return;
    case 'i16':
      if (v !== (v << 16) >> 16) throw outOfRange(path, v, type);
      writeU16LE(buf, at, v);
      return;
    case 'u32':
      if (v !== v >>> 0) throw outOfRange(path, v, type);
      writeU32LE(buf, at, v);
      return;
    case 'i32':
      if (v !== (v | 0)) throw outOfRange(path, v, type);
      writeU32LE(buf, at, v);
      return;
    case 'u64':
      if (!Number.isSafeInteger(v) || v < 0) throw outOfRange(path, v, type);
      writeI64LE(buf, at, v);
      return;
    case 'i64':
      if (!Number.isSafeInteger(v)) throw outOfRange(path, v, type);
      writeI64LE(buf, at, v);
      return;
    case 'f32':
      f32[0] = v;
      buf.set(f32Bytes, at);
      return;
    case 'f64':
      f64[0] = v;
      buf.set(f64Bytes, at);
      return;
    default:
      throw new InvalidMessageError(path, `unknown scalar type ${type}`);
  }
}

function outOfRange(path: string, v: number, type: ScalarType): InvalidMessageError {
  return new InvalidMessageError(path, `${v} does not fit ${type === 'u64' || type === 'i64' ? `${type} as a safe integer` : type}`);
}

export function writeU16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

export function writeI32LE(b: Uint8Array, o: number, v: number): void {
  writeU32LE(b, o, v);
}

/** A safe integer as a 64-bit two's complement value. */
export function writeI64LE(b: Uint8Array, o: number, v: number): void {
  const high = Math.floor(v / TWO_32);
  writeU32LE(b, o, v - high * TWO_32);
  writeU32LE(b, o + 4, high);
}
