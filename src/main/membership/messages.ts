// The messages the SWIM core sends and receives. They are the wire schema's
// own plain-object bodies (schema/clusterwire.fbs: SwimPing, SwimPingReq,
// SwimAck, SwimNack, SwimGossip, SwimPushPull), tagged with their Body union
// name, so a transport adapter hands them to the envelope codec as they are.
import type { BodyValue, MemberRecord, SwimBroadcast, SwimUpdate } from '../../shared/schema/layout.js';
import { MemberState } from '../../shared/schema/generated/clusterwire/wire/member-state.js';

export { MemberState };
export type { MemberRecord, SwimBroadcast, SwimUpdate };

export type SwimMessageType = 'SwimPing' | 'SwimPingReq' | 'SwimAck' | 'SwimNack' | 'SwimGossip' | 'SwimPushPull';
export type SwimMessage = Extract<BodyValue, { type: SwimMessageType }>;
export type PingMessage = Extract<SwimMessage, { type: 'SwimPing' }>;
export type PingReqMessage = Extract<SwimMessage, { type: 'SwimPingReq' }>;
export type AckMessage = Extract<SwimMessage, { type: 'SwimAck' }>;
export type NackMessage = Extract<SwimMessage, { type: 'SwimNack' }>;
export type GossipMessage = Extract<SwimMessage, { type: 'SwimGossip' }>;
export type PushPullMessage = Extract<SwimMessage, { type: 'SwimPushPull' }>;

/** How a message travels: a datagram (may be lost) or a stream (TCP: retried, ordered). */
export type Channel = 'packet' | 'stream';

/** A message the caller must deliver to `to` ("host:port"). */
export interface Send {
  readonly to: string;
  readonly message: SwimMessage;
  readonly channel: Channel;
}

export const EMPTY_BYTES = new Uint8Array(0);

// Encoded sizes, close to what the FlatBuffers codec writes (a vtable, the
// inline fields, 4-byte aligned strings and vectors). Used for the piggyback
// budget and for the simulator's byte counts.

/** Frame header + trailer + envelope header struct + union bookkeeping. */
export const ENVELOPE_OVERHEAD_BYTES = 14 + 4 + 56;

function stringBytes(s: string): number {
  return s.length === 0 ? 0 : ((s.length + 8) & ~3);
}

function bytesBytes(b: Uint8Array): number {
  return b.length === 0 ? 0 : ((b.length + 7) & ~3);
}

export function updateBytes(u: SwimUpdate): number {
  return 40 + stringBytes(u.node) + stringBytes(u.from) + stringBytes(u.host) + bytesBytes(u.meta);
}

export function broadcastBytes(b: SwimBroadcast): number {
  return 32 + stringBytes(b.origin) + stringBytes(b.topic) + bytesBytes(b.payload);
}

export function recordBytes(r: MemberRecord): number {
  return 36 + stringBytes(r.node) + stringBytes(r.host) + bytesBytes(r.meta);
}

function piggybackBytes(updates: readonly SwimUpdate[], broadcasts: readonly SwimBroadcast[]): number {
  let n = 0;
  for (let i = 0; i < updates.length; i++) n += 4 + updateBytes(updates[i]);
  for (let i = 0; i < broadcasts.length; i++) n += 4 + broadcastBytes(broadcasts[i]);
  return n;
}

/** The approximate encoded size of a message, envelope and frame included. */
export function messageBytes(m: SwimMessage): number {
  switch (m.type) {
    case 'SwimPing':
      return ENVELOPE_OVERHEAD_BYTES + 36 + stringBytes(m.target) + stringBytes(m.source) + stringBytes(m.sourceHost) + piggybackBytes(m.updates, m.broadcasts);
    case 'SwimPingReq':
      return (
        ENVELOPE_OVERHEAD_BYTES + 48 + stringBytes(m.target) + stringBytes(m.targetHost) + stringBytes(m.source) + stringBytes(m.sourceHost) + piggybackBytes(m.updates, m.broadcasts)
      );
    case 'SwimAck':
      return ENVELOPE_OVERHEAD_BYTES + 28 + stringBytes(m.source) + bytesBytes(m.payload) + piggybackBytes(m.updates, m.broadcasts);
    case 'SwimNack':
      return ENVELOPE_OVERHEAD_BYTES + 24 + stringBytes(m.source) + piggybackBytes(m.updates, m.broadcasts);
    case 'SwimGossip':
      return ENVELOPE_OVERHEAD_BYTES + 20 + stringBytes(m.source) + piggybackBytes(m.updates, m.broadcasts);
    case 'SwimPushPull': {
      let n = ENVELOPE_OVERHEAD_BYTES + 28 + stringBytes(m.source) + bytesBytes(m.userState);
      for (let i = 0; i < m.members.length; i++) n += 4 + recordBytes(m.members[i]);
      return n;
    }
  }
}

/** Bytes of a message before any piggybacked gossip: what the budget is measured against. */
export const PIGGYBACK_RESERVE_BYTES = ENVELOPE_OVERHEAD_BYTES + 48 + 4 * 64;
