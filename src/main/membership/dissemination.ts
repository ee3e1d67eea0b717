// What rides along on every outgoing message: membership updates and user
// broadcasts, each in its own retransmit queue, sharing one byte budget
// fairly. When both are waiting, user broadcasts are guaranteed
// `broadcastShare` of the budget and membership updates the rest; whatever
// one side leaves unused goes to the other, so neither starves the other.
//
// The retransmit limit is retransmitMult x ceil(log10(N + 1)) (SWIM section
// 4.1, memberlist's RetransmitMult), divided by the measured delivery rate so
// that lossy networks send more copies. User broadcasts get twice that: a
// membership update that misses a member is repaired by probes and push-pull,
// a broadcast is not (at N = 5 and 10 % loss, one broadcast delivery in about
// a thousand went missing with the single limit).
import { broadcastBytes, updateBytes, type SwimBroadcast, type SwimUpdate } from './messages.js';
import { RetransmitQueue } from './retransmit-queue.js';

/** Broadcasts are retransmitted this many times more than membership updates. */
export const BROADCAST_LIMIT_FACTOR = 2;

export class Dissemination {
  readonly updates = new RetransmitQueue<SwimUpdate>();
  readonly broadcasts = new RetransmitQueue<SwimBroadcast>();
  private limit = 1;
  private members = 1;
  private delivery = 1;

  constructor(
    private readonly retransmitMult: number,
    private readonly broadcastShare: number,
  ) {}

  /** Sets the cluster size the retransmit limit is computed from. */
  resize(members: number): void {
    this.members = members;
    this.recompute();
  }

  /**
   * Sets the share of direct probes answered in time (an estimate of the
   * round-trip delivery rate). The retransmit limit is divided by it, so a
   * lossy network gets proportionally more copies of each update (at most 4x).
   */
  setDelivery(rate: number): void {
    const r = rate < 0.25 ? 0.25 : rate > 1 ? 1 : rate;
    if (Math.abs(r - this.delivery) < 0.02) return;
    this.delivery = r;
    this.recompute();
  }

  private recompute(): void {
    this.limit = Math.ceil((this.retransmitMult * Math.max(1, Math.ceil(Math.log10(this.members + 1)))) / this.delivery);
  }

  get retransmitLimit(): number {
    return this.limit;
  }

  get pending(): boolean {
    return this.updates.size > 0 || this.broadcasts.size > 0;
  }

  queueUpdate(u: SwimUpdate): void {
    this.updates.push(u.node, u, 4 + updateBytes(u));
  }

  queueBroadcast(b: SwimBroadcast, key: string): void {
    this.broadcasts.push(key, b, 4 + broadcastBytes(b));
  }

  /**
   * Fills the two arrays within `budgetBytes` for a message to member
   * `recipient` (updates about the recipient itself are left queued); returns
   * the bytes used.
   */
  fill(updatesOut: SwimUpdate[], broadcastsOut: SwimBroadcast[], budgetBytes: number, recipient: string): number {
    const limit = this.limit;
    const broadcastLimit = limit * BROADCAST_LIMIT_FACTOR;
    if (this.broadcasts.size === 0) return this.updates.take(updatesOut, budgetBytes, limit, recipient);
    if (this.updates.size === 0) return this.broadcasts.take(broadcastsOut, budgetBytes, broadcastLimit, '');
    const forBroadcasts = Math.floor(budgetBytes * this.broadcastShare);
    let used = this.updates.take(updatesOut, budgetBytes - forBroadcasts, limit, recipient);
    used += this.broadcasts.take(broadcastsOut, budgetBytes - used, broadcastLimit, '');
    if (budgetBytes - used > 64) used += this.updates.take(updatesOut, budgetBytes - used, limit, recipient);
    return used;
  }
}
