// Helpers of the transaction unit tests: a log that writes every append into a
// shared trace (so a test sees whether a record was durable before a message
// left), a log that fails on a chosen record, and message builders.
import { MemoryTxLog, type TxRecord } from '../../src/main/transactions/log.js';
import type { TxStep } from '../../src/main/transactions/events.js';
import { TxState, TxVoteKind, type TxMessage } from '../../src/main/transactions/messages.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';

export const rng = (): Sfc32 => new Sfc32(42, 1);

export const OPTS = { prepareTimeoutMs: 1_000, retransmitIntervalMs: 100, maxRetransmitIntervalMs: 400, statusIntervalMs: 300, recoveryPollMs: 200, outcomeRetentionMs: 10_000 } as const;

/** A memory log that writes "append <kind> <txId>" into `trace` for each record. */
export class TracingLog extends MemoryTxLog {
  constructor(readonly trace: string[] = []) {
    super();
  }
  override append(record: TxRecord): void {
    super.append(record);
    this.trace.push(`append ${record.kind}${record.kind === 'decision' || record.kind === 'outcome' ? `:${record.outcome}` : ''}`);
  }
}

/** A memory log whose append throws (a failed fsync, a crash) when `failOn` accepts the record; nothing is written then. */
export class FailingLog extends MemoryTxLog {
  constructor(private readonly failOn: (r: TxRecord) => boolean) {
    super();
  }
  override append(record: TxRecord): void {
    if (this.failOn(record)) throw new Error(`disk failed writing ${record.kind}`);
    super.append(record);
  }
}

/** What a host does with a step, written into the same trace: "send <type> -> <to>", "event <type>". */
export function perform(step: TxStep, trace: string[]): TxStep {
  for (const s of step.sends) trace.push(`send ${s.message.type} -> ${s.to}`);
  for (const e of step.events) trace.push(`event ${e.type}`);
  return { sends: [...step.sends], events: [...step.events] };
}

export function sendsOf(step: TxStep): string[] {
  return step.sends.map((s) => `${s.message.type} -> ${s.to}`);
}

export const yes = (txId: string, participant: string): TxMessage => ({ type: 'TxVote', txId, participant, vote: TxVoteKind.Yes, reason: '' });
export const no = (txId: string, participant: string, reason = 'conflict'): TxMessage => ({ type: 'TxVote', txId, participant, vote: TxVoteKind.No, reason });
export const ack = (txId: string, participant: string, state: TxState): TxMessage => ({ type: 'TxStatusResponse', txId, participant, state });
export const ask = (txId: string, asker: string, coordinator: string, participants: string[]): TxMessage => ({ type: 'TxStatusRequest', txId, asker, coordinator, participants });
export const prepare = (txId: string, coordinator: string, participants: string[], payload = new Uint8Array([1, 2, 3])): TxMessage => ({ type: 'TxPrepare', txId, coordinator, participants, payload });

export { TxState, TxVoteKind };
