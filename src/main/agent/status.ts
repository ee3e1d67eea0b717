// What an agent reports at /status: the node, its view of the members (state,
// incarnation, datacenter, RTT), the leader and term, traffic rates and the
// last minute of request latency. One JSON document, also what the status page
// and `clusterwire members` read.
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { ClusterStatus } from '../membership/peer-registry.js';
import type { BroadcastStats } from './broadcast-probe.js';
import type { TrafficStats } from './traffic.js';

export interface MemberStatus {
  readonly nodeId: string;
  readonly state: string;
  readonly incarnation: number;
  readonly datacenter: string;
  readonly rack: string;
  readonly gossipAddress: string;
  readonly dataPort: number;
  /** Average heartbeat round trip, ms (null before the first sample or for this node). */
  readonly rttMs: number | null;
  readonly self: boolean;
}

export interface AgentStatus {
  readonly node: string;
  readonly cluster: string;
  readonly pid: number;
  readonly uptimeSec: number;
  readonly time: number;
  readonly leader: { readonly nodeId: string; readonly term: number } | null;
  readonly isLeader: boolean;
  readonly status: ClusterStatus;
  readonly health: { readonly status: string; readonly reasons: readonly string[] };
  readonly members: readonly MemberStatus[];
  readonly rates: {
    readonly messagesInPerSec: number;
    readonly messagesOutPerSec: number;
    readonly bytesInPerSec: number;
    readonly bytesOutPerSec: number;
  };
  readonly traffic: TrafficStats;
  /** Probe broadcasts sent and received (--broadcast-every); null when the agent does not record them. */
  readonly broadcasts: BroadcastStats | null;
}

/** Keeps the previous counters so that each report carries rates over the interval since the last one. */
export class StatusReporter {
  private previous = { at: performance.now(), messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  private readonly started = performance.now();

  constructor(
    private readonly node: ClusterNode,
    private readonly traffic: () => TrafficStats,
    private readonly broadcasts: () => BroadcastStats | null = () => null,
  ) {}

  report(): AgentStatus {
    const node = this.node;
    const metrics = node.metrics().communication;
    const now = performance.now();
    const p = this.previous;
    const seconds = Math.max(0.001, (now - p.at) / 1000);
    const rate = (current: number, before: number): number => Math.max(0, (current - before) / seconds);
    const rates = {
      messagesInPerSec: rate(metrics.messagesReceived, p.messagesIn),
      messagesOutPerSec: rate(metrics.messagesSent, p.messagesOut),
      bytesInPerSec: rate(metrics.bytesReceived, p.bytesIn),
      bytesOutPerSec: rate(metrics.bytesSent, p.bytesOut),
    };
    if (now - p.at >= 500) {
      this.previous = { at: now, messagesIn: metrics.messagesReceived, messagesOut: metrics.messagesSent, bytesIn: metrics.bytesReceived, bytesOut: metrics.bytesSent };
    }
    const health = node.health();
    const members: MemberStatus[] = node
      .members()
      .map((m) => {
        const q = health.peers[m.nodeId];
        return {
          nodeId: m.nodeId,
          state: m.state,
          incarnation: m.incarnation,
          datacenter: m.datacenter,
          rack: m.rack,
          gossipAddress: m.gossipAddress,
          dataPort: m.dataPort,
          rttMs: q !== undefined && q.samples > 0 ? q.averageMs : null,
          self: m.self,
        };
      })
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    return {
      node: node.id,
      cluster: node.options.cluster,
      pid: process.pid,
      uptimeSec: (now - this.started) / 1000,
      time: Date.now(),
      leader: node.leader(),
      isLeader: node.isLeader,
      status: node.status(),
      health: { status: health.status, reasons: health.reasons },
      members,
      rates,
      traffic: this.traffic(),
      broadcasts: this.broadcasts(),
    };
  }
}
