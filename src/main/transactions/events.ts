// What the transaction cores report to their caller, besides messages to send.
import type { TxInfo, TxOutcome, TxSend } from './messages.js';

export type TxEvent =
  // ---- coordinator
  /** The outcome is logged and final; `recovered` when decided while restarting from the log (an undecided transaction, aborted). */
  | { readonly type: 'decided'; readonly txId: string; readonly outcome: TxOutcome; readonly reason: string; readonly recovered: boolean }
  /** Every participant acknowledged the outcome; the coordinator forgot the transaction. */
  | { readonly type: 'finished'; readonly txId: string; readonly outcome: TxOutcome }
  // ---- participant
  /** The application must vote: participant.vote(txId, yes, reason, now). */
  | { readonly type: 'prepare'; readonly tx: TxInfo }
  /** After a restart: a transaction prepared before it and still in doubt. The application holds what it prepared until commit or abort. */
  | { readonly type: 'restored'; readonly tx: TxInfo }
  /** Apply the transaction, then call participant.applied(txId, now) (or applyFailed). Delivered at least once. */
  | { readonly type: 'commit'; readonly tx: TxInfo }
  /** Release what prepare held. Follows a prepare (after its vote) or a restored. */
  | { readonly type: 'abort'; readonly tx: TxInfo; readonly reason: string }
  // ---- recovery (the leader's termination protocol)
  | { readonly type: 'recovery-started'; readonly txId: string; readonly coordinator: string }
  /** Every participant is prepared and the coordinator is down: nothing can be decided until it returns with its log. */
  | { readonly type: 'recovery-blocked'; readonly txId: string; readonly coordinator: string }
  | { readonly type: 'recovered'; readonly txId: string; readonly coordinator: string; readonly outcome: TxOutcome };

/** The outputs of one call: messages to deliver and events (valid until the next call). */
export interface TxStep {
  readonly sends: readonly TxSend[];
  readonly events: readonly TxEvent[];
}
