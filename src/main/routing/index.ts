// Routing: which node takes a request (router.ts and its strategies).
export { Router, type RouteRequest, type RouterStats } from './router.js';
export {
  resolveRouterOptions,
  DEFAULT_AFFINITY_TIMEOUT_MS,
  DEFAULT_HOTSPOT_BUCKET_MS,
  DEFAULT_HOTSPOT_COOL_RATIO,
  DEFAULT_HOTSPOT_THRESHOLD_QPS,
  DEFAULT_HOTSPOT_WINDOW_MS,
  DEFAULT_MAX_AFFINITY_SESSIONS,
  DEFAULT_MAX_NODES,
  DEFAULT_STRATEGY,
  type RouterOptions,
  type RouterOptionsInput,
} from './router-options.js';
export { RouteNode, routeNodeInputOf, type NodeState, type RouteNodeInput } from './route-node.js';
export { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy.js';
export { RoundRobin } from './round-robin.js';
export { LeastConnections } from './least-connections.js';
export { WeightedRoundRobin, smoothWeightedPick } from './weighted-round-robin.js';
export { Locality, localityTier } from './locality.js';
export { Adaptive, adaptiveCost, DEFAULT_ADAPTIVE_WEIGHTS, MIN_SHARE, type AdaptiveWeights } from './adaptive.js';
export { Rendezvous, rendezvousScore, seedNode } from './rendezvous.js';
export { hashString, hashOut, mixUnit } from './key-hash.js';
export { QpsCounter, type HotspotSettings } from './hotspot.js';
export { AffinityTable } from './affinity.js';
