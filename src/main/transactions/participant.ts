// A participant of two-phase commit as a pure state machine. The host drives
// it like the coordinator (tick / receive, performing { sends, events }) and
// passes on the application's answers: vote() after a `prepare` event,
// applied() (or applyFailed()) after a `commit` event.
//
// States of one transaction
//
//   preparing   TxPrepare arrived, the application is deciding (nothing logged)
//   prepared    voted Yes: the `prepared` record (with the payload) was logged
//               before the vote left; the application holds what it prepared
//   committing  the outcome commit is known, the application is applying it
//   committed   applied, the `outcome` record logged, acknowledged
//   aborted     the `outcome` record logged, acknowledged
//
// Rules
//
//   vote          Yes: log `prepared`, then send the vote. No: log the abort,
//                 send the vote
//   vote timeout  no vote from the application within prepareTimeoutMs: the
//                 participant aborts alone (it has not voted Yes) and votes No
//   binding       a status request about a transaction this participant has not
//                 voted Yes on (preparing, or never seen) makes it abort that
//                 transaction, logged, before it answers Aborted: having said it
//                 was not prepared, it can never vote Yes afterwards, so the
//                 leader's "abort if anyone never prepared" cannot race a late
//                 Yes vote into a commit
//   outcome       TxCommit / TxAbort, or a status response naming an outcome,
//                 ends a prepared transaction only when it comes from the
//                 coordinator, another participant, or the leader (setLeader);
//                 an abort of a transaction not yet voted Yes is accepted from
//                 anyone (aborting it is always safe)
//   acknowledge   once the outcome is logged, a TxStatusResponse with it goes
//                 to the coordinator and to whoever sent the decision; a
//                 duplicate decision is acknowledged again
//   in doubt      prepared with no outcome for statusIntervalMs: ask the
//                 coordinator and the leader (TxStatusRequest, naming the
//                 coordinator and the participants), again every interval. The
//                 application keeps holding what it prepared
//   presumed      a coordinator answering Unknown (no record) means abort
//   abort         (see coordinator.ts for why that is sound for an in-doubt
//                 participant)
//   restart       from the log: a prepared transaction without an outcome is
//                 reported `restored` and asked about at once; outcomes are
//                 remembered for outcomeRetentionMs
//
// The application sees, for each transaction it was asked to prepare, exactly
// one `commit` or `abort` after its vote (an abort also after its own No), and
// `commit` at least once: after a crash between applying and logging it, the
// commit is delivered again (make commit idempotent).
import type { TxEvent, TxStep } from './events.js';
import { MemoryTxLog, type TxLog, type TxRecord } from './log.js';
import {
  TxState,
  TxVoteKind,
  type TxAbort,
  type TxCommit,
  type TxInfo,
  type TxMessage,
  type TxOutcome,
  type TxPrepare,
  type TxStatusRequest,
  type TxStatusResponse,
} from './messages.js';
import { isId, resolveTransactionOptions, type TransactionOptions, type TransactionOptionsInput } from './options.js';
import { TxOutbox } from './outbox.js';
import { copyBytes } from '../../shared/bytes.js';

export interface ParticipantDeps {
  readonly now: number;
  /** Where prepared states and outcomes survive a restart (default: memory, which does not). */
  readonly log?: TxLog;
}

export type ParticipantState = 'preparing' | 'prepared' | 'committing' | 'committed' | 'aborted';

interface ParticipatedTx {
  /** Null for an abort recorded before any TxPrepare arrived. */
  info: TxInfo | null;
  state: ParticipantState;
  /** The application was asked to prepare and has not voted yet. */
  appPending: boolean;
  /** A commit event is out and applied() has not come back. */
  applying: boolean;
  /** Who sent the decision (acknowledged once it is logged). */
  readonly ackTo: Set<string>;
  voteDeadline: number;
  askAt: number;
  reapplyAt: number;
  finishedAt: number;
  reason: string;
}

const NONE = Infinity;

export class TxParticipant {
  readonly options: TransactionOptions;
  readonly name: string;
  private readonly log: TxLog;
  private readonly out = new TxOutbox();
  private readonly txs = new Map<string, ParticipatedTx>();
  private leaderName: string | null = null;
  private appends = 0;
  /** Decisions that contradict this participant's state (a commit of an aborted transaction, ...): 0 unless a peer breaks the protocol. */
  conflicts = 0;

  constructor(input: TransactionOptionsInput | TransactionOptions, deps: ParticipantDeps) {
    this.options = resolveTransactionOptions(input);
    this.name = this.options.name;
    this.log = deps.log ?? new MemoryTxLog();
    this.restore(deps.now);
  }

  // ------------------------------------------------------------ queries

  stateOf(txId: string): ParticipantState | null {
    return this.txs.get(txId)?.state ?? null;
  }

  /** Transactions prepared and not yet decided here. */
  inDoubt(): string[] {
    const ids: string[] = [];
    for (const [id, tx] of this.txs) if (tx.state === 'prepared') ids.push(id);
    return ids;
  }

  get leader(): string | null {
    return this.leaderName;
  }

  /** True once a log failure stopped the core (every call throws it). */
  get stopped(): boolean {
    return this.out.failure !== null;
  }

  nextDeadline(): number {
    let d = NONE;
    const retention = this.options.outcomeRetentionMs;
    for (const tx of this.txs.values()) {
      let t: number;
      switch (tx.state) {
        case 'preparing':
          t = tx.voteDeadline;
          break;
        case 'prepared':
          t = tx.askAt;
          break;
        case 'committing':
          t = tx.applying ? NONE : tx.reapplyAt;
          break;
        default:
          t = tx.appPending ? NONE : tx.finishedAt + retention;
      }
      if (t < d) d = t;
    }
    return d;
  }

  // ------------------------------------------------------------ inputs

  /** The member that leads now (it runs the termination protocol), or null. */
  setLeader(leader: string | null): void {
    this.leaderName = leader;
  }

  /** The application's vote on a `prepare` event. A vote after the transaction was aborted only releases it (an `abort` event). */
  vote(txId: string, yes: boolean, reason: string, now: number): TxStep {
    return this.out.guard(() => {
      const tx = this.txs.get(txId);
      if (tx === undefined || !tx.appPending) return;
      tx.appPending = false;
      const info = tx.info as TxInfo;
      if (tx.state === 'aborted') {
        this.out.event({ type: 'abort', tx: info, reason: tx.reason });
      } else if (yes) {
        this.append({ kind: 'prepared', txId, coordinator: info.coordinator, participants: info.participants, payload: info.payload });
        tx.state = 'prepared';
        tx.askAt = now + this.options.statusIntervalMs;
        this.sendVote(info.coordinator, txId, true, '');
      } else {
        this.finish(tx, txId, 'aborted', reason === '' ? 'voted no' : reason, now);
        this.sendVote(info.coordinator, txId, false, reason);
        this.out.event({ type: 'abort', tx: info, reason: tx.reason });
      }
    });
  }

  /** The application applied a `commit`: log it and acknowledge. */
  applied(txId: string, now: number): TxStep {
    return this.out.guard(() => {
      const tx = this.txs.get(txId);
      if (tx === undefined || tx.state !== 'committing' || !tx.applying) return;
      tx.applying = false;
      this.finish(tx, txId, 'committed', '', now);
      this.acknowledge(tx, txId);
    });
  }

  /** The application failed to apply a `commit`: it is delivered again after retransmitIntervalMs. */
  applyFailed(txId: string, now: number): TxStep {
    return this.out.guard(() => {
      const tx = this.txs.get(txId);
      if (tx === undefined || tx.state !== 'committing' || !tx.applying) return;
      tx.applying = false;
      tx.reapplyAt = now + this.options.retransmitIntervalMs;
    });
  }

  tick(now: number): TxStep {
    return this.out.guard(() => {
      const retention = this.options.outcomeRetentionMs;
      for (const [id, tx] of this.txs) {
        if (tx.state === 'preparing' && now >= tx.voteDeadline) {
          this.abortUnvoted(tx, id, 'no vote from the application in time', now);
        } else if (tx.state === 'prepared' && now >= tx.askAt) {
          this.askOutcome(tx.info as TxInfo);
          tx.askAt = now + this.options.statusIntervalMs;
        } else if (tx.state === 'committing' && !tx.applying && now >= tx.reapplyAt) {
          this.startCommit(tx);
        } else if ((tx.state === 'committed' || tx.state === 'aborted') && !tx.appPending && now >= tx.finishedAt + retention) {
          this.txs.delete(id);
        }
      }
    });
  }

  /** Handles one message from member `from` (as the transport authenticated it). */
  receive(from: string, message: TxMessage, now: number): TxStep {
    return this.out.guard(() => {
      switch (message.type) {
        case 'TxPrepare':
          this.onPrepare(from, message, now);
          break;
        case 'TxCommit':
          this.onCommit(from, message);
          break;
        case 'TxAbort':
          this.onAbort(from, message, now);
          break;
        case 'TxStatusRequest':
          this.onStatusRequest(from, message, now);
          break;
        case 'TxStatusResponse':
          this.onStatusResponse(from, message, now);
          break;
        default:
          break;
      }
    });
  }

  // ------------------------------------------------------------ receiving

  private onPrepare(from: string, m: TxPrepare, now: number): void {
    if (from !== m.coordinator || !isId(m.txId) || !this.validParticipants(m.participants)) return;
    const tx = this.txs.get(m.txId);
    if (tx === undefined) {
      if (this.txs.size >= this.options.maxTransactions) {
        // Nothing recorded: a retransmitted prepare may still be voted on later.
        this.sendVote(from, m.txId, false, 'participant busy: too many open transactions');
        return;
      }
      const info: TxInfo = { txId: m.txId, coordinator: m.coordinator, participants: [...m.participants], payload: copyBytes(m.payload) };
      this.txs.set(m.txId, {
        info,
        state: 'preparing',
        appPending: true,
        applying: false,
        ackTo: new Set(),
        voteDeadline: now + this.options.prepareTimeoutMs,
        askAt: NONE,
        reapplyAt: NONE,
        finishedAt: NONE,
        reason: '',
      });
      this.out.event({ type: 'prepare', tx: info });
      return;
    }
    if (tx.state === 'aborted') this.sendVote(from, m.txId, false, tx.reason);
    else if (tx.state !== 'preparing') this.sendVote(from, m.txId, true, '');
  }

  private onCommit(from: string, m: TxCommit): void {
    const tx = this.txs.get(m.txId);
    if (tx === undefined) {
      // A commit goes only to a Yes voter, which logged it: this one finished and forgot it.
      if (isId(m.txId)) this.out.send(from, this.status(m.txId, TxState.Committed));
      return;
    }
    if (!this.trusted(tx, from)) return;
    switch (tx.state) {
      case 'prepared':
        tx.ackTo.add(from);
        this.startCommit(tx);
        break;
      case 'committing':
        tx.ackTo.add(from);
        break;
      case 'committed':
        this.out.send(from, this.status(m.txId, TxState.Committed));
        break;
      default:
        this.conflicts++;
    }
  }

  private onAbort(from: string, m: TxAbort, now: number): void {
    if (!isId(m.txId)) return;
    const tx = this.txs.get(m.txId);
    const reason = m.reason === '' ? `aborted by ${from}` : m.reason;
    if (tx === undefined) {
      if (!this.tombstone(m.txId, reason, now)) return;
    } else if (tx.state === 'preparing') {
      this.abortUnvoted(tx, m.txId, reason, now);
    } else if (tx.state === 'prepared') {
      if (!this.trusted(tx, from)) return;
      this.abortPrepared(tx, m.txId, reason, now);
    } else if (tx.state !== 'aborted') {
      this.conflicts++;
      return;
    }
    this.out.send(from, this.status(m.txId, TxState.Aborted));
  }

  private onStatusRequest(from: string, m: TxStatusRequest, now: number): void {
    if (m.asker !== from || !isId(m.txId)) return;
    let tx = this.txs.get(m.txId);
    if (tx === undefined) {
      if (!m.participants.includes(this.name)) return;
      // Binding: never seen, so never voted Yes; say so only once it cannot change.
      if (!this.tombstone(m.txId, `not prepared when ${from} asked`, now)) return;
      tx = this.txs.get(m.txId) as ParticipatedTx;
    } else if (tx.state === 'preparing') {
      this.abortUnvoted(tx, m.txId, `not prepared when ${from} asked`, now);
    }
    this.out.send(from, this.status(m.txId, stateOf(tx.state)));
  }

  private onStatusResponse(from: string, m: TxStatusResponse, now: number): void {
    const tx = this.txs.get(m.txId);
    if (tx === undefined || tx.state !== 'prepared' || m.participant !== from || !this.trusted(tx, from)) return;
    if (m.state === TxState.Committed) this.startCommit(tx);
    else if (m.state === TxState.Aborted) this.abortPrepared(tx, m.txId, `${from} reports aborted`, now);
    // Presumed abort: the coordinator has no record of a transaction this participant is in doubt about.
    else if (m.state === TxState.Unknown && from === (tx.info as TxInfo).coordinator) this.abortPrepared(tx, m.txId, 'presumed abort: the coordinator has no record', now);
  }

  // ------------------------------------------------------------ transitions

  private startCommit(tx: ParticipatedTx): void {
    tx.state = 'committing';
    tx.applying = true;
    tx.askAt = NONE;
    this.out.event({ type: 'commit', tx: tx.info as TxInfo });
  }

  /** Aborts a transaction this participant has not voted Yes on: logged, a No vote to the coordinator. */
  private abortUnvoted(tx: ParticipatedTx, txId: string, reason: string, now: number): void {
    this.finish(tx, txId, 'aborted', reason, now);
    const info = tx.info as TxInfo;
    this.sendVote(info.coordinator, txId, false, reason);
  }

  private abortPrepared(tx: ParticipatedTx, txId: string, reason: string, now: number): void {
    this.finish(tx, txId, 'aborted', reason, now);
    this.out.event({ type: 'abort', tx: tx.info as TxInfo, reason });
    this.acknowledge(tx, txId);
  }

  /** Records an abort of a transaction never seen; false when the table is full (nothing recorded, no answer). */
  private tombstone(txId: string, reason: string, now: number): boolean {
    if (this.txs.size >= this.options.maxTransactions) return false;
    const tx: ParticipatedTx = { info: null, state: 'aborted', appPending: false, applying: false, ackTo: new Set(), voteDeadline: NONE, askAt: NONE, reapplyAt: NONE, finishedAt: now, reason };
    this.txs.set(txId, tx);
    this.finish(tx, txId, 'aborted', reason, now);
    return true;
  }

  private finish(tx: ParticipatedTx, txId: string, outcome: TxOutcome, reason: string, now: number): void {
    this.append({ kind: 'outcome', txId, outcome, at: now });
    tx.state = outcome;
    tx.reason = reason;
    tx.finishedAt = now;
    tx.askAt = NONE;
    this.maybeCompact();
  }

  private acknowledge(tx: ParticipatedTx, txId: string): void {
    const state = stateOf(tx.state);
    const info = tx.info as TxInfo;
    tx.ackTo.add(info.coordinator);
    for (const to of tx.ackTo) this.out.send(to, this.status(txId, state));
    tx.ackTo.clear();
  }

  private askOutcome(info: TxInfo): void {
    const m: TxMessage = { type: 'TxStatusRequest', txId: info.txId, asker: this.name, coordinator: info.coordinator, participants: info.participants as string[] };
    this.out.send(info.coordinator, m);
    if (this.leaderName !== null && this.leaderName !== info.coordinator) this.out.send(this.leaderName, m);
  }

  // ------------------------------------------------------------ restart

  private restore(now: number): void {
    const records = this.log.load();
    this.appends = records.length;
    for (const r of records) {
      if (r.kind === 'prepared') {
        const info: TxInfo = { txId: r.txId, coordinator: r.coordinator, participants: r.participants, payload: r.payload };
        this.txs.set(r.txId, { info, state: 'prepared', appPending: false, applying: false, ackTo: new Set(), voteDeadline: NONE, askAt: now, reapplyAt: NONE, finishedAt: NONE, reason: '' });
      } else if (r.kind === 'outcome') {
        const tx = this.txs.get(r.txId);
        if (tx !== undefined) {
          tx.state = r.outcome;
          tx.finishedAt = r.at;
          tx.askAt = NONE;
        } else {
          this.txs.set(r.txId, { info: null, state: r.outcome, appPending: false, applying: false, ackTo: new Set(), voteDeadline: NONE, askAt: NONE, reapplyAt: NONE, finishedAt: r.at, reason: 'restored' });
        }
      }
    }
    for (const tx of this.txs.values()) if (tx.state === 'prepared') this.out.event({ type: 'restored', tx: tx.info as TxInfo });
  }

  // ------------------------------------------------------------ helpers

  /** A source whose word on the outcome of a prepared transaction counts. */
  private trusted(tx: ParticipatedTx, from: string): boolean {
    const info = tx.info;
    return info !== null && (from === info.coordinator || from === this.leaderName || info.participants.includes(from));
  }

  private validParticipants(list: readonly string[]): boolean {
    if (list.length === 0 || list.length > this.options.maxParticipants || !list.includes(this.name)) return false;
    for (const p of list) if (!isId(p)) return false;
    return true;
  }

  private sendVote(to: string, txId: string, yes: boolean, reason: string): void {
    this.out.send(to, { type: 'TxVote', txId, participant: this.name, vote: yes ? TxVoteKind.Yes : TxVoteKind.No, reason });
  }

  private status(txId: string, state: TxState): TxMessage {
    return { type: 'TxStatusResponse', txId, participant: this.name, state };
  }

  private append(r: TxRecord): void {
    this.log.append(r);
    this.appends++;
  }

  private maybeCompact(): void {
    if (this.appends < this.options.compactAfterRecords) return;
    const live: TxRecord[] = [];
    for (const [txId, tx] of this.txs) {
      if (tx.state === 'prepared' || tx.state === 'committing') {
        const info = tx.info as TxInfo;
        live.push({ kind: 'prepared', txId, coordinator: info.coordinator, participants: info.participants, payload: info.payload });
      } else if (tx.state === 'committed' || tx.state === 'aborted') {
        live.push({ kind: 'outcome', txId, outcome: tx.state, at: tx.finishedAt });
      }
    }
    this.log.compact(live);
    this.appends = 0;
  }
}

function stateOf(s: ParticipantState): TxState {
  switch (s) {
    case 'preparing':
      return TxState.Preparing;
    case 'prepared':
      return TxState.Prepared;
    case 'aborted':
      return TxState.Aborted;
    default:
      return TxState.Committed;
  }
}

export type { TxEvent };
