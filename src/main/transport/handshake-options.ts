// Handshake options: what a node says about itself when it opens or accepts a
// connection, and how strictly it checks the peer. Validated once, at the
// edge, by resolveHandshakeOptions(); the cores only read resolved values.
//
//   option                  default                  meaning
//   nodeId                  (required)               this node's id, 1..255 UTF-8 bytes
//   cluster                 (required)               cluster name; peers must match it exactly
//   advertise               ''                       host:port where this node accepts connections
//   versions                [FRAME_VERSION]          protocol versions spoken (1..15, frame flag bits 0-3)
//   compression             ['lz4', 'zstd']          payload compression, in order of preference
//   maxFrameBytes           16 MiB                   largest frame this node accepts
//   maxStreams              256                      concurrent streams this node accepts
//   features                []                       optional protocol features, e.g. 'chunked-streams'
//   secret                  null                     shared secret (>= 16 bytes); both sides prove it
//   clockSkewMs             30 000                   largest accepted |peer wall clock - own wall clock|
//   handshakeTimeoutMs      10 000                   a handshake not finished by then is cut off
//   nonceBytes              16                       length of the nonces this node sends (16..64)
//   replayCacheMaxEntries   65 536                   nonces remembered at most (see nonce-cache.ts)
//
// Uncompressed frames are always allowed, so 'none' need not be listed.
import { InvalidConfigError } from '../../shared/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_VERSION } from '../../shared/frame.js';
import { CompressionId, type CompressionName } from '../../shared/compression.js';
import type { Capabilities } from '../../shared/schema/layout.js';
import { integerOption as integer } from '../../shared/options.js';

/** Longest node id, cluster name, advertise address or feature name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Nonce lengths accepted from peers and allowed for nonceBytes. */
export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;
/** Session ids are exactly this long. */
export const SESSION_ID_BYTES = 16;
/** Shared secrets shorter than this are refused. */
export const MIN_SECRET_BYTES = 16;
/** The smallest maxFrameBytes a node may state (and a peer may announce). */
export const MIN_MAX_FRAME_BYTES = 1024;
export const MAX_U32 = 0xffff_ffff;
/** Protocol versions fit frame flag bits 0-3. */
export const MAX_PROTOCOL_VERSION = 15;

export const DEFAULT_CLOCK_SKEW_MS = 30_000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_NONCE_BYTES = 16;
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 65_536;
export const DEFAULT_MAX_STREAMS = 256;
export const DEFAULT_COMPRESSION: readonly CompressionName[] = ['lz4', 'zstd'];

const DAY_MS = 86_400_000;

/** What a caller passes; everything but nodeId and cluster has a default. */
export interface HandshakeOptionsInput {
  nodeId: string;
  cluster: string;
  advertise?: string;
  versions?: readonly number[];
  compression?: readonly CompressionName[];
  maxFrameBytes?: number;
  maxStreams?: number;
  features?: readonly string[];
  secret?: string | Uint8Array | null;
  clockSkewMs?: number;
  handshakeTimeoutMs?: number;
  nonceBytes?: number;
  replayCacheMaxEntries?: number;
}

/** Resolved, validated, frozen options. */
export interface HandshakeOptions {
  readonly nodeId: string;
  readonly cluster: string;
  readonly advertise: string;
  /** Distinct, highest first. */
  readonly versions: readonly number[];
  /** What this node announces, as the wire carries it. */
  readonly capabilities: Readonly<Capabilities>;
  /** A private copy of the secret, or null when authentication is off. */
  readonly secret: Uint8Array | null;
  readonly clockSkewMs: number;
  readonly handshakeTimeoutMs: number;
  readonly nonceBytes: number;
  readonly replayCacheMaxEntries: number;
}

export function resolveHandshakeOptions(input: HandshakeOptionsInput): HandshakeOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const nodeId = name('nodeId', input.nodeId, false);
  const cluster = name('cluster', input.cluster, false);
  const advertise = name('advertise', input.advertise ?? '', true);
  const versions = resolveVersions(input.versions ?? [FRAME_VERSION]);
  const compression = resolveCompression(input.compression ?? DEFAULT_COMPRESSION);
  const maxFrameBytes = integer('maxFrameBytes', input.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES, MAX_U32);
  const maxStreams = integer('maxStreams', input.maxStreams ?? DEFAULT_MAX_STREAMS, 0, MAX_U32);
  const features = resolveFeatures(input.features ?? []);
  const secret = resolveSecret(input.secret ?? null);
  const clockSkewMs = integer('clockSkewMs', input.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, 1, DAY_MS);
  const handshakeTimeoutMs = integer('handshakeTimeoutMs', input.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, DAY_MS);
  const nonceBytes = integer('nonceBytes', input.nonceBytes ?? DEFAULT_NONCE_BYTES, MIN_NONCE_BYTES, MAX_NONCE_BYTES);
  const replayCacheMaxEntries = integer(
    'replayCacheMaxEntries',
    input.replayCacheMaxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES,
    1,
    16_777_216,
  );
  const capabilities = Object.freeze({ compression, maxFrameBytes, maxStreams, features });
  return Object.freeze({
    nodeId,
    cluster,
    advertise,
    versions,
    capabilities,
    secret,
    clockSkewMs,
    handshakeTimeoutMs,
    nonceBytes,
    replayCacheMaxEntries,
  });
}

/** `options` announcing `feature` too (once). */
export function withFeature(options: HandshakeOptions, feature: string): HandshakeOptions {
  const c = options.capabilities;
  if (c.features.includes(feature)) return options;
  return Object.freeze({ ...options, capabilities: Object.freeze({ ...c, features: [...c.features, feature] }) });
}

/** True when `s` is a string of 1..255 (or 0..255 when `allowEmpty`) UTF-8 bytes without lone surrogates. */
export function isWireName(s: unknown, allowEmpty: boolean): s is string {
  if (typeof s !== 'string') return false;
  if (s.length === 0) return allowEmpty;
  if (s.length > MAX_NAME_BYTES) return false;
  const bytes = Buffer.from(s, 'utf8');
  return bytes.length <= MAX_NAME_BYTES && bytes.toString('utf8') === s;
}

function name(field: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw new InvalidConfigError(field, `expected a string, got ${typeof value}`);
  const text: string = value;
  if (!isWireName(text, allowEmpty)) {
    throw new InvalidConfigError(
      field,
      `expected ${allowEmpty ? '0' : '1'}..${MAX_NAME_BYTES} bytes of well-formed UTF-8, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return text;
}

function resolveVersions(value: unknown): readonly number[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidConfigError('versions', 'expected a non-empty array');
  const seen = new Set<number>();
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_PROTOCOL_VERSION) {
      throw new InvalidConfigError('versions', `expected integers in [1, ${MAX_PROTOCOL_VERSION}], got ${String(v)}`);
    }
    seen.add(v);
  }
  return Object.freeze([...seen].sort((a, b) => b - a));
}

function resolveCompression(value: unknown): number[] {
  if (!Array.isArray(value)) throw new InvalidConfigError('compression', 'expected an array of compression names');
  const ids: number[] = [];
  for (const n of value) {
    if (typeof n !== 'string' || !Object.hasOwn(CompressionId, n)) {
      throw new InvalidConfigError('compression', `unknown algorithm ${JSON.stringify(n)} (known: ${Object.keys(CompressionId).join(', ')})`);
    }
    const id = CompressionId[n as CompressionName];
    if (ids.includes(id)) throw new InvalidConfigError('compression', `${n} is listed twice`);
    ids.push(id);
  }
  return Object.freeze(ids) as number[];
}

function resolveFeatures(value: unknown): string[] {
  if (!Array.isArray(value)) throw new InvalidConfigError('features', 'expected an array of strings');
  if (value.length > 64) throw new InvalidConfigError('features', `at most 64 features, got ${value.length}`);
  const out: string[] = [];
  for (const f of value) {
    if (!isWireName(f, false)) throw new InvalidConfigError('features', `expected 1..${MAX_NAME_BYTES} bytes of UTF-8, got ${String(f)}`);
    if (out.includes(f)) throw new InvalidConfigError('features', `${f} is listed twice`);
    out.push(f);
  }
  return Object.freeze(out) as string[];
}

function resolveSecret(value: unknown): Uint8Array | null {
  if (value === null) return null;
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = new Uint8Array(Buffer.from(value, 'utf8'));
  else if (value instanceof Uint8Array) bytes = new Uint8Array(value); // a copy, also when value is a Buffer
  else throw new InvalidConfigError('secret', 'expected a string, a Uint8Array or null');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new InvalidConfigError('secret', `expected at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes;
}
