// The members this node knows (itself excluded): lookup by name, the probe
// order, random sampling (gossip targets, ping-req helpers, push-pull
// partners) and forgetting long-dead members.
import { Member } from './member.js';
import { MemberState } from './messages.js';
import { ProbeOrder } from './probe-order.js';
import type { Random } from './random.js';

export class MemberTable {
  private readonly byName = new Map<string, Member>();
  private list: Member[] = [];
  private live = 0;
  private readonly order: ProbeOrder<Member>;
  private readonly picked: Member[] = [];
  private deadCursor = 0;

  constructor(private readonly rng: Random) {
    this.order = new ProbeOrder<Member>(
      rng,
      (m) => m.live && !m.removed,
      (m) => {
        if (m.live && !m.removed) return true;
        m.inOrder = false;
        return false;
      },
    );
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** Every remembered member, dead and left ones included. */
  get all(): readonly Member[] {
    return this.list;
  }

  /** Alive and suspect members. */
  get liveCount(): number {
    return this.live;
  }

  add(name: string, host: string, port: number, incarnation: number, state: MemberState, meta: Uint8Array, now: number): Member {
    const m = this.insert(name, host, port, incarnation, state, meta, now);
    this.order.add(m);
    return m;
  }

  /** Adds alive members in bulk (a warm start): one reshuffle instead of one random insert each. */
  addAll(records: readonly { name: string; host: string; port: number; incarnation: number; meta: Uint8Array }[], now: number): void {
    const added: Member[] = [];
    for (const r of records) {
      if (this.byName.has(r.name)) continue;
      added.push(this.insert(r.name, r.host, r.port, r.incarnation, MemberState.Alive, r.meta, now));
    }
    this.order.addAll(added);
  }

  private insert(name: string, host: string, port: number, incarnation: number, state: MemberState, meta: Uint8Array, now: number): Member {
    const m = new Member(name, host, port, incarnation, state, meta, now);
    this.byName.set(name, m);
    this.list.push(m);
    if (m.live) this.live++;
    m.inOrder = true;
    return m;
  }

  /** Bookkeeping after `m` changed state (it was live before iff `wasLive`). */
  changed(m: Member, wasLive: boolean): void {
    if (m.live !== wasLive) this.live += m.live ? 1 : -1;
    if (m.live && !m.inOrder) {
      m.inOrder = true;
      this.order.add(m);
    }
  }

  /** The next member to probe (randomized round-robin), or null. */
  nextProbeTarget(): Member | null {
    return this.order.pick();
  }

  /** Up to `count` distinct random members (never `exclude`) that satisfy `accept`, appended to `out`. */
  sample(count: number, exclude: Member | null, accept: (m: Member, now: number) => boolean, out: Member[], now: number): void {
    const list = this.list;
    const n = list.length;
    if (count === 0 || n === 0) return;
    const start = out.length;
    for (let tries = 0; tries < 3 * n + 3 * count && out.length - start < count; tries++) {
      const m = list[this.rng.nextInt(n)];
      if (m === exclude || !accept(m, now) || out.includes(m)) continue;
      out.push(m);
    }
  }

  /** One random member that satisfies `accept`, or null. */
  random(accept: (m: Member, now: number) => boolean, now: number): Member | null {
    this.sample(1, null, accept, this.picked, now);
    const m = this.picked.length > 0 ? this.picked[0] : null;
    this.picked.length = 0;
    return m;
  }

  /**
   * The next dead member to try to reconnect to, round-robin over the table so
   * that every dead member is retried within (dead members x interval).
   */
  nextDead(): Member | null {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      if (this.deadCursor >= list.length) this.deadCursor = 0;
      const m = list[this.deadCursor++];
      if (m.state === MemberState.Dead) return m;
    }
    return null;
  }

  /** Forgets members that have been dead or left since before `horizon`. */
  reap(horizon: number): void {
    if (!this.list.some((m) => !m.live && m.since < horizon)) return;
    this.list = this.list.filter((m) => {
      if (m.live || m.since >= horizon) return true;
      m.removed = true;
      this.byName.delete(m.name);
      return false;
    });
  }
}

export function isAlive(m: Member): boolean {
  return m.state === MemberState.Alive;
}

