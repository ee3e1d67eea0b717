// SWIM membership options: the presets, their documented defaults, and the one
// place they are validated (resolveSwimOptions). The core reads only resolved,
// frozen values.
//
//   option                    lan      wan      local    meaning
//   probeIntervalMs           500      3 000    200      one probe (ping, then ping-req) per interval
//   probeTimeoutMs            200      1 500    100      a direct ping not acked by then goes indirect
//   probeTimeoutMode          adaptive adaptive adaptive 'adaptive': srtt + 4 rttvar of direct probes, between
//                                                       probeTimeoutMs / 8 and probeTimeoutMs; 'fixed'
//   indirectChecks            3        3        3        k helpers asked to ping-req the target (up to 2k when the
//                                                       measured delivery rate is low)
//   probeFallback             reliable reliable reliable also ping the target over the stream (TCP) transport
//   suspicionMult             1.5      3        1.5      suspicion min = mult x max(2, log10 N) x probeIntervalMs
//   suspicionMaxTimeoutMult   4        4        4        suspicion max = mult x min (Lifeguard starts here)
//   suspicionConfirmations    3        3        3        independent suspicions that shrink the timeout to min
//   awarenessMaxMultiplier    8        8        8        Lifeguard local health: intervals stretch up to this factor
//   lifeguard                 on       on       on       'off' = plain SWIM: no nacks, no local health, fixed timeout
//   gossipIntervalMs          200      500      100      gossip round period (only when updates are pending)
//   gossipNodes               3        4        3        members gossiped to per round
//   gossipToTheDeadMs         30 000   60 000   15 000   dead members still get gossip this long (so they can refute)
//   retransmitMult            4        4        3        an update is sent retransmitMult x ceil(log10(N+1)) / delivery times
//                                                       (delivery: measured share of direct probes acked in time)
//   pushPullIntervalMs        30 000   60 000   15 000   full state sync with one random member (scaled up above 32 members)
//   reconnectIntervalMs       10 000   30 000   5 000    ping one remembered dead member, push-pull if it answers (re-merge)
//   reconnectTimeoutMs        3 600 000 (all)            dead members are remembered and retried this long
//   joinRetryIntervalMs       1 000    2 000    500      seeds are retried this often until one answers
//   joinMaxAttempts           10       10       10       rounds of join attempts before 'join-failed'
//   maxPacketBytes            1 400    1 400    1 400    safe UDP payload; piggybacked gossip fills what is left
//   broadcastShare            0.5      0.5      0.5      share of the gossip budget kept for user broadcasts when both wait
//   maxMetaBytes              512      512      512      node metadata bound
//
// Identity options (no preset value): name (required), host ('127.0.0.1'),
// port (7946), meta (empty), initialIncarnation (0; pass a persisted counter
// to survive restarts without relying on refutation).
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption as int } from '../../shared/options.js';
import { copyBytes } from '../../shared/bytes.js';

export type ProbeFallback = 'reliable' | 'none';
export type LifeguardMode = 'on' | 'off';
export type ProbeTimeoutMode = 'adaptive' | 'fixed';

/** The tunable part: what a preset fixes. */
export interface SwimTuning {
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly probeTimeoutMode: ProbeTimeoutMode;
  readonly indirectChecks: number;
  readonly probeFallback: ProbeFallback;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  readonly suspicionConfirmations: number;
  readonly awarenessMaxMultiplier: number;
  readonly lifeguard: LifeguardMode;
  readonly gossipIntervalMs: number;
  readonly gossipNodes: number;
  readonly gossipToTheDeadMs: number;
  readonly retransmitMult: number;
  readonly pushPullIntervalMs: number;
  readonly reconnectIntervalMs: number;
  readonly reconnectTimeoutMs: number;
  readonly joinRetryIntervalMs: number;
  readonly joinMaxAttempts: number;
  readonly maxPacketBytes: number;
  readonly broadcastShare: number;
  readonly maxMetaBytes: number;
}

export type PresetName = 'lan' | 'wan' | 'local';

const HOUR_MS = 3_600_000;

const lan: SwimTuning = Object.freeze({
  probeIntervalMs: 500,
  probeTimeoutMs: 200,
  probeTimeoutMode: 'adaptive',
  indirectChecks: 3,
  probeFallback: 'reliable',
  suspicionMult: 1.5,
  suspicionMaxTimeoutMult: 4,
  suspicionConfirmations: 3,
  awarenessMaxMultiplier: 8,
  lifeguard: 'on',
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  retransmitMult: 4,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  reconnectTimeoutMs: HOUR_MS,
  joinRetryIntervalMs: 1_000,
  joinMaxAttempts: 10,
  maxPacketBytes: 1_400,
  broadcastShare: 0.5,
  maxMetaBytes: 512,
} satisfies SwimTuning);

const wan: SwimTuning = Object.freeze({
  ...lan,
  probeIntervalMs: 3_000,
  probeTimeoutMs: 1_500,
  suspicionMult: 3,
  suspicionMaxTimeoutMult: 4,
  gossipIntervalMs: 500,
  gossipNodes: 4,
  gossipToTheDeadMs: 60_000,
  pushPullIntervalMs: 60_000,
  reconnectIntervalMs: 30_000,
  joinRetryIntervalMs: 2_000,
});

const local: SwimTuning = Object.freeze({
  ...lan,
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 100,
  gossipToTheDeadMs: 15_000,
  retransmitMult: 3,
  pushPullIntervalMs: 15_000,
  reconnectIntervalMs: 5_000,
  joinRetryIntervalMs: 500,
});

/** Frozen presets: `Presets.lan` (one datacenter), `Presets.wan`, `Presets.local` (loopback). */
export const Presets: Readonly<Record<PresetName, SwimTuning>> = Object.freeze({ lan, wan, local });

/** What a caller passes: identity plus any tuning to override on top of the preset. */
export interface SwimOptionsInput extends Partial<SwimTuning> {
  name: string;
  host?: string;
  port?: number;
  meta?: Uint8Array;
  initialIncarnation?: number;
  preset?: PresetName;
}

export interface SwimOptions extends SwimTuning {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly meta: Uint8Array;
  readonly initialIncarnation: number;
}

export const DEFAULT_PORT = 7946;
const MAX_NAME_BYTES = 255;

export function resolveSwimOptions(input: SwimOptionsInput): SwimOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const presetName = input.preset ?? 'lan';
  if (!Object.hasOwn(Presets, presetName)) {
    throw new InvalidConfigError('preset', `expected one of ${Object.keys(Presets).join(', ')}, got ${String(presetName)}`);
  }
  const p = Presets[presetName];
  const probeIntervalMs = int('probeIntervalMs', input.probeIntervalMs ?? p.probeIntervalMs, 1, HOUR_MS);
  const probeTimeoutMs = int('probeTimeoutMs', input.probeTimeoutMs ?? p.probeTimeoutMs, 1, HOUR_MS);
  if (probeTimeoutMs >= probeIntervalMs) {
    throw new InvalidConfigError('probeTimeoutMs', `must be below probeIntervalMs (${probeIntervalMs}), got ${probeTimeoutMs}`);
  }
  const maxPacketBytes = int('maxPacketBytes', input.maxPacketBytes ?? p.maxPacketBytes, 512, 65_000);
  const maxMetaBytes = int('maxMetaBytes', input.maxMetaBytes ?? p.maxMetaBytes, 0, 1_024);
  const meta = input.meta ?? new Uint8Array(0);
  if (!(meta instanceof Uint8Array)) throw new InvalidConfigError('meta', 'expected a Uint8Array');
  if (meta.length > maxMetaBytes) throw new InvalidConfigError('meta', `${meta.length} bytes exceeds maxMetaBytes (${maxMetaBytes})`);
  const broadcastShare = input.broadcastShare ?? p.broadcastShare;
  if (typeof broadcastShare !== 'number' || !(broadcastShare >= 0 && broadcastShare <= 1)) {
    throw new InvalidConfigError('broadcastShare', `expected a number in [0, 1], got ${String(broadcastShare)}`);
  }
  return Object.freeze({
    name: wireName('name', input.name),
    host: wireName('host', input.host ?? '127.0.0.1'),
    port: int('port', input.port ?? DEFAULT_PORT, 1, 65_535),
    meta: copyBytes(meta),
    initialIncarnation: int('initialIncarnation', input.initialIncarnation ?? 0, 0, Number.MAX_SAFE_INTEGER - 1),
    probeIntervalMs,
    probeTimeoutMs,
    probeTimeoutMode: mode('probeTimeoutMode', input.probeTimeoutMode ?? p.probeTimeoutMode, ['adaptive', 'fixed'] as const),
    indirectChecks: int('indirectChecks', input.indirectChecks ?? p.indirectChecks, 0, 16),
    probeFallback: mode('probeFallback', input.probeFallback ?? p.probeFallback, ['reliable', 'none'] as const),
    suspicionMult: num('suspicionMult', input.suspicionMult ?? p.suspicionMult, 0.1, 100),
    suspicionMaxTimeoutMult: int('suspicionMaxTimeoutMult', input.suspicionMaxTimeoutMult ?? p.suspicionMaxTimeoutMult, 1, 100),
    suspicionConfirmations: int('suspicionConfirmations', input.suspicionConfirmations ?? p.suspicionConfirmations, 0, 64),
    awarenessMaxMultiplier: int('awarenessMaxMultiplier', input.awarenessMaxMultiplier ?? p.awarenessMaxMultiplier, 1, 64),
    lifeguard: mode('lifeguard', input.lifeguard ?? p.lifeguard, ['on', 'off'] as const),
    gossipIntervalMs: int('gossipIntervalMs', input.gossipIntervalMs ?? p.gossipIntervalMs, 1, HOUR_MS),
    gossipNodes: int('gossipNodes', input.gossipNodes ?? p.gossipNodes, 0, 64),
    gossipToTheDeadMs: int('gossipToTheDeadMs', input.gossipToTheDeadMs ?? p.gossipToTheDeadMs, 0, 24 * HOUR_MS),
    retransmitMult: int('retransmitMult', input.retransmitMult ?? p.retransmitMult, 1, 100),
    pushPullIntervalMs: int('pushPullIntervalMs', input.pushPullIntervalMs ?? p.pushPullIntervalMs, 0, 24 * HOUR_MS),
    reconnectIntervalMs: int('reconnectIntervalMs', input.reconnectIntervalMs ?? p.reconnectIntervalMs, 0, 24 * HOUR_MS),
    reconnectTimeoutMs: int('reconnectTimeoutMs', input.reconnectTimeoutMs ?? p.reconnectTimeoutMs, 0, 30 * 24 * HOUR_MS),
    joinRetryIntervalMs: int('joinRetryIntervalMs', input.joinRetryIntervalMs ?? p.joinRetryIntervalMs, 1, HOUR_MS),
    joinMaxAttempts: int('joinMaxAttempts', input.joinMaxAttempts ?? p.joinMaxAttempts, 1, 1_000),
    maxPacketBytes,
    broadcastShare,
    maxMetaBytes,
  });
}

function num(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new InvalidConfigError(field, `expected a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function mode<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidConfigError(field, `expected one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

function wireName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidConfigError(field, 'expected a non-empty string');
  if (Buffer.byteLength(value, 'utf8') > MAX_NAME_BYTES) throw new InvalidConfigError(field, `longer than ${MAX_NAME_BYTES} bytes`);
  return value;
}
