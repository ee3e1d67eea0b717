// The SWIM membership core with the Lifeguard extensions: a pure state
// machine. The caller drives it with tick(now) and receive(from, message, now)
// and performs the sends it returns; it never touches a socket, a timer, the
// wall clock or Math.random (randomness and the start time are injected).
//
//   SWIM (Das, Gupta, Motivala 2002)      probe -> ack, else ping-req via k helpers;
//                                         suspect -> dead unless refuted by a higher
//                                         incarnation; piggybacked dissemination
//   Lifeguard (Dadgar et al. 2018)        nacks from helpers, local health score,
//                                         dynamic suspicion timeout, buddy system
//   memberlist-style extras               push-pull anti-entropy, join via seeds,
//                                         graceful leave, metadata, user broadcasts
//   clusterwire                           re-merge after partitions by periodically
//                                         reconnecting to recently dead members
import { InvalidConfigError, InvalidMessageError } from '../../shared/errors.js';
import { Dissemination } from './dissemination.js';
import { LocalHealth } from './local-health.js';
import { addressOf, Member, overrides, type LocalState, type MemberView } from './member.js';
import {
  EMPTY_BYTES,
  MemberState,
  PIGGYBACK_RESERVE_BYTES,
  type Channel,
  type MemberRecord,
  type PushPullMessage,
  type Send,
  type SwimBroadcast,
  type SwimMessage,
  type SwimUpdate,
} from './messages.js';
import { resolveSwimOptions, type SwimOptions, type SwimOptionsInput } from './options.js';
import { ProbeOrder } from './probe-order.js';
import type { Random } from './random.js';
import { Suspicion } from './suspicion.js';
import { PingReqRelays } from './ping-req-relays.js';

/** What is nondeterministic, injected: the random source and the start time. */
export interface SwimDeps {
  readonly rng: Random;
  readonly now: number;
}

export type SwimEvent =
  | { readonly type: 'member-joined'; readonly member: MemberView }
  | { readonly type: 'member-updated'; readonly member: MemberView }
  | { readonly type: 'member-suspected'; readonly member: MemberView; readonly from: string }
  | { readonly type: 'member-alive'; readonly member: MemberView }
  | { readonly type: 'member-dead'; readonly member: MemberView; readonly from: string }
  | { readonly type: 'member-left'; readonly member: MemberView }
  | { readonly type: 'probe-failed'; readonly node: string }
  | { readonly type: 'joined'; readonly via: string }
  | { readonly type: 'join-failed'; readonly attempts: number }
  | { readonly type: 'refuted'; readonly claimed: 'alive' | 'suspect' | 'dead' | 'left'; readonly incarnation: number }
  | { readonly type: 'incarnation'; readonly incarnation: number }
  | { readonly type: 'broadcast'; readonly origin: string; readonly topic: string; readonly payload: Uint8Array };

/** The outputs of one call: messages to deliver and events that happened (valid until the next call). */
export interface SwimStep {
  readonly sends: Send[];
  readonly events: SwimEvent[];
}

interface Probe {
  readonly target: Member;
  readonly seq: number;
  readonly timeoutAt: number;
  readonly endAt: number;
  indirect: boolean;
  expectedNacks: number;
  nacks: number;
}

const CLAIMS = ['alive', 'suspect', 'dead', 'left'] as const;
/** Shared, frozen empty piggyback lists (most messages carry nothing). */
const NO_UPDATES = Object.freeze([]) as unknown as SwimUpdate[];
const NO_BROADCASTS = Object.freeze([]) as unknown as SwimBroadcast[];
/** How long a seen user broadcast is remembered so it is delivered once. */
export const BROADCAST_DEDUP_MS = 300_000;

export class Swim {
  readonly options: SwimOptions;
  readonly name: string;
  readonly address: string;
  private readonly rng: Random;
  private readonly lifeguard: boolean;
  private readonly fallback: boolean;
  private readonly budgetBytes: number;

  private incarnationValue: number;
  private stateValue: LocalState = 'alive';
  private meta: Uint8Array;

  private readonly byName = new Map<string, Member>();
  private memberList: Member[] = [];
  private liveCount = 0;
  private readonly order: ProbeOrder;
  private readonly health: LocalHealth;
  private readonly gossip: Dissemination;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly relays: PingReqRelays;
  private readonly seen = new Map<string, number>();
  private readonly picked: Member[] = [];

  private seq = 0;
  /** The member whose message is being handled ('' outside of receive). */
  private sender = '';
  private nextBroadcastId = 1;
  private probe: Probe | null = null;
  private nextProbeAt: number;
  private nextGossipAt: number;
  private nextPushPullAt: number;
  private nextReconnectAt: number;
  private seeds: readonly string[] = [];
  private joinAttempts = 0;
  private nextJoinAt = Infinity;

  private sends: Send[] = [];
  private events: SwimEvent[] = [];
  private readonly step: { sends: Send[]; events: SwimEvent[] } = { sends: [], events: [] };
  private readonly scratchUpdates: SwimUpdate[] = [];
  private pbUpdates: SwimUpdate[] = NO_UPDATES;
  private pbBroadcasts: SwimBroadcast[] = NO_BROADCASTS;
  private readonly scratchBroadcasts: SwimBroadcast[] = [];
  private readonly eligible = (name: string): boolean => this.byName.get(name)?.live ?? false;
  private readonly keep = (name: string): boolean => {
    const m = this.byName.get(name);
    if (m !== undefined && m.live) return true;
    if (m !== undefined) m.inOrder = false;
    return false;
  };

  constructor(input: SwimOptionsInput | SwimOptions, deps: SwimDeps) {
    const o = resolveSwimOptions(input);
    this.options = o;
    this.name = o.name;
    this.address = addressOf(o.host, o.port);
    this.rng = deps.rng;
    this.lifeguard = o.lifeguard === 'on';
    this.fallback = o.probeFallback === 'reliable';
    this.budgetBytes = o.maxPacketBytes - PIGGYBACK_RESERVE_BYTES;
    this.incarnationValue = o.initialIncarnation;
    this.meta = o.meta;
    this.order = new ProbeOrder(deps.rng);
    this.health = new LocalHealth(o.awarenessMaxMultiplier);
    this.gossip = new Dissemination(o.retransmitMult, o.broadcastShare);
    this.gossip.resize(1);
    this.relays = new PingReqRelays();
    const now = deps.now;
    this.nextProbeAt = now + this.rng.nextInt(o.probeIntervalMs);
    this.nextGossipAt = now + this.rng.nextInt(o.gossipIntervalMs);
    this.nextPushPullAt = o.pushPullIntervalMs > 0 ? now + o.pushPullIntervalMs + this.rng.nextInt(o.pushPullIntervalMs) : Infinity;
    this.nextReconnectAt = o.reconnectIntervalMs > 0 ? now + o.reconnectIntervalMs + this.rng.nextInt(o.reconnectIntervalMs) : Infinity;
  }

  // ------------------------------------------------------------ queries

  get incarnation(): number {
    return this.incarnationValue;
  }

  get state(): LocalState {
    return this.stateValue;
  }

  /** Lifeguard local health score (0 = healthy). */
  get healthScore(): number {
    return this.health.score;
  }

  /** Members counted for timeouts and retransmit limits: alive and suspect ones, this node included. */
  get clusterSize(): number {
    return this.liveCount + 1;
  }

  member(name: string): MemberView | undefined {
    return this.byName.get(name)?.view();
  }

  /** Every other member this node remembers, dead and left ones included. */
  members(): MemberView[] {
    return this.memberList.map((m) => m.view());
  }

  /** The state of `name` in this node's view, or undefined when unknown. */
  stateOf(name: string): LocalState | undefined {
    const m = this.byName.get(name);
    return m === undefined ? undefined : (CLAIMS[m.state] as LocalState);
  }

  /** The earliest time at which tick() has work to do. */
  nextDeadline(): number {
    let d = Infinity;
    if (this.stateValue === 'left') return this.gossip.pending ? this.nextGossipAt : Infinity;
    const p = this.probe;
    if (p !== null) d = p.indirect ? p.endAt : p.timeoutAt;
    else d = this.nextProbeAt;
    if (this.gossip.pending && this.nextGossipAt < d) d = this.nextGossipAt;
    if (this.suspicions.size > 0) for (const s of this.suspicions.values()) if (s.deadline < d) d = s.deadline;
    const r = this.relays.nextDeadline();
    if (r < d) d = r;
    if (this.nextPushPullAt < d) d = this.nextPushPullAt;
    if (this.nextReconnectAt < d) d = this.nextReconnectAt;
    if (this.nextJoinAt < d) d = this.nextJoinAt;
    return d;
  }

  // ------------------------------------------------------------ commands

  /** Joins through seed addresses ("host:port"); retried until one answers. With no seeds the node is a cluster of one. */
  join(seeds: readonly string[], now: number): SwimStep {
    const others = seeds.filter((s) => s !== this.address);
    if (others.length > 0) {
      this.seeds = others;
      this.stateValue = 'joining';
      this.joinAttempts = 0;
      this.nextJoinAt = now;
      this.runTimers(now);
    }
    return this.flush();
  }

  /** Installs a known membership (a snapshot) without gossip or events: a warm start. */
  restore(records: readonly MemberRecord[], now: number): void {
    for (const r of records) {
      if (r.node === this.name || this.byName.has(r.node) || r.state !== MemberState.Alive) continue;
      this.addMember(r.node, r.host, r.port, r.incarnation, MemberState.Alive, r.meta, now);
    }
    if (this.options.pushPullIntervalMs > 0) this.nextPushPullAt = now + this.rng.nextInt(this.pushPullIntervalMs());
  }

  /** Leaves gracefully: tells the cluster and stops probing. */
  leave(now: number): SwimStep {
    if (this.stateValue !== 'left') {
      this.stateValue = 'left';
      this.probe = null;
      this.gossip.queueUpdate(this.selfUpdate(MemberState.Left));
      this.gossipRound(now);
      this.nextGossipAt = now + this.options.gossipIntervalMs;
    }
    return this.flush();
  }

  /** Replaces this node's metadata and gossips it with a raised incarnation. */
  setMeta(meta: Uint8Array, now: number): SwimStep {
    if (meta.length > this.options.maxMetaBytes) {
      throw new InvalidConfigError('meta', `${meta.length} bytes exceeds maxMetaBytes (${this.options.maxMetaBytes})`);
    }
    this.meta = meta.slice();
    this.raiseIncarnation(this.incarnationValue);
    void now;
    return this.flush();
  }

  /** Disseminates a user broadcast to every member by gossip. */
  broadcast(topic: string, payload: Uint8Array, now: number): SwimStep {
    const b: SwimBroadcast = { id: this.nextBroadcastId++, origin: this.name, topic, payload };
    const limit = this.budgetBytes - 64;
    if (payload.length + topic.length > limit) throw new InvalidMessageError('broadcast.payload', `larger than ${limit} bytes`);
    const key = `${this.name}/${b.id}`;
    this.seen.set(key, now + BROADCAST_DEDUP_MS);
    this.gossip.queueBroadcast(b, key);
    return this.flush();
  }

  // ------------------------------------------------------------ driving

  tick(now: number): SwimStep {
    this.runTimers(now);
    return this.flush();
  }

  receive(from: string, message: SwimMessage, now: number, channel: Channel = 'packet'): SwimStep {
    if (this.stateValue !== 'left') this.handle(from, message, now, channel);
    return this.flush();
  }

  /**
   * Hands out what the last call produced. The step and its arrays are reused:
   * they are valid until the next call on this member.
   */
  private flush(): SwimStep {
    const step = this.step;
    const sends = this.sends;
    const events = this.events;
    this.sends = step.sends;
    this.events = step.events;
    this.sends.length = 0;
    this.events.length = 0;
    step.sends = sends;
    step.events = events;
    return step;
  }

  private runTimers(now: number): void {
    if (this.stateValue === 'left') {
      if (now >= this.nextGossipAt) {
        this.gossipRound(now);
        this.nextGossipAt = now + this.options.gossipIntervalMs;
      }
      return;
    }
    if (now >= this.nextJoinAt) this.joinRound(now);
    const p = this.probe;
    if (p !== null) {
      if (!p.indirect && now >= p.timeoutAt) this.probeIndirect(p, now);
      if (now >= p.endAt) this.probeFailed(p, now);
    }
    if (this.probe === null && now >= this.nextProbeAt) this.startProbe(now);
    if (this.suspicions.size > 0) this.expireSuspicions(now);
    if (this.relays.size > 0) this.relays.expire(now, this.sends, this.name);
    if (now >= this.nextGossipAt) {
      if (this.gossip.pending) this.gossipRound(now);
      this.nextGossipAt = now + this.options.gossipIntervalMs;
    }
    if (now >= this.nextPushPullAt) {
      const m = this.randomMember(null, isAlive, now);
      if (m !== null) this.sendPushPull(m.address, false, false);
      this.nextPushPullAt = now + this.pushPullIntervalMs();
    }
    if (now >= this.nextReconnectAt) {
      this.reap(now);
      const m = this.randomMember(null, isDead, now);
      if (m !== null) this.sendPushPull(m.address, false, false);
      this.nextReconnectAt = now + this.options.reconnectIntervalMs;
    }
  }

  // ------------------------------------------------------------ probing

  private probeIntervalMs(): number {
    return this.lifeguard ? this.health.scale(this.options.probeIntervalMs) : this.options.probeIntervalMs;
  }

  private startProbe(now: number): void {
    const interval = this.probeIntervalMs();
    this.nextProbeAt = now + interval;
    const name = this.order.pick(this.eligible, this.keep);
    if (name === null) return;
    const target = this.byName.get(name) as Member;
    const timeout = this.lifeguard ? this.health.scale(this.options.probeTimeoutMs) : this.options.probeTimeoutMs;
    const seq = this.nextSeq();
    this.probe = { target, seq, timeoutAt: now + timeout, endAt: now + interval, indirect: false, expectedNacks: 0, nacks: 0 };
    this.sendPing(target, seq, 'packet');
  }

  private sendPing(target: Member, seq: number, channel: Channel): void {
    // Lifeguard buddy system: a suspected member hears it from its prober first.
    this.piggyback(this.lifeguard && target.state === MemberState.Suspect ? target.update(this.name) : null);
    const updates = this.pbUpdates;
    const broadcasts = this.pbBroadcasts;
    const o = this.options;
    this.sends.push({
      to: target.address,
      channel,
      message: { type: 'SwimPing', seq, target: target.name, source: this.name, sourceHost: o.host, sourcePort: o.port, updates, broadcasts },
    });
  }

  private probeIndirect(p: Probe, now: number): void {
    p.indirect = true;
    const o = this.options;
    const helpers = this.picked;
    this.sample(o.indirectChecks, p.target, isAlive, helpers, now);
    for (const h of helpers) {
      this.piggyback(null);
      const updates = this.pbUpdates;
      const broadcasts = this.pbBroadcasts;
      this.sends.push({
        to: h.address,
        channel: 'packet',
        message: {
          type: 'SwimPingReq',
          seq: p.seq,
          target: p.target.name,
          targetHost: p.target.host,
          targetPort: p.target.port,
          wantNack: this.lifeguard,
          source: this.name,
          sourceHost: o.host,
          sourcePort: o.port,
          updates,
          broadcasts,
        },
      });
    }
    p.expectedNacks = this.lifeguard ? helpers.length : 0;
    helpers.length = 0;
    // The direct path is tried once more, and over the stream transport when there is one.
    this.sendPing(p.target, p.seq, 'packet');
    if (this.fallback) this.sendPing(p.target, p.seq, 'stream');
  }

  private probeFailed(p: Probe, now: number): void {
    this.probe = null;
    if (this.lifeguard && (p.expectedNacks === 0 || p.nacks < p.expectedNacks)) this.health.apply(1);
    this.events.push({ type: 'probe-failed', node: p.target.name });
    const m = p.target;
    if (this.byName.get(m.name) !== m) return;
    if (m.state === MemberState.Alive) {
      this.apply(m.name, MemberState.Suspect, m.incarnation, this.name, '', 0, EMPTY_BYTES, now, false);
      // Lifeguard buddy system: the suspected member hears it first, straight from us.
      if (this.lifeguard) this.tell(m.address, m.update(this.name));
    } else if (m.state === MemberState.Suspect) {
      const s = this.suspicions.get(m.name);
      if (s !== undefined && s.incarnation === m.incarnation && s.confirm(this.name)) this.gossip.queueUpdate(m.update(this.name));
    }
  }

  /** Fills pbUpdates and pbBroadcasts for one outgoing message (`first` goes first); returns how many items. */
  private piggyback(first: SwimUpdate | null): number {
    const u = this.scratchUpdates;
    const b = this.scratchBroadcasts;
    if (first !== null) u.push(first);
    this.gossip.fill(u, b, this.budgetBytes);
    const items = u.length + b.length;
    this.pbUpdates = u.length === 0 ? NO_UPDATES : u.slice();
    this.pbBroadcasts = b.length === 0 ? NO_BROADCASTS : b.slice();
    u.length = 0;
    b.length = 0;
    return items;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  // ------------------------------------------------------------ receiving

  private handle(from: string, msg: SwimMessage, now: number, channel: Channel): void {
    if (msg.type === 'SwimPushPull') {
      this.handlePushPull(from, msg, now);
      return;
    }
    const updates = msg.updates;
    this.sender = msg.source;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i];
      this.apply(u.node, u.state, u.incarnation, u.from, u.host, u.port, u.meta, now, false);
    }
    this.sender = '';
    if (msg.broadcasts.length > 0) this.deliverBroadcasts(msg.broadcasts, now);
    switch (msg.type) {
      case 'SwimPing': {
        if (msg.target !== this.name) return;
        // Tell a member we consider suspect or dead, so it refutes at once.
        const src = this.byName.get(msg.source);
        this.piggyback(src !== undefined && src.state !== MemberState.Alive ? src.update(this.name) : null);
        this.sends.push({
          to: from,
          channel,
          message: { type: 'SwimAck', seq: msg.seq, source: this.name, payload: EMPTY_BYTES, updates: this.pbUpdates, broadcasts: this.pbBroadcasts },
        });
        return;
      }
      case 'SwimPingReq': {
        const target = msg.targetHost.length > 0 ? addressOf(msg.targetHost, msg.targetPort) : this.byName.get(msg.target)?.address;
        if (target === undefined) return;
        const seq = this.nextSeq();
        const timeout = this.lifeguard ? this.health.scale(this.options.probeTimeoutMs) : this.options.probeTimeoutMs;
        this.relays.add(seq, from, msg.seq, msg.wantNack, now + Math.floor(timeout * 0.8), now + this.options.probeIntervalMs);
        this.piggyback(null);
        const updates = this.pbUpdates;
        const broadcasts = this.pbBroadcasts;
        const o = this.options;
        this.sends.push({
          to: target,
          channel: 'packet',
          message: { type: 'SwimPing', seq, target: msg.target, source: this.name, sourceHost: o.host, sourcePort: o.port, updates, broadcasts },
        });
        return;
      }
      case 'SwimAck': {
        const p = this.probe;
        if (p !== null && msg.seq === p.seq) {
          this.probe = null;
          if (this.lifeguard) this.health.apply(-1);
          return;
        }
        this.relays.ack(msg.seq, msg.source, this.sends);
        return;
      }
      case 'SwimNack': {
        const p = this.probe;
        if (p !== null && msg.seq === p.seq) p.nacks++;
        return;
      }
      case 'SwimGossip':
        return;
    }
  }

  private deliverBroadcasts(list: readonly SwimBroadcast[], now: number): void {
    for (const b of list) {
      const key = `${b.origin}/${b.id}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, now + BROADCAST_DEDUP_MS);
      const copy: SwimBroadcast = { id: b.id, origin: b.origin, topic: b.topic, payload: b.payload.slice() };
      this.events.push({ type: 'broadcast', origin: b.origin, topic: b.topic, payload: copy.payload });
      this.gossip.queueBroadcast(copy, key);
    }
  }

  private handlePushPull(from: string, msg: PushPullMessage, now: number): void {
    const members = msg.members;
    this.sender = msg.source;
    for (let i = 0; i < members.length; i++) {
      const r = members[i];
      this.apply(r.node, r.state, r.incarnation, msg.source, r.host, r.port, r.meta, now, true);
    }
    this.sender = '';
    if (!msg.reply) this.sendPushPull(from, msg.join, true);
    else if (this.stateValue === 'joining') {
      this.stateValue = 'alive';
      this.nextJoinAt = Infinity;
      this.events.push({ type: 'joined', via: from });
    }
  }

  private sendPushPull(to: string, join: boolean, reply: boolean): void {
    const records: MemberRecord[] = [this.selfRecord()];
    for (const m of this.memberList) records.push(m.record);
    this.sends.push({ to, channel: 'stream', message: { type: 'SwimPushPull', join, reply, source: this.name, members: records, userState: EMPTY_BYTES } });
  }

  private joinRound(now: number): void {
    if (this.joinAttempts >= this.options.joinMaxAttempts) {
      this.nextJoinAt = Infinity;
      this.stateValue = 'alive';
      this.events.push({ type: 'join-failed', attempts: this.joinAttempts });
      return;
    }
    this.joinAttempts++;
    for (const s of this.seeds) this.sendPushPull(s, true, false);
    this.nextJoinAt = now + this.options.joinRetryIntervalMs;
  }

  // ------------------------------------------------------------ state

  /**
   * Applies one claim about a member under the precedence rules (member.ts).
   * A dead claim learned from a push-pull is taken only as a suspicion: the
   * member gets the chance to refute (this is what re-merges partitions).
   */
  private apply(
    node: string,
    state: MemberState,
    incarnation: number,
    from: string,
    host: string,
    port: number,
    meta: Uint8Array,
    now: number,
    pushPull: boolean,
  ): void {
    if (node === this.name) {
      this.applyAboutSelf(state, incarnation, from);
      return;
    }
    if (pushPull && state === MemberState.Dead) state = MemberState.Suspect;
    let m = this.byName.get(node);
    if (m === undefined) {
      if ((state !== MemberState.Alive && state !== MemberState.Suspect) || host.length === 0) return;
      m = this.addMember(node, host, port, incarnation, state, meta, now);
      this.events.push({ type: 'member-joined', member: m.view() });
      if (state === MemberState.Suspect) this.suspect(m, from, now);
      else this.gossip.queueUpdate(m.update(from));
      return;
    }
    if (!overrides(state, incarnation, m.state, m.incarnation)) {
      // Lifeguard: a suspicion of the same incarnation from another member confirms it.
      if (state === MemberState.Suspect && m.state === MemberState.Suspect && incarnation === m.incarnation) {
        const s = this.suspicions.get(node);
        if (s !== undefined && s.confirm(from)) this.gossip.queueUpdate(m.update(from));
      } else if (incarnation < m.incarnation && m.state === MemberState.Alive && state !== MemberState.Alive) {
        // The sender still spreads an accusation we know was refuted: correct it.
        this.correct(m);
      }
      return;
    }
    const wasLive = m.live;
    const prev = m.state;
    const changedMeta = state === MemberState.Alive && !sameBytes(meta, m.meta);
    m.set(state, incarnation, now, host, port, state === MemberState.Alive && changedMeta ? meta.slice() : null);
    if (m.live !== wasLive) this.setLive(m.live ? 1 : -1);
    if (m.live && !m.inOrder) {
      m.inOrder = true;
      this.order.add(m.name);
    }
    switch (state) {
      case MemberState.Alive:
        this.suspicions.delete(node);
        if (prev !== MemberState.Alive) this.events.push({ type: 'member-alive', member: m.view() });
        else if (changedMeta) this.events.push({ type: 'member-updated', member: m.view() });
        this.gossip.queueUpdate(m.update(from));
        return;
      case MemberState.Suspect:
        this.suspect(m, from, now);
        return;
      case MemberState.Dead:
        this.suspicions.delete(node);
        this.events.push({ type: 'member-dead', member: m.view(), from });
        this.gossip.queueUpdate(m.update(from));
        return;
      case MemberState.Left:
        this.suspicions.delete(node);
        this.events.push({ type: 'member-left', member: m.view() });
        this.gossip.queueUpdate(m.update(from));
        return;
    }
  }

  private suspect(m: Member, from: string, now: number): void {
    const o = this.options;
    const n = this.liveCount + 1;
    const minMs = Math.floor(o.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * o.probeIntervalMs);
    const maxMs = this.lifeguard ? minMs * o.suspicionMaxTimeoutMult : minMs;
    const expected = this.lifeguard ? Math.max(0, Math.min(o.suspicionConfirmations, n - 2)) : 0;
    this.suspicions.set(m.name, new Suspicion(m.name, m.incarnation, from, now, minMs, maxMs, expected));
    this.events.push({ type: 'member-suspected', member: m.view(), from });
    this.gossip.queueUpdate(m.update(from));
  }

  private expireSuspicions(now: number): void {
    for (const s of this.suspicions.values()) {
      if (s.deadline > now) continue;
      this.suspicions.delete(s.node);
      const m = this.byName.get(s.node);
      if (m !== undefined && m.state === MemberState.Suspect && m.incarnation === s.incarnation) {
        this.apply(m.name, MemberState.Dead, m.incarnation, this.name, '', 0, EMPTY_BYTES, now, false);
      }
    }
  }

  private applyAboutSelf(state: MemberState, incarnation: number, from: string): void {
    if (this.stateValue === 'left') return;
    if (state === MemberState.Alive) {
      if (incarnation > this.incarnationValue) this.refute(state, incarnation);
      return;
    }
    if (incarnation < this.incarnationValue) {
      // A stale accusation: its sender missed our refutation; answer it directly.
      if (state === MemberState.Suspect || state === MemberState.Dead) this.tellSender(this.sender);
      return;
    }
    // SWIM section 4.2: a member suspected (or declared dead) refutes by raising its incarnation.
    if (state === MemberState.Suspect && this.lifeguard) this.health.apply(1);
    this.refute(state, incarnation);
    // The accuser hears the refutation first, so its timer is the first to stop.
    const accuser = this.byName.get(from);
    if (accuser !== undefined && accuser.live) this.tell(accuser.address, this.selfUpdate(MemberState.Alive));
  }

  private correct(m: Member): void {
    const sender = this.byName.get(this.sender);
    if (sender !== undefined && sender !== m && sender.live) {
      this.sends.push({ to: sender.address, channel: 'packet', message: { type: 'SwimGossip', source: this.name, updates: [m.update(this.name)], broadcasts: [] } });
    }
  }

  private tellSender(name: string): void {
    const m = this.byName.get(name);
    if (m !== undefined && m.live) this.tell(m.address, this.selfUpdate(MemberState.Alive));
  }

  /** Sends one update straight to `to`, over the stream transport when there is one. */
  private tell(to: string, update: SwimUpdate): void {
    this.sends.push({ to, channel: this.fallback ? 'stream' : 'packet', message: { type: 'SwimGossip', source: this.name, updates: [update], broadcasts: [] } });
  }

  private refute(claimed: MemberState, incarnation: number): void {
    this.events.push({ type: 'refuted', claimed: CLAIMS[claimed], incarnation });
    this.raiseIncarnation(incarnation);
  }

  private raiseIncarnation(above: number): void {
    this.incarnationValue = above + 1;
    this.events.push({ type: 'incarnation', incarnation: this.incarnationValue });
    this.gossip.queueUpdate(this.selfUpdate(MemberState.Alive));
  }

  private selfUpdate(state: MemberState): SwimUpdate {
    const o = this.options;
    return { state, node: this.name, incarnation: this.incarnationValue, from: this.name, host: o.host, port: o.port, meta: this.meta };
  }

  private selfRecord(): MemberRecord {
    const o = this.options;
    const state = this.stateValue === 'left' ? MemberState.Left : MemberState.Alive;
    return { node: this.name, host: o.host, port: o.port, incarnation: this.incarnationValue, state, meta: this.meta };
  }

  private addMember(node: string, host: string, port: number, incarnation: number, state: MemberState, meta: Uint8Array, now: number): Member {
    const m = new Member(node, host, port, incarnation, state, meta.length > 0 ? meta.slice() : EMPTY_BYTES, now);
    this.byName.set(node, m);
    this.memberList.push(m);
    m.inOrder = true;
    this.order.add(node);
    this.setLive(1);
    return m;
  }

  private setLive(delta: number): void {
    this.liveCount += delta;
    this.gossip.resize(this.liveCount + 1);
  }

  /** Forgets members dead or left for longer than reconnectTimeoutMs, and old broadcast ids. */
  private reap(now: number): void {
    const horizon = now - this.options.reconnectTimeoutMs;
    if (this.memberList.some((m) => !m.live && m.since < horizon)) {
      this.memberList = this.memberList.filter((m) => {
        if (m.live || m.since >= horizon) return true;
        this.byName.delete(m.name);
        return false;
      });
    }
    for (const [key, until] of this.seen) if (until < now) this.seen.delete(key);
  }

  // ------------------------------------------------------------ gossip

  private gossipRound(now: number): void {
    const targets = this.picked;
    this.sample(this.options.gossipNodes, null, this.stateValue === 'left' ? isAlive : this.gossipTarget, targets, now);
    for (const t of targets) {
      if (this.piggyback(null) === 0) break;
      this.sends.push({ to: t.address, channel: 'packet', message: { type: 'SwimGossip', source: this.name, updates: this.pbUpdates, broadcasts: this.pbBroadcasts } });
    }
    targets.length = 0;
  }

  private readonly gossipTarget = (m: Member, now: number): boolean =>
    m.live || (m.state === MemberState.Dead && now - m.since < this.options.gossipToTheDeadMs);

  private pushPullIntervalMs(): number {
    const n = this.liveCount + 1;
    const base = this.options.pushPullIntervalMs;
    if (n <= 32) return base;
    return base * (Math.ceil(Math.log2(n) - 5) + 1);
  }

  /** Up to `count` distinct random members (not `exclude`) that satisfy `accept`, into `out`. */
  private sample(count: number, exclude: Member | null, accept: (m: Member, now: number) => boolean, out: Member[], now: number): void {
    const list = this.memberList;
    const n = list.length;
    if (count === 0 || n === 0) return;
    for (let tries = 0; tries < 3 * n + 3 * count && out.length < count; tries++) {
      const m = list[this.rng.nextInt(n)];
      if (m === exclude || !accept(m, now) || out.includes(m)) continue;
      out.push(m);
    }
  }

  private randomMember(exclude: Member | null, accept: (m: Member, now: number) => boolean, now: number): Member | null {
    this.sample(1, exclude, accept, this.picked, now);
    const m = this.picked.length > 0 ? this.picked[0] : null;
    this.picked.length = 0;
    return m;
  }
}

function isAlive(m: Member): boolean {
  return m.state === MemberState.Alive;
}

function isDead(m: Member): boolean {
  return m.state === MemberState.Dead;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
