// The messages an election core sends and receives: the schema's Raft bodies
// (src/shared/schema/layout.ts), tagged with `type` exactly as BodyValue tags
// them, so the transport encodes them into an Envelope unchanged.
//
//   RequestVote            a vote or pre-vote request (pre_vote), or, with
//                          candidate = the recipient and leadership_transfer,
//                          the leader telling its chosen successor to
//                          campaign now (Raft's TimeoutNow, thesis 3.10)
//   RequestVoteResponse    the answer; `voter` names the responder
//   AppendEntries          with no entries: the leader's heartbeat
//   AppendEntriesResponse  the answer; `responder` names the follower
//
// Sends are addressed by member name: the host maps names to connections.
import type { AppendEntries, AppendEntriesResponse, BodyValue, RequestVote, RequestVoteResponse } from '../../shared/schema/layout.js';

export type RaftMessage = Extract<BodyValue, { type: 'RequestVote' | 'RequestVoteResponse' | 'AppendEntries' | 'AppendEntriesResponse' }>;
export type RaftMessageType = RaftMessage['type'];

export type { AppendEntries, AppendEntriesResponse, RequestVote, RequestVoteResponse };

export interface RaftSend {
  /** The recipient's member name. */
  readonly to: string;
  readonly message: RaftMessage;
}

const RAFT_TYPES: ReadonlySet<string> = new Set<RaftMessageType>(['RequestVote', 'RequestVoteResponse', 'AppendEntries', 'AppendEntriesResponse']);

/** True when a decoded Envelope body is one the election core handles. */
export function isRaftMessage(body: BodyValue): body is RaftMessage {
  return RAFT_TYPES.has(body.type);
}
