// This node's view of the cluster and of itself: the member table, the open
// suspicions, and its own incarnation. Every claim about a member, whether
// piggybacked, gossiped or from a push-pull, goes through apply(), which
// enforces the precedence rules of member.ts and turns accepted changes into
// events and re-gossip.
//
//   SWIM section 4.2     suspect before dead; a member refutes a suspicion of
//                        itself by gossiping alive with a higher incarnation
//   Lifeguard IV-B       the suspicion timeout shrinks with independent
//                        confirmations (suspicion.ts)
//   Lifeguard IV-A       being suspected raises the local health score
//   clusterwire          a dead claim from a push-pull, or about a member heard
//                        from within the last probe interval, counts only as a
//                        suspicion (the member may refute: partitions re-merge);
//                        a member that spreads a refuted accusation is
//                        corrected directly; restarts refute the highest
//                        incarnation seen instead of trusting a clock
import type { Dissemination } from './dissemination.js';
import type { LocalHealth } from './local-health.js';
import { overrides } from './member.js';
import type { MemberTable } from './member-table.js';
import { EMPTY_BYTES, MemberState, type MemberRecord, type SwimUpdate } from './messages.js';
import type { SwimOptions } from './options.js';
import type { Outbox } from './outbox.js';
import { Suspicion } from './suspicion.js';
import { copyBytes } from '../../shared/bytes.js';

const CLAIMS = ['alive', 'suspect', 'dead', 'left'] as const;
/**
 * The suspicion timeout scales with log10 N, but never below its value at
 * N = 100: small clusters have few confirmers and few paths for a refutation.
 */
export const SUSPICION_MIN_SCALE = 2;

export class Membership {
  private incarnationValue: number;
  private meta: Uint8Array;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly lifeguard: boolean;
  private readonly streamChannel: 'stream' | 'packet';
  /** Set while a message from this member is being applied ('' otherwise). */
  sender = '';
  /** False once this node has left: it no longer refutes anything. */
  refuting = true;

  constructor(
    private readonly options: SwimOptions,
    readonly table: MemberTable,
    private readonly gossip: Dissemination,
    private readonly health: LocalHealth,
    private readonly out: Outbox,
  ) {
    this.incarnationValue = options.initialIncarnation;
    this.meta = options.meta;
    this.lifeguard = options.lifeguard === 'on';
    this.streamChannel = options.probeFallback === 'reliable' ? 'stream' : 'packet';
    gossip.resize(1);
  }

  get incarnation(): number {
    return this.incarnationValue;
  }

  /** Alive and suspect members, this node included. */
  get size(): number {
    return this.table.liveCount + 1;
  }

  get openSuspicions(): number {
    return this.suspicions.size;
  }

  /** The earliest suspicion deadline, or Infinity. */
  nextDeadline(): number {
    let d = Infinity;
    for (const s of this.suspicions.values()) if (s.deadline < d) d = s.deadline;
    return d;
  }

  /** Installs alive members without gossip or events (a warm start). */
  restore(records: readonly MemberRecord[], now: number): void {
    this.table.addAll(records, this.options.name, now);
    this.gossip.resize(this.size);
  }

  /**
   * Applies one claim about a member under the precedence rules.
   * `pushPull`: the claim comes from a full-state exchange.
   */
  apply(node: string, state: MemberState, incarnation: number, from: string, host: string, port: number, meta: Uint8Array, now: number, pushPull: boolean): void {
    if (node === this.options.name) {
      this.applyAboutSelf(state, incarnation, from, host, port, meta);
      return;
    }
    const table = this.table;
    let m = table.find(node);
    // Hearsay of a death counts only as a suspicion (the member may refute)
    // when it comes from a full-state exchange, or when the member itself
    // spoke to us within the last probe interval.
    if (state === MemberState.Dead && from !== this.options.name && (pushPull || (m >= 0 && table.heardWithin(m, now, this.options.probeIntervalMs)))) {
      state = MemberState.Suspect;
    }
    if (m < 0) {
      if ((state !== MemberState.Alive && state !== MemberState.Suspect) || host.length === 0) return;
      m = table.add(node, host, port, incarnation, state, meta.length > 0 ? meta.slice() : EMPTY_BYTES, now);
      this.gossip.resize(this.size);
      this.out.event({ type: 'member-joined', member: table.view(m) });
      if (state === MemberState.Suspect) this.startSuspicion(m, from, now);
      else this.gossip.queueUpdate(table.update(m, from));
      return;
    }
    const prev = table.state(m);
    const current = table.incarnation(m);
    if (!overrides(state, incarnation, prev, current)) {
      if (state === MemberState.Suspect && prev === MemberState.Suspect && incarnation === current) {
        // Lifeguard: another member's suspicion of the same incarnation confirms ours.
        const s = this.suspicions.get(node);
        if (s !== undefined && s.confirm(from)) this.gossip.queueUpdate(table.update(m, from));
      } else if (incarnation < current && prev === MemberState.Alive && state !== MemberState.Alive) {
        // The sender still spreads an accusation that was refuted: correct it.
        this.correctSender(m);
      } else if (prev === MemberState.Left && (state === MemberState.Suspect || state === MemberState.Dead)) {
        // The sender missed the leave and accuses a member that is gone on
        // purpose: tell it, so it reports a leave and not a failure.
        this.correctSender(m);
      }
      return;
    }
    const wasLive = table.isLive(m);
    const newMeta = state === MemberState.Alive && !sameBytes(meta, table.meta(m)) ? meta.slice() : null;
    table.set(m, state, incarnation, now, host, port, newMeta);
    if (table.isLive(m) !== wasLive) this.gossip.resize(this.size);
    switch (state) {
      case MemberState.Alive:
        this.suspicions.delete(node);
        if (prev !== MemberState.Alive) this.out.event({ type: 'member-alive', member: table.view(m) });
        else if (newMeta !== null) this.out.event({ type: 'member-updated', member: table.view(m) });
        this.gossip.queueUpdate(table.update(m, from));
        return;
      case MemberState.Suspect:
        this.startSuspicion(m, from, now);
        return;
      case MemberState.Dead:
        this.suspicions.delete(node);
        this.out.event({ type: 'member-dead', member: table.view(m), from });
        this.gossip.queueUpdate(table.update(m, from));
        return;
      case MemberState.Left:
        this.suspicions.delete(node);
        this.out.event({ type: 'member-left', member: table.view(m) });
        this.gossip.queueUpdate(table.update(m, from));
        return;
    }
  }

  /** This node's own probe of member `name` (slot `m` when the probe began) failed: suspect it, or confirm the open suspicion. */
  probeFailed(m: number, name: string, now: number): void {
    const table = this.table;
    if (table.find(name) !== m) return;
    const self = this.options.name;
    const state = table.state(m);
    if (state === MemberState.Alive) {
      this.apply(name, MemberState.Suspect, table.incarnation(m), self, '', 0, EMPTY_BYTES, now, false);
      // Lifeguard buddy system: the suspected member hears it first, straight from its prober.
      if (this.lifeguard) this.tell(table.address(m), table.update(m, self), this.streamChannel);
    } else if (state === MemberState.Suspect) {
      const s = this.suspicions.get(name);
      if (s !== undefined && s.incarnation === table.incarnation(m) && s.confirm(self)) this.gossip.queueUpdate(table.update(m, self));
    }
  }

  /** Declares dead every suspected member whose timeout passed. */
  expireSuspicions(now: number): void {
    const table = this.table;
    for (const s of this.suspicions.values()) {
      if (s.deadline > now) continue;
      this.suspicions.delete(s.node);
      const m = table.find(s.node);
      if (m >= 0 && table.state(m) === MemberState.Suspect && table.incarnation(m) === s.incarnation) {
        this.apply(s.node, MemberState.Dead, s.incarnation, this.options.name, '', 0, EMPTY_BYTES, now, false);
      }
    }
  }

  /** Raises this node's incarnation above `above` and gossips that it is alive. */
  raiseIncarnation(above: number): void {
    this.incarnationValue = above + 1;
    this.out.event({ type: 'incarnation', incarnation: this.incarnationValue });
    this.gossip.queueUpdate(this.selfUpdate(MemberState.Alive));
  }

  setMeta(meta: Uint8Array): void {
    this.meta = copyBytes(meta);
    this.raiseIncarnation(this.incarnationValue);
  }

  selfUpdate(state: MemberState): SwimUpdate {
    const o = this.options;
    return { state, node: o.name, incarnation: this.incarnationValue, from: o.name, host: o.host, port: o.port, meta: this.meta };
  }

  selfRecord(state: MemberState): MemberRecord {
    const o = this.options;
    return { node: o.name, host: o.host, port: o.port, incarnation: this.incarnationValue, state, meta: this.meta };
  }

  private startSuspicion(m: number, from: string, now: number): void {
    const o = this.options;
    const table = this.table;
    const n = this.size;
    const minMs = Math.floor(o.suspicionMult * Math.max(SUSPICION_MIN_SCALE, Math.log10(n)) * o.probeIntervalMs);
    const maxMs = this.lifeguard ? minMs * o.suspicionMaxTimeoutMult : minMs;
    const expected = this.lifeguard ? Math.max(0, Math.min(o.suspicionConfirmations, n - 2)) : 0;
    const name = table.name(m);
    this.suspicions.set(name, new Suspicion(name, table.incarnation(m), from, now, minMs, maxMs, expected));
    this.out.event({ type: 'member-suspected', member: table.view(m), from });
    this.gossip.queueUpdate(table.update(m, from));
  }

  private applyAboutSelf(state: MemberState, incarnation: number, from: string, host: string, port: number, meta: Uint8Array): void {
    if (!this.refuting) return;
    if (state === MemberState.Alive) {
      // Someone knows a higher incarnation of us (we restarted): take the highest seen and refute.
      if (incarnation > this.incarnationValue) this.refute(state, incarnation);
      // The same incarnation with another address or metadata: an earlier run of this node (a restart
      // that kept the incarnation); raise it so that this run's address and metadata win.
      else if (incarnation === this.incarnationValue && host.length > 0 && (host !== this.options.host || port !== this.options.port || !sameBytes(meta, this.meta))) {
        this.refute(state, incarnation);
      }
      return;
    }
    if (incarnation < this.incarnationValue) {
      // A stale accusation: its sender missed our refutation; answer it directly.
      if (state === MemberState.Suspect || state === MemberState.Dead) this.tellSelf(this.sender, 'packet');
      return;
    }
    // SWIM section 4.2: a member suspected or declared dead refutes by raising its incarnation.
    if (state === MemberState.Suspect && this.lifeguard) this.health.apply(1);
    this.refute(state, incarnation);
    // The accuser hears the refutation first, so its timer is the first to stop.
    this.tellSelf(from, this.streamChannel);
  }

  private refute(claimed: MemberState, incarnation: number): void {
    this.out.event({ type: 'refuted', claimed: CLAIMS[claimed], incarnation });
    this.raiseIncarnation(incarnation);
  }

  private tellSelf(name: string, channel: 'stream' | 'packet'): void {
    const m = this.table.find(name);
    if (m >= 0 && this.table.isLive(m)) this.tell(this.table.address(m), this.selfUpdate(MemberState.Alive), channel);
  }

  private correctSender(about: number): void {
    const table = this.table;
    const sender = table.find(this.sender);
    if (sender >= 0 && sender !== about && table.isLive(sender)) this.tell(table.address(sender), table.update(about, this.options.name), 'packet');
  }

  /** Sends one update straight to `to`. */
  private tell(to: string, update: SwimUpdate, channel: 'stream' | 'packet'): void {
    this.out.send(to, channel, { type: 'SwimGossip', source: this.options.name, updates: [update], broadcasts: [] });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
