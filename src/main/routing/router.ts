// The Router: which node should take a request. It holds a view of the
// candidate nodes (membership state, datacenter and rack, weight,
// connections, latency, resource use) and answers route(request, nowMs) with
// a node id, or throws NoEligibleNodeError when no node is alive. It never
// returns a suspected or dead node.
//
// A request is routed by the first rule that applies:
//   1. session: a sticky session goes back to the node bound to it, while that
//      node is alive, even when it is hot (affinity.ts); otherwise it is
//      bound anew by rule 2 or 3.
//   2. key: rendezvous hashing (rendezvous.ts), so a key keeps its node and
//      only ~1/N of keys move when a node joins or fails.
//   3. the configured strategy (round-robin, least-connections,
//      weighted-round-robin, locality, adaptive).
// Rules 2 and 3 choose among the alive nodes that are not hot (hotspot.ts);
// when every alive node is hot they choose among all of them.
//
// The router is a pure core: time comes in as nowMs, there are no timers. The
// candidate arrays are rebuilt only when the set changes (a join, a failure,
// a node turning hot or cool), so route() decides with no allocation.
import { NoEligibleNodeError, InvalidConfigError } from '../../shared/errors.js';
import type { SwimEvent } from '../membership/events.js';
import { Adaptive } from './adaptive.js';
import { AffinityTable } from './affinity.js';
import { QpsCounter, type HotspotSettings } from './hotspot.js';
import { LeastConnections } from './least-connections.js';
import { Locality } from './locality.js';
import { Rendezvous, seedNode } from './rendezvous.js';
import { RoundRobin } from './round-robin.js';
import { RouteNode, routeNodeInputOf, type NodeState, type RouteNodeInput } from './route-node.js';
import { resolveRouterOptions, type RouterOptions, type RouterOptionsInput } from './router-options.js';
import type { Strategy, StrategyName } from './strategy.js';
import type { AdaptiveWeights } from './adaptive.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

export interface RouteRequest {
  /** Routes by rendezvous hashing: the same key goes to the same node. */
  readonly key?: string;
  /** A sticky session: later requests with it go to the same node. */
  readonly session?: string;
}

/** Counters for the load-balancer metrics; they only grow. */
export interface RouterStats {
  /** Requests routed. */
  routed: number;
  /** route() calls that found no eligible node. */
  failures: number;
  /** Requests routed to a node in this node's datacenter (when it is known). */
  localityHits: number;
  /** Requests routed to another datacenter (when this node's is known). */
  crossDcRoutes: number;
  /** Requests that followed a sticky session to its node. */
  affinityHits: number;
  /** Sticky sessions moved because their node was no longer alive. */
  affinityMoves: number;
  /** Times a node turned hot. */
  hotspots: number;
  /** Times the candidate set was rebuilt (a join, failure, hot or cooled node). */
  rebalances: number;
}

/** The router's record of a node: the strategies' view plus its request counter. */
class NodeEntry extends RouteNode {
  readonly counter: QpsCounter;
  /** True once removeNode() forgot it (sessions may still point at it). */
  removed = false;

  constructor(id: string, input: RouteNodeInput, hotspot: HotspotSettings) {
    super(id, input);
    this.counter = new QpsCounter(hotspot);
    seedNode(this);
  }
}

export class Router {
  options: RouterOptions;
  private readonly counters: RouterStats = { routed: 0, failures: 0, localityHits: 0, crossDcRoutes: 0, affinityHits: 0, affinityMoves: 0, hotspots: 0, rebalances: 0 };
  private readonly nodes = new Map<string, NodeEntry>();
  /** Alive nodes. */
  private eligible: NodeEntry[] = [];
  /** Alive nodes that are not hot; the eligible array itself when all are hot. */
  private preferred: NodeEntry[] = [];
  private dirty = false;
  private hotCount = 0;
  private lastBucket = -1;
  private strategy: Strategy;
  private readonly rendezvous = new Rendezvous();
  private readonly affinity: AffinityTable<NodeEntry> | null;
  private readonly hotspot: HotspotSettings;

  constructor(options: RouterOptionsInput = {}) {
    this.options = resolveRouterOptions(options);
    const o = this.options;
    this.strategy = createStrategy(o);
    this.affinity = o.maxAffinitySessions > 0 ? new AffinityTable<NodeEntry>(o.affinityTimeoutMs, o.maxAffinitySessions) : null;
    this.hotspot = Object.freeze({ windowMs: o.hotspotWindowMs, bucketMs: o.hotspotBucketMs, thresholdQps: o.hotspotThresholdQps, coolRatio: o.hotspotCoolRatio });
  }

  /**
   * Switches the strategy (and, for 'adaptive', its weights); the node view,
   * sessions and hotspot state are kept. Validated as the constructor's options are.
   */
  setStrategy(strategy: StrategyName, adaptiveWeights?: Partial<AdaptiveWeights>): void {
    const weights = adaptiveWeights === undefined ? this.options.adaptiveWeights : { ...this.options.adaptiveWeights, ...adaptiveWeights };
    this.options = resolveRouterOptions({ ...this.options, strategy, adaptiveWeights: weights });
    this.strategy = createStrategy(this.options);
    this.dirty = true;
  }

  /** The load-balancer counters (live, read-only). */
  get stats(): Readonly<RouterStats> {
    return this.counters;
  }

  /** The node id for `request` at `nowMs`; throws NoEligibleNodeError when no node is alive. */
  route(request: RouteRequest, nowMs: number): string {
    const bucket = Math.floor(nowMs / this.hotspot.bucketMs);
    if (bucket !== this.lastBucket) {
      this.lastBucket = bucket;
      this.tick(nowMs);
    }
    if (this.dirty) this.rebuild();
    if (this.eligible.length === 0) {
      this.counters.failures++;
      let unavailable = 0;
      for (const n of this.nodes.values()) if (n.state !== 'alive') unavailable++;
      throw new NoEligibleNodeError(this.nodes.size, unavailable);
    }
    let node: NodeEntry;
    const session = request.session;
    if (session !== undefined && this.affinity !== null) {
      const bound = this.affinity.lookup(session, nowMs);
      if (bound !== undefined && bound.state === 'alive' && !bound.removed) {
        node = bound;
        this.counters.affinityHits++;
      } else {
        node = this.choose(request);
        this.affinity.bind(session, node, nowMs);
        if (bound !== undefined) this.counters.affinityMoves++;
      }
    } else {
      node = this.choose(request);
    }
    if (node.counter.record(nowMs)) this.hotChanged(node);
    const s = this.counters;
    s.routed++;
    if (this.options.datacenter !== '') {
      if (node.datacenter === this.options.datacenter) s.localityHits++;
      else s.crossDcRoutes++;
    }
    return node.id;
  }

  /**
   * Re-reads the rate of hot nodes (they may cool without traffic) and drops
   * expired sessions; route() does this once per hotspot bucket by itself.
   */
  tick(nowMs: number): void {
    if (this.hotCount > 0) for (const n of this.nodes.values()) if (n.hot && n.counter.evaluate(nowMs)) this.hotChanged(n);
    this.affinity?.sweep(nowMs);
  }

  /** Adds a node or updates its state and metadata. */
  setNode(id: string, input: RouteNodeInput): void {
    validateInput(id, input);
    const existing = this.nodes.get(id);
    if (existing === undefined) {
      if (this.nodes.size >= this.options.maxNodes) throw new InvalidConfigError('maxNodes', `the router already tracks ${this.options.maxNodes} nodes`);
      this.nodes.set(id, new NodeEntry(id, input, this.hotspot));
      this.dirty = true;
      return;
    }
    const datacenter = input.datacenter ?? existing.datacenter;
    const rack = input.rack ?? existing.rack;
    const weight = input.weight ?? existing.weight;
    if (input.state !== existing.state || datacenter !== existing.datacenter || rack !== existing.rack || weight !== existing.weight) this.dirty = true;
    existing.state = input.state;
    existing.datacenter = datacenter;
    existing.rack = rack;
    existing.weight = weight;
    if (input.tags !== undefined) existing.tags = input.tags;
  }

  /** Changes only a node's state; false when the node is unknown. */
  setState(id: string, state: NodeState): boolean {
    const n = this.nodes.get(id);
    if (n === undefined) return false;
    if (n.state !== state) {
      n.state = state;
      this.dirty = true;
    }
    return true;
  }

  /** Forgets a node (it left or was reaped); sessions bound to it move on their next request. */
  removeNode(id: string): boolean {
    const n = this.nodes.get(id);
    if (n === undefined) return false;
    n.removed = true;
    n.state = 'dead';
    if (n.hot) this.hotCount--;
    this.nodes.delete(id);
    this.dirty = true;
    return true;
  }

  /** Applies membership events: joins and updates set a node from its gossiped metadata, left removes it. */
  applyMembership(events: readonly SwimEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'member-joined':
        case 'member-alive':
        case 'member-updated':
        case 'member-suspected':
        case 'member-dead':
          this.setNode(e.member.name, routeNodeInputOf(e.member));
          break;
        case 'member-left':
          this.removeNode(e.member.name);
          break;
        default:
          break;
      }
    }
  }

  /** One more request or connection in flight to `id`. */
  acquire(id: string): void {
    const n = this.nodes.get(id);
    if (n === undefined) return;
    n.connections++;
    this.strategy.metricsChanged();
  }

  /** One request or connection to `id` finished. */
  release(id: string): void {
    const n = this.nodes.get(id);
    if (n === undefined || n.connections === 0) return;
    n.connections--;
    this.strategy.metricsChanged();
  }

  setConnections(id: string, connections: number): void {
    this.metric(id, 'connections', connections);
  }

  /** The latency estimate in ms (a measured average, or a Vivaldi distance). */
  setLatency(id: string, latencyMs: number): void {
    this.metric(id, 'latencyMs', latencyMs);
  }

  /** The node's resource use in [0, 1]. */
  setResourceUse(id: string, fraction: number): void {
    this.metric(id, 'resourceUse', fraction);
  }

  /** Requests per second routed to `id` over the hotspot window; 0 when unknown. */
  qps(id: string, nowMs: number): number {
    return this.nodes.get(id)?.counter.qps(nowMs) ?? 0;
  }

  /** True while `id` is hot. */
  isHot(id: string): boolean {
    return this.nodes.get(id)?.hot ?? false;
  }

  /** The ids of the nodes route() may return now (alive), in no particular order. */
  eligibleIds(): string[] {
    if (this.dirty) this.rebuild();
    return this.eligible.map((n) => n.id);
  }

  /** The node's state, or undefined when unknown. */
  stateOf(id: string): NodeState | undefined {
    return this.nodes.get(id)?.state;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Sticky sessions held. */
  get sessions(): number {
    return this.affinity?.size ?? 0;
  }

  /** Ends a sticky session. */
  /** Binds a session to a node (a session that moved, e.g. on failover); false when the node is unknown or affinity is off. */
  bindSession(session: string, id: string, nowMs: number): boolean {
    const node = this.nodes.get(id);
    if (node === undefined || this.affinity === null) return false;
    this.affinity.bind(session, node, nowMs);
    return true;
  }

  /** The node a session is bound to, if any and still alive. */
  sessionNode(session: string, nowMs: number): string | undefined {
    const bound = this.affinity?.lookup(session, nowMs);
    return bound === undefined || bound.removed ? undefined : bound.id;
  }

  endSession(session: string): boolean {
    return this.affinity?.unbind(session) ?? false;
  }

  private choose(request: RouteRequest): NodeEntry {
    const key = request.key;
    if (key !== undefined) return this.rendezvous.pick(this.preferred, key) as NodeEntry;
    return this.strategy.pick(this.preferred) as NodeEntry;
  }

  private hotChanged(node: NodeEntry): void {
    node.hot = node.counter.hot;
    if (node.hot) {
      this.hotCount++;
      this.counters.hotspots++;
    } else {
      this.hotCount--;
    }
    this.dirty = true;
  }

  private rebuild(): void {
    const eligible: NodeEntry[] = [];
    const cool: NodeEntry[] = [];
    for (const n of this.nodes.values()) {
      if (n.state !== 'alive') continue;
      eligible.push(n);
      if (!n.hot) cool.push(n);
    }
    this.eligible = eligible;
    this.preferred = cool.length > 0 ? cool : eligible;
    this.strategy.reset(this.preferred);
    this.rendezvous.reset(this.preferred);
    this.dirty = false;
    this.counters.rebalances++;
  }

  private metric(id: string, field: 'connections' | 'latencyMs' | 'resourceUse', value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${field} must be a finite number >= 0, got ${String(value)}`);
    const n = this.nodes.get(id);
    if (n === undefined || n[field] === value) return;
    n[field] = value;
    this.strategy.metricsChanged();
  }
}

function createStrategy(o: RouterOptions): Strategy {
  switch (o.strategy) {
    case 'round-robin':
      return new RoundRobin();
    case 'least-connections':
      return new LeastConnections();
    case 'weighted-round-robin':
      return new WeightedRoundRobin();
    case 'locality':
      return new Locality(o.datacenter, o.rack);
    case 'adaptive':
      return new Adaptive(o.adaptiveWeights, o.datacenter, o.rack);
  }
}

function validateInput(id: string, input: RouteNodeInput): void {
  if (typeof id !== 'string' || id === '') throw new RangeError('a node id must be a non-empty string');
  if (input.state !== 'alive' && input.state !== 'suspect' && input.state !== 'dead') throw new RangeError(`node ${id}: unknown state ${String(input.state)}`);
  const w = input.weight;
  if (w !== undefined && (typeof w !== 'number' || !Number.isFinite(w) || w <= 0)) throw new RangeError(`node ${id}: weight must be a finite number above 0, got ${String(w)}`);
}
