// Members as a ClusterNode shows them: the membership view plus the decoded
// metadata, with the node's data address taken from the reserved tag its
// gossiped metadata carries (a member's gossip and data listeners are two
// ports on one host).
import { decodeNodeMeta, encodeNodeMeta } from '../membership/node-meta.js';
import type { LocalState, MemberView } from '../membership/member.js';
import { DATA_PORT_TAG, RESERVED_TAG_PREFIX, type NodeMetadata } from './options.js';

export type MemberState = Exclude<LocalState, 'joining'>;

export interface ClusterMember {
  readonly nodeId: string;
  readonly state: MemberState;
  readonly incarnation: number;
  /** host:port of its gossip (UDP and TCP). */
  readonly gossipAddress: string;
  readonly host: string;
  /** Its data (messaging) port, or 0 when its metadata does not say (not a ClusterNode). */
  readonly dataPort: number;
  readonly datacenter: string;
  readonly rack: string;
  readonly capacity: number;
  /** Application tags (the reserved cw.* tags removed). */
  readonly tags: Readonly<Record<string, string>>;
  /** When this node saw its state last change (performance.now() clock). */
  readonly since: number;
  readonly self: boolean;
}

/** The metadata bytes a ClusterNode gossips: the application's, plus its data port. */
export function encodeMemberMeta(metadata: Required<NodeMetadata>, dataPort: number): Uint8Array {
  return encodeNodeMeta({ ...metadata, tags: { ...metadata.tags, [DATA_PORT_TAG]: String(dataPort) } });
}

export function clusterMember(view: MemberView, self: string): ClusterMember {
  const meta = decodeNodeMeta(view.meta);
  const tags: Record<string, string> = {};
  let dataPort = 0;
  if (meta !== null) {
    for (const [k, v] of Object.entries(meta.tags)) {
      if (!k.startsWith(RESERVED_TAG_PREFIX)) tags[k] = v;
      else if (k === DATA_PORT_TAG && /^[1-9][0-9]{0,4}$/.test(v) && Number(v) <= 65_535) dataPort = Number(v);
    }
  }
  return Object.freeze({
    nodeId: view.name,
    state: view.state === 'joining' ? 'alive' : view.state,
    incarnation: view.incarnation,
    gossipAddress: view.address,
    host: view.host,
    dataPort,
    datacenter: meta?.datacenter ?? '',
    rack: meta?.rack ?? '',
    capacity: meta?.capacity ?? 0,
    tags: Object.freeze(tags),
    since: view.since,
    self: view.name === self,
  });
}
