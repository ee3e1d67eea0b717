// What an election core reports to its caller, besides messages to send.
import type { RaftSend } from './messages.js';

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Why a node left the leader or candidate role, or why it changed role at all. */
export type RoleChangeReason =
  | 'election-timeout' // follower -> pre-candidate or candidate
  | 'pre-vote-won' // pre-candidate -> candidate
  | 'transfer' // told by the leader to campaign at once
  | 'elected' // candidate -> leader
  | 'higher-term' // saw a newer term
  | 'leader-seen' // a leader of this term (or a newer one) spoke
  | 'election-lost' // a majority refused
  | 'check-quorum' // a leader that lost contact with a majority
  | 'removed' // no longer in the voter set
  | 'restored'; // the start of a core

export type RaftEvent =
  /** This node's role changed; `term` is the term it now acts in. */
  | { readonly type: 'role-changed'; readonly role: RaftRole; readonly term: number; readonly reason: RoleChangeReason }
  /** The leader this node follows changed (null: no known leader, e.g. on a newer term before anyone won it). */
  | { readonly type: 'leader-changed'; readonly leader: string | null; readonly term: number }
  /** The election timer fired but this node did not campaign: its local health says it is the slow one. */
  | { readonly type: 'campaign-deferred'; readonly healthScore: number; readonly term: number };

/** The outputs of one call: messages to deliver and events (valid until the next call). */
export interface RaftStep {
  readonly sends: readonly RaftSend[];
  readonly events: readonly RaftEvent[];
}
