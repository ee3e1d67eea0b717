// The registry view on top of membership: per peer a health of Healthy,
// Suspected or Down with counters (missed probes, bytes in and out, last
// seen), and the cluster status (totals, degraded, quorum available). Fed
// with the core's events and, by the transport adapter, with traffic counts.
import type { SwimEvent } from './events.js';
import type { MemberView } from './member.js';

export type PeerHealth = 'healthy' | 'suspected' | 'down';

export interface PeerEntry {
  readonly name: string;
  readonly address: string;
  readonly health: PeerHealth;
  readonly incarnation: number;
  readonly meta: Uint8Array;
  /** Probes of this peer that got no ack (directly or through helpers). */
  readonly missedProbes: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** When traffic from this peer was last seen (caller's clock), or -1. */
  readonly lastSeen: number;
  /** When its health last changed. */
  readonly since: number;
}

export interface ClusterStatus {
  /** Members counted, this node included (left members are not). */
  readonly total: number;
  readonly healthy: number;
  readonly suspected: number;
  readonly down: number;
  /** True when any member is suspected or down. */
  readonly degraded: boolean;
  /** True when more than half of the members are healthy. */
  readonly quorumAvailable: boolean;
}

interface MutablePeer {
  name: string;
  address: string;
  health: PeerHealth;
  incarnation: number;
  meta: Uint8Array;
  missedProbes: number;
  bytesIn: number;
  bytesOut: number;
  lastSeen: number;
  since: number;
}

export class PeerRegistry {
  private readonly peers = new Map<string, MutablePeer>();

  /** Applies membership events (`now` on the caller's clock). */
  apply(events: readonly SwimEvent[], now: number): void {
    for (const e of events) {
      switch (e.type) {
        case 'member-joined':
        case 'member-alive':
        case 'member-updated':
          this.set(e.member, e.member.state === 'suspect' ? 'suspected' : 'healthy', now);
          break;
        case 'member-suspected':
          this.set(e.member, 'suspected', now);
          break;
        case 'member-dead':
          this.set(e.member, 'down', now);
          break;
        case 'member-left':
          this.peers.delete(e.member.name);
          break;
        case 'probe-failed': {
          const p = this.peers.get(e.node);
          if (p !== undefined) p.missedProbes++;
          break;
        }
        default:
          break;
      }
    }
  }

  /** Counts bytes received from `name` and marks it seen. */
  recordIn(name: string, bytes: number, now: number): void {
    const p = this.peers.get(name);
    if (p === undefined) return;
    p.bytesIn += bytes;
    p.lastSeen = now;
  }

  recordOut(name: string, bytes: number): void {
    const p = this.peers.get(name);
    if (p !== undefined) p.bytesOut += bytes;
  }

  get(name: string): PeerEntry | undefined {
    const p = this.peers.get(name);
    return p === undefined ? undefined : { ...p };
  }

  list(): PeerEntry[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }

  /** Cluster status, counting this node as one healthy member. */
  status(): ClusterStatus {
    let healthy = 1;
    let suspected = 0;
    let down = 0;
    for (const p of this.peers.values()) {
      if (p.health === 'healthy') healthy++;
      else if (p.health === 'suspected') suspected++;
      else down++;
    }
    const total = healthy + suspected + down;
    return { total, healthy, suspected, down, degraded: suspected + down > 0, quorumAvailable: healthy * 2 > total };
  }

  private set(m: MemberView, health: PeerHealth, now: number): void {
    let p = this.peers.get(m.name);
    if (p === undefined) {
      p = { name: m.name, address: m.address, health, incarnation: m.incarnation, meta: m.meta, missedProbes: 0, bytesIn: 0, bytesOut: 0, lastSeen: -1, since: now };
      this.peers.set(m.name, p);
      return;
    }
    if (p.health !== health) p.since = now;
    p.health = health;
    p.address = m.address;
    p.incarnation = m.incarnation;
    p.meta = m.meta;
  }
}
