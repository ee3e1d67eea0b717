// The coordinator of two-phase commit as a pure state machine (Gray 1978;
// Mohan, Lindsay & Obermarck 1986 for presumed abort). Like the Raft core it
// never touches a socket, a timer or the clock: the host drives it with
// tick(now) / receive(from, message, now) and performs the { sends, events }
// each call returns. Its log (TxLog) is injected.
//
// Rules
//
//   begin           log `begin` (who takes part), then send each participant
//                   its TxPrepare; resend to those that have not voted, with
//                   backoff, until prepareTimeoutMs
//   decide          every participant voted Yes: commit. Any No, a participant
//                   reporting Aborted, or the timeout: abort. The decision is
//                   logged (append + fsync) before the first TxCommit/TxAbort
//                   leaves and before the `decided` event: an outcome the
//                   application was told never changes
//   acknowledge     the decision is resent, with backoff, to every participant
//                   that has not acknowledged it (a TxStatusResponse with the
//                   outcome's state); a No voter already knows an abort. When
//                   all have, `end` is logged and the transaction forgotten
//   presumed abort  a status request about a transaction this coordinator has
//                   no record of is answered Unknown, which an in-doubt
//                   participant takes as abort: `begin` is logged before any
//                   TxPrepare and a transaction is forgotten only after every
//                   participant acknowledged its outcome, so one that a
//                   prepared participant asks about and that has no record was
//                   never committed. (The leader's recovery does not take it as
//                   abort: a finished commit has no record either.)
//   restart         from the log: a decided transaction has its decision
//                   resent; a begun but undecided one is aborted (logged, sent,
//                   reported as `decided` with recovered: true). Call tick(now)
//                   once after constructing to collect those sends
//   duplicates      votes, acknowledgements and status requests are idempotent;
//                   a late Yes vote after the decision gets the decision again
//
// A message is dropped when its participant / asker field does not name the
// member that sent it, or names one that does not take part.
import { BackpressureError, InvalidConfigError } from '../../shared/errors.js';
import type { Random } from '../membership/random.js';
import type { TxStep } from './events.js';
import { MemoryTxLog, type TxLog, type TxRecord } from './log.js';
import { outcomeState, TxState, TxVoteKind, type TxMessage, type TxOutcome, type TxStatusRequest, type TxStatusResponse, type TxVote } from './messages.js';
import { isId, resolveTransactionOptions, type TransactionOptions, type TransactionOptionsInput } from './options.js';
import { TxOutbox } from './outbox.js';

export interface CoordinatorDeps {
  /** The host's clock at construction (ms). */
  readonly now: number;
  /** For transaction ids. */
  readonly rng: Random;
  /** Where begin / decision / end records survive a restart (default: memory, which does not). */
  readonly log?: TxLog;
}

/** One participant's part of a transaction. */
export interface TxPart {
  readonly name: string;
  readonly payload: Uint8Array;
}

interface CoordinatedTx {
  readonly txId: string;
  readonly participants: readonly string[];
  /** The TxPrepare payloads, while preparing (a restarted coordinator has none and aborts at once). */
  payloads: readonly Uint8Array[] | null;
  outcome: TxOutcome | null;
  /** Preparing: participants that have not voted Yes. Decided: participants that have not acknowledged. */
  readonly pending: Set<string>;
  /** Participants known to have aborted (a No vote, an Aborted report). */
  readonly aborted: Set<string>;
  deadline: number;
  resendAt: number;
  resendEveryMs: number;
}

export class TxCoordinator {
  readonly options: TransactionOptions;
  readonly name: string;
  private readonly log: TxLog;
  private readonly out = new TxOutbox();
  private readonly txs = new Map<string, CoordinatedTx>();
  private readonly session: string;
  private counter = 0;
  private appends = 0;

  constructor(input: TransactionOptionsInput | TransactionOptions, deps: CoordinatorDeps) {
    this.options = resolveTransactionOptions(input);
    this.name = this.options.name;
    this.log = deps.log ?? new MemoryTxLog();
    this.session = (deps.rng.nextInt(0x10000) * 0x10000 + deps.rng.nextInt(0x10000)).toString(16).padStart(8, '0');
    // What restore() decides and sends waits in the outbox for the first call.
    this.restore(deps.now);
  }

  // ------------------------------------------------------------ queries

  /** Transactions begun and not yet acknowledged by every participant. */
  get open(): number {
    return this.txs.size;
  }

  /** The logged outcome of an open transaction, null while it is undecided, undefined when unknown. */
  outcomeOf(txId: string): TxOutcome | null | undefined {
    return this.txs.get(txId)?.outcome;
  }

  /** True once a log failure stopped the core (every call throws it). */
  get stopped(): boolean {
    return this.out.failure !== null;
  }

  /** The earliest time at which tick() has work to do. */
  nextDeadline(): number {
    let d = Infinity;
    for (const tx of this.txs.values()) {
      if (tx.resendAt < d) d = tx.resendAt;
      if (tx.outcome === null && tx.deadline < d) d = tx.deadline;
    }
    return d;
  }

  /** A transaction id unique to this coordinator: its name, a random session and a counter. */
  newTxId(): string {
    return `${this.name}/${this.session}/${++this.counter}`;
  }

  // ------------------------------------------------------------ inputs

  /** Starts a transaction: logs it, then asks every participant to prepare its payload. */
  begin(txId: string, parts: readonly TxPart[], now: number): TxStep {
    this.checkBegin(txId, parts);
    return this.out.guard(() => {
      const participants = parts.map((p) => p.name);
      this.append({ kind: 'begin', txId, participants });
      const o = this.options;
      const tx: CoordinatedTx = {
        txId,
        participants,
        payloads: parts.map((p) => p.payload),
        outcome: null,
        pending: new Set(participants),
        aborted: new Set(),
        deadline: now + o.prepareTimeoutMs,
        resendAt: now + o.retransmitIntervalMs,
        resendEveryMs: o.retransmitIntervalMs,
      };
      this.txs.set(txId, tx);
      this.sendPrepares(tx);
    });
  }

  tick(now: number): TxStep {
    return this.out.guard(() => {
      for (const tx of this.txs.values()) {
        if (tx.outcome === null && now >= tx.deadline) {
          this.decide(tx, 'aborted', `timeout: no vote from ${[...tx.pending].join(', ')}`, now, false);
        } else if (now >= tx.resendAt) {
          if (tx.outcome === null) this.sendPrepares(tx);
          else for (const p of tx.pending) this.sendDecision(tx, p);
          tx.resendEveryMs = Math.min(tx.resendEveryMs * 2, this.options.maxRetransmitIntervalMs);
          tx.resendAt = now + tx.resendEveryMs;
        }
      }
    });
  }

  /** Handles one message from member `from` (as the transport authenticated it). */
  receive(from: string, message: TxMessage, now: number): TxStep {
    return this.out.guard(() => {
      switch (message.type) {
        case 'TxVote':
          this.onVote(from, message, now);
          break;
        case 'TxStatusResponse':
          this.onStatusResponse(from, message, now);
          break;
        case 'TxStatusRequest':
          this.onStatusRequest(from, message);
          break;
        default:
          break;
      }
    });
  }

  // ------------------------------------------------------------ receiving

  private onVote(from: string, m: TxVote, now: number): void {
    if (m.participant !== from) return;
    const tx = this.txs.get(m.txId);
    // No record: a late duplicate of a vote for a finished transaction (its voter has the outcome).
    if (tx === undefined) return;
    if (!tx.participants.includes(from)) return;
    if (tx.outcome === null) {
      if (m.vote === TxVoteKind.Yes) {
        tx.pending.delete(from);
        if (tx.pending.size === 0) this.decide(tx, 'committed', 'every participant voted yes', now, false);
      } else {
        tx.aborted.add(from);
        this.decide(tx, 'aborted', `${from} voted no${m.reason === '' ? '' : `: ${m.reason}`}`, now, false);
      }
      return;
    }
    if (m.vote === TxVoteKind.Yes) {
      if (tx.pending.has(from)) this.sendDecision(tx, from);
    } else if (tx.outcome === 'aborted') {
      this.acknowledged(tx, from);
    }
  }

  private onStatusResponse(from: string, m: TxStatusResponse, now: number): void {
    const tx = this.txs.get(m.txId);
    if (tx === undefined || m.participant !== from || !tx.participants.includes(from)) return;
    if (tx.outcome === null) {
      if (m.state === TxState.Aborted) {
        tx.aborted.add(from);
        this.decide(tx, 'aborted', `${from} aborted`, now, false);
      }
      return;
    }
    if (m.state === outcomeState(tx.outcome) || (tx.outcome === 'aborted' && m.state === TxState.Unknown)) this.acknowledged(tx, from);
  }

  private onStatusRequest(from: string, m: TxStatusRequest): void {
    if (m.asker !== from || !isId(m.txId)) return;
    const tx = this.txs.get(m.txId);
    if (tx === undefined) {
      // No record: Unknown. An in-doubt participant reads it as abort (presumed abort); the leader's recovery does not.
      if (m.coordinator === this.name) this.out.send(from, this.status(m.txId, TxState.Unknown));
      return;
    }
    // Undecided: the answer is the decision, when there is one.
    if (tx.outcome !== null) this.out.send(from, this.status(tx.txId, outcomeState(tx.outcome)));
  }

  // ------------------------------------------------------------ transitions

  private decide(tx: CoordinatedTx, outcome: TxOutcome, reason: string, now: number, recovered: boolean): void {
    this.append({ kind: 'decision', txId: tx.txId, outcome, participants: tx.participants });
    this.setDecided(tx, outcome, now);
    this.out.event({ type: 'decided', txId: tx.txId, outcome, reason, recovered });
    for (const p of tx.pending) this.sendDecision(tx, p, reason);
    this.maybeFinish(tx);
  }

  private setDecided(tx: CoordinatedTx, outcome: TxOutcome, now: number): void {
    tx.outcome = outcome;
    tx.payloads = null;
    tx.pending.clear();
    for (const p of tx.participants) if (outcome === 'committed' || !tx.aborted.has(p)) tx.pending.add(p);
    tx.resendEveryMs = this.options.retransmitIntervalMs;
    tx.resendAt = now + tx.resendEveryMs;
  }

  private acknowledged(tx: CoordinatedTx, from: string): void {
    if (tx.pending.delete(from)) this.maybeFinish(tx);
  }

  private maybeFinish(tx: CoordinatedTx): void {
    if (tx.pending.size > 0 || tx.outcome === null) return;
    this.append({ kind: 'end', txId: tx.txId });
    this.txs.delete(tx.txId);
    this.out.event({ type: 'finished', txId: tx.txId, outcome: tx.outcome });
    this.maybeCompact();
  }

  // ------------------------------------------------------------ restart

  private restore(now: number): void {
    const records = this.log.load();
    this.appends = records.length;
    for (const r of records) {
      if (r.kind === 'begin') {
        this.txs.set(r.txId, this.restoredTx(r.txId, r.participants, null));
      } else if (r.kind === 'decision') {
        const tx = this.txs.get(r.txId) ?? this.restoredTx(r.txId, r.participants, null);
        tx.outcome = r.outcome;
        this.txs.set(r.txId, tx);
      } else if (r.kind === 'end') {
        this.txs.delete(r.txId);
      }
    }
    for (const tx of this.txs.values()) {
      if (tx.outcome === null) {
        // Never decided: presumed abort, now made explicit so participants release at once.
        this.decide(tx, 'aborted', 'coordinator restarted before deciding', now, true);
      } else {
        this.setDecided(tx, tx.outcome, now);
        for (const p of tx.pending) this.sendDecision(tx, p);
      }
    }
    this.maybeCompact();
  }

  private restoredTx(txId: string, participants: readonly string[], outcome: TxOutcome | null): CoordinatedTx {
    return { txId, participants, payloads: null, outcome, pending: new Set(participants), aborted: new Set(), deadline: Infinity, resendAt: Infinity, resendEveryMs: this.options.retransmitIntervalMs };
  }

  // ------------------------------------------------------------ helpers

  private sendPrepares(tx: CoordinatedTx): void {
    const payloads = tx.payloads as readonly Uint8Array[];
    for (let i = 0; i < tx.participants.length; i++) {
      const p = tx.participants[i];
      if (tx.pending.has(p)) this.out.send(p, { type: 'TxPrepare', txId: tx.txId, coordinator: this.name, participants: tx.participants as string[], payload: payloads[i] });
    }
  }

  private sendDecision(tx: CoordinatedTx, to: string, reason = ''): void {
    this.out.send(to, tx.outcome === 'committed' ? { type: 'TxCommit', txId: tx.txId } : { type: 'TxAbort', txId: tx.txId, reason });
  }

  private status(txId: string, state: TxState): TxMessage {
    return { type: 'TxStatusResponse', txId, participant: this.name, state };
  }

  private checkBegin(txId: string, parts: readonly TxPart[]): void {
    if (this.out.failure !== null) throw this.out.failure;
    if (typeof txId !== 'string' || !isId(txId)) throw new InvalidConfigError('txId', 'expected a non-empty id of at most 256 characters');
    if (this.txs.has(txId)) throw new InvalidConfigError('txId', `${txId} is already open`);
    if (!Array.isArray(parts) || parts.length === 0 || parts.length > this.options.maxParticipants) {
      throw new InvalidConfigError('participants', `expected 1 to ${this.options.maxParticipants} participants`);
    }
    const names = new Set<string>();
    for (const p of parts) {
      if (typeof p.name !== 'string' || !isId(p.name) || !(p.payload instanceof Uint8Array)) throw new InvalidConfigError('participants', 'expected { name, payload: Uint8Array } for each participant');
      names.add(p.name);
    }
    if (names.size !== parts.length) throw new InvalidConfigError('participants', 'names must be distinct');
    if (this.txs.size >= this.options.maxTransactions) throw new BackpressureError('maxTransactions', this.options.maxTransactions);
  }

  private append(r: TxRecord): void {
    this.log.append(r);
    this.appends++;
  }

  private maybeCompact(): void {
    if (this.appends < this.options.compactAfterRecords) return;
    const live: TxRecord[] = [];
    for (const tx of this.txs.values()) {
      live.push(tx.outcome === null ? { kind: 'begin', txId: tx.txId, participants: tx.participants } : { kind: 'decision', txId: tx.txId, outcome: tx.outcome, participants: tx.participants });
    }
    this.log.compact(live);
    this.appends = 0;
  }
}
