// The deterministic simulator: the real SWIM cores under a virtual clock and a
// simulated network. One seed gives the same run bit for bit. Scenarios read
// like scripts:
//
//   const sim = new Simulation({ nodes: 5, seed: 7 });
//   sim.isolate('n2'); sim.advance(10_000);
//   sim.view('n0').dead          // ['n2']
//   sim.heal(); sim.advance(30_000);
//   sim.converged()              // []
import { InvalidConfigError } from '../../shared/errors.js';
import { messageBytes, type Channel, type MemberRecord, type SwimMessage } from '../membership/messages.js';
import { DEFAULT_PORT, resolveSwimOptions, type SwimOptions, type SwimOptionsInput } from '../membership/options.js';
import type { Keyring } from '../membership/keyring.js';
import { MemberDirectory } from '../membership/member-directory.js';
import { Swim, type SwimStep } from '../membership/swim.js';
import { MemberState } from '../membership/messages.js';
import { EventQueue, type TimedEvent } from './event-queue.js';
import { resolveLinkModel, SimNetwork, type LinkModel } from './network.js';
import { Sfc32 } from './prng.js';
import { SealedNetwork } from './sealed-network.js';
import { distribution, Recorder, type Distribution, type FalseDeclaration } from './recorder.js';

export type NodeStatus = 'up' | 'paused' | 'crashed';

/** Member options shared by every simulated node (identity is assigned). */
export type SimSwimOptions = Omit<SwimOptionsInput, 'name' | 'host' | 'port'>;

export interface SimulationOptions {
  /** Node count (named n0, n1, ...) or explicit names. */
  readonly nodes: number | readonly string[];
  readonly seed: number;
  readonly swim?: SimSwimOptions;
  readonly network?: Partial<LinkModel>;
  /** 'converged': every node starts knowing every other; 'join': all join through n0. Default 'converged'. */
  readonly start?: 'converged' | 'join';
  /** Declarations this long after a fault involving either node are not counted as false. Default: derived from the options. */
  readonly graceMs?: number;
  /** Datagrams a paused node's socket buffers before dropping (default 256). */
  readonly pausedBacklog?: number;
  /**
   * AES-256-GCM keys (32 bytes each, the first primary) every node starts
   * with. Given, every message travels as a sealed packet that the receiver
   * must open with its own keyring (sealed-network.ts): keyring(name) rotates
   * keys. Default: messages travel as objects.
   */
  readonly keys?: readonly Uint8Array[];
  /** The cluster name sealed packets authenticate (default 'sim'). */
  readonly cluster?: string;
}

export interface View {
  readonly alive: string[];
  readonly suspect: string[];
  readonly dead: string[];
  readonly left: string[];
}

export interface SimulationReport {
  readonly nodes: number;
  readonly simulatedMs: number;
  /** Crash -> every live node has declared it dead (ms). */
  readonly detection: Distribution;
  readonly firstDetection: Distribution;
  readonly undetectedCrashes: number;
  readonly falseSuspicions: number;
  readonly falseDeaths: number;
  readonly falseDeclarations: readonly FalseDeclaration[];
  /** Broadcast -> every live node delivered it (ms). */
  readonly dissemination: Distribution;
  readonly messagesPerMemberPerSecond: number;
  readonly bytesPerMemberPerSecond: number;
  /** Messages sent per member per probe interval (SWIM's bound is 2 + 4k). */
  readonly messagesPerProbePeriod: number;
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  /** Packets dropped because the receiver could not open them (only with `keys`). */
  readonly rejectedPackets: number;
  /** Broadcasts that had not reached every live node when the report was taken. */
  readonly undeliveredBroadcasts: number;
  /** The raw samples behind the distributions (for charts). */
  readonly samples: {
    readonly detection: readonly number[];
    readonly dissemination: readonly number[];
    /** Per complete broadcast: how many nodes had to receive it, and when each did (ms after it was sent). */
    readonly infection: readonly { readonly receivers: number; readonly arrivals: readonly number[] }[];
  };
}

interface SimEvent extends TimedEvent {
  readonly kind: 0 | 1;
  readonly node: number;
  readonly from: string;
  readonly message: SwimMessage | null;
  /** The sealed packet carrying `message` (with `keys`), opened on delivery. */
  readonly packet: Uint8Array | null;
  readonly channel: Channel;
}

interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  swim: Swim;
  status: NodeStatus;
  tickAt: number;
  backlog: SimEvent[];
  incarnation: number;
  lastFaultAt: number;
}

const DELIVER = 0;
const TICK = 1;

export class Simulation {
  readonly seed: number;
  readonly options: SwimOptions;
  private clock = 0;
  private readonly rng: Sfc32;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly byName = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  private readonly swimInput: SimSwimOptions;
  /** Member names and addresses, interned once for every simulated node. */
  private readonly directory = new MemberDirectory();
  private readonly sealed: SealedNetwork | null = null;
  private readonly recorder: Recorder;
  private readonly backlogLimit: number;
  private partitionChangedAt = -Infinity;
  private broadcasts = 0;
  private sent = 0;
  private delivered = 0;
  private bytes = 0;

  constructor(opts: SimulationOptions) {
    if (!Number.isInteger(opts.seed)) throw new InvalidConfigError('seed', `expected an integer, got ${String(opts.seed)}`);
    const names = typeof opts.nodes === 'number' ? Array.from({ length: opts.nodes }, (_, i) => `n${i}`) : [...opts.nodes];
    if (names.length < 1 || new Set(names).size !== names.length) throw new InvalidConfigError('nodes', 'expected at least one node, with distinct names');
    this.seed = opts.seed;
    this.rng = new Sfc32(opts.seed);
    this.swimInput = opts.swim ?? {};
    this.options = resolveSwimOptions({ ...this.swimInput, name: names[0] });
    this.network = new SimNetwork(names.length, this.rng.fork(), resolveLinkModel(opts.network ?? {}));
    this.backlogLimit = opts.pausedBacklog ?? 256;
    const o = this.options;
    const n = names.length;
    // A suspicion raised by a probe that started before the fault ended can
    // outlive it by one stretched probe interval plus the longest suspicion.
    const suspicionMaxMs = o.suspicionMult * Math.max(2, Math.log10(n)) * o.probeIntervalMs * o.suspicionMaxTimeoutMult;
    const stretchedProbeMs = o.probeIntervalMs * (o.lifeguard === 'on' ? o.awarenessMaxMultiplier : 1);
    const grace = opts.graceMs ?? Math.ceil(suspicionMaxMs + stretchedProbeMs + 5 * o.probeIntervalMs);
    const world = {
      names,
      index: (name: string): number => this.byName.get(name) ?? -1,
      isUp: (i: number): boolean => this.nodes[i].status === 'up',
      reachable: (a: number, b: number): boolean => this.network.reachable(a, b),
      lastFaultAt: (i: number): number => (i < 0 ? this.partitionChangedAt : this.nodes[i].lastFaultAt),
    };
    this.recorder = new Recorder(world, grace);
    for (let i = 0; i < n; i++) {
      const address = `${names[i]}:${DEFAULT_PORT}`;
      this.byName.set(names[i], i);
      this.byAddress.set(address, i);
      this.nodes.push({ index: i, name: names[i], address, swim: this.createSwim(names[i], 0), status: 'up', tickAt: Infinity, backlog: [], incarnation: 0, lastFaultAt: -Infinity });
    }
    if (opts.keys !== undefined) this.sealed = new SealedNetwork(opts.cluster ?? 'sim', this.nodes.map((x) => x.address), opts.keys);
    if ((opts.start ?? 'converged') === 'converged') {
      const records: MemberRecord[] = this.nodes.map((x) => ({ node: x.name, host: x.name, port: DEFAULT_PORT, incarnation: 0, state: MemberState.Alive, meta: new Uint8Array(0) }));
      for (const x of this.nodes) {
        x.swim.restore(records, 0);
        this.schedule(x);
      }
    } else {
      this.schedule(this.nodes[0]);
      for (let i = 1; i < n; i++) this.process(this.nodes[i], this.nodes[i].swim.join([this.nodes[0].address], 0));
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
    const nodes = this.nodes;
    while (queue.peekTime() <= end) {
      const ev = queue.pop() as SimEvent;
      this.clock = ev.at;
      const node = nodes[ev.node];
      if (ev.kind === DELIVER) {
        if (node.status === 'up') {
          this.deliver(node, ev);
        } else if (node.status === 'paused' && node.backlog.length < this.backlogLimit) {
          node.backlog.push(ev);
        }
      } else if (node.status === 'up' && ev.at === node.tickAt) {
        node.tickAt = Infinity;
        this.process(node, node.swim.tick(ev.at));
      }
    }
    this.clock = end;
  }

  private deliver(node: SimNode, ev: SimEvent): void {
    if (ev.packet === null) {
      this.delivered++;
      this.process(node, node.swim.receive(ev.from, ev.message as SwimMessage, this.clock, ev.channel));
      return;
    }
    const messages = (this.sealed as SealedNetwork).open(node.index, ev.packet);
    if (messages === null) return;
    for (const m of messages) {
      this.delivered++;
      this.process(node, node.swim.receive(ev.from, m, this.clock, ev.channel));
    }
  }

  private process(node: SimNode, step: SwimStep): void {
    const sends = step.sends;
    const now = this.clock;
    for (let i = 0; i < sends.length; i++) {
      const s = sends[i];
      this.sent++;
      this.bytes += messageBytes(s.message);
      const to = this.byAddress.get(s.to);
      if (to === undefined) continue;
      const copies = this.network.route(node.index, to, s.channel === 'stream');
      const packet = copies > 0 && this.sealed !== null ? this.sealed.seal(node.index, s.message) : null;
      for (let c = 0; c < copies; c++) {
        this.queue.push({ at: now + this.network.delays[c], seq: 0, kind: DELIVER, node: to, from: node.address, message: s.message, packet, channel: s.channel });
      }
    }
    if (step.events.length > 0) this.onEvents(node, step);
    this.schedule(node);
  }

  private onEvents(node: SimNode, step: SwimStep): void {
    for (const e of step.events) if (e.type === 'incarnation') node.incarnation = e.incarnation;
    this.recorder.onEvents(node.index, step.events, this.clock);
  }

  private schedule(node: SimNode): void {
    let d = node.swim.nextDeadline();
    if (d === Infinity) return;
    if (d < this.clock) d = this.clock;
    if (d < node.tickAt) {
      node.tickAt = d;
      this.queue.push({ at: d, seq: 0, kind: TICK, node: node.index, from: '', message: null, packet: null, channel: 'packet' });
    }
  }

  private createSwim(name: string, incarnation: number): Swim {
    return new Swim({ ...this.swimInput, name, host: name, port: DEFAULT_PORT, initialIncarnation: incarnation }, { rng: this.rng.fork(), now: this.clock, directory: this.directory });
  }

  private idx(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new InvalidConfigError('node', `no simulated node named ${JSON.stringify(name)}`);
    return i;
  }

  // ------------------------------------------------------------ faults

  /** Stops a node for good (until restart): it neither sends nor receives. */
  crash(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status === 'crashed') return;
    node.status = 'crashed';
    node.backlog = [];
    node.lastFaultAt = this.clock;
    this.recorder.observerGone(node.index);
    const observers = new Set<number>();
    for (const x of this.nodes) if (x.status === 'up' && x !== node) observers.add(x.index);
    this.recorder.crashed(node.index, observers, this.clock);
  }

  /** Freezes a node (a long GC pause, SIGSTOP): datagrams queue in its socket buffer. */
  pause(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'up') return;
    node.status = 'paused';
    node.lastFaultAt = this.clock;
  }

  resume(name: string): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'paused') return;
    node.status = 'up';
    node.lastFaultAt = this.clock;
    // Ticks due while it was frozen were dropped: schedule afresh.
    node.tickAt = Infinity;
    const backlog = node.backlog;
    node.backlog = [];
    this.process(node, node.swim.tick(this.clock));
    for (const ev of backlog) this.deliver(node, ev);
  }

  /**
   * Starts a crashed node again with fresh state, joining through `seeds`
   * (default: the first three other nodes). With `persistIncarnation` it
   * resumes from its last incarnation + 1, else it relies on refutation.
   */
  restart(name: string, opts: { seeds?: readonly string[]; persistIncarnation?: boolean } = {}): void {
    const node = this.nodes[this.idx(name)];
    if (node.status !== 'crashed') throw new InvalidConfigError('node', `${name} is ${node.status}, not crashed`);
    node.status = 'up';
    node.lastFaultAt = this.clock;
    node.tickAt = Infinity;
    this.recorder.recovered(node.index);
    node.swim = this.createSwim(name, opts.persistIncarnation === true ? node.incarnation + 1 : 0);
    const seeds = (opts.seeds ?? this.nodes.filter((x) => x !== node).slice(0, 3).map((x) => x.name)).map((s) => this.nodes[this.idx(s)].address);
    this.process(node, node.swim.join(seeds, this.clock));
  }

  /** Gracefully leaves. */
  leave(name: string): void {
    const node = this.nodes[this.idx(name)];
    this.process(node, node.swim.leave(this.clock));
  }

  /** Cuts one node off from everybody, both ways. */
  isolate(name: string): void {
    this.partition([[name]]);
  }

  /** Splits the cluster: each listed group can reach only itself; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups.map((g) => g.map((n) => this.idx(n))));
    this.partitionChangedAt = this.clock;
  }

  /** Drops everything `from` sends to `to` (one way). */
  cut(from: string, to: string): void {
    this.network.cut(this.idx(from), this.idx(to));
    this.partitionChangedAt = this.clock;
  }

  /** Removes every partition and cut. */
  heal(): void {
    this.network.heal();
    this.partitionChangedAt = this.clock;
  }

  /** Changes the default link model (e.g. `{ loss: 0.1 }`) from now on. */
  setNetwork(model: Partial<LinkModel>): void {
    this.network.setDefaultLink(resolveLinkModel(model, this.network.defaultLink));
  }

  /** Sets the model of the one-way link from -> to. */
  setLink(from: string, to: string, model: Partial<LinkModel>): void {
    this.network.setLink(this.idx(from), this.idx(to), resolveLinkModel(model, this.network.defaultLink));
  }

  /** The keyring of node `name` (only with `keys`): install, use and remove keys on it. */
  keyring(name: string): Keyring {
    const i = this.idx(name);
    if (this.sealed === null) throw new InvalidConfigError('keys', 'the simulation was created without keys');
    return this.sealed.keyring(i);
  }

  /** Injects a user broadcast at `name`; its dissemination time is recorded. Returns its topic. */
  broadcast(name: string, payload: Uint8Array = new Uint8Array(16)): string {
    const node = this.nodes[this.idx(name)];
    const topic = `sim/${this.broadcasts++}`;
    const receivers = new Set<number>();
    for (const x of this.nodes) if (x.status === 'up' && x !== node) receivers.add(x.index);
    this.recorder.broadcastSent(topic, receivers, this.clock);
    this.process(node, node.swim.broadcast(topic, payload, this.clock));
    return topic;
  }

  // ------------------------------------------------------------ inspection

  get names(): readonly string[] {
    return this.nodes.map((x) => x.name);
  }

  status(name: string): NodeStatus {
    return this.nodes[this.idx(name)].status;
  }

  node(name: string): Swim {
    return this.nodes[this.idx(name)].swim;
  }

  /** Which members `name` sees in each state. */
  view(name: string): View {
    const v: View = { alive: [], suspect: [], dead: [], left: [] };
    for (const m of this.node(name).members()) {
      if (m.state === 'alive') v.alive.push(m.name);
      else if (m.state === 'suspect') v.suspect.push(m.name);
      else if (m.state === 'dead') v.dead.push(m.name);
      else if (m.state === 'left') v.left.push(m.name);
    }
    return v;
  }

  /**
   * Disagreements between the live nodes' views and the truth: every up node
   * must see every other up node alive, and no crashed node alive or suspect.
   * Empty when converged.
   */
  converged(): string[] {
    const problems: string[] = [];
    for (const a of this.nodes) {
      if (a.status !== 'up') continue;
      for (const b of this.nodes) {
        if (a === b) continue;
        const s = a.swim.stateOf(b.name);
        if (b.status === 'up' && s !== 'alive') problems.push(`${a.name} sees ${b.name} as ${s ?? 'unknown'}`);
        if (b.status === 'crashed' && (s === 'alive' || s === 'suspect')) problems.push(`${a.name} sees crashed ${b.name} as ${s}`);
      }
    }
    return problems;
  }

  report(): SimulationReport {
    const r = this.recorder;
    const n = this.nodes.length;
    const seconds = Math.max(1e-9, this.clock / 1000);
    const perMemberPerSecond = this.sent / n / seconds;
    return {
      nodes: n,
      simulatedMs: this.clock,
      detection: distribution(r.detections),
      firstDetection: distribution(r.firstDetections),
      undetectedCrashes: r.undetectedCrashes + r.pendingCrashes,
      falseSuspicions: r.falseSuspicions,
      falseDeaths: r.falseDeaths,
      falseDeclarations: r.falseDeclarations,
      dissemination: distribution(r.disseminations),
      messagesPerMemberPerSecond: perMemberPerSecond,
      bytesPerMemberPerSecond: this.bytes / n / seconds,
      messagesPerProbePeriod: perMemberPerSecond * (this.options.probeIntervalMs / 1000),
      messagesSent: this.sent,
      messagesDelivered: this.delivered,
      rejectedPackets: this.sealed === null ? 0 : this.sealed.rejectedTotal,
      undeliveredBroadcasts: r.pendingSpreads,
      samples: { detection: [...r.detections], dissemination: [...r.disseminations], infection: r.infectionCurves },
    };
  }
}
