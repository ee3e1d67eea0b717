// Raft election cores in the deterministic simulator: N RaftElection cores,
// optionally each beside a SWIM core, under a virtual clock and the
// simulator's network (SimNetwork: latency, loss, duplication, reordering,
// partitions, one-way cuts), with crash, restart and pause. One seed gives
// the same run bit for bit.
//
//   const sim = new ElectionSimulation({ nodes: 5, seed: 7, raft: { preset: 'local' } });
//   sim.advance(2_000); const [l] = sim.leaders();
//   sim.crash(l); sim.advance(1_000); sim.leaders()      // a new one
//   sim.ledger.violations                                 // [] (one leader per term)
//
// With `membership: 'swim'` every node also runs the SWIM core over the same
// network: its Lifeguard health score feeds setHealthScore() after each SWIM
// step, and with `voters: 'membership'` its events drive the voter set
// (MembershipVoters). Raft messages travel as stream (TCP) traffic: a lost
// segment is resent late, not lost; SWIM uses datagrams as in production.
//
// Every event of every node goes to a LeaderLedger, so each run checks that
// no term ever has two leaders. The recorder measures, for each crash or
// pause of the leader, the time until some other node wins a newer term.
import { InvalidConfigError } from '../../shared/errors.js';
import { MemberState, type Channel, type MemberRecord, type SwimMessage } from '../membership/messages.js';
import { DEFAULT_PORT } from '../membership/options.js';
import { Swim, type SwimStep } from '../membership/swim.js';
import { EventQueue, type TimedEvent } from '../simulator/event-queue.js';
import { resolveLinkModel, SimNetwork, type LinkModel } from '../simulator/network.js';
import { Sfc32 } from '../simulator/prng.js';
import { distribution, type Distribution } from '../simulator/recorder.js';
import type { SimSwimOptions } from '../simulator/simulation.js';
import type { RaftStep } from './events.js';
import { LeaderLedger } from './leader-ledger.js';
import type { RaftMessage } from './messages.js';
import { resolveRaftOptions, type RaftOptions, type RaftPresetName, type RaftTuning } from './options.js';
import { RaftElection } from './raft.js';
import { MemoryElectionStore } from './store.js';
import { MembershipVoters } from './voters.js';

export type NodeStatus = 'up' | 'paused' | 'crashed';

export interface ElectionSimulationOptions {
  /** Node count (named n0, n1, ...) or explicit names. */
  readonly nodes: number | readonly string[];
  readonly seed: number;
  /** Raft tuning shared by every node (identity and voters are assigned). */
  readonly raft?: Partial<RaftTuning> & { readonly preset?: RaftPresetName };
  readonly network?: Partial<LinkModel>;
  /** 'swim': run a SWIM core on every node too (health and, optionally, voters from it). Default 'none'. */
  readonly membership?: 'swim' | 'none';
  /** SWIM options when membership is 'swim' (default preset 'local'). */
  readonly swim?: SimSwimOptions;
  /** 'static': every node is a voter (default); 'membership': MembershipVoters over SWIM events. */
  readonly voters?: 'static' | 'membership';
  /** Messages a paused node's socket buffers before dropping (default 256). */
  readonly pausedBacklog?: number;
}

export interface ElectionReport {
  readonly nodes: number;
  readonly simulatedMs: number;
  /** Leader crash or pause -> another node wins a newer term (ms). */
  readonly failover: Distribution;
  /** Leader crash or pause -> every up node follows the new leader (ms). */
  readonly agreement: Distribution;
  /** Leader outages not yet ended by a new leader when the report was taken. */
  readonly pendingFailovers: number;
  readonly highestTerm: number;
  readonly termsWithLeader: number;
  readonly violations: readonly string[];
  readonly raftMessagesSent: number;
  readonly swimMessagesSent: number;
  readonly samples: { readonly failover: readonly number[]; readonly agreement: readonly number[] };
}

interface SimEvent extends TimedEvent {
  readonly kind: 0 | 1 | 2 | 3;
  readonly node: number;
  readonly from: string;
  readonly message: RaftMessage | SwimMessage | null;
  readonly channel: Channel;
}

interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  readonly store: MemoryElectionStore;
  raft: RaftElection;
  swim: Swim | null;
  voters: MembershipVoters | null;
  status: NodeStatus;
  raftTickAt: number;
  swimTickAt: number;
  backlog: SimEvent[];
}

const RAFT_DELIVER = 0;
const SWIM_DELIVER = 1;
const RAFT_TICK = 2;
const SWIM_TICK = 3;

interface Outage {
  readonly at: number;
  readonly term: number;
  readonly node: number;
  electedAt: number;
  leader: string;
}

export class ElectionSimulation {
  readonly seed: number;
  readonly options: RaftOptions;
  readonly ledger = new LeaderLedger();
  private clock = 0;
  private readonly rng: Sfc32;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly byName = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  private readonly raftInput: Partial<RaftTuning> & { readonly preset?: RaftPresetName };
  private readonly swimInput: SimSwimOptions | null;
  private readonly voterMode: 'static' | 'membership';
  private readonly backlogLimit: number;
  private readonly allNames: readonly string[];
  private outages: Outage[] = [];
  private readonly failovers: number[] = [];
  private readonly agreements: number[] = [];
  private raftSent = 0;
  private swimSent = 0;

  constructor(opts: ElectionSimulationOptions) {
    if (!Number.isInteger(opts.seed)) throw new InvalidConfigError('seed', `expected an integer, got ${String(opts.seed)}`);
    const names = typeof opts.nodes === 'number' ? Array.from({ length: opts.nodes }, (_, i) => `n${i}`) : [...opts.nodes];
    if (names.length < 1 || new Set(names).size !== names.length) throw new InvalidConfigError('nodes', 'expected at least one node, with distinct names');
    this.seed = opts.seed;
    this.allNames = Object.freeze(names);
    this.rng = new Sfc32(opts.seed, 0x4a57);
    this.raftInput = opts.raft ?? {};
    this.options = resolveRaftOptions({ ...this.raftInput, name: names[0], voters: names });
    const swimOn = (opts.membership ?? 'none') === 'swim';
    this.swimInput = swimOn ? { preset: 'local', ...opts.swim } : null;
    this.voterMode = opts.voters ?? 'static';
    if (this.voterMode === 'membership' && !swimOn) throw new InvalidConfigError('voters', "'membership' needs membership: 'swim'");
    this.network = new SimNetwork(names.length, this.rng.fork(), resolveLinkModel(opts.network ?? {}));
    this.backlogLimit = opts.pausedBacklog ?? 256;
    for (let i = 0; i < names.length; i++) {
      const address = `${names[i]}:${DEFAULT_PORT}`;
      this.byName.set(names[i], i);
      this.byAddress.set(address, i);
      const store = new MemoryElectionStore();
      const node: SimNode = { index: i, name: names[i], address, store, raft: null as unknown as RaftElection, swim: null, voters: null, status: 'up', raftTickAt: Infinity, swimTickAt: Infinity, backlog: [] };
      this.nodes.push(node);
      this.boot(node);
    }
    if (swimOn) {
      const records: MemberRecord[] = this.nodes.map((x) => ({ node: x.name, host: x.name, port: DEFAULT_PORT, incarnation: 0, state: MemberState.Alive, meta: new Uint8Array(0) }));
      for (const x of this.nodes) {
        (x.swim as Swim).restore(records, 0);
        this.scheduleSwim(x);
      }
    }
  }

  // ------------------------------------------------------------ time

  get now(): number {
    return this.clock;
  }

  /** Runs the simulation for `ms` of virtual time. */
  advance(ms: number): void {
    const end = this.clock + ms;
    const queue = this.queue;
    while (queue.peekTime() <= end) {
      const ev = queue.pop() as SimEvent;
      this.clock = ev.at;
      const node = this.nodes[ev.node];
      if (ev.kind === RAFT_DELIVER || ev.kind === SWIM_DELIVER) {
        if (node.status === 'up') this.deliver(node, ev);
        else if (node.status === 'paused' && node.backlog.length < this.backlogLimit) node.backlog.push(ev);
      } else if (node.status === 'up') {
        if (ev.kind === RAFT_TICK && ev.at === node.raftTickAt) {
          node.raftTickAt = Infinity;
          this.processRaft(node, node.raft.tick(ev.at));
        } else if (ev.kind === SWIM_TICK && ev.at === node.swimTickAt && node.swim !== null) {
          node.swimTickAt = Infinity;
          this.processSwim(node, node.swim.tick(ev.at));
        }
      }
    }
    this.clock = end;
  }

  /** Advances in steps of `stepMs` until `done()` holds or `maxMs` passed; returns the time waited, or -1. */
  until(done: () => boolean, maxMs: number, stepMs = 5): number {
    const start = this.clock;
    while (!done()) {
      if (this.clock - start >= maxMs) return -1;
      this.advance(stepMs);
    }
    return this.clock - start;
  }

  private deliver(node: SimNode, ev: SimEvent): void {
    if (ev.kind === RAFT_DELIVER) this.processRaft(node, node.raft.receive(ev.from, ev.message as RaftMessage, this.clock));
    else if (node.swim !== null) this.processSwim(node, node.swim.receive(ev.from, ev.message as SwimMessage, this.clock, ev.channel));
  }

  private processRaft(node: SimNode, step: RaftStep): void {
    const now = this.clock;
    for (const s of step.sends) {
      this.raftSent++;
      const to = this.byName.get(s.to);
      if (to === undefined) continue;
      const copies = this.network.route(node.index, to, true);
      for (let c = 0; c < copies; c++) this.queue.push({ at: now + this.network.delays[c], seq: 0, kind: RAFT_DELIVER, node: to, from: node.name, message: s.message, channel: 'stream' });
    }
    if (step.events.length > 0) {
      this.ledger.observe(node.name, step.events, now);
      for (const e of step.events) if (e.type === 'role-changed' && e.role === 'leader') this.onElected(node, e.term);
      if (this.outages.length > 0) this.checkAgreement();
    }
    this.scheduleRaft(node);
  }

  private processSwim(node: SimNode, step: SwimStep): void {
    const now = this.clock;
    for (const s of step.sends) {
      this.swimSent++;
      const to = this.byAddress.get(s.to);
      if (to === undefined) continue;
      const copies = this.network.route(node.index, to, s.channel === 'stream');
      for (let c = 0; c < copies; c++) this.queue.push({ at: now + this.network.delays[c], seq: 0, kind: SWIM_DELIVER, node: to, from: node.address, message: s.message, channel: s.channel });
    }
    const swim = node.swim as Swim;
    node.raft.setHealthScore(swim.healthScore);
    if (node.voters !== null && step.events.length > 0 && node.voters.apply(step.events)) {
      this.processRaft(node, node.raft.setVoters(node.voters.list, now));
    }
    this.scheduleSwim(node);
  }

  private scheduleRaft(node: SimNode): void {
    let d = node.raft.nextDeadline();
    if (d === Infinity) return;
    if (d < this.clock) d = this.clock;
    if (d < node.raftTickAt) {
      node.raftTickAt = d;
      this.queue.push({ at: d, seq: 0, kind: RAFT_TICK, node: node.index, from: '', message: null, channel: 'stream' });
    }
  }

  private scheduleSwim(node: SimNode): void {
    if (node.swim === null) return;
    let d = node.swim.nextDeadline();
    if (d === Infinity) return;
    if (d < this.clock) d = this.clock;
    if (d < node.swimTickAt) {
      node.swimTickAt = d;
      this.queue.push({ at: d, seq: 0, kind: SWIM_TICK, node: node.index, from: '', message: null, channel: 'packet' });
    }
  }

  /** (Re)creates a node's cores; its store survives, as a disk would. */
  private boot(node: SimNode): void {
    node.raftTickAt = Infinity;
    node.swimTickAt = Infinity;
    node.voters = this.voterMode === 'membership' ? new MembershipVoters(this.allNames) : null;
    node.raft = new RaftElection({ ...this.raftInput, name: node.name, voters: this.allNames }, { rng: this.rng.fork(), now: this.clock, store: node.store });
    node.swim = this.swimInput === null ? null : new Swim({ ...this.swimInput, name: node.name, host: node.name, port: DEFAULT_PORT }, { rng: this.rng.fork(), now: this.clock });
    this.scheduleRaft(node);
  }

  // ------------------------------------------------------------ measuring

  private onElected(node: SimNode, term: number): void {
    for (const o of this.outages) {
      if (o.electedAt < 0 && term > o.term && node.index !== o.node) {
        o.electedAt = this.clock;
        o.leader = node.name;
        this.failovers.push(this.clock - o.at);
      }
    }
  }

  private checkAgreement(): void {
    this.outages = this.outages.filter((o) => {
      if (o.electedAt < 0) return true;
      for (const x of this.nodes) if (x.status === 'up' && x.raft.leader !== o.leader) return true;
      this.agreements.push(this.clock - o.at);
      return false;
    });
  }

  private startOutage(node: SimNode): void {
    if (node.status === 'up' && node.raft.isLeader) this.outages.push({ at: this.clock, term: node.raft.term, node: node.index, electedAt: -1, leader: '' });
  }

  // ------------------------------------------------------------ faults

  /** Stops a node (until restart): it neither sends nor receives; its stored term and vote survive. */
  crash(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status === 'crashed') return;
    this.startOutage(node);
    node.status = 'crashed';
    node.backlog = [];
  }

  /** Starts a crashed node again with fresh cores and its persisted term and vote; SWIM rejoins through the other up nodes. */
  restart(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'crashed') throw new InvalidConfigError('node', `${name} is ${node.status}, not crashed`);
    node.status = 'up';
    this.boot(node);
    if (node.swim !== null) {
      const seeds = this.nodes.filter((x) => x !== node && x.status === 'up').map((x) => x.address);
      this.processSwim(node, node.swim.join(seeds, this.clock));
    }
  }

  /** Freezes a node (SIGSTOP, a long GC pause): messages queue in its socket buffers, its timers do not run. */
  pause(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'up') return;
    this.startOutage(node);
    node.status = 'paused';
  }

  /** Thaws a paused node: its timers run first (late), then the buffered messages arrive. */
  resume(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'paused') return;
    node.status = 'up';
    node.raftTickAt = Infinity;
    node.swimTickAt = Infinity;
    const backlog = node.backlog;
    node.backlog = [];
    this.processRaft(node, node.raft.tick(this.clock));
    if (node.swim !== null) this.processSwim(node, node.swim.tick(this.clock));
    for (const ev of backlog) if (node.status === 'up') this.deliver(node, ev);
  }

  isolate(name: string): void {
    this.partition([[name]]);
  }

  /** Splits the cluster: each listed group reaches only itself; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups.map((g) => g.map((n) => this.idx(n))));
  }

  /** Drops everything `from` sends to `to` (one way). */
  cut(from: string, to: string): void {
    this.network.cut(this.idx(from), this.idx(to));
  }

  heal(): void {
    this.network.heal();
  }

  setNetwork(model: Partial<LinkModel>): void {
    this.network.setDefaultLink(resolveLinkModel(model, this.network.defaultLink));
  }

  /** Hands leadership from the current leader `from` to `to`. */
  transfer(from: string, to: string): void {
    const node = this.nodes[this.idx(from)];
    this.processRaft(node, node.raft.transferLeadership(to));
  }

  // ------------------------------------------------------------ inspection

  get names(): readonly string[] {
    return this.allNames;
  }

  status(name: string): NodeStatus {
    return this.nodes[this.idx(name)].status;
  }

  raft(name: string): RaftElection {
    return this.nodes[this.idx(name)].raft;
  }

  swim(name: string): Swim | null {
    return this.nodes[this.idx(name)].swim;
  }

  /** Up nodes that consider themselves leader (a paused one is not up). */
  leaders(): string[] {
    return this.nodes.filter((x) => x.status === 'up' && x.raft.isLeader).map((x) => x.name);
  }

  /** The leader every up node follows, or null while they disagree or none leads. */
  agreedLeader(): string | null {
    let leader: string | null = null;
    for (const x of this.nodes) {
      if (x.status !== 'up') continue;
      const l = x.raft.leader;
      if (l === null || (leader !== null && l !== leader)) return null;
      leader = l;
    }
    return leader !== null && this.leaders().length === 1 ? leader : null;
  }

  report(): ElectionReport {
    return {
      nodes: this.nodes.length,
      simulatedMs: this.clock,
      failover: distribution(this.failovers),
      agreement: distribution(this.agreements),
      pendingFailovers: this.outages.filter((o) => o.electedAt < 0).length,
      highestTerm: Math.max(0, ...this.nodes.map((x) => x.raft.term)),
      termsWithLeader: this.ledger.terms,
      violations: this.ledger.violations.map((v) => `${v.at} ms: ${v.problem}`),
      raftMessagesSent: this.raftSent,
      swimMessagesSent: this.swimSent,
      samples: { failover: [...this.failovers], agreement: [...this.agreements] },
    };
  }

  private idx(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new InvalidConfigError('node', `no simulated node named ${JSON.stringify(name)}`);
    return i;
  }
}
