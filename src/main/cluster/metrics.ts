// A ClusterNode's metrics: one snapshot in the categories of DESIGN.md
// (topology, communication, load balancer, health) and the same values as a
// Prometheus exposition through a prom-client Registry of the node's own, so
// several nodes in one process never share series and an application can
// merge the registry into its own (prom-client's Registry.merge).
//
// The hot paths only bump plain counters (ClusterCounters); prom-client reads
// them when scraped, through one snapshot cached for a scrape's duration.
// The failover category: failovers, transaction recoveries, session
// migrations, rolling restarts, elections and the term.
import { Counter, Gauge, Registry } from 'prom-client';

export interface TopologyMetrics {
  readonly members: number;
  readonly alive: number;
  readonly suspect: number;
  readonly failed: number;
  readonly pingsSent: number;
  readonly pingReqsSent: number;
  readonly acksReceived: number;
  readonly nacksReceived: number;
  /** Probes that got no ack, directly or through helpers. */
  readonly failedProbes: number;
  readonly suspicions: number;
  readonly gossipSent: number;
  readonly gossipReceived: number;
  /** Joins, failures, leaves and recoveries seen. */
  readonly topologyChanges: number;
  readonly partitionsDetected: number;
  /** Gossip packets dropped because they failed to open or parse. */
  readonly packetsDropped: number;
}

export interface CommunicationMetrics {
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly connectionErrors: number;
  readonly activeConnections: number;
  readonly failedSends: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly broadcasts: number;
  readonly gossipBytesSent: number;
  readonly gossipBytesReceived: number;
}

export interface LoadBalancerMetrics {
  readonly routed: number;
  readonly routingFailures: number;
  readonly localityHits: number;
  readonly crossDcRoutes: number;
  readonly affinityHits: number;
  readonly hotspots: number;
  readonly rebalances: number;
}

export interface HealthMetrics {
  readonly checks: number;
  readonly failedChecks: number;
  /** Round trips of the data connections' heartbeats, over every peer. */
  readonly latencyAvgMs: number;
  readonly latencyP99Ms: number;
  /** Share of membership probes of peers that got no ack. */
  readonly lossRate: number;
  /** Data bytes in and out per second, averaged since the previous snapshot. */
  readonly bandwidthBytesPerSec: number;
  /** Lifeguard local health score (0 = healthy). */
  readonly localHealthScore: number;
}

/** Failovers, session moves, rolling restarts, elections and the current term. */
export interface FailoverMetrics {
  /** Failovers of failed members this node has seen completed. */
  readonly failoverEvents: number;
  /** Transactions of failed coordinators this node finished as leader. */
  readonly transactionRecoveries: number;
  /** Sessions this node saw move to another owner. */
  readonly sessionMigrations: number;
  /** Rolling restarts this node ran (as leader) to the end. */
  readonly rollingRestarts: number;
  /** Leaders this node has seen elected. */
  readonly leaderElections: number;
  readonly term: number;
  readonly isLeader: boolean;
}

export interface ClusterMetrics {
  readonly topology: TopologyMetrics;
  readonly failover: FailoverMetrics;
  readonly communication: CommunicationMetrics;
  readonly loadBalancer: LoadBalancerMetrics;
  readonly health: HealthMetrics;
}

/** Counters the node bumps on its own paths. */
export class ClusterCounters {
  suspicions = 0;
  topologyChanges = 0;
  partitionsDetected = 0;
  failedSends = 0;
  requests = 0;
  failedRequests = 0;
  broadcasts = 0;
  healthChecks = 0;
  failedHealthChecks = 0;
  leaderElections = 0;
  failovers = 0;
  transactionRecoveries = 0;
  sessionMigrations = 0;
  rollingRestarts = 0;
  /** Connection totals of connections that have closed (open ones are read live). */
  closedMessagesIn = 0;
  closedMessagesOut = 0;
  closedBytesIn = 0;
  closedBytesOut = 0;
  connectionErrors = 0;
}

type Leaf = [name: string, help: string, kind: 'counter' | 'gauge', read: (m: ClusterMetrics) => number];

const LEAVES: readonly Leaf[] = [
  ['members', 'Members known, this node included', 'gauge', (m) => m.topology.members],
  ['members_alive', 'Members alive, this node included', 'gauge', (m) => m.topology.alive],
  ['members_suspect', 'Members suspected', 'gauge', (m) => m.topology.suspect],
  ['members_failed', 'Members declared dead', 'gauge', (m) => m.topology.failed],
  ['pings_sent_total', 'Membership probes sent', 'counter', (m) => m.topology.pingsSent],
  ['ping_reqs_sent_total', 'Indirect probe requests sent', 'counter', (m) => m.topology.pingReqsSent],
  ['acks_received_total', 'Probe acks received', 'counter', (m) => m.topology.acksReceived],
  ['nacks_received_total', 'Probe nacks received (Lifeguard)', 'counter', (m) => m.topology.nacksReceived],
  ['probes_failed_total', 'Probes that got no ack', 'counter', (m) => m.topology.failedProbes],
  ['suspicions_total', 'Members this node saw suspected', 'counter', (m) => m.topology.suspicions],
  ['gossip_sent_total', 'Gossip messages sent', 'counter', (m) => m.topology.gossipSent],
  ['gossip_received_total', 'Gossip messages received', 'counter', (m) => m.topology.gossipReceived],
  ['topology_changes_total', 'Joins, failures, leaves and recoveries seen', 'counter', (m) => m.topology.topologyChanges],
  ['partitions_detected_total', 'Times a majority became unreachable', 'counter', (m) => m.topology.partitionsDetected],
  ['gossip_packets_dropped_total', 'Gossip packets that failed to open or parse', 'counter', (m) => m.topology.packetsDropped],
  ['messages_sent_total', 'Data messages sent', 'counter', (m) => m.communication.messagesSent],
  ['messages_received_total', 'Data messages received', 'counter', (m) => m.communication.messagesReceived],
  ['bytes_sent_total', 'Data bytes sent', 'counter', (m) => m.communication.bytesSent],
  ['bytes_received_total', 'Data bytes received', 'counter', (m) => m.communication.bytesReceived],
  ['gossip_bytes_sent_total', 'Gossip bytes sent', 'counter', (m) => m.communication.gossipBytesSent],
  ['gossip_bytes_received_total', 'Gossip bytes received', 'counter', (m) => m.communication.gossipBytesReceived],
  ['connection_errors_total', 'Data connections that ended with an error', 'counter', (m) => m.communication.connectionErrors],
  ['connections_active', 'Data connections open', 'gauge', (m) => m.communication.activeConnections],
  ['sends_failed_total', 'One-way sends that failed', 'counter', (m) => m.communication.failedSends],
  ['requests_total', 'Requests made', 'counter', (m) => m.communication.requests],
  ['requests_failed_total', 'Requests that failed', 'counter', (m) => m.communication.failedRequests],
  ['broadcasts_total', 'Broadcasts made', 'counter', (m) => m.communication.broadcasts],
  ['routed_total', 'Requests routed', 'counter', (m) => m.loadBalancer.routed],
  ['routing_failures_total', 'Routings with no eligible node', 'counter', (m) => m.loadBalancer.routingFailures],
  ['routing_locality_hits_total', 'Routes to the own datacenter', 'counter', (m) => m.loadBalancer.localityHits],
  ['routing_cross_dc_total', 'Routes to another datacenter', 'counter', (m) => m.loadBalancer.crossDcRoutes],
  ['routing_affinity_hits_total', 'Routes that kept a sticky session', 'counter', (m) => m.loadBalancer.affinityHits],
  ['routing_hotspots_total', 'Nodes turning hot', 'counter', (m) => m.loadBalancer.hotspots],
  ['routing_rebalances_total', 'Rebuilds of the candidate set', 'counter', (m) => m.loadBalancer.rebalances],
  ['failovers_total', 'Failovers of failed members completed', 'counter', (m) => m.failover.failoverEvents],
  ['transaction_recoveries_total', 'Transactions of failed coordinators finished as leader', 'counter', (m) => m.failover.transactionRecoveries],
  ['session_migrations_total', 'Sessions seen moving to another owner', 'counter', (m) => m.failover.sessionMigrations],
  ['rolling_restarts_total', 'Rolling restarts run to the end', 'counter', (m) => m.failover.rollingRestarts],
  ['leader_elections_total', 'Leaders this node has seen elected', 'counter', (m) => m.failover.leaderElections],
  ['raft_term', 'Current Raft term', 'gauge', (m) => m.failover.term],
  ['is_leader', '1 while this node is the Raft leader', 'gauge', (m) => (m.failover.isLeader ? 1 : 0)],
  ['health_checks_total', 'Health checks run', 'counter', (m) => m.health.checks],
  ['health_checks_failed_total', 'Health checks that found the node unhealthy', 'counter', (m) => m.health.failedChecks],
  ['latency_avg_ms', 'Average heartbeat round trip over peers', 'gauge', (m) => m.health.latencyAvgMs],
  ['latency_p99_ms', 'p99 heartbeat round trip over peers', 'gauge', (m) => m.health.latencyP99Ms],
  ['probe_loss_ratio', 'Share of probes that got no ack', 'gauge', (m) => m.health.lossRate],
  ['bandwidth_bytes_per_second', 'Data bytes in and out per second', 'gauge', (m) => m.health.bandwidthBytesPerSec],
  ['local_health_score', 'Lifeguard local health score (0 = healthy)', 'gauge', (m) => m.health.localHealthScore],
];

/** A prom-client Registry whose series read `snapshot()` when scraped, labelled with the node and cluster. */
export function metricsRegistry(snapshot: () => ClusterMetrics, labels: { node: string; cluster: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  let cached: ClusterMetrics | null = null;
  let cachedAt = -Infinity;
  const read = (): ClusterMetrics => {
    const now = performance.now();
    if (cached === null || now - cachedAt > 100) {
      cached = snapshot();
      cachedAt = now;
    }
    return cached;
  };
  for (const [name, help, kind, pick] of LEAVES) {
    const full = `clusterwire_${name}`;
    if (kind === 'counter') {
      new Counter({
        name: full,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(pick(read()));
        },
      });
    } else {
      new Gauge({
        name: full,
        help,
        registers: [registry],
        collect() {
          const v = pick(read());
          this.set(Number.isFinite(v) ? v : 0);
        },
      });
    }
  }
  return registry;
}
