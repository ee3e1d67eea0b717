// The termination protocol of two-phase commit (Bernstein, Hadzilacos &
// Goodman 1987, section 7.4), run by the cluster's leader for transactions
// whose coordinator has been declared failed. A pure core like the others:
// setLeading / memberFailed / memberAlive / receive / tick return
// { sends, events }.
//
// How it learns of a transaction: an in-doubt participant asks the coordinator
// and the leader for the outcome (a TxStatusRequest naming the coordinator and
// the participants). While this node leads and that coordinator is declared
// failed, the request starts a termination:
//
//   ask       TxStatusRequest to every participant and to the coordinator,
//             again every recoveryPollMs to whoever has no final answer
//   commit    if anyone answers Committed: the coordinator decided commit
//   abort     if anyone answers Aborted, or a participant answers Unknown or
//             Preparing (it never voted Yes; ours bind themselves to abort
//             before saying so): the coordinator did not, and now cannot,
//             decide commit. The coordinator's Unknown (no record) is not
//             taken as abort here: a commit that every participant
//             acknowledged has no record either
//   blocked   every participant Prepared and no word from the coordinator: the
//             decision may be either, and only the coordinator's log knows.
//             `recovery-blocked` is reported; the termination keeps asking, and
//             finishes when the coordinator returns (it resends its logged
//             decision, or aborts what it never decided) or a participant
//             learns the outcome
//   finish    the decision goes to every participant not known to have it,
//             resent every recoveryPollMs until acknowledged; then `recovered`
//
// Nothing is logged: a decision here is inferred from what participants hold
// durably, so it is the same whoever infers it and whenever. A leader that
// loses leadership drops its terminations; the next leader starts them again
// from the participants' next requests, which keep coming while they are in
// doubt.
import type { TxStep } from './events.js';
import { isFinal, outcomeState, TxState, type TxMessage, type TxOutcome, type TxStatusRequest, type TxStatusResponse } from './messages.js';
import { isId, resolveTransactionOptions, type TransactionOptions, type TransactionOptionsInput } from './options.js';
import { TxOutbox } from './outbox.js';

export interface RecoveryDeps {
  readonly now: number;
}

export type TerminationPhase = 'asking' | 'blocked' | 'finishing';

interface Termination {
  readonly txId: string;
  readonly coordinator: string;
  readonly participants: readonly string[];
  /** The latest answer of each participant (a final one is never replaced). */
  readonly states: Map<string, TxState>;
  coordinatorState: TxState | null;
  outcome: TxOutcome | null;
  blocked: boolean;
  /** Finishing: participants that have not acknowledged the outcome. */
  readonly pending: Set<string>;
  pollAt: number;
}

export class TransactionRecovery {
  readonly options: TransactionOptions;
  readonly name: string;
  private readonly out = new TxOutbox();
  private readonly terminations = new Map<string, Termination>();
  private readonly failed = new Set<string>();
  private leadingValue = false;

  constructor(input: TransactionOptionsInput | TransactionOptions, _deps: RecoveryDeps) {
    this.options = resolveTransactionOptions(input);
    this.name = this.options.name;
  }

  // ------------------------------------------------------------ queries

  get leading(): boolean {
    return this.leadingValue;
  }

  get active(): number {
    return this.terminations.size;
  }

  phaseOf(txId: string): TerminationPhase | null {
    const t = this.terminations.get(txId);
    if (t === undefined) return null;
    return t.outcome !== null ? 'finishing' : t.blocked ? 'blocked' : 'asking';
  }

  isFailed(name: string): boolean {
    return this.failed.has(name);
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.terminations.values()) if (t.pollAt < d) d = t.pollAt;
    return d;
  }

  // ------------------------------------------------------------ inputs

  /** Whether this node leads. Off: every termination is dropped (the next leader restarts them). */
  setLeading(leading: boolean): TxStep {
    this.leadingValue = leading;
    if (!leading) this.terminations.clear();
    return this.out.flush();
  }

  /** Membership declared `name` failed (call on every node, so a new leader knows). */
  memberFailed(name: string): void {
    this.failed.add(name);
  }

  /** `name` is alive again. Running terminations go on: its answer, or the decision it resends, ends them. */
  memberAlive(name: string): void {
    this.failed.delete(name);
  }

  tick(now: number): TxStep {
    for (const t of this.terminations.values()) {
      if (now < t.pollAt) continue;
      t.pollAt = now + this.options.recoveryPollMs;
      if (t.outcome === null) this.ask(t);
      else for (const p of t.pending) this.sendDecision(t, p);
    }
    return this.out.flush();
  }

  receive(from: string, message: TxMessage, now: number): TxStep {
    if (message.type === 'TxStatusRequest') this.onReport(from, message, now);
    else if (message.type === 'TxStatusResponse') this.onAnswer(from, message);
    return this.out.flush();
  }

  // ------------------------------------------------------------ receiving

  /** An in-doubt participant asking for the outcome. */
  private onReport(from: string, m: TxStatusRequest, now: number): void {
    if (!this.leadingValue || m.asker !== from || !isId(m.txId) || !isId(m.coordinator)) return;
    if (m.participants.length > this.options.maxParticipants || !m.participants.includes(from) || !m.participants.every(isId)) return;
    const running = this.terminations.get(m.txId);
    if (running !== undefined) {
      if (running.outcome !== null && running.pending.has(from)) this.sendDecision(running, from);
      return;
    }
    if (!this.failed.has(m.coordinator) || this.terminations.size >= this.options.maxTransactions) return;
    const t: Termination = {
      txId: m.txId,
      coordinator: m.coordinator,
      participants: [...new Set(m.participants)],
      states: new Map(),
      coordinatorState: null,
      outcome: null,
      blocked: false,
      pending: new Set(),
      pollAt: now + this.options.recoveryPollMs,
    };
    this.terminations.set(t.txId, t);
    this.out.event({ type: 'recovery-started', txId: t.txId, coordinator: t.coordinator });
    this.ask(t);
  }

  private onAnswer(from: string, m: TxStatusResponse): void {
    const t = this.terminations.get(m.txId);
    if (t === undefined || m.participant !== from) return;
    const isParticipant = t.participants.includes(from);
    if (t.outcome !== null) {
      if (isParticipant && m.state === outcomeState(t.outcome) && t.pending.delete(from)) this.maybeDone(t);
      return;
    }
    // A coordinator that is also a participant answers twice: Unknown is its coordinator role's "no record", not a participant's state.
    if (isParticipant && !(from === t.coordinator && m.state === TxState.Unknown)) {
      const before = t.states.get(from);
      if (before === undefined || !isFinal(before)) t.states.set(from, m.state);
    }
    // The coordinator's own word (it may also be a participant, answering twice).
    if (from === t.coordinator && isFinal(m.state)) t.coordinatorState = m.state;
    this.evaluate(t);
  }

  // ------------------------------------------------------------ deciding

  private evaluate(t: Termination): void {
    let prepared = 0;
    let abort = t.coordinatorState === TxState.Aborted;
    if (t.coordinatorState === TxState.Committed) return this.decide(t, 'committed');
    for (const s of t.states.values()) {
      if (s === TxState.Committed) return this.decide(t, 'committed');
      if (s === TxState.Prepared) prepared++;
      else abort = true;
    }
    if (abort) return this.decide(t, 'aborted');
    if (prepared === t.participants.length && !t.blocked) {
      t.blocked = true;
      this.out.event({ type: 'recovery-blocked', txId: t.txId, coordinator: t.coordinator });
    }
  }

  private decide(t: Termination, outcome: TxOutcome): void {
    t.outcome = outcome;
    const final = outcomeState(outcome);
    for (const p of t.participants) if (t.states.get(p) !== final) t.pending.add(p);
    for (const p of t.pending) this.sendDecision(t, p);
    this.maybeDone(t);
  }

  private maybeDone(t: Termination): void {
    if (t.pending.size > 0 || t.outcome === null) return;
    this.terminations.delete(t.txId);
    this.out.event({ type: 'recovered', txId: t.txId, coordinator: t.coordinator, outcome: t.outcome });
  }

  // ------------------------------------------------------------ helpers

  private ask(t: Termination): void {
    const m: TxMessage = { type: 'TxStatusRequest', txId: t.txId, asker: this.name, coordinator: t.coordinator, participants: t.participants as string[] };
    for (const p of t.participants) {
      const s = t.states.get(p);
      if (s === undefined || !isFinal(s)) this.out.send(p, m);
    }
    if (!t.participants.includes(t.coordinator)) this.out.send(t.coordinator, m);
  }

  private sendDecision(t: Termination, to: string): void {
    this.out.send(to, t.outcome === 'committed' ? { type: 'TxCommit', txId: t.txId } : { type: 'TxAbort', txId: t.txId, reason: `recovered by ${this.name}: coordinator ${t.coordinator} failed` });
  }
}
