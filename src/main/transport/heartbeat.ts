// Heartbeats on one peer connection: a pure state machine. Every
// heartbeatIntervalMs this side sends a HeartbeatPing (a sequence number,
// its own status, its monotonic send time in microseconds, and how many of
// its pings in a row went unanswered); the peer answers with a
// HeartbeatPong that echoes the sequence number and the send time, and
// carries the peer's status. The round-trip time is the arrival time minus
// the echoed send time; the last rttSamples round trips are kept for the
// average and the 99th percentile (the health metrics).
//
// MISSED. A ping not answered within heartbeatIntervalMs (that is, by the
// time the next regular ping is due) counts as missed: a 'heartbeat-missed'
// event with the count of consecutive misses, and at missedLimit in a row a
// single 'peer-unresponsive' event, for the peer registry and the
// connection to act on. A pong that does arrive, even for a ping already
// counted missed (a slow link, not a dead peer), gives an RTT sample and
// ends the run of misses; after 'peer-unresponsive' it raises
// 'peer-recovered'.
//
// The send times are this side's own clock, echoed back unchanged, so the
// peers' clocks need not agree. A pong that echoes a send time other than
// the one sent with its sequence number is ignored (counted unmatched), as
// is one for a sequence number not outstanding. At most OUTSTANDING_MAX
// pings are remembered; a ping pushed out of that record unanswered counts
// as missed then. A received ping is always answered at once with a pong.
//
//   heartbeat.start(now); heartbeat.tick(now); heartbeat.receivePing(p, now)
//   for (const out of heartbeat.drain()) driver.perform(out)
//   arm one timer at heartbeat.nextDeadline
import { InvalidConfigError } from '../../shared/errors.js';
import { NodeStatus } from '../../shared/schema/generated/clusterwire/wire/node-status.js';
import type { HeartbeatPing, HeartbeatPong } from '../../shared/schema/layout.js';
import { RttWindow } from './rtt-window.js';
import { integerOption as integer } from '../../shared/options.js';

//   option                 default   meaning
//   heartbeatIntervalMs    1 000     time between pings, and how long a ping may go unanswered
//   missedLimit            5         consecutive misses that make the peer unresponsive
//   rttSamples             100       round trips kept for the average and p99
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
export const DEFAULT_MISSED_LIMIT = 5;
export const DEFAULT_RTT_SAMPLES = 100;
/** Pings remembered while awaiting their pongs. */
export const OUTSTANDING_MAX = 16;

export interface HeartbeatOptionsInput {
  heartbeatIntervalMs?: number;
  missedLimit?: number;
  rttSamples?: number;
}

export interface HeartbeatOptions {
  readonly heartbeatIntervalMs: number;
  readonly missedLimit: number;
  readonly rttSamples: number;
}

export function resolveHeartbeatOptions(input: HeartbeatOptionsInput = {}): HeartbeatOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const heartbeatIntervalMs = integer('heartbeatIntervalMs', input.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, 1, 3_600_000);
  const missedLimit = integer('missedLimit', input.missedLimit ?? DEFAULT_MISSED_LIMIT, 1, 1_000);
  const rttSamples = integer('rttSamples', input.rttSamples ?? DEFAULT_RTT_SAMPLES, 1, 100_000);
  return Object.freeze({ heartbeatIntervalMs, missedLimit, rttSamples });
}

export type HeartbeatMessage = ({ type: 'HeartbeatPing' } & HeartbeatPing) | ({ type: 'HeartbeatPong' } & HeartbeatPong);

export type HeartbeatOutput =
  | { readonly type: 'send'; readonly message: HeartbeatMessage }
  | { readonly type: 'heartbeat-missed'; readonly seq: number; readonly consecutive: number }
  | { readonly type: 'peer-unresponsive'; readonly consecutive: number }
  | { readonly type: 'peer-recovered'; readonly rttMs: number }
  | { readonly type: 'peer-status'; readonly status: NodeStatus; readonly previous: NodeStatus | null };

export interface HeartbeatStats {
  readonly pingsSent: number;
  readonly pongsSent: number;
  readonly missed: number;
  /** Pongs for pings already counted missed. */
  readonly late: number;
  /** Pongs for no outstanding ping, or echoing the wrong send time. */
  readonly unmatched: number;
  /** Pings and pongs with a status this node does not know (a newer peer). */
  readonly unknownStatus: number;
}

/** What became of a pong: answered in time, answered after it was counted missed, or ignored. */
export type PongOutcome = 'answered' | 'late' | 'unmatched';

const KNOWN_STATUS = new Set<number>([NodeStatus.Healthy, NodeStatus.Degraded, NodeStatus.ShuttingDown]);

/** One ping awaiting its pong. seq 0 marks a free slot (sequence numbers start at 1). */
interface Outstanding {
  seq: number;
  sentUs: number;
  dueAt: number;
  missed: boolean;
}

export class Heartbeat {
  readonly options: HeartbeatOptions;
  readonly rtt: RttWindow;
  #status: NodeStatus;
  #peerStatus: NodeStatus | null = null;
  #peerMissed = 0;
  #seq = 0;
  #nextPingAt = Number.POSITIVE_INFINITY;
  readonly #outstanding: Outstanding[] = Array.from({ length: OUTSTANDING_MAX }, () => ({ seq: 0, sentUs: 0, dueAt: 0, missed: false }));
  #consecutive = 0;
  #unresponsive = false;
  #outputs: HeartbeatOutput[] = [];
  #spare: HeartbeatOutput[] = [];
  #stats = { pingsSent: 0, pongsSent: 0, missed: 0, late: 0, unmatched: 0, unknownStatus: 0 };

  constructor(options: HeartbeatOptions, status: NodeStatus = NodeStatus.Healthy) {
    this.options = options;
    this.#status = status;
    this.rtt = new RttWindow(options.rttSamples);
  }

  /** This node's status, as its pings and pongs carry it. */
  get status(): NodeStatus {
    return this.#status;
  }

  /** The peer's status from its last ping or pong; null before any. */
  get peerStatus(): NodeStatus | null {
    return this.#peerStatus;
  }

  /** How many of its pings in a row the peer says went unanswered (from its last ping). */
  get peerReportedMissed(): number {
    return this.#peerMissed;
  }

  /** Pings in a row that went unanswered. */
  get consecutiveMissed(): number {
    return this.#consecutive;
  }

  /** True from 'peer-unresponsive' until 'peer-recovered'. */
  get unresponsive(): boolean {
    return this.#unresponsive;
  }

  /** When tick() has something to do (monotonic ms); Infinity before start(). */
  get nextDeadline(): number {
    let next = this.#nextPingAt;
    for (const o of this.#outstanding) if (o.seq !== 0 && !o.missed && o.dueAt < next) next = o.dueAt;
    return next;
  }

  get stats(): HeartbeatStats {
    return { ...this.#stats };
  }

  /** Sends the first ping at monotonic time `now`. Calling it again does nothing. */
  start(now: number): void {
    if (this.#nextPingAt !== Number.POSITIVE_INFINITY) return;
    this.ping(now);
  }

  /** Advances time: counts pings unanswered past their interval, sends the next ping when due. */
  tick(now: number): void {
    this.countMissed(now);
    if (now >= this.#nextPingAt) this.ping(now);
  }

  /** Changes this node's status; once started, a ping tells the peer at once. */
  setStatus(status: NodeStatus, now: number): void {
    if (status === this.#status) return;
    this.#status = status;
    if (this.#nextPingAt !== Number.POSITIVE_INFINITY) {
      this.countMissed(now);
      this.ping(now);
    }
  }

  /** The peer pinged: answer with a pong echoing its sequence number and send time. */
  receivePing(ping: HeartbeatPing): void {
    this.notePeerStatus(ping.status);
    this.#peerMissed = ping.missed;
    this.#stats.pongsSent++;
    this.#outputs.push({ type: 'send', message: { type: 'HeartbeatPong', seq: ping.seq, status: this.#status, echoSentUs: ping.sentUs } });
  }

  /** The peer answered one of this side's pings. */
  receivePong(pong: HeartbeatPong, now: number): PongOutcome {
    const seq = pong.seq;
    const o = Number.isSafeInteger(seq) && seq > 0 ? this.#outstanding[seq % OUTSTANDING_MAX] : undefined;
    if (o === undefined || o.seq !== seq || o.sentUs !== pong.echoSentUs) {
      this.#stats.unmatched++;
      return 'unmatched';
    }
    this.notePeerStatus(pong.status);
    o.seq = 0;
    const rttMs = Math.max(0, Math.round(now * 1_000) - pong.echoSentUs) / 1_000;
    this.rtt.add(rttMs);
    this.#consecutive = 0;
    if (this.#unresponsive) {
      this.#unresponsive = false;
      this.#outputs.push({ type: 'peer-recovered', rttMs });
    }
    if (o.missed) {
      this.#stats.late++;
      return 'late';
    }
    return 'answered';
  }

  /** The outputs since the last drain, in order. The array is reused: valid until the next drain(). */
  drain(): readonly HeartbeatOutput[] {
    const out = this.#outputs;
    this.#outputs = this.#spare;
    this.#outputs.length = 0;
    this.#spare = out;
    return out;
  }

  private ping(now: number): void {
    const seq = ++this.#seq;
    const sentUs = Math.round(now * 1_000);
    const slot = this.#outstanding[seq % OUTSTANDING_MAX];
    // A slot still held is the ping OUTSTANDING_MAX back: unanswered, so missed if not yet counted.
    if (slot.seq !== 0 && !slot.missed) this.miss(slot);
    slot.seq = seq;
    slot.sentUs = sentUs;
    slot.dueAt = now + this.options.heartbeatIntervalMs;
    slot.missed = false;
    this.#nextPingAt = now + this.options.heartbeatIntervalMs;
    this.#stats.pingsSent++;
    this.#outputs.push({ type: 'send', message: { type: 'HeartbeatPing', seq, status: this.#status, sentUs, missed: this.#consecutive } });
  }

  /** Counts, oldest first, the outstanding pings whose interval has passed. */
  private countMissed(now: number): void {
    const first = this.#seq - OUTSTANDING_MAX + 1;
    for (let seq = Math.max(1, first); seq <= this.#seq; seq++) {
      const o = this.#outstanding[seq % OUTSTANDING_MAX];
      if (o.seq === seq && !o.missed && now >= o.dueAt) this.miss(o);
    }
  }

  private miss(o: Outstanding): void {
    o.missed = true;
    this.#consecutive++;
    this.#stats.missed++;
    this.#outputs.push({ type: 'heartbeat-missed', seq: o.seq, consecutive: this.#consecutive });
    if (this.#consecutive === this.options.missedLimit) {
      this.#unresponsive = true;
      this.#outputs.push({ type: 'peer-unresponsive', consecutive: this.#consecutive });
    }
  }

  private notePeerStatus(status: number): void {
    if (!KNOWN_STATUS.has(status)) {
      this.#stats.unknownStatus++;
      return;
    }
    if (status === this.#peerStatus) return;
    const previous = this.#peerStatus;
    this.#peerStatus = status;
    this.#outputs.push({ type: 'peer-status', status, previous });
  }
}

