// The prober side of SWIM's failure detector (section 3.1) with Lifeguard:
// one probe per (health-stretched) interval to the next member in randomized
// round-robin order; no ack within the timeout brings ping-reqs through k
// helpers, a direct retry over UDP and over the stream transport, and a last
// UDP retry halfway to the end; silence until the end makes the target
// suspect (membership.ts). Missing nacks feed local health (Lifeguard IV-A).
//
// It also measures the share of direct probes acked in time (a moving
// average; a low rate asks more helpers and lengthens retransmission) and,
// with probeTimeoutMode 'adaptive', their round-trip time, from which the
// probe timeout is derived.
import type { Dissemination } from './dissemination.js';
import type { LocalHealth } from './local-health.js';
import type { MemberTable } from './member-table.js';
import type { Membership } from './membership.js';
import { MemberState, type Channel } from './messages.js';
import type { SwimOptions } from './options.js';
import type { Outbox } from './outbox.js';
import type { Piggyback } from './piggyback.js';

interface Probe {
  /** The target's slot, and its name (the slot is checked against it before use: a forgotten slot may be reused). */
  readonly target: number;
  readonly targetName: string;
  readonly seq: number;
  readonly startedAt: number;
  readonly timeoutAt: number;
  /** A last direct ping goes out here, halfway between the timeout and the end. */
  readonly retryAt: number;
  readonly endAt: number;
  indirect: boolean;
  retried: boolean;
  expectedNacks: number;
  nacks: number;
  /** The helpers asked to probe the target (addresses, and their names at the same index). */
  relayAddresses: string[] | null;
  relayNames: string[] | null;
}

/** Weight of the newest probe in the delivery estimate. */
const DELIVERY_EWMA_WEIGHT = 0.05;
/** The adaptive timeout never goes below probeTimeoutMs / this. */
const ADAPTIVE_TIMEOUT_FLOOR_DIVISOR = 8;

export class Prober {
  private probe: Probe | null = null;
  private nextProbeAt: number;
  private seq = 0;
  private delivery = 1;
  /** Smoothed round-trip time of direct probes and its mean deviation (RFC 6298 style); -1 until measured. */
  private srtt = -1;
  private rttvar = 0;
  private readonly lifeguard: boolean;
  private readonly adaptive: boolean;
  private readonly fallback: boolean;
  private readonly helpers: number[] = [];
  private readonly isAlive = (s: number): boolean => this.table.state(s) === MemberState.Alive;

  constructor(
    private readonly options: SwimOptions,
    private readonly table: MemberTable,
    private readonly view: Membership,
    private readonly health: LocalHealth,
    private readonly gossip: Dissemination,
    private readonly piggyback: Piggyback,
    private readonly out: Outbox,
    firstProbeAt: number,
  ) {
    this.lifeguard = options.lifeguard === 'on';
    this.fallback = options.probeFallback === 'reliable';
    this.adaptive = options.probeTimeoutMode === 'adaptive';
    this.nextProbeAt = firstProbeAt;
  }

  /** When the prober next has work. */
  nextDeadline(): number {
    const p = this.probe;
    return p === null ? this.nextProbeAt : !p.indirect ? p.timeoutAt : !p.retried ? p.retryAt : p.endAt;
  }

  /** Share of direct probes acked within the timeout (moving average). */
  get deliveryRate(): number {
    return this.delivery;
  }

  /**
   * The probe timeout: with the adaptive mode, srtt + 4 x rttvar of direct
   * probes, between probeTimeoutMs / 8 and probeTimeoutMs; stretched by local
   * health. A short timeout leaves the indirect and stream paths more of the
   * period.
   */
  timeoutMs(): number {
    const max = this.options.probeTimeoutMs;
    let t = max;
    if (this.adaptive && this.srtt >= 0) {
      const floor = max / ADAPTIVE_TIMEOUT_FLOOR_DIVISOR;
      t = Math.ceil(this.srtt + 4 * this.rttvar);
      t = t < floor ? floor : t > max ? max : t;
    }
    return this.scaled(t);
  }

  /** Stops probing (the node left). */
  stop(): void {
    this.probe = null;
    this.nextProbeAt = Infinity;
  }

  /** An interval or timeout, stretched by local health when Lifeguard is on. */
  scaled(ms: number): number {
    return this.lifeguard ? this.health.scale(ms) : ms;
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  run(now: number): void {
    const p = this.probe;
    if (p !== null) {
      if (!p.indirect && now >= p.timeoutAt) this.probeIndirect(p);
      if (!p.retried && now >= p.retryAt) {
        p.retried = true;
        if (this.current(p)) this.ping(p.target, p.seq, 'packet');
      }
      if (now >= p.endAt) this.probeFailed(p, now);
    }
    if (this.probe === null && now >= this.nextProbeAt) this.startProbe(now);
  }

  /** An ack arrived at `now`: true when it answered the current probe. */
  /** An ack for the probe in flight, from address `from` (the target, or a helper relaying it). */
  acked(seq: number, now: number, payload: Uint8Array, from: string): boolean {
    const p = this.probe;
    if (p === null || seq !== p.seq) return false;
    this.probe = null;
    if (this.lifeguard) this.health.apply(-1);
    if (!p.indirect) {
      const rtt = now - p.startedAt;
      this.measureDelivery(1);
      this.measureRtt(rtt);
      this.out.event({ type: 'probe-acked', node: p.targetName, rttMs: rtt, payload });
    } else {
      const i = p.relayAddresses === null ? -1 : p.relayAddresses.indexOf(from);
      if (i >= 0) this.out.event({ type: 'probe-relayed', node: p.targetName, via: (p.relayNames as string[])[i] });
    }
    return true;
  }

  nacked(seq: number): void {
    const p = this.probe;
    if (p !== null && seq === p.seq) p.nacks++;
  }

  /** Sends a ping to member `target`; a suspected target gets its suspicion first (Lifeguard buddy system). */
  ping(target: number, seq: number, channel: Channel): void {
    const o = this.options;
    const table = this.table;
    const name = table.name(target);
    this.piggyback.fill(this.lifeguard && table.state(target) === MemberState.Suspect ? table.update(target, o.name) : null, name);
    this.out.send(table.address(target), channel, {
      type: 'SwimPing',
      seq,
      target: name,
      source: o.name,
      sourceHost: o.host,
      sourcePort: o.port,
      updates: this.piggyback.updates,
      broadcasts: this.piggyback.broadcasts,
    });
  }

  private startProbe(now: number): void {
    const interval = this.scaled(this.options.probeIntervalMs);
    this.nextProbeAt = now + interval;
    const target = this.table.nextProbeTarget();
    if (target < 0) return;
    const seq = this.nextSeq();
    const timeoutAt = now + Math.min(this.timeoutMs(), interval - 1);
    const endAt = now + interval;
    const retryAt = timeoutAt + Math.floor((endAt - timeoutAt) / 2);
    this.probe = { target, targetName: this.table.name(target), seq, startedAt: now, timeoutAt, retryAt, endAt, indirect: false, retried: false, expectedNacks: 0, nacks: 0, relayAddresses: null, relayNames: null };
    this.ping(target, seq, 'packet');
  }

  /** SWIM section 3.1: no ack within the timeout, so ask k helpers to probe the target (and retry directly). */
  private probeIndirect(p: Probe): void {
    p.indirect = true;
    this.measureDelivery(0);
    const o = this.options;
    const helpers = this.helpers;
    // On a lossy network (measured), more helpers: k / delivery, at most 2k.
    const k = Math.min(2 * o.indirectChecks, Math.round(o.indirectChecks / Math.max(0.5, this.delivery)));
    if (!this.current(p)) return;
    const table = this.table;
    const target = table.endpoint(p.target);
    table.sample(k, p.target, this.isAlive, helpers, 0);
    p.relayAddresses = [];
    p.relayNames = [];
    for (const h of helpers) {
      p.relayAddresses.push(table.address(h));
      p.relayNames.push(table.name(h));
      this.piggyback.fill(null, table.name(h));
      this.out.send(table.address(h), 'packet', {
        type: 'SwimPingReq',
        seq: p.seq,
        target: p.targetName,
        targetHost: target.host,
        targetPort: target.port,
        wantNack: this.lifeguard,
        source: o.name,
        sourceHost: o.host,
        sourcePort: o.port,
        updates: this.piggyback.updates,
        broadcasts: this.piggyback.broadcasts,
      });
    }
    p.expectedNacks = this.lifeguard ? helpers.length : 0;
    helpers.length = 0;
    // The direct path is tried once more, and over the stream transport when there is one.
    this.ping(p.target, p.seq, 'packet');
    if (this.fallback) this.ping(p.target, p.seq, 'stream');
  }

  private probeFailed(p: Probe, now: number): void {
    this.probe = null;
    // Lifeguard IV-A: missing nacks mean this node may be the one that cannot hear.
    if (this.lifeguard && (p.expectedNacks === 0 || p.nacks < p.expectedNacks)) this.health.apply(1);
    this.out.event({ type: 'probe-failed', node: p.targetName });
    this.view.probeFailed(p.target, p.targetName, now);
  }

  /** True while the probe's target is still the member in its slot (not forgotten meanwhile). */
  private current(p: Probe): boolean {
    return this.table.find(p.targetName) === p.target;
  }

  private measureRtt(sample: number): void {
    if (this.srtt < 0) {
      this.srtt = sample;
      this.rttvar = sample / 2;
      return;
    }
    this.rttvar += 0.25 * (Math.abs(this.srtt - sample) - this.rttvar);
    this.srtt += 0.125 * (sample - this.srtt);
  }

  /** Folds one direct probe outcome (1 acked in time, 0 not) into the delivery estimate. */
  private measureDelivery(outcome: number): void {
    this.delivery += DELIVERY_EWMA_WEIGHT * (outcome - this.delivery);
    this.gossip.setDelivery(this.delivery);
  }
}
