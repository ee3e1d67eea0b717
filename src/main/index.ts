// The public entry point: `import { ... } from 'clusterwire'`.
export * from '../shared/errors.js';
export {
  decodeFrame,
  encodeFrame,
  frameLength,
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_TRAILER_BYTES,
  FRAME_VERSION,
  type Frame,
  type FrameCheckOptions,
  type FrameEncodeOptions,
} from '../shared/frame.js';
export { FrameDecoder, type FrameDecoderOptions } from '../shared/frame-decoder.js';
export { CompressionId, type CompressionName } from '../shared/compression.js';
export { crc32 } from '../shared/crc32.js';
export {
  BodyType,
  decodeMessage,
  encodeEnvelope,
  encodeMessage,
  envelopeView,
  FrameEncoder,
  readEnvelope,
  verifyEnvelope,
  type BodyName,
  type BodyOf,
  type BodyValue,
  type Envelope,
  type FrameEncoderOptions,
  type Header,
} from '../shared/envelope/index.js';
export { Priority } from '../shared/schema/generated/clusterwire/wire/priority.js';
export { Messenger, type Incoming, type TopicHandler, type RequestOptions, type MessengerOptionsInput, type MessengerHandlers, type PeerEvent } from './transport/messenger.js';
export { Transport, nodeNumber, type TransportOptionsInput, type TlsOptions } from './transport/transport.js';
export { Connection, type ConnectionState, type ConnectionCounters, type SendOptions } from './transport/connection.js';
export { ConnectionPool, type PoolOptions, type PoolStrategy } from './transport/connection-pool.js';
export { resolveConnectionOptions, CONNECTION_DEFAULTS, type ConnectionOptions } from './transport/connection-options.js';
export {
  ClusterNode,
  type ClusterMessage,
  type ClusterHandler,
  type ClusterSendOptions,
  type ClusterRequestOptions,
  type BroadcastOptions,
  type BroadcastResult,
  type HealthReport,
  type RollingRestartOptions,
  type RollingRestartReport,
  type RollingRestartStep,
} from './cluster/cluster-node.js';
export type { ClusterEvent, ClusterEventType, ClusterEventMap, IteratedEvent } from './cluster/events.js';
export type { ClusterMember, MemberState } from './cluster/members.js';
export type { LeaderInfo, LeadershipOptionsInput } from './cluster/leadership.js';
export type { ClusterMetrics, FailoverMetrics, TopologyMetrics, CommunicationMetrics, LoadBalancerMetrics, HealthMetrics } from './cluster/metrics.js';
export { resolveClusterNodeOptions, type ClusterNodeOptionsInput, type ClusterNodeOptions, type NodeMetadata, type ClusterLimitsInput } from './cluster/options.js';
export type { ClusterStatus } from './membership/peer-registry.js';
export type { RouteRequest } from './routing/router.js';
export type { StrategyName } from './routing/strategy.js';
export { StaticSeeds, DnsSeeds, FileSeeds, type SeedSource } from './discovery/index.js';
export * from './transfer/index.js';
