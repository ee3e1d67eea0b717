// Two-phase commit for a node: the coordinator, participant and recovery
// cores behind one object that a host (ClusterNode) wires to its messaging,
// its membership and its leader in a few lines. The cores decide everything;
// this adapter only moves messages, runs one timer and calls the application.
//
// How a host wires it (inside ClusterNode, as it wires the Raft election)
//
//   this.tx = new Transactions(
//     { name: this.id },                                    // + options (options.ts)
//     app,                                                  // prepare / commit / abort / restored
//     {
//       send: (to, body) => void this.connectionTo(to, 'tx').then((c) => c.send(body)), // a Tx body, unchanged
//       logs: FileTxLog.inDirectory(path.join(dataDir, 'tx')),
//       onEvent: (e) => this.publish({ type: 'transaction', event: e }),      // decided, recovered, ...
//     },
//   );
//   for (const type of TX_MESSAGE_TYPES) messenger.handleBody(type, (envelope, _c, peer) => this.tx.receive(peer, envelope.body as TxMessage));
//   on leader-changed:  this.tx.setLeader(leader)           // the recovery runs on the leader
//   on member-failed:   this.tx.memberFailed(name)          // on every node
//   on member-alive:    this.tx.memberAlive(name)
//
//   const { outcome } = await this.tx.begin([{ name: 'b', payload }, { name: 'c', payload }]);
//
// The application (TransactionApplication):
//
//   prepare: async (t) => ((await locks.tryLock(t.payload)) ? 'yes' : 'no'),
//   commit:  async (t) => { await store.apply(t.payload); locks.release(t.payload); },
//   abort:   (t, reason) => locks.release(t.payload),
//   restored: (t) => locks.lock(t.payload),                 // in doubt after a restart
//
// - begin() resolves once the outcome is logged: 'committed' means every
//   participant will commit (they apply it as they learn it), 'aborted' that
//   none will. It never changes afterwards, across any crash.
// - The application's prepare may be async; a throw or a rejection is a No.
//   commit is delivered at least once (after a crash between applying and
//   logging it, again): make it idempotent. A failed commit is retried.
//   Every prepare is followed by exactly one commit or abort.
// - memberFailed / memberAlive on every node: the leader's termination
//   protocol acts on transactions whose coordinator is failed.
// - A log failure stops the node's transactions (pending begin() calls reject
//   with it, onError hears it); restart from the log, as after a crash.
// - Messages to this node itself are delivered locally, on a microtask.
import crypto from 'node:crypto';
import { NodeStoppedError } from '../../shared/errors.js';
import type { Random } from '../membership/random.js';
import { Sfc32 } from '../simulator/prng.js';
import { TxCoordinator, type TxPart } from './coordinator.js';
import type { TxEvent, TxStep } from './events.js';
import type { TxLog } from './log.js';
import type { TxInfo, TxMessage, TxOutcome } from './messages.js';
import { resolveTransactionOptions, type TransactionOptions, type TransactionOptionsInput } from './options.js';
import { TxParticipant } from './participant.js';
import { TransactionRecovery } from './recovery.js';

export type TxVoteAnswer = 'yes' | 'no' | { readonly vote: 'yes' | 'no'; readonly reason: string };

/** What the application does on a participant. */
export interface TransactionApplication {
  /** Prepare `tx` (take locks, check constraints, stage the change durably) and vote. */
  prepare(tx: TxInfo): TxVoteAnswer | Promise<TxVoteAnswer>;
  /** Apply `tx` (at least once); its promise settles when the change is durable. */
  commit(tx: TxInfo): void | Promise<void>;
  /** Release what prepare took. */
  abort(tx: TxInfo, reason: string): void | Promise<void>;
  /** After a restart: `tx` was prepared and is still in doubt; hold what it needs until commit or abort. */
  restored?(tx: TxInfo): void;
}

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TransactionsDeps {
  /** Sends an Envelope body to a member, by name (best effort: the cores retransmit). */
  readonly send: (to: string, message: TxMessage) => void;
  /** Default: in memory (nothing survives a restart). */
  readonly logs?: { readonly coordinator: TxLog; readonly participant: TxLog };
  readonly rng?: Random;
  /** Milliseconds; default Date.now. */
  readonly clock?: () => number;
  readonly timers?: TimerApi;
  readonly onEvent?: (event: TxEvent) => void;
  /** A failed application abort callback, a failed send, or the log failure that stopped the cores. */
  readonly onError?: (error: unknown) => void;
}

export interface TxResult {
  readonly txId: string;
  readonly outcome: TxOutcome;
  readonly reason: string;
}

const realTimers: TimerApi = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Transactions {
  readonly options: TransactionOptions;
  readonly name: string;
  readonly coordinator: TxCoordinator;
  readonly participant: TxParticipant;
  readonly recovery: TransactionRecovery;
  private readonly app: TransactionApplication;
  private readonly deps: TransactionsDeps;
  private readonly clock: () => number;
  private readonly timers: TimerApi;
  private readonly waiting = new Map<string, { resolve: (r: TxResult) => void; reject: (e: unknown) => void }>();
  private timer: unknown = null;
  private timerAt = Infinity;
  private stopped: unknown = null;

  constructor(input: TransactionOptionsInput | TransactionOptions, app: TransactionApplication, deps: TransactionsDeps) {
    this.options = resolveTransactionOptions(input);
    this.name = this.options.name;
    this.app = app;
    this.deps = deps;
    this.clock = deps.clock ?? Date.now;
    this.timers = deps.timers ?? realTimers;
    const now = this.clock();
    const rng = deps.rng ?? new Sfc32(crypto.randomInt(2 ** 31), crypto.randomInt(2 ** 31));
    this.coordinator = new TxCoordinator(this.options, { now, rng, log: deps.logs?.coordinator });
    this.participant = new TxParticipant(this.options, { now, log: deps.logs?.participant });
    this.recovery = new TransactionRecovery(this.options, { now });
    // What the logs restored (decisions to resend, in-doubt transactions).
    this.run(() => this.coordinator.tick(now));
    this.run(() => this.participant.tick(now));
  }

  /** Runs a transaction over `parts` from this node as coordinator; resolves with its logged outcome. */
  begin(parts: readonly TxPart[]): Promise<TxResult> {
    if (this.stopped !== null) return Promise.reject(this.stopped);
    const txId = this.coordinator.newTxId();
    const now = this.clock();
    let step: TxStep;
    try {
      step = this.coordinator.begin(txId, parts, now);
    } catch (e) {
      if (this.coordinator.stopped) {
        this.stop(e);
        this.deps.onError?.(e);
      }
      return Promise.reject(e);
    }
    const result = new Promise<TxResult>((resolve, reject) => this.waiting.set(txId, { resolve, reject }));
    this.perform(step);
    return result;
  }

  /** Every Tx body from member `from`. */
  receive(from: string, message: TxMessage): void {
    if (this.stopped !== null) return;
    const now = this.clock();
    switch (message.type) {
      case 'TxPrepare':
      case 'TxCommit':
      case 'TxAbort':
        this.run(() => this.participant.receive(from, message, now));
        break;
      case 'TxVote':
        this.run(() => this.coordinator.receive(from, message, now));
        break;
      default:
        // Status requests and responses concern any of the three roles; each keeps what is its own.
        this.run(() => this.coordinator.receive(from, message, now));
        this.run(() => this.participant.receive(from, message, now));
        this.run(() => this.recovery.receive(from, message, now));
    }
  }

  /** The member that leads now, or null; the recovery runs while it is this node. */
  setLeader(leader: string | null): void {
    this.participant.setLeader(leader);
    this.run(() => this.recovery.setLeading(leader === this.name));
  }

  memberFailed(name: string): void {
    this.recovery.memberFailed(name);
  }

  memberAlive(name: string): void {
    this.recovery.memberAlive(name);
  }

  /** Stops the timer; pending begin() calls reject with ERR_NODE_STOPPED. Logs stay as they are. */
  close(): void {
    this.stop(new NodeStoppedError('transaction'));
  }

  // ------------------------------------------------------------ performing

  private run(call: () => TxStep): void {
    if (this.stopped !== null) return;
    let step: TxStep;
    try {
      step = call();
    } catch (e) {
      this.stop(e);
      this.deps.onError?.(e);
      return;
    }
    this.perform(step);
  }

  private perform(step: TxStep): void {
    // The step's arrays are reused by the next call: take what is needed first.
    const sends = step.sends.length === 0 ? null : [...step.sends];
    const events = step.events.length === 0 ? null : [...step.events];
    if (sends !== null) {
      for (const { to, message } of sends) {
        if (to === this.name) queueMicrotask(() => this.receive(this.name, message));
        else {
          try {
            this.deps.send(to, message);
          } catch (e) {
            this.deps.onError?.(e);
          }
        }
      }
    }
    if (events !== null) for (const e of events) this.onEvent(e);
    this.schedule();
  }

  private onEvent(e: TxEvent): void {
    switch (e.type) {
      case 'decided': {
        const w = this.waiting.get(e.txId);
        if (w !== undefined) {
          this.waiting.delete(e.txId);
          w.resolve({ txId: e.txId, outcome: e.outcome, reason: e.reason });
        }
        break;
      }
      case 'prepare':
        this.askVote(e.tx);
        break;
      case 'commit':
        this.applyCommit(e.tx);
        break;
      case 'abort':
        Promise.resolve()
          .then(() => this.app.abort(e.tx, e.reason))
          .catch((err: unknown) => this.deps.onError?.(err));
        break;
      case 'restored':
        this.app.restored?.(e.tx);
        break;
      default:
        break;
    }
    this.deps.onEvent?.(e);
  }

  private askVote(tx: TxInfo): void {
    Promise.resolve()
      .then(() => this.app.prepare(tx))
      .then(
        (answer) => {
          const vote = typeof answer === 'string' ? answer : answer.vote;
          const reason = typeof answer === 'string' ? '' : answer.reason;
          this.run(() => this.participant.vote(tx.txId, vote === 'yes', reason, this.clock()));
        },
        (err: unknown) => this.run(() => this.participant.vote(tx.txId, false, `prepare failed: ${err instanceof Error ? err.message : String(err)}`, this.clock())),
      );
  }

  private applyCommit(tx: TxInfo): void {
    Promise.resolve()
      .then(() => this.app.commit(tx))
      .then(
        () => this.run(() => this.participant.applied(tx.txId, this.clock())),
        (err: unknown) => {
          this.deps.onError?.(err);
          this.run(() => this.participant.applyFailed(tx.txId, this.clock()));
        },
      );
  }

  private schedule(): void {
    if (this.stopped !== null) return;
    const at = Math.min(this.coordinator.nextDeadline(), this.participant.nextDeadline(), this.recovery.nextDeadline());
    if (at >= this.timerAt) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.timers.setTimeout(() => this.fire(), Math.max(0, at - this.clock()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock();
    this.run(() => this.coordinator.tick(now));
    this.run(() => this.participant.tick(now));
    this.run(() => this.recovery.tick(now));
    this.schedule();
  }

  private stop(reason: unknown): void {
    if (this.stopped !== null) return;
    this.stopped = reason;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    for (const w of this.waiting.values()) w.reject(reason);
    this.waiting.clear();
  }
}
