// SWIM membership with Lifeguard: the pure core and what sits on it.
export { Swim, BROADCAST_DEDUP_MS, type SwimDeps } from './swim.js';
export type { SwimEvent, SwimStep } from './events.js';
export { Presets, resolveSwimOptions, DEFAULT_PORT, type SwimOptions, type SwimOptionsInput, type SwimTuning, type PresetName } from './options.js';
export { MemberState, messageBytes, type Channel, type Send, type SwimMessage, type MemberRecord, type SwimUpdate, type SwimBroadcast } from './messages.js';
export { addressOf, type LocalState, type MemberView } from './member.js';
export { MemberDirectory, type Endpoint } from './member-directory.js';
export { PeerRegistry, type PeerEntry, type PeerHealth, type ClusterStatus } from './peer-registry.js';
export { encodeNodeMeta, decodeNodeMeta, type NodeMeta } from './node-meta.js';
export { suspicionTimeoutMs } from './suspicion.js';
export type { Random } from './random.js';
export { UdpMembership, type UdpMembershipOptions, type UdpMembershipStats } from './udp-membership.js';
export { Keyring, KEY_BYTES } from './keyring.js';
export { PacketCodec, PacketError, encodeSwimMessage, type PacketProblem } from './packet-codec.js';
