// Two-phase commit options: documented defaults and the one place they are
// validated (resolveTransactionOptions). The cores read only resolved, frozen
// values.
//
//   option                    default    meaning
//   prepareTimeoutMs          5 000      coordinator: all votes must be in by then, else abort;
//                                        participant: the application must have voted by then,
//                                        else the participant votes No
//   retransmitIntervalMs      200        first resend of an unanswered TxPrepare or an
//                                        unacknowledged decision; doubles per resend ...
//   maxRetransmitIntervalMs   5 000      ... up to this
//   statusIntervalMs          1 000      a prepared participant that has no outcome asks the
//                                        coordinator (and the leader) this often
//   recoveryPollMs            500        the termination protocol re-asks whoever has not
//                                        answered (and a blocked coordinator) this often
//   outcomeRetentionMs        600 000    a participant remembers a finished outcome this long,
//                                        to answer status requests and late duplicates; it must
//                                        exceed any time a transaction can stay in doubt elsewhere
//   compactAfterRecords       1 024      log appends before the log is rewritten with only the
//                                        records still needed
//   maxTransactions           10 000     open transactions one core tracks; past it begin()
//                                        refuses, a participant votes No, recovery drops reports
//   maxParticipants           256        participants of one transaction
//
// Identity: name (required), the member name the transport knows this node by.
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption as int } from '../../shared/options.js';

export interface TransactionTuning {
  readonly prepareTimeoutMs: number;
  readonly retransmitIntervalMs: number;
  readonly maxRetransmitIntervalMs: number;
  readonly statusIntervalMs: number;
  readonly recoveryPollMs: number;
  readonly outcomeRetentionMs: number;
  readonly compactAfterRecords: number;
  readonly maxTransactions: number;
  readonly maxParticipants: number;
}

export const TransactionDefaults: TransactionTuning = Object.freeze({
  prepareTimeoutMs: 5_000,
  retransmitIntervalMs: 200,
  maxRetransmitIntervalMs: 5_000,
  statusIntervalMs: 1_000,
  recoveryPollMs: 500,
  outcomeRetentionMs: 600_000,
  compactAfterRecords: 1_024,
  maxTransactions: 10_000,
  maxParticipants: 256,
});

export interface TransactionOptions extends TransactionTuning {
  readonly name: string;
}

export type TransactionOptionsInput = Partial<TransactionTuning> & { readonly name: string };

/** Longest transaction id and member name accepted from the network. */
export const MAX_ID_LENGTH = 256;

const HOUR = 3_600_000;

/** Fills defaults and validates every field, naming it. */
export function resolveTransactionOptions(input: TransactionOptionsInput | TransactionOptions): TransactionOptions {
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > MAX_ID_LENGTH) {
    throw new InvalidConfigError('name', `expected a member name of 1 to ${MAX_ID_LENGTH} characters`);
  }
  const d = TransactionDefaults;
  const pick = <K extends keyof TransactionTuning>(k: K): unknown => (input[k] === undefined ? d[k] : input[k]);
  const retransmitIntervalMs = int('retransmitIntervalMs', pick('retransmitIntervalMs'), 1, HOUR);
  const maxRetransmitIntervalMs = int('maxRetransmitIntervalMs', pick('maxRetransmitIntervalMs'), 1, HOUR);
  if (maxRetransmitIntervalMs < retransmitIntervalMs) {
    throw new InvalidConfigError('maxRetransmitIntervalMs', `must be at least retransmitIntervalMs (${retransmitIntervalMs}), got ${maxRetransmitIntervalMs}`);
  }
  const prepareTimeoutMs = int('prepareTimeoutMs', pick('prepareTimeoutMs'), 1, 24 * HOUR);
  const outcomeRetentionMs = int('outcomeRetentionMs', pick('outcomeRetentionMs'), 1, 30 * 24 * HOUR);
  if (outcomeRetentionMs < 2 * prepareTimeoutMs) {
    throw new InvalidConfigError('outcomeRetentionMs', `must be at least twice prepareTimeoutMs (${prepareTimeoutMs}), got ${outcomeRetentionMs}`);
  }
  return Object.freeze({
    name: input.name,
    prepareTimeoutMs,
    retransmitIntervalMs,
    maxRetransmitIntervalMs,
    statusIntervalMs: int('statusIntervalMs', pick('statusIntervalMs'), 1, HOUR),
    recoveryPollMs: int('recoveryPollMs', pick('recoveryPollMs'), 1, HOUR),
    outcomeRetentionMs,
    compactAfterRecords: int('compactAfterRecords', pick('compactAfterRecords'), 1, 1 << 30),
    maxTransactions: int('maxTransactions', pick('maxTransactions'), 1, 1 << 24),
    maxParticipants: int('maxParticipants', pick('maxParticipants'), 1, 65_536),
  });
}

/** A valid id or member name from the network: a non-empty string of bounded length. */
export function isId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_ID_LENGTH;
}
