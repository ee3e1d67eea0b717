// What a membership core reports to its caller, besides messages to send.
import type { MemberView } from './member.js';
import type { Send } from './messages.js';

export type SwimEvent =
  /** A member was seen for the first time. */
  | { readonly type: 'member-joined'; readonly member: MemberView }
  /** An alive member changed its metadata or address. */
  | { readonly type: 'member-updated'; readonly member: MemberView }
  | { readonly type: 'member-suspected'; readonly member: MemberView; readonly from: string }
  /** A suspected, dead or left member is alive again (refuted, restarted, re-merged). */
  | { readonly type: 'member-alive'; readonly member: MemberView }
  | { readonly type: 'member-dead'; readonly member: MemberView; readonly from: string }
  | { readonly type: 'member-left'; readonly member: MemberView }
  /** A direct probe of `node` was acked after rttMs; `payload` is what the member attaches to its acks (setAckPayload). */
  | { readonly type: 'probe-acked'; readonly node: string; readonly rttMs: number; readonly payload: Uint8Array }
  /** A probe of `node` got no direct ack but one relayed by the helper `via` (ping-req): it is reachable only through others. */
  | { readonly type: 'probe-relayed'; readonly node: string; readonly via: string }
  /** A probe of `node` got no ack, directly or through helpers. */
  | { readonly type: 'probe-failed'; readonly node: string }
  | { readonly type: 'joined'; readonly via: string }
  | { readonly type: 'join-failed'; readonly attempts: number }
  /** Another member claimed something about this node that it refuted. */
  | { readonly type: 'refuted'; readonly claimed: 'alive' | 'suspect' | 'dead' | 'left'; readonly incarnation: number }
  /** This node's incarnation changed: persist it to survive restarts without refutation. */
  | { readonly type: 'incarnation'; readonly incarnation: number }
  | { readonly type: 'broadcast'; readonly origin: string; readonly topic: string; readonly payload: Uint8Array };

/** The outputs of one call: messages to deliver and events (valid until the next call). */
export interface SwimStep {
  readonly sends: readonly Send[];
  readonly events: readonly SwimEvent[];
}
