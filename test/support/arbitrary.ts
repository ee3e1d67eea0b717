// fast-check arbitraries for every wire table, built from the generated
// layout, so that a new table or field is covered without editing tests.
import fc from 'fast-check';
import { FieldKind, STRUCTS, TABLES, UNIONS, ROOT_TABLE, type FieldLayout, type ScalarType } from '../../src/shared/schema/layout.js';
import type { BodyValue, Envelope } from '../../src/shared/envelope/index.js';

const MAX_DEPTH = 3;
/** Vectors of a one-byte enum: read back as number[], not as a byte view. */
const ENUM_VECTORS = new Set(['compression']);

export function scalarArbitrary(type: ScalarType): fc.Arbitrary<number | boolean> {
  switch (type) {
    case 'bool': return fc.boolean();
    case 'u8': return fc.integer({ min: 0, max: 0xff });
    case 'i8': return fc.integer({ min: -0x80, max: 0x7f });
    case 'u16': return fc.integer({ min: 0, max: 0xffff });
    case 'i16': return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'u32': return fc.integer({ min: 0, max: 0xffff_ffff });
    case 'i32': return fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
    case 'u64': return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
    case 'i64': return fc.oneof(fc.constantFrom(0, -1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), fc.maxSafeInteger());
    case 'f32': return fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround);
    case 'f64': return fc.double({ noNaN: true });
    default: throw new Error(`no arbitrary for ${type}`);
  }
}

function fieldArbitrary(f: FieldLayout, depth: number): fc.Arbitrary<unknown> | null {
  switch (f.kind) {
    case FieldKind.Scalar: return scalarArbitrary(f.scalar);
    case FieldKind.UnionType: return null;
    case FieldKind.Struct: return structArbitrary(f.target);
    case FieldKind.String: return fc.string({ maxLength: 24, unit: 'grapheme' });
    case FieldKind.ScalarVector:
      return f.scalar === 'u8' && !ENUM_VECTORS.has(f.name) ? fc.uint8Array({ maxLength: 96 }) : fc.array(scalarArbitrary(f.scalar), { maxLength: 6 });
    case FieldKind.StringVector: return fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 });
    case FieldKind.Table: return depth >= MAX_DEPTH ? fc.constant(null) : fc.option(tableArbitrary(f.target, depth + 1), { nil: null });
    case FieldKind.TableVector: return depth >= MAX_DEPTH ? fc.constant([]) : fc.array(tableArbitrary(f.target, depth + 1), { maxLength: 3 });
    case FieldKind.Union: return depth >= MAX_DEPTH ? fc.constant(null) : unionArbitrary(f.target, depth + 1);
    default: throw new Error(`no arbitrary for kind ${f.kind}`);
  }
}

export function structArbitrary(index: number): fc.Arbitrary<Record<string, unknown>> {
  const s = STRUCTS[index];
  return fc.record(Object.fromEntries(s.fields.map((f) => [f.name, scalarArbitrary(f.scalar)])));
}

export function tableArbitrary(index: number, depth = 1): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of TABLES[index].fields) {
    const a = fieldArbitrary(f, depth);
    if (a !== null) model[f.name] = a;
  }
  return fc.record(model);
}

export function unionArbitrary(index: number, depth = 1): fc.Arbitrary<Record<string, unknown>> {
  const u = UNIONS[index];
  const members: fc.Arbitrary<Record<string, unknown>>[] = [];
  for (let tag = 1; tag < u.members.length; tag++) {
    if (u.members[tag] < 0) continue;
    const name = u.names[tag];
    members.push(tableArbitrary(u.members[tag], depth).map((v) => ({ ...v, type: name })));
  }
  return fc.oneof(...members);
}

/** A whole envelope with any body. */
export const envelopeArbitrary: fc.Arbitrary<Envelope> = tableArbitrary(ROOT_TABLE).chain((env) =>
  unionArbitrary(0).map((body) => ({ header: env.header as unknown as Envelope['header'], body: body as unknown as BodyValue })),
);

/** The seed of a property run: FC_SEED from the environment, else a fresh one, printed on failure by fast-check. */
export function propertySeed(): number {
  const fromEnv = process.env.FC_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : (Date.now() ^ (process.pid << 16)) | 0;
}

/** Runs per property in CI; FC_RUNS overrides. */
export const PROPERTY_RUNS = Number(process.env.FC_RUNS ?? 10_000);
