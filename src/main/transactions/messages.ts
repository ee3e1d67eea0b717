// The messages of two-phase commit: the schema's Tx bodies
// (src/shared/schema/layout.ts), tagged with `type` exactly as BodyValue tags
// them, so the transport encodes them into an Envelope unchanged.
//
//   TxPrepare          coordinator -> participant: vote on this transaction;
//                      names every participant and carries this one's payload
//   TxVote             participant -> coordinator: Yes (prepared, logged) or No
//   TxCommit, TxAbort  the decision, from the coordinator or from the leader's
//                      termination protocol, resent until acknowledged
//   TxStatusRequest    an in-doubt participant asking for the outcome (sent to
//                      the coordinator and the leader), or the termination
//                      protocol asking a participant for its state; it names
//                      the coordinator and the participants so that a leader
//                      that never saw the TxPrepare can act on it
//   TxStatusResponse   a state (TxState); from a participant with Committed or
//                      Aborted it also acknowledges the decision
//
// Sends are addressed by member name: the host maps names to connections.
import type { BodyValue, TxAbort, TxCommit, TxPrepare, TxStatusRequest, TxStatusResponse, TxVote } from '../../shared/schema/layout.js';
import { TxState } from '../../shared/schema/generated/clusterwire/wire/tx-state.js';
import { TxVoteKind } from '../../shared/schema/generated/clusterwire/wire/tx-vote-kind.js';

export { TxState, TxVoteKind };
export type { TxAbort, TxCommit, TxPrepare, TxStatusRequest, TxStatusResponse, TxVote };

export type TxMessage = Extract<BodyValue, { type: 'TxPrepare' | 'TxVote' | 'TxCommit' | 'TxAbort' | 'TxStatusRequest' | 'TxStatusResponse' }>;
export type TxMessageType = TxMessage['type'];

export interface TxSend {
  /** The recipient's member name. */
  readonly to: string;
  readonly message: TxMessage;
}

/** Every Tx body type (what a host registers with Messenger.handleBody). */
export const TX_MESSAGE_TYPES: readonly TxMessageType[] = Object.freeze(['TxPrepare', 'TxVote', 'TxCommit', 'TxAbort', 'TxStatusRequest', 'TxStatusResponse'] as const);

const TX_TYPES: ReadonlySet<string> = new Set<string>(TX_MESSAGE_TYPES);

/** True when a decoded Envelope body is one the transaction cores handle. */
export function isTxMessage(body: BodyValue): body is TxMessage {
  return TX_TYPES.has(body.type);
}

/** The outcome of a transaction as the application sees it. */
export type TxOutcome = 'committed' | 'aborted';

/** What a participant's application is asked to prepare, commit or abort. */
export interface TxInfo {
  readonly txId: string;
  readonly coordinator: string;
  /** Every participant, in the coordinator's order. */
  readonly participants: readonly string[];
  /** This participant's part of the transaction. */
  readonly payload: Uint8Array;
}

/** True for the states that are an outcome. */
export function isFinal(state: number): state is TxState.Committed | TxState.Aborted {
  return state === TxState.Committed || state === TxState.Aborted;
}

export function outcomeState(outcome: TxOutcome): TxState.Committed | TxState.Aborted {
  return outcome === 'committed' ? TxState.Committed : TxState.Aborted;
}

export function stateName(state: number): string {
  return TxState[state] ?? `state ${state}`;
}
