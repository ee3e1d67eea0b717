// The helper side of an indirect probe (SWIM section 3.1, ping-req): a member
// asked by a prober pings the target on its behalf and forwards the ack. With
// Lifeguard (section IV-A) it also answers with a nack when the target stays
// silent, so the prober can tell "the target is down" from "I am the one who
// cannot hear anybody".
import { EMPTY_BYTES, type Send } from './messages.js';

interface Relay {
  readonly origin: string;
  readonly originSeq: number;
  readonly wantNack: boolean;
  readonly nackAt: number;
  readonly expireAt: number;
  nackSent: boolean;
}

export class PingReqRelays {
  private readonly relays = new Map<number, Relay>();

  get size(): number {
    return this.relays.size;
  }

  /** Remembers that the ping with `seq` is sent for `origin`'s probe `originSeq`. */
  add(seq: number, origin: string, originSeq: number, wantNack: boolean, nackAt: number, expireAt: number): void {
    this.relays.set(seq, { origin, originSeq, wantNack, nackAt, expireAt, nackSent: false });
  }

  /** Forwards an ack for one of our relayed pings; false when `seq` is not a relay. */
  ack(seq: number, source: string, sends: Send[]): boolean {
    const r = this.relays.get(seq);
    if (r === undefined) return false;
    this.relays.delete(seq);
    sends.push({ to: r.origin, channel: 'packet', message: { type: 'SwimAck', seq: r.originSeq, source, payload: EMPTY_BYTES, updates: [], broadcasts: [] } });
    return true;
  }

  /** Sends due nacks (as `self`) and forgets relays past their end. */
  expire(now: number, sends: Send[], self: string): void {
    for (const [seq, r] of this.relays) {
      if (r.wantNack && !r.nackSent && now >= r.nackAt) {
        r.nackSent = true;
        sends.push({ to: r.origin, channel: 'packet', message: { type: 'SwimNack', seq: r.originSeq, source: self, updates: [], broadcasts: [] } });
      }
      if (now >= r.expireAt) this.relays.delete(seq);
    }
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const r of this.relays.values()) {
      const t = r.wantNack && !r.nackSent ? r.nackAt : r.expireAt;
      if (t < d) d = t;
    }
    return d;
  }
}
