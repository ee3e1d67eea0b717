// Two-phase commit in the deterministic simulator: every node runs a
// coordinator, a participant and a recovery core over the simulator's network
// (SimNetwork: latency, loss, duplication, reordering, partitions) under a
// virtual clock, with crash and restart. Each node's logs are in memory and
// outlive its crashes, as a disk would. One seed gives the same run bit for
// bit.
//
//   const sim = new TransactionSimulation({ nodes: ['c', 'p1', 'p2', 'l'], seed: 1 });
//   const id = sim.begin('c', ['p1', 'p2']);
//   sim.crashWhen((p) => p.node === 'c' && p.kind === 'appended' && p.record.kind === 'decision');
//   sim.advance(5_000); sim.restart('c'); sim.advance(5_000);
//   sim.check()                                  // [] : no disagreement, no outcome changed
//
// Crash points. crashWhen(predicate) sees every step of every node and crashes
// the node at the first point the predicate accepts:
//
//   receive    before the node handles a delivered message
//   append     before a log record is written (it is not durable)
//   appended   right after a record is durable, before anything of that call
//              is sent or reported (log-before-send is what makes this safe)
//   send       right after one message has left (the rest of the call's
//              messages and its events are lost)
//
// The application is simulated too: it votes (options.vote, default yes) and
// applies commits after appDelayMs; its work dies with its node. Failure
// detection is modeled: failureDetectionMs after a crash every up node is told
// memberFailed, and a crashed leader is replaced by the first up node in name
// order (election itself is the leadership simulator's subject).
//
// check() returns every violation of the guarantees: two participants with
// different outcomes, a commit applied where another participant aborted, an
// outcome told to the application that changed or that a participant
// contradicts.
import { InvalidConfigError } from '../../shared/errors.js';
import { EventQueue, type TimedEvent } from '../simulator/event-queue.js';
import { resolveLinkModel, SimNetwork, type LinkModel } from '../simulator/network.js';
import { Sfc32 } from '../simulator/prng.js';
import { atomicityViolations } from './atomicity.js';
import { TxCoordinator } from './coordinator.js';
import { CrashableLog, SimulatedCrash, type CrashPoint } from './crash-log.js';
import type { TxStep } from './events.js';
import { MemoryTxLog, type TxRecord } from './log.js';
import type { TxInfo, TxMessage, TxOutcome } from './messages.js';
import { resolveTransactionOptions, type TransactionTuning } from './options.js';
import { TxParticipant } from './participant.js';
import { TransactionRecovery } from './recovery.js';

export type { CrashPoint };

export interface TransactionSimulationOptions {
  readonly nodes: readonly string[];
  readonly seed: number;
  /** The initial leader (default: the last node). */
  readonly leader?: string;
  readonly tx?: Partial<TransactionTuning>;
  readonly network?: Partial<LinkModel>;
  /** Crash -> every up node told memberFailed, a crashed leader replaced (default 500 ms). */
  readonly failureDetectionMs?: number;
  /** How long the application takes to prepare and to apply, in ms: a number, or one per node and transaction (default 1). */
  readonly appDelayMs?: number | ((node: string, tx: TxInfo) => number);
  /** The application's vote (default yes). */
  readonly vote?: (node: string, tx: TxInfo) => 'yes' | 'no';
}

/** What the simulation knows of one transaction. */
export interface SimTxRecord {
  readonly txId: string;
  readonly coordinator: string;
  readonly participants: readonly string[];
  /** Outcomes the coordinator's application was told, in order (one unless something is wrong). */
  readonly told: TxOutcome[];
  /** Participants whose application applied the commit. */
  readonly applied: Set<string>;
  /** Participants whose application was told to abort. */
  readonly aborts: Set<string>;
}

const DELIVER = 0;
const TICK = 1;
const APP_VOTE = 2;
const APP_APPLIED = 3;
const DETECT = 4;

interface SimEvent extends TimedEvent {
  readonly kind: number;
  readonly node: number;
  readonly epoch: number;
  readonly from: string;
  readonly message: TxMessage | null;
  readonly txId: string;
  readonly yes: boolean;
}

interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly coordinatorLog: MemoryTxLog;
  readonly participantLog: MemoryTxLog;
  coordinator: TxCoordinator;
  participant: TxParticipant;
  recovery: TransactionRecovery;
  status: 'up' | 'crashed';
  /** Incremented per restart: work of an earlier life (a pending app callback) is dropped. */
  epoch: number;
  tickAt: number;
}

export class TransactionSimulation {
  readonly seed: number;
  private clock = 0;
  private readonly rng: Sfc32;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly byName = new Map<string, number>();
  private readonly tuning: Partial<TransactionTuning>;
  private readonly detectMs: number;
  private readonly appDelay: (node: string, tx: TxInfo) => number;
  private dropHook: ((from: string, to: string, message: TxMessage) => boolean) | null = null;
  private readonly voteOf: (node: string, tx: TxInfo) => 'yes' | 'no';
  private readonly txs = new Map<string, SimTxRecord>();
  private readonly counts = new Map<string, number>();
  private readonly detected = new Set<string>();
  private crashHook: ((p: CrashPoint) => boolean) | null = null;
  private leaderName: string | null;
  private readonly problems: string[] = [];
  messagesSent = 0;
  crashes = 0;
  recoveries = 0;
  blocked = 0;

  constructor(opts: TransactionSimulationOptions) {
    if (!Number.isInteger(opts.seed)) throw new InvalidConfigError('seed', `expected an integer, got ${String(opts.seed)}`);
    const names = [...opts.nodes];
    if (names.length < 2 || new Set(names).size !== names.length) throw new InvalidConfigError('nodes', 'expected at least two distinct names');
    this.seed = opts.seed;
    this.rng = new Sfc32(opts.seed, 0x7c02);
    this.tuning = opts.tx ?? {};
    resolveTransactionOptions({ ...this.tuning, name: names[0] });
    this.network = new SimNetwork(names.length, this.rng.fork(), resolveLinkModel(opts.network ?? {}));
    this.detectMs = opts.failureDetectionMs ?? 500;
    const delay = opts.appDelayMs ?? 1;
    this.appDelay = typeof delay === 'number' ? () => delay : delay;
    this.voteOf = opts.vote ?? (() => 'yes');
    this.leaderName = opts.leader ?? names[names.length - 1];
    if (!names.includes(this.leaderName)) throw new InvalidConfigError('leader', `${this.leaderName} is not a node`);
    for (let i = 0; i < names.length; i++) {
      this.byName.set(names[i], i);
      const node = { index: i, name: names[i], coordinatorLog: new MemoryTxLog(), participantLog: new MemoryTxLog(), status: 'up', epoch: 0, tickAt: Infinity } as SimNode;
      this.nodes.push(node);
      this.boot(node);
    }
  }

  // ------------------------------------------------------------ time

  get now(): number {
    return this.clock;
  }

  advance(ms: number): void {
    const end = this.clock + ms;
    while (this.queue.peekTime() <= end) {
      const ev = this.queue.pop() as SimEvent;
      this.clock = ev.at;
      const node = this.nodes[ev.node];
      if (ev.kind === DETECT) {
        this.detect(node, ev.epoch);
        continue;
      }
      if (node.status !== 'up') continue;
      if (ev.kind === DELIVER) this.deliver(node, ev.from, ev.message as TxMessage);
      else if (ev.kind === TICK) {
        if (ev.at !== node.tickAt) continue;
        node.tickAt = Infinity;
        const now = this.clock;
        if (this.call(node, () => node.coordinator.tick(now)) && this.call(node, () => node.participant.tick(now))) this.call(node, () => node.recovery.tick(now));
      } else if (ev.epoch === node.epoch) {
        const now = this.clock;
        if (ev.kind === APP_VOTE) {
          this.call(node, () => node.participant.vote(ev.txId, ev.yes, ev.yes ? '' : 'the application said no', now));
        } else {
          this.record(ev.txId)?.applied.add(node.name);
          this.call(node, () => node.participant.applied(ev.txId, now));
        }
      }
    }
    this.clock = end;
  }

  /** Advances in steps until `done()` holds or `maxMs` passed; returns the time waited, or -1. */
  until(done: () => boolean, maxMs: number, stepMs = 10): number {
    const start = this.clock;
    while (!done()) {
      if (this.clock - start >= maxMs) return -1;
      this.advance(stepMs);
    }
    return this.clock - start;
  }

  // ------------------------------------------------------------ transactions

  /** Starts a transaction on `coordinator` over `participants` (payload: the participant's name); its id, or null when the coordinator is down or crashes doing it. */
  begin(coordinator: string, participants: readonly string[]): string | null {
    const node = this.nodes[this.idx(coordinator)];
    if (node.status !== 'up') return null;
    const txId = node.coordinator.newTxId();
    const parts = participants.map((name) => ({ name, payload: new TextEncoder().encode(name) }));
    this.txs.set(txId, { txId, coordinator, participants: [...participants], told: [], applied: new Set(), aborts: new Set() });
    const now = this.clock;
    this.call(node, () => node.coordinator.begin(txId, parts, now));
    return txId;
  }

  /** Crashes a node at the first crash point `predicate` accepts (replaces any earlier hook; null removes it). */
  crashWhen(predicate: ((p: CrashPoint) => boolean) | null): void {
    this.crashHook = predicate;
  }

  /** Drops every message the predicate accepts (null removes the filter). */
  dropWhen(predicate: ((from: string, to: string, message: TxMessage) => boolean) | null): void {
    this.dropHook = predicate;
  }

  // ------------------------------------------------------------ faults

  crash(name: string): void {
    this.crashNode(this.nodes[this.idx(name)]);
  }

  /** Starts a crashed node again with fresh cores restored from its logs. */
  restart(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'crashed') throw new InvalidConfigError('node', `${name} is up, not crashed`);
    node.status = 'up';
    node.epoch++;
    this.detected.delete(name);
    for (const x of this.nodes) if (x !== node && x.status === 'up') x.recovery.memberAlive(name);
    this.boot(node);
  }

  /** Membership declares `name` failed whether or not it is (a false suspicion when it is up): every up node is told, a leader so declared is replaced. */
  declareFailed(name: string): void {
    const node = this.nodes[this.idx(name)];
    this.detected.add(name);
    for (const x of this.nodes) if (x.status === 'up') x.recovery.memberFailed(name);
    if (this.leaderName === name) {
      const next = this.nodes.find((x) => x.status === 'up' && x !== node && !this.detected.has(x.name));
      this.setLeader(next === undefined ? null : next.name);
    }
  }

  /** Membership sees `name` alive again. */
  declareAlive(name: string): void {
    this.idx(name);
    this.detected.delete(name);
    for (const x of this.nodes) if (x.status === 'up') x.recovery.memberAlive(name);
  }

  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups.map((g) => g.map((n) => this.idx(n))));
  }

  heal(): void {
    this.network.heal();
  }

  setNetwork(model: Partial<LinkModel>): void {
    this.network.setDefaultLink(resolveLinkModel(model, this.network.defaultLink));
  }

  /** Makes `name` the leader on every node. */
  setLeader(name: string | null): void {
    if (name !== null) this.idx(name);
    this.leaderName = name;
    for (const x of this.nodes) if (x.status === 'up') this.tellLeader(x);
  }

  // ------------------------------------------------------------ inspection

  get names(): string[] {
    return this.nodes.map((x) => x.name);
  }

  get leader(): string | null {
    return this.leaderName;
  }

  status(name: string): 'up' | 'crashed' {
    return this.nodes[this.idx(name)].status;
  }

  coordinator(name: string): TxCoordinator {
    return this.nodes[this.idx(name)].coordinator;
  }

  participant(name: string): TxParticipant {
    return this.nodes[this.idx(name)].participant;
  }

  recovery(name: string): TransactionRecovery {
    return this.nodes[this.idx(name)].recovery;
  }

  record(txId: string): SimTxRecord | undefined {
    return this.txs.get(txId);
  }

  transactions(): SimTxRecord[] {
    return [...this.txs.values()];
  }

  /** The durable outcome in `name`'s participant log ('prepared' when only prepared, null when nothing). */
  loggedState(name: string, txId: string): TxOutcome | 'prepared' | null {
    let s: TxOutcome | 'prepared' | null = null;
    for (const r of this.nodes[this.idx(name)].participantLog.load()) {
      if (r.txId !== txId) continue;
      if (r.kind === 'prepared' && s === null) s = 'prepared';
      else if (r.kind === 'outcome') s = r.outcome;
    }
    return s;
  }

  /** True when no up node has an open transaction, an in-doubt one, or a running termination. */
  quiescent(): boolean {
    for (const x of this.nodes) {
      if (x.status !== 'up') continue;
      if (x.coordinator.open > 0 || x.recovery.active > 0) return false;
      for (const tx of this.txs.values()) {
        const s = x.participant.stateOf(tx.txId);
        if (s === 'preparing' || s === 'prepared' || s === 'committing') return false;
      }
    }
    return true;
  }

  /** Every transaction decided everywhere it was prepared: each participant's log holds an outcome, the same one. */
  allDecided(): boolean {
    for (const tx of this.txs.values()) {
      for (const p of tx.participants) {
        const s = this.loggedState(p, tx.txId);
        if (s === 'prepared') return false;
      }
    }
    return true;
  }

  /** Violations of the guarantees so far (empty when all hold). */
  check(): string[] {
    return [...this.problems, ...atomicityViolations(this.txs.values(), (p, txId) => this.loggedState(p, txId))];
  }

  // ------------------------------------------------------------ running nodes

  private boot(node: SimNode): void {
    node.tickAt = Infinity;
    const options = { ...this.tuning, name: node.name };
    const now = this.clock;
    const hook = (kind: 'append' | 'appended', record: TxRecord): boolean => this.point({ kind, node: node.name, n: this.count(node.name, kind), record });
    try {
      // A restarting coordinator logs the abort of what it never decided: a crash point too.
      node.coordinator = new TxCoordinator(options, { now, rng: this.rng.fork(), log: new CrashableLog(node.coordinatorLog, hook) });
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
      this.crashNode(node);
      return;
    }
    node.participant = new TxParticipant(options, { now, log: new CrashableLog(node.participantLog, hook) });
    node.recovery = new TransactionRecovery(options, { now });
    for (const d of this.detected) node.recovery.memberFailed(d);
    this.tellLeader(node);
    if (this.call(node, () => node.coordinator.tick(now))) this.call(node, () => node.participant.tick(now));
  }

  private tellLeader(node: SimNode): void {
    node.participant.setLeader(this.leaderName);
    node.recovery.setLeading(this.leaderName === node.name);
  }

  private deliver(node: SimNode, from: string, m: TxMessage): void {
    if (this.point({ kind: 'receive', node: node.name, n: this.count(node.name, 'receive'), from, message: m })) {
      this.crashNode(node);
      return;
    }
    const now = this.clock;
    switch (m.type) {
      case 'TxPrepare':
      case 'TxCommit':
      case 'TxAbort':
        this.call(node, () => node.participant.receive(from, m, now));
        break;
      case 'TxVote':
        this.call(node, () => node.coordinator.receive(from, m, now));
        break;
      default:
        if (this.call(node, () => node.coordinator.receive(from, m, now)) && this.call(node, () => node.participant.receive(from, m, now))) {
          this.call(node, () => node.recovery.receive(from, m, now));
        }
    }
  }

  /** Runs one core call and performs its step; false when the node crashed in it. */
  private call(node: SimNode, fn: () => TxStep): boolean {
    let step: TxStep;
    try {
      step = fn();
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
      this.crashNode(node);
      return false;
    }
    const now = this.clock;
    for (const s of step.sends) {
      this.messagesSent++;
      const to = this.byName.get(s.to);
      if (to !== undefined && (this.dropHook === null || !this.dropHook(node.name, s.to, s.message))) {
        if (to === node.index) this.push(now, DELIVER, to, 0, node.name, s.message);
        else {
          const copies = this.network.route(node.index, to, false);
          for (let c = 0; c < copies; c++) this.push(now + this.network.delays[c], DELIVER, to, 0, node.name, s.message);
        }
      }
      if (this.point({ kind: 'send', node: node.name, n: this.count(node.name, 'send'), to: s.to, message: s.message })) {
        this.crashNode(node);
        return false;
      }
    }
    for (const e of step.events) {
      switch (e.type) {
        case 'decided':
          this.record(e.txId)?.told.push(e.outcome);
          break;
        case 'prepare': {
          const yes = this.voteOf(node.name, e.tx) === 'yes';
          this.push(now + this.appDelay(node.name, e.tx), APP_VOTE, node.index, node.epoch, '', null, e.tx.txId, yes);
          break;
        }
        case 'commit':
          this.push(now + this.appDelay(node.name, e.tx), APP_APPLIED, node.index, node.epoch, '', null, e.tx.txId);
          break;
        case 'abort':
          this.record(e.tx.txId)?.aborts.add(node.name);
          break;
        case 'recovered':
          this.recoveries++;
          break;
        case 'recovery-blocked':
          this.blocked++;
          break;
        default:
          break;
      }
    }
    this.schedule(node);
    return true;
  }

  private schedule(node: SimNode): void {
    if (node.status !== 'up') return;
    let d = Math.min(node.coordinator.nextDeadline(), node.participant.nextDeadline(), node.recovery.nextDeadline());
    if (d === Infinity) return;
    if (d < this.clock) d = this.clock;
    if (d < node.tickAt) {
      node.tickAt = d;
      this.push(d, TICK, node.index, 0, '', null);
    }
  }

  private crashNode(node: SimNode): void {
    if (node.status === 'crashed') return;
    node.status = 'crashed';
    node.tickAt = Infinity;
    this.crashes++;
    this.push(this.clock + this.detectMs, DETECT, node.index, node.epoch, '', null);
  }

  /** Failure detection: tell every up node, and replace a crashed leader. */
  private detect(node: SimNode, epoch: number): void {
    if (node.status !== 'crashed' || node.epoch !== epoch) return;
    this.declareFailed(node.name);
  }

  private point(p: CrashPoint): boolean {
    return this.crashHook !== null && this.crashHook(p);
  }

  private count(node: string, kind: CrashPoint['kind']): number {
    const key = `${node} ${kind}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n;
  }

  private push(at: number, kind: number, node: number, epoch: number, from: string, message: TxMessage | null, txId = '', yes = false): void {
    this.queue.push({ at, seq: 0, kind, node, epoch, from, message, txId, yes });
  }

  private idx(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new InvalidConfigError('node', `no simulated node named ${JSON.stringify(name)}`);
    return i;
  }
}
