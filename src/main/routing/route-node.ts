// A candidate node as the router sees it: its membership state, its place
// (datacenter, rack), its weight and the load figures the strategies read.
// The router owns these records and mutates them in place when membership or
// metrics change, so a strategy reads plain fields on the hot path.
import { decodeNodeMeta, type NodeMeta } from '../membership/node-meta.js';
import type { MemberView } from '../membership/member.js';

/** What membership says about a node; only 'alive' nodes are ever routed to. */
export type NodeState = 'alive' | 'suspect' | 'dead';

/** What the caller tells the router about a node (setNode). */
export interface RouteNodeInput {
  readonly state: NodeState;
  readonly datacenter?: string;
  readonly rack?: string;
  /** Relative share of traffic for weighted strategies and weighted rendezvous; > 0, default 1. */
  readonly weight?: number;
  readonly tags?: Readonly<Record<string, string>>;
}

export class RouteNode {
  state: NodeState;
  datacenter: string;
  rack: string;
  weight: number;
  tags: Readonly<Record<string, string>>;
  /** Requests or connections in flight to the node (acquire/release or setConnections). */
  connections = 0;
  /** Latency estimate in ms (measured average or Vivaldi distance); 0 = unknown. */
  latencyMs = 0;
  /** Resource use in [0, 1] (CPU, memory: whatever the node reports); 0 = unknown. */
  resourceUse = 0;
  /** True while the hotspot detector counts the node above its threshold. */
  hot = false;
  /** Rendezvous seed: the 64-bit hash of the id as two 32-bit halves. */
  seedHi = 0;
  seedLo = 0;
  /** Smooth weighted round-robin's running weight (weighted-round-robin.ts, adaptive.ts). */
  current = 0;
  /** Adaptive strategy's weight, recomputed when metrics change. */
  effective = 1;

  constructor(
    readonly id: string,
    input: RouteNodeInput,
  ) {
    this.state = input.state;
    this.datacenter = input.datacenter ?? '';
    this.rack = input.rack ?? '';
    this.weight = input.weight ?? 1;
    this.tags = input.tags ?? {};
  }
}

/**
 * The router input for a member as membership reports it. Metadata comes from
 * the gossiped NodeMeta; capacity becomes the weight (capacity 0, "not set",
 * counts as 1). A member that left should be removed rather than set.
 */
export function routeNodeInputOf(member: MemberView): RouteNodeInput {
  const meta: NodeMeta | null = decodeNodeMeta(member.meta);
  const state: NodeState = member.state === 'alive' ? 'alive' : member.state === 'suspect' ? 'suspect' : 'dead';
  return {
    state,
    datacenter: meta?.datacenter ?? '',
    rack: meta?.rack ?? '',
    weight: meta !== null && meta.capacity > 0 ? meta.capacity : 1,
    tags: meta?.tags ?? {},
  };
}
