// The SWIM membership core with the Lifeguard extensions: a pure state
// machine. The caller drives it with tick(now) and receive(from, message, now)
// and performs the sends it returns; it never touches a socket, a timer, the
// wall clock or Math.random (randomness and the start time are injected).
//
//   SWIM (Das, Gupta, Motivala 2002)      probe -> ack, else ping-req via k helpers
//                                         (prober.ts); piggybacked dissemination;
//                                         suspect/refute rules in membership.ts
//   Lifeguard (Dadgar et al. 2018)        nacks from helpers, local health score,
//                                         dynamic suspicion timeout, buddy system
//   anti-entropy                          push-pull full-state exchange, on join and
//                                         periodically; join via seeds, graceful leave
//   re-merge                              ping one remembered dead member (round-robin)
//                                         every reconnectIntervalMs and push-pull with it
//                                         when it answers, so partitions heal
//                                         without a manual re-join
import { InvalidConfigError, InvalidMessageError } from '../../shared/errors.js';
import { Dissemination } from './dissemination.js';
import type { SwimEvent, SwimStep } from './events.js';
import { LocalHealth } from './local-health.js';
import { addressOf, STATE_NAMES, type LocalState, type MemberView } from './member.js';
import { MemberDirectory } from './member-directory.js';
import { MemberTable } from './member-table.js';
import { Membership } from './membership.js';
import {
  EMPTY_BYTES,
  MemberState,
  PIGGYBACK_RESERVE_BYTES,
  type Channel,
  type MemberRecord,
  type PushPullMessage,
  type SwimBroadcast,
  type SwimMessage,
} from './messages.js';
import { resolveSwimOptions, type SwimOptions, type SwimOptionsInput } from './options.js';
import { Outbox } from './outbox.js';
import { Piggyback } from './piggyback.js';
import { PingReqRelays } from './ping-req-relays.js';
import { Prober } from './prober.js';
import type { Random } from './random.js';
import { copyBytes } from '../../shared/bytes.js';

export type { SwimEvent, SwimStep };

/** What is nondeterministic, injected: the random source and the start time. */
export interface SwimDeps {
  readonly rng: Random;
  readonly now: number;
  /**
   * Where member names and addresses are interned. Cores in one process that
   * know the same members (a simulation) share one so that each name is held
   * once; by default each core has its own.
   */
  readonly directory?: MemberDirectory;
}

/** How long a seen user broadcast is remembered so it is delivered once. */
export const BROADCAST_DEDUP_MS = 300_000;
/** Largest ack payload (setAckPayload): room for a network coordinate, small against the packet budget. */
export const MAX_ACK_PAYLOAD_BYTES = 128;
/** Probe intervals between push-pulls with the same unknown prober (syncWithStranger). */
const STRANGER_SYNC_INTERVALS = 5;
/** Unknown probers' addresses remembered at most. */
const MAX_STRANGERS = 64;

export class Swim {
  readonly options: SwimOptions;
  readonly name: string;
  readonly address: string;
  private readonly rng: Random;
  private readonly budgetBytes: number;
  private stateValue: LocalState = 'alive';

  private readonly out = new Outbox();
  private readonly table: MemberTable;
  private readonly view: Membership;
  private readonly health: LocalHealth;
  private readonly gossip: Dissemination;
  private readonly relays = new PingReqRelays();
  /** Pings sent to dead members in the current reconnect round: seq -> their address. */
  private readonly reconnects = new Map<number, string>();
  private readonly seen = new Map<string, number>();
  /** Addresses of unknown members that probed us, and when a push-pull with each may be sent again. */
  private readonly strangers = new Map<string, number>();
  private nextStrangerSyncAt = 0;
  private readonly picked: number[] = [];
  private readonly piggyback: Piggyback;
  private ackPayload: Uint8Array = EMPTY_BYTES;
  private readonly prober: Prober;

  private nextBroadcastId = 1;
  private nextGossipAt: number;
  private nextPushPullAt: number;
  private nextReconnectAt: number;
  private seeds: readonly string[] = [];
  private joinAttempts = 0;
  private nextJoinAt = Infinity;
  private nextHeardSweepAt = 0;

  constructor(input: SwimOptionsInput | SwimOptions, deps: SwimDeps) {
    const o = resolveSwimOptions(input);
    this.options = o;
    this.name = o.name;
    this.address = addressOf(o.host, o.port);
    this.rng = deps.rng;
    this.budgetBytes = o.maxPacketBytes - PIGGYBACK_RESERVE_BYTES;
    this.table = new MemberTable(deps.rng, deps.directory ?? new MemberDirectory());
    this.health = new LocalHealth(o.awarenessMaxMultiplier);
    this.gossip = new Dissemination(o.retransmitMult, o.broadcastShare);
    this.view = new Membership(o, this.table, this.gossip, this.health, this.out);
    this.piggyback = new Piggyback(this.gossip, this.budgetBytes);
    const now = deps.now;
    this.prober = new Prober(o, this.table, this.view, this.health, this.gossip, this.piggyback, this.out, now + this.rng.nextInt(o.probeIntervalMs));
    this.nextGossipAt = now + this.rng.nextInt(o.gossipIntervalMs);
    this.nextPushPullAt = o.pushPullIntervalMs > 0 ? now + o.pushPullIntervalMs + this.rng.nextInt(o.pushPullIntervalMs) : Infinity;
    this.nextReconnectAt = o.reconnectIntervalMs > 0 ? now + o.reconnectIntervalMs + this.rng.nextInt(o.reconnectIntervalMs) : Infinity;
  }

  // ------------------------------------------------------------ queries

  get incarnation(): number {
    return this.view.incarnation;
  }

  get state(): LocalState {
    return this.stateValue;
  }

  /** Lifeguard local health score (0 = healthy). */
  get healthScore(): number {
    return this.health.score;
  }

  /** Alive and suspect members, this node included: what timeouts and retransmit limits scale with. */
  get clusterSize(): number {
    return this.view.size;
  }

  /** Updates still to be piggybacked or gossiped. */
  get pendingGossip(): number {
    return this.gossip.updates.size + this.gossip.broadcasts.size;
  }

  member(name: string): MemberView | undefined {
    const m = this.table.find(name);
    return m < 0 ? undefined : this.table.view(m);
  }

  /** Every other member this node remembers, dead and left ones included. */
  members(): MemberView[] {
    const table = this.table;
    const out: MemberView[] = [];
    for (let i = 0; i < table.size; i++) out.push(table.view(table.at(i)));
    return out;
  }

  /** The state of `name` in this node's view, or undefined when unknown. */
  stateOf(name: string): LocalState | undefined {
    const m = this.table.find(name);
    return m < 0 ? undefined : STATE_NAMES[this.table.state(m)];
  }

  /** The earliest time at which tick() has work to do. */
  nextDeadline(): number {
    if (this.stateValue === 'left') return this.gossip.pending ? this.nextGossipAt : Infinity;
    let d = this.prober.nextDeadline();
    if (this.gossip.pending && this.nextGossipAt < d) d = this.nextGossipAt;
    if (this.view.openSuspicions > 0) d = Math.min(d, this.view.nextDeadline());
    if (this.relays.size > 0) d = Math.min(d, this.relays.nextDeadline());
    if (this.nextPushPullAt < d) d = this.nextPushPullAt;
    if (this.nextReconnectAt < d) d = this.nextReconnectAt;
    if (this.nextJoinAt < d) d = this.nextJoinAt;
    return d;
  }

  // ------------------------------------------------------------ commands

  /** Joins through seed addresses ("host:port"), retried until one answers. With no other seeds the node is a cluster of one. */
  join(seeds: readonly string[], now: number): SwimStep {
    const others = seeds.filter((s) => s !== this.address);
    if (others.length > 0 && this.stateValue !== 'left') {
      this.seeds = others;
      this.stateValue = 'joining';
      this.joinAttempts = 0;
      this.nextJoinAt = now;
      this.runTimers(now);
    }
    return this.out.flush();
  }

  /** Installs a known membership (a snapshot of alive members) without gossip or events: a warm start. */
  restore(records: readonly MemberRecord[], now: number): void {
    this.view.restore(records, now);
    if (this.options.pushPullIntervalMs > 0) this.nextPushPullAt = now + this.rng.nextInt(this.pushPullIntervalMs());
  }

  /** Leaves gracefully: tells the cluster, then only finishes spreading that. */
  leave(now: number): SwimStep {
    if (this.stateValue !== 'left') {
      this.stateValue = 'left';
      this.view.refuting = false;
      this.prober.stop();
      this.nextJoinAt = Infinity;
      this.gossip.queueUpdate(this.view.selfUpdate(MemberState.Left));
      this.gossipRound(now);
      this.nextGossipAt = now + this.options.gossipIntervalMs;
    }
    return this.out.flush();
  }

  /** Replaces this node's metadata (at most maxMetaBytes) and gossips it with a raised incarnation. */
  setMeta(meta: Uint8Array): SwimStep {
    if (meta.length > this.options.maxMetaBytes) {
      throw new InvalidConfigError('meta', `${meta.length} bytes exceeds maxMetaBytes (${this.options.maxMetaBytes})`);
    }
    this.view.setMeta(meta);
    return this.out.flush();
  }

  /**
   * Bytes every ack this node sends carries (at most MAX_ACK_PAYLOAD_BYTES),
   * e.g. its network coordinate; the prober reports them with each direct
   * ack ('probe-acked') together with the round trip.
   */
  setAckPayload(payload: Uint8Array): void {
    if (payload.length > MAX_ACK_PAYLOAD_BYTES) throw new InvalidConfigError('ackPayload', `${payload.length} bytes exceeds ${MAX_ACK_PAYLOAD_BYTES}`);
    this.ackPayload = copyBytes(payload);
  }

  /** Disseminates a user broadcast to every member by gossip. */
  broadcast(topic: string, payload: Uint8Array, now: number): SwimStep {
    const limit = this.budgetBytes - 64;
    if (payload.length + topic.length > limit) throw new InvalidMessageError('broadcast.payload', `larger than ${limit} bytes`);
    const b: SwimBroadcast = { id: this.nextBroadcastId++, origin: this.name, topic, payload: copyBytes(payload) };
    const key = `${this.name}/${b.id}`;
    this.seen.set(key, now + BROADCAST_DEDUP_MS);
    this.gossip.queueBroadcast(b, key);
    return this.out.flush();
  }

  // ------------------------------------------------------------ driving

  tick(now: number): SwimStep {
    this.runTimers(now);
    return this.out.flush();
  }

  /** Handles one message from `from` ("host:port"); `channel` is how it arrived. */
  receive(from: string, message: SwimMessage, now: number, channel: Channel = 'packet'): SwimStep {
    if (this.stateValue !== 'left') this.handle(from, message, now, channel);
    return this.out.flush();
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
    this.prober.run(now);
    if (this.view.openSuspicions > 0) this.view.expireSuspicions(now);
    if (this.relays.size > 0) this.relays.expire(now, this.out.sends, this.name);
    if (now >= this.nextGossipAt) {
      if (this.gossip.pending) this.gossipRound(now);
      this.nextGossipAt = now + this.options.gossipIntervalMs;
    }
    if (now >= this.nextHeardSweepAt) {
      this.table.forgetHeard(now, this.options.probeIntervalMs);
      this.nextHeardSweepAt = now + this.options.probeIntervalMs;
    }
    if (now >= this.nextPushPullAt) {
      const m = this.table.random(this.isAlive, now);
      if (m >= 0) this.sendPushPull(this.table.address(m), false, false);
      this.nextPushPullAt = now + this.pushPullIntervalMs();
    }
    if (now >= this.nextReconnectAt) {
      this.reap(now);
      // Re-merge: ping one remembered dead member; if it answers, the two
      // sides reconcile with a push-pull (handled with the ack).
      this.reconnects.clear();
      const m = this.table.nextDead();
      if (m >= 0) {
        const seq = this.prober.nextSeq();
        this.reconnects.set(seq, this.table.address(m));
        this.prober.ping(m, seq, 'packet');
      }
      // A node that knows no live member (its join failed, or everyone it knew
      // died) keeps knocking on its seeds.
      if (this.table.liveCount === 0 && this.seeds.length > 0) this.sendPushPull(this.seeds[this.joinAttempts++ % this.seeds.length], true, false);
      this.nextReconnectAt = now + this.options.reconnectIntervalMs;
    }
  }

  // ------------------------------------------------------------ receiving

  private handle(from: string, msg: SwimMessage, now: number, channel: Channel): void {
    if (msg.type === 'SwimPushPull') {
      this.handlePushPull(from, msg, now);
      return;
    }
    const view = this.view;
    const updates = msg.updates;
    const sender = this.table.find(msg.source);
    if (sender >= 0) this.table.heardFrom(sender, now);
    view.sender = msg.source;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i];
      view.apply(u.node, u.state, u.incarnation, u.from, u.host, u.port, u.meta, now, false);
    }
    view.sender = '';
    if (msg.broadcasts.length > 0) this.deliverBroadcasts(msg.broadcasts, now);
    switch (msg.type) {
      case 'SwimPing': {
        if (msg.target !== this.name) return;
        if (sender < 0 && msg.source !== this.name && this.table.find(msg.source) < 0) this.syncWithStranger(addressOf(msg.sourceHost, msg.sourcePort), now);
        // A member we consider suspect or dead hears it in the ack, so it refutes at once.
        const table = this.table;
        const src = table.find(msg.source);
        const pb = this.piggyback;
        pb.fill(src >= 0 && table.state(src) !== MemberState.Alive ? table.update(src, this.name) : null, msg.source);
        this.out.send(from, channel, { type: 'SwimAck', seq: msg.seq, source: this.name, payload: this.ackPayload, updates: pb.updates, broadcasts: pb.broadcasts });
        return;
      }
      case 'SwimPingReq': {
        const known = msg.targetHost.length > 0 ? -1 : this.table.find(msg.target);
        const target = msg.targetHost.length > 0 ? addressOf(msg.targetHost, msg.targetPort) : known >= 0 ? this.table.address(known) : undefined;
        if (target === undefined) return;
        const seq = this.prober.nextSeq();
        const timeout = this.prober.timeoutMs();
        this.relays.add(seq, from, msg.seq, msg.wantNack, now + Math.floor(timeout * 0.8), now + this.options.probeIntervalMs);
        const pb = this.piggyback;
        pb.fill(null, msg.target);
        const o = this.options;
        this.out.send(target, 'packet', {
          type: 'SwimPing',
          seq,
          target: msg.target,
          source: this.name,
          sourceHost: o.host,
          sourcePort: o.port,
          updates: pb.updates,
          broadcasts: pb.broadcasts,
        });
        return;
      }
      case 'SwimAck': {
        if (this.prober.acked(msg.seq, now, msg.payload, from)) return;
        const dead = this.reconnects.get(msg.seq);
        if (dead !== undefined) {
          this.reconnects.delete(msg.seq);
          this.sendPushPull(dead, false, false);
          return;
        }
        this.relays.ack(msg.seq, msg.source, this.out.sends);
        return;
      }
      case 'SwimNack':
        this.prober.nacked(msg.seq);
        return;
      case 'SwimGossip':
        return;
    }
  }

  private deliverBroadcasts(list: readonly SwimBroadcast[], now: number): void {
    for (const b of list) {
      const key = `${b.origin}/${b.id}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, now + BROADCAST_DEDUP_MS);
      const copy: SwimBroadcast = { id: b.id, origin: b.origin, topic: b.topic, payload: copyBytes(b.payload) };
      this.out.event({ type: 'broadcast', origin: b.origin, topic: b.topic, payload: copy.payload });
      this.gossip.queueBroadcast(copy, key);
    }
  }

  /**
   * A member we do not know probes us: the gossip of its join missed this
   * node (every retransmission of an update can miss a given member), and
   * until the next periodic push-pull this node would neither probe it nor
   * send it anything (a Raft leader would never reach that voter). A
   * push-pull with it now, at the gossip address it announces (a ping over
   * the stream channel comes from an ephemeral port), merges both views. At
   * most one per address every STRANGER_SYNC_INTERVALS probe intervals and
   * one in all per probe interval, with MAX_STRANGERS addresses remembered,
   * so forged pings cannot make it a flood.
   */
  private syncWithStranger(address: string, now: number): void {
    if (now < this.nextStrangerSyncAt) return;
    const strangers = this.strangers;
    const until = strangers.get(address);
    if (until !== undefined && now < until) return;
    this.nextStrangerSyncAt = now + this.options.probeIntervalMs;
    strangers.delete(address);
    if (strangers.size >= MAX_STRANGERS) strangers.delete(strangers.keys().next().value as string);
    strangers.set(address, now + STRANGER_SYNC_INTERVALS * this.options.probeIntervalMs);
    this.sendPushPull(address, false, false);
  }

  private handlePushPull(from: string, msg: PushPullMessage, now: number): void {
    const view = this.view;
    const members = msg.members;
    view.sender = msg.source;
    for (let i = 0; i < members.length; i++) {
      const r = members[i];
      view.apply(r.node, r.state, r.incarnation, msg.source, r.host, r.port, r.meta, now, true);
    }
    view.sender = '';
    if (!msg.reply) this.sendPushPull(from, msg.join, true);
    else if (this.stateValue === 'joining') {
      this.stateValue = 'alive';
      this.nextJoinAt = Infinity;
      this.out.event({ type: 'joined', via: from });
    }
  }

  private sendPushPull(to: string, join: boolean, reply: boolean): void {
    const records: MemberRecord[] = [this.view.selfRecord(this.stateValue === 'left' ? MemberState.Left : MemberState.Alive)];
    const table = this.table;
    for (let i = 0; i < table.size; i++) records.push(table.record(table.at(i)));
    this.out.send(to, 'stream', { type: 'SwimPushPull', join, reply, source: this.name, members: records, userState: EMPTY_BYTES });
  }

  private joinRound(now: number): void {
    if (this.joinAttempts >= this.options.joinMaxAttempts) {
      this.nextJoinAt = Infinity;
      this.stateValue = 'alive';
      this.out.event({ type: 'join-failed', attempts: this.joinAttempts });
      // Members heard of by gossip meanwhile can still give the full state.
      const m = this.table.random(this.isAlive, now);
      if (m >= 0) this.sendPushPull(this.table.address(m), true, false);
      return;
    }
    this.joinAttempts++;
    for (const s of this.seeds) this.sendPushPull(s, true, false);
    this.nextJoinAt = now + this.options.joinRetryIntervalMs;
  }

  // ------------------------------------------------------------ gossip

  private gossipRound(now: number): void {
    const targets = this.picked;
    const table = this.table;
    table.sample(this.options.gossipNodes, -1, this.stateValue === 'left' ? this.isAlive : this.gossipTarget, targets, now);
    for (const t of targets) {
      if (this.piggyback.fill(null, table.name(t)) === 0) break;
      this.out.send(table.address(t), 'packet', { type: 'SwimGossip', source: this.name, updates: this.piggyback.updates, broadcasts: this.piggyback.broadcasts });
    }
    if (targets.length > 0) targets.length = 0;
  }

  /** Gossip goes to live members, and for gossipToTheDeadMs to dead ones, so a wrongly declared member learns it and refutes. */
  private readonly gossipTarget = (m: number, now: number): boolean =>
    this.table.isLive(m) || (this.table.state(m) === MemberState.Dead && now - this.table.since(m) < this.options.gossipToTheDeadMs);

  private readonly isAlive = (m: number): boolean => this.table.state(m) === MemberState.Alive;

  /** The push-pull interval, stretched above 32 members so full-state traffic grows slowly with N. */
  private pushPullIntervalMs(): number {
    const n = this.view.size;
    const base = this.options.pushPullIntervalMs;
    if (n <= 32) return base;
    return base * (Math.ceil(Math.log2(n) - 5) + 1);
  }

  /** Forgets members dead or left for longer than reconnectTimeoutMs, and old broadcast ids. */
  private reap(now: number): void {
    this.table.reap(now - this.options.reconnectTimeoutMs);
    for (const [key, until] of this.seen) if (until < now) this.seen.delete(key);
  }
}
