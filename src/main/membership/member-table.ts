// The members this node knows (itself excluded): lookup by name, the probe
// order, random sampling (gossip targets, ping-req helpers, push-pull
// partners) and forgetting long-dead members.
//
// A member is a slot: the id its name has in the MemberDirectory. Its fields
// are columns indexed by slot (struct of arrays), so a member costs this node
// about 22 bytes rather than an object, a map entry and strings:
//
//   state        Uint8Array    MemberState + 1; 0 = not a member here
//   inOrder      Uint8Array    1 while the slot has a place in the probe order
//   incarnation  Uint32Array   0xffffffff = the value is in `bigIncarnations`
//   since        Float64Array  when the state last changed (this node's clock)
//   list         Int32Array    the slots in the order they were added
//   probe order  Int32Array    (probe-order.ts)
//
// What is rare is kept in maps: endpoints that differ from the directory's
// canonical one, non-empty metadata, incarnations of 2^32 - 1 and above, and
// when members that spoke within the last probe interval last did so.
import { EMPTY_BYTES, MemberState, type MemberRecord, type SwimUpdate } from './messages.js';
import { STATE_NAMES, type MemberView } from './member.js';
import type { Endpoint, MemberDirectory } from './member-directory.js';
import { ProbeOrder } from './probe-order.js';
import type { Random } from './random.js';

const BIG_INCARNATION = 0xffff_ffff;

/** A filter over slots for sampling; `now` is the caller's clock. */
export type SlotFilter = (slot: number, now: number) => boolean;

export class MemberTable {
  private stateCol = new Uint8Array(0);
  private inOrderCol = new Uint8Array(0);
  private incarnationCol = new Uint32Array(0);
  private sinceCol = new Float64Array(0);
  private list = new Int32Array(0);
  private count = 0;
  private live = 0;
  /** Dead or left members, and a lower bound of their `since` (reap() scans only when it may find one). */
  private notLive = 0;
  private oldestNotLive = Infinity;
  private dead = 0;
  private readonly bigIncarnations = new Map<number, number>();
  private readonly endpoints = new Map<number, Endpoint>();
  private readonly metas = new Map<number, Uint8Array>();
  private readonly heard = new Map<number, number>();
  private readonly order: ProbeOrder;
  private readonly picked: number[] = [];
  private deadCursor = 0;

  constructor(
    private readonly rng: Random,
    readonly directory: MemberDirectory,
  ) {
    this.order = new ProbeOrder(
      rng,
      (s) => this.isLive(s),
      (s) => {
        if (this.isLive(s)) return true;
        this.inOrderCol[s] = 0;
        return false;
      },
    );
  }

  // ------------------------------------------------------------ lookup

  /** The slot of `name`, or -1 when it is not a member here. */
  find(name: string): number {
    const s = this.directory.lookup(name);
    return s >= 0 && s < this.stateCol.length && this.stateCol[s] !== 0 ? s : -1;
  }

  /** How many members are remembered, dead and left ones included. */
  get size(): number {
    return this.count;
  }

  /** The i-th remembered member (0 <= i < size), in the order they were added. */
  at(i: number): number {
    return this.list[i];
  }

  /** Alive and suspect members. */
  get liveCount(): number {
    return this.live;
  }

  // ------------------------------------------------------------ fields

  name(s: number): string {
    return this.directory.name(s);
  }

  state(s: number): MemberState {
    return (this.stateCol[s] - 1) as MemberState;
  }

  isLive(s: number): boolean {
    const st = this.stateCol[s];
    return st === MemberState.Alive + 1 || st === MemberState.Suspect + 1;
  }

  incarnation(s: number): number {
    const v = this.incarnationCol[s];
    return v === BIG_INCARNATION ? (this.bigIncarnations.get(s) as number) : v;
  }

  since(s: number): number {
    return this.sinceCol[s];
  }

  endpoint(s: number): Endpoint {
    if (this.endpoints.size > 0) {
      const e = this.endpoints.get(s);
      if (e !== undefined) return e;
    }
    return this.directory.endpoint(s);
  }

  address(s: number): string {
    return this.endpoint(s).address;
  }

  meta(s: number): Uint8Array {
    return this.metas.size === 0 ? EMPTY_BYTES : (this.metas.get(s) ?? EMPTY_BYTES);
  }

  /** Notes that a message from member `s` arrived at `now`. */
  heardFrom(s: number, now: number): void {
    this.heard.set(s, now);
  }

  /** True when member `s` spoke to this node within the last `ms` before `now`. */
  heardWithin(s: number, now: number, ms: number): boolean {
    const at = this.heard.get(s);
    return at !== undefined && now - at < ms;
  }

  /** Forgets when members were heard from if that was `ms` or more before `now` (heardWithin(ms) is false for them anyway). */
  forgetHeard(now: number, ms: number): void {
    for (const [s, at] of this.heard) if (now - at >= ms) this.heard.delete(s);
  }

  /** The update that tells others about member `s`'s current state. */
  update(s: number, from: string): SwimUpdate {
    const state = this.state(s);
    const e = this.endpoint(s);
    return { state, node: this.name(s), incarnation: this.incarnation(s), from, host: e.host, port: e.port, meta: state === MemberState.Alive ? this.meta(s) : EMPTY_BYTES };
  }

  /** Member `s` as a push-pull record. */
  record(s: number): MemberRecord {
    const e = this.endpoint(s);
    return { node: this.name(s), host: e.host, port: e.port, incarnation: this.incarnation(s), state: this.state(s), meta: this.meta(s) };
  }

  view(s: number): MemberView {
    const e = this.endpoint(s);
    return Object.freeze({
      name: this.name(s),
      address: e.address,
      host: e.host,
      port: e.port,
      incarnation: this.incarnation(s),
      state: STATE_NAMES[this.state(s)],
      meta: this.meta(s),
      since: this.sinceCol[s],
    });
  }

  // ------------------------------------------------------------ changes

  /** Adds a member at a random place of the probe order; returns its slot. */
  add(name: string, host: string, port: number, incarnation: number, state: MemberState, meta: Uint8Array, now: number): number {
    const s = this.insert(name, host, port, incarnation, state, meta, now);
    this.order.add(s);
    return s;
  }

  /** Adds alive members in bulk (a warm start): one reshuffle instead of one random insert each. Members already known are skipped. */
  addAll(records: readonly MemberRecord[], self: string, now: number): void {
    const first = this.count;
    this.reserveList(this.count + records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (r.node === self || r.state !== MemberState.Alive || r.host.length === 0 || this.find(r.node) >= 0) continue;
      this.insert(r.node, r.host, r.port, r.incarnation, MemberState.Alive, r.meta.length > 0 ? r.meta.slice() : EMPTY_BYTES, now);
    }
    this.order.addAll(this.list, first, this.count);
  }

  /**
   * Applies a state/incarnation change to member `s`; an alive claim may also
   * carry a new address, and `meta` (when not null) replaces the metadata.
   */
  set(s: number, state: MemberState, incarnation: number, now: number, host: string, port: number, meta: Uint8Array | null): void {
    const prev = this.state(s);
    const wasLive = this.isLive(s);
    if (state !== prev) this.sinceCol[s] = now;
    this.stateCol[s] = state + 1;
    this.setIncarnation(s, incarnation);
    if (state === MemberState.Alive && host.length > 0) {
      const e = this.endpoint(s);
      if (host !== e.host || port !== e.port) this.setEndpoint(s, host, port);
    }
    if (meta !== null) this.setMeta(s, meta);
    const isLive = this.isLive(s);
    if (isLive !== wasLive) {
      this.live += isLive ? 1 : -1;
      this.notLive += isLive ? -1 : 1;
    }
    if (!isLive && this.sinceCol[s] < this.oldestNotLive) this.oldestNotLive = this.sinceCol[s];
    if ((prev === MemberState.Dead) !== (state === MemberState.Dead)) this.dead += state === MemberState.Dead ? 1 : -1;
    if (isLive && this.inOrderCol[s] === 0) {
      this.inOrderCol[s] = 1;
      this.order.add(s);
    }
  }

  private insert(name: string, host: string, port: number, incarnation: number, state: MemberState, meta: Uint8Array, now: number): number {
    const s = this.directory.hold(name, host, port);
    this.reserveColumns(s);
    this.stateCol[s] = state + 1;
    this.inOrderCol[s] = 1;
    this.setIncarnation(s, incarnation);
    this.sinceCol[s] = now;
    const e = this.directory.endpoint(s);
    if (e.host !== host || e.port !== port) this.setEndpoint(s, host, port);
    if (meta.length > 0) this.metas.set(s, meta);
    this.reserveList(this.count + 1);
    this.list[this.count++] = s;
    if (this.isLive(s)) this.live++;
    else {
      this.notLive++;
      if (now < this.oldestNotLive) this.oldestNotLive = now;
    }
    return s;
  }

  private setIncarnation(s: number, incarnation: number): void {
    if (incarnation < BIG_INCARNATION) {
      this.incarnationCol[s] = incarnation;
      if (this.bigIncarnations.size > 0) this.bigIncarnations.delete(s);
    } else {
      this.incarnationCol[s] = BIG_INCARNATION;
      this.bigIncarnations.set(s, incarnation);
    }
  }

  private setEndpoint(s: number, host: string, port: number): void {
    const canonical = this.directory.endpoint(s);
    if (canonical.host === host && canonical.port === port) this.endpoints.delete(s);
    else this.endpoints.set(s, this.directory.intern(host, port));
  }

  private setMeta(s: number, meta: Uint8Array): void {
    if (meta.length > 0) this.metas.set(s, meta);
    else this.metas.delete(s);
  }

  // ------------------------------------------------------------ choosing

  /** The next member to probe (randomized round-robin), or -1. */
  nextProbeTarget(): number {
    return this.order.pick();
  }

  /** Up to `count` distinct random members (never `exclude`) that `accept` takes, appended to `out`. */
  sample(count: number, exclude: number, accept: SlotFilter, out: number[], now: number): void {
    const list = this.list;
    const n = this.count;
    if (count === 0 || n === 0) return;
    const start = out.length;
    for (let tries = 0; tries < 3 * n + 3 * count && out.length - start < count; tries++) {
      const s = list[this.rng.nextInt(n)];
      if (s === exclude || !accept(s, now) || out.includes(s)) continue;
      out.push(s);
    }
  }

  /** One random member that `accept` takes, or -1. */
  random(accept: SlotFilter, now: number): number {
    this.sample(1, -1, accept, this.picked, now);
    const s = this.picked.length > 0 ? this.picked[0] : -1;
    if (s >= 0) this.picked.length = 0;
    return s;
  }

  /**
   * The next dead member to try to reconnect to, round-robin over the table so
   * that every dead member is retried within (dead members x interval); -1
   * when none is dead.
   */
  nextDead(): number {
    const n = this.count;
    for (let i = 0; i < n && this.dead > 0; i++) {
      if (this.deadCursor >= n) this.deadCursor = 0;
      const s = this.list[this.deadCursor++];
      if (this.stateCol[s] === MemberState.Dead + 1) return s;
    }
    return -1;
  }

  /** Forgets members that have been dead or left since before `horizon`. */
  reap(horizon: number): void {
    if (this.notLive === 0 || this.oldestNotLive >= horizon) return;
    const list = this.list;
    let kept = 0;
    let oldest = Infinity;
    for (let i = 0; i < this.count; i++) {
      const s = list[i];
      if (this.isLive(s)) {
        list[kept++] = s;
        continue;
      }
      const since = this.sinceCol[s];
      if (since >= horizon) {
        if (since < oldest) oldest = since;
        list[kept++] = s;
        continue;
      }
      this.forget(s);
    }
    this.count = kept;
    this.oldestNotLive = oldest;
  }

  private forget(s: number): void {
    if (this.stateCol[s] === MemberState.Dead + 1) this.dead--;
    this.notLive--;
    this.stateCol[s] = 0;
    if (this.inOrderCol[s] !== 0) {
      // The slot may be given to a member again: it must not keep a stale place.
      this.inOrderCol[s] = 0;
      this.order.remove(s);
    }
    this.bigIncarnations.delete(s);
    this.endpoints.delete(s);
    this.metas.delete(s);
    this.heard.delete(s);
    this.directory.release(s);
  }

  // ------------------------------------------------------------ storage

  private reserveColumns(s: number): void {
    const have = this.stateCol.length;
    if (s < have) return;
    // Double, but not past the directory's size when that is reached first:
    // with a shared directory that is where every table ends up.
    const cap = this.directory.capacity;
    const want = Math.max(s + 1, cap > s + 1 ? Math.min(cap, Math.max(16, 2 * have)) : Math.max(16, 2 * have));
    this.stateCol = grow(this.stateCol, new Uint8Array(want));
    this.inOrderCol = grow(this.inOrderCol, new Uint8Array(want));
    this.incarnationCol = grow(this.incarnationCol, new Uint32Array(want));
    this.sinceCol = grow(this.sinceCol, new Float64Array(want));
  }

  private reserveList(n: number): void {
    if (n <= this.list.length) return;
    this.list = grow(this.list.subarray(0, this.count), new Int32Array(Math.max(16, n, this.count * 2)));
  }
}

function grow<A extends Uint8Array | Uint32Array | Int32Array | Float64Array>(from: A, to: A): A {
  to.set(from as never);
  return to;
}
