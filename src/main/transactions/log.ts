// What the transaction cores must remember across a restart, and the log
// interface they write it through.
//
//   coordinator   begin     {txId, participants}   before the first TxPrepare leaves
//                 decision  {txId, outcome, ...}   before the first TxCommit / TxAbort
//                                                  leaves, and before the application
//                                                  is told the outcome
//                 end       {txId}                 every participant acknowledged
//   participant   prepared  {txId, coordinator, participants, payload}
//                                                  before the Yes vote leaves: all that
//                                                  is needed to commit after a restart
//                 outcome   {txId, outcome, at}    commit applied, or abort learned or
//                                                  chosen (a participant that has not voted
//                                                  Yes may abort alone; the record binds it)
//
// Like the election store the interface is synchronous on purpose: the core
// calls append() before it returns the messages that depend on the record, so
// "log before send" cannot be got wrong by a host. append() returns only when
// the record is durable. A core that sees append() throw stops (every later
// call rethrows): the host restarts it from the log, as after a crash.
//
// compact(live) replaces the whole log, atomically, by the records still
// needed (open transactions, recent outcomes); the core calls it after
// compactAfterRecords appends.
import type { TxOutcome } from './messages.js';
import { copyBytes } from '../../shared/bytes.js';

export type TxRecord =
  | { readonly kind: 'begin'; readonly txId: string; readonly participants: readonly string[] }
  | { readonly kind: 'decision'; readonly txId: string; readonly outcome: TxOutcome; readonly participants: readonly string[] }
  | { readonly kind: 'end'; readonly txId: string }
  | { readonly kind: 'prepared'; readonly txId: string; readonly coordinator: string; readonly participants: readonly string[]; readonly payload: Uint8Array }
  | { readonly kind: 'outcome'; readonly txId: string; readonly outcome: TxOutcome; readonly at: number };

export type TxRecordKind = TxRecord['kind'];

export interface TxLog {
  /** Every record, oldest first (after the last compaction). */
  load(): TxRecord[];
  /** Makes `record` durable before returning. */
  append(record: TxRecord): void;
  /** Atomically replaces the log by `live`. */
  compact(live: readonly TxRecord[]): void;
}

/**
 * A log in memory: for tests and the simulator, where the object outliving a
 * simulated crash plays the disk. `appends` and `compactions` count calls.
 */
export class MemoryTxLog implements TxLog {
  private records: TxRecord[] = [];
  appends = 0;
  compactions = 0;

  load(): TxRecord[] {
    return [...this.records];
  }

  append(record: TxRecord): void {
    this.records.push(copyRecord(record));
    this.appends++;
  }

  compact(live: readonly TxRecord[]): void {
    this.records = live.map(copyRecord);
    this.compactions++;
  }

  get size(): number {
    return this.records.length;
  }
}

/** A deep copy, so a record never shares a payload view with a receive buffer. */
export function copyRecord(r: TxRecord): TxRecord {
  switch (r.kind) {
    case 'begin':
    case 'decision':
      return { ...r, participants: [...r.participants] };
    case 'prepared':
      return { ...r, participants: [...r.participants], payload: copyBytes(r.payload) };
    default:
      return { ...r };
  }
}
