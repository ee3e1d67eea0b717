// ClusterNode options: what `ClusterNode.start(options)` accepts, its
// defaults, and the one place they are validated. Sub-component options
// (membership tuning, transport, requests, routing) are passed through and
// validated by their own resolvers when the node starts.
//
//   option              default                 meaning
//   nodeId              <hostname>-<6 hex>      this node's id (1..255 UTF-8 bytes), unique in the cluster
//   cluster             'clusterwire'           cluster name; peers with another name are refused
//   host                '127.0.0.1'             address to bind (gossip UDP+TCP and the data listener)
//   port                7946                    gossip port (UDP and TCP); 0 = any free port
//   dataPort            0                       data (messaging) TCP port; 0 = any free port
//   advertiseHost       host                    address peers use; required when host is a wildcard
//   seeds               []                      "host:port" gossip addresses, or a SeedSource (static, DNS, file)
//   metadata            {}                      datacenter, rack, capacity, tags (gossiped, <= 512 B encoded)
//   preset              'lan'                   membership timing: 'lan', 'wan' or 'local' (see membership/options.ts)
//   membership          {}                      membership tuning overrides (probeIntervalMs, ...)
//   tls                 null                    { key, cert, ca } PEM: TLS 1.3 with mutual authentication
//   gossipKeys          null                    AES-256-GCM keys for gossip (32 bytes each), primary first
//   secret              null                    shared secret (>= 16 bytes) proven in every data handshake
//   workers             0                       worker threads for byte work (hashing, compression); 0 = inline
//   compression         ['lz4', 'zstd']         payload compression offered to peers, by preference
//   routing             {}                      router options (strategy, adaptive weights, hotspot, affinity)
//   requests            {}                      request defaults (requestTimeoutMs, maxRetries, ...)
//   logger              silent                  a pino logger
//   limits              see below
//     maxConnections          1024              data connections, in and out
//     maxFrameBytes           16 MiB            largest frame accepted
//     maxEventBuffer          1024              events an async iterator holds before dropping the oldest
//     maxPayloadBytes         maxFrameBytes/2   largest payload send/request/broadcast accept
//   leaveLingerMs       1000                    leave(): how long the leave is gossiped before sockets close
//   transfers           {}                      file transfer and state sync: directory (received files; none = refuse),
//                                               chunkBytes, windowBytes, throttleBytesPerSec, ... (transfer/transfer-options.ts)
//   transactions        {}                      logDirectory (2PC logs; none: in memory), tuning (timeouts)
//   leadership          see cluster/leadership.ts: enabled (true), bootstrapExpect (3), voters (from
//                       membership), stateFile (none: the vote is kept in memory), Raft timing
//                       (preset: the membership preset)
import os from 'node:os';
import crypto from 'node:crypto';
import net from 'node:net';
import { pino, type Logger } from 'pino';
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption } from '../../shared/options.js';
import type { CompressionName } from '../../shared/compression.js';
import type { SeedSource } from '../discovery/seed-source.js';
import type { PresetName, SwimTuning } from '../membership/options.js';
import type { RouterOptionsInput } from '../routing/router-options.js';
import type { RequestTrackerOptionsInput } from '../transport/request-tracker-options.js';
import type { TlsOptions } from '../transport/transport.js';
import type { HeartbeatOptionsInput } from '../transport/heartbeat.js';
import type { LeadershipOptionsInput } from './leadership.js';
import { resolveFileTransfersOptions, type FileTransfersOptionsInput } from '../transfer/transfer-options.js';
import { resolveTransactionOptions, type TransactionTuning } from '../transactions/options.js';

export interface TransactionsOptionsInput {
  /** Directory of the coordinator and participant logs (fsync'd); without it nothing survives a restart. */
  logDirectory?: string;
  /** Timeouts and retention (transactions/options.ts). */
  tuning?: Partial<TransactionTuning>;
}
import { nameList, resolveRaftOptions, type RaftOptionsInput } from '../leadership/options.js';

export interface NodeMetadata {
  readonly datacenter?: string;
  readonly rack?: string;
  /** Relative capacity, the weight of weighted routing (0 = not set). */
  readonly capacity?: number;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface ClusterLimitsInput {
  maxConnections?: number;
  maxFrameBytes?: number;
  maxEventBuffer?: number;
  maxPayloadBytes?: number;
}

export interface ClusterNodeOptionsInput {
  nodeId?: string;
  cluster?: string;
  host?: string;
  port?: number;
  dataPort?: number;
  advertiseHost?: string;
  seeds?: readonly string[] | SeedSource;
  metadata?: NodeMetadata;
  preset?: PresetName;
  membership?: Partial<SwimTuning>;
  tls?: TlsOptions | null;
  gossipKeys?: readonly Uint8Array[] | null;
  secret?: string | Uint8Array | null;
  workers?: number;
  compression?: readonly CompressionName[];
  routing?: RouterOptionsInput;
  requests?: RequestTrackerOptionsInput;
  heartbeat?: HeartbeatOptionsInput;
  logger?: Logger;
  limits?: ClusterLimitsInput;
  leaveLingerMs?: number;
  leadership?: LeadershipOptionsInput;
  transfers?: FileTransfersOptionsInput;
  transactions?: TransactionsOptionsInput;
}

export interface ClusterNodeOptions {
  readonly nodeId: string;
  readonly cluster: string;
  readonly host: string;
  readonly port: number;
  readonly dataPort: number;
  readonly advertiseHost: string;
  readonly seeds: readonly string[] | SeedSource;
  readonly metadata: Required<NodeMetadata>;
  readonly preset: PresetName;
  readonly membership: Partial<SwimTuning>;
  readonly tls: TlsOptions | null;
  readonly gossipKeys: readonly Uint8Array[] | null;
  readonly secret: string | Uint8Array | null;
  readonly workers: number;
  readonly compression: readonly CompressionName[] | undefined;
  readonly routing: RouterOptionsInput;
  readonly requests: RequestTrackerOptionsInput;
  readonly heartbeat: HeartbeatOptionsInput;
  readonly logger: Logger;
  readonly limits: Readonly<Required<ClusterLimitsInput>>;
  readonly leaveLingerMs: number;
  readonly leadership: LeadershipOptionsInput;
  readonly transfers: FileTransfersOptionsInput;
  readonly transactions: TransactionsOptionsInput;
}

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const PRESETS: readonly PresetName[] = ['lan', 'wan', 'local'];

export function resolveClusterNodeOptions(input: ClusterNodeOptionsInput = {}): ClusterNodeOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const nodeId = input.nodeId ?? `${os.hostname()}-${crypto.randomBytes(3).toString('hex')}`;
  name('nodeId', nodeId);
  const cluster = input.cluster ?? 'clusterwire';
  name('cluster', cluster);
  const host = input.host ?? '127.0.0.1';
  if (net.isIP(host) === 0) throw new InvalidConfigError('host', `expected an IP address, got ${String(host)}`);
  const wildcard = host === '0.0.0.0' || host === '::';
  const advertiseHost = input.advertiseHost ?? (wildcard ? '' : host);
  if (net.isIP(advertiseHost) === 0 || advertiseHost === '0.0.0.0' || advertiseHost === '::') {
    throw new InvalidConfigError('advertiseHost', wildcard && input.advertiseHost === undefined ? `required when host is ${host}` : `expected a routable IP address, got ${String(advertiseHost)}`);
  }
  const port = integerOption('port', input.port ?? 7946, 0, 65_535);
  const dataPort = integerOption('dataPort', input.dataPort ?? 0, 0, 65_535);
  if (port !== 0 && port === dataPort) throw new InvalidConfigError('dataPort', 'must differ from port (the gossip TCP listener uses it)');
  const seeds = input.seeds ?? [];
  if (Array.isArray(seeds)) {
    for (const s of seeds) if (typeof s !== 'string' || s.length === 0) throw new InvalidConfigError('seeds', `expected "host:port" strings, got ${String(s)}`);
  } else if (typeof (seeds as SeedSource).resolve !== 'function' || typeof (seeds as SeedSource).subscribe !== 'function') {
    throw new InvalidConfigError('seeds', 'expected an array of "host:port" or a SeedSource');
  }
  const m = input.metadata ?? {};
  const metadata: Required<NodeMetadata> = {
    datacenter: m.datacenter ?? '',
    rack: m.rack ?? '',
    capacity: integerOption('metadata.capacity', m.capacity ?? 0, 0, 0xffff_ffff),
    tags: { ...(m.tags ?? {}) },
  };
  for (const [k, v] of Object.entries(metadata.tags)) {
    if (typeof v !== 'string') throw new InvalidConfigError(`metadata.tags.${k}`, 'expected a string');
    if (k.startsWith(RESERVED_TAG_PREFIX)) throw new InvalidConfigError(`metadata.tags.${k}`, `the prefix ${RESERVED_TAG_PREFIX} is reserved`);
  }
  const preset = input.preset ?? 'lan';
  if (!PRESETS.includes(preset)) throw new InvalidConfigError('preset', `expected one of ${PRESETS.join(', ')}, got ${String(preset)}`);
  const maxFrameBytes = integerOption('limits.maxFrameBytes', input.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 1024, 0xffff_ffff);
  const limits = {
    maxConnections: integerOption('limits.maxConnections', input.limits?.maxConnections ?? 1024, 1, 1 << 20),
    maxFrameBytes,
    maxEventBuffer: integerOption('limits.maxEventBuffer', input.limits?.maxEventBuffer ?? 1024, 1, 1 << 24),
    maxPayloadBytes: integerOption('limits.maxPayloadBytes', input.limits?.maxPayloadBytes ?? Math.floor(maxFrameBytes / 2), 0, maxFrameBytes),
  };
  return Object.freeze({
    nodeId,
    cluster,
    host,
    port,
    dataPort,
    advertiseHost,
    seeds,
    metadata,
    preset,
    membership: { ...(input.membership ?? {}) },
    tls: input.tls ?? null,
    gossipKeys: input.gossipKeys ?? null,
    secret: input.secret ?? null,
    workers: integerOption('workers', input.workers ?? 0, 0, 256),
    compression: input.compression,
    routing: { ...(input.routing ?? {}), datacenter: input.routing?.datacenter ?? metadata.datacenter, rack: input.routing?.rack ?? metadata.rack },
    requests: input.requests ?? {},
    heartbeat: input.heartbeat ?? {},
    logger: input.logger ?? pino({ level: 'silent' }),
    limits: Object.freeze(limits),
    leaveLingerMs: integerOption('leaveLingerMs', input.leaveLingerMs ?? 1_000, 0, 60_000),
    leadership: resolveLeadership(input.leadership ?? {}),
    transfers: validated(input.transfers ?? {}),
    transactions: resolveTransactions(input.transactions ?? {}),
  });
}

/** File transfer options are checked now (the service resolves them again when it starts). */
function validated(input: FileTransfersOptionsInput): FileTransfersOptionsInput {
  resolveFileTransfersOptions(input);
  return Object.freeze({ ...input });
}

function resolveTransactions(input: TransactionsOptionsInput): TransactionsOptionsInput {
  if (input.logDirectory !== undefined && (typeof input.logDirectory !== 'string' || input.logDirectory.length === 0)) {
    throw new InvalidConfigError('transactions.logDirectory', 'expected a directory path');
  }
  resolveTransactionOptions({ ...(input.tuning ?? {}), name: 'check' });
  return Object.freeze({ ...input });
}

function resolveLeadership(input: LeadershipOptionsInput): LeadershipOptionsInput {
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw new InvalidConfigError('leadership.enabled', 'expected a boolean');
  if (input.bootstrapExpect !== undefined) integerOption('leadership.bootstrapExpect', input.bootstrapExpect, 1, 1_000);
  if (input.stateFile !== undefined && (typeof input.stateFile !== 'string' || input.stateFile.length === 0)) {
    throw new InvalidConfigError('leadership.stateFile', 'expected a file path');
  }
  // the timing fields are validated by resolveRaftOptions when the election starts; check them now
  if (input.voters !== undefined) nameList('leadership.voters', input.voters);
  resolveRaftOptions({ ...input, name: 'check', voters: undefined } as RaftOptionsInput);
  return Object.freeze({ ...input });
}

/** Tags with this prefix carry the node's own addresses in its gossiped metadata. */
export const RESERVED_TAG_PREFIX = 'cw.';
/** The tag carrying the data (messaging) port. */
export const DATA_PORT_TAG = 'cw.data';

function name(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 255) {
    throw new InvalidConfigError(field, `expected 1..255 UTF-8 bytes, got ${String(value)}`);
  }
}
