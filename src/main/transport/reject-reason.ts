// Handshake rejection reasons: the local string (HandshakeRejectedError.reason)
// and the wire code (HandshakeResponse.reject, the HandshakeReject enum).
import type { HandshakeRejectReason } from '../../shared/errors.js';
import { HandshakeReject } from '../../shared/schema/generated/clusterwire/wire/handshake-reject.js';

const TO_WIRE: Readonly<Record<HandshakeRejectReason, HandshakeReject>> = {
  cluster_mismatch: HandshakeReject.ClusterMismatch,
  version_unsupported: HandshakeReject.VersionUnsupported,
  auth_failed: HandshakeReject.AuthFailed,
  clock_skew: HandshakeReject.ClockSkew,
  replay: HandshakeReject.Replay,
  node_id_mismatch: HandshakeReject.NodeIdMismatch,
  too_many_connections: HandshakeReject.TooManyConnections,
  malformed: HandshakeReject.Malformed,
  timeout: HandshakeReject.Timeout,
  duplicate_node_id: HandshakeReject.DuplicateNodeId,
};

const FROM_WIRE = new Map<number, HandshakeRejectReason>(
  (Object.entries(TO_WIRE) as [HandshakeRejectReason, HandshakeReject][]).map(([reason, code]) => [code, reason]),
);

/** The wire code of a reason. */
export function rejectCodeOf(reason: HandshakeRejectReason): HandshakeReject {
  return TO_WIRE[reason];
}

/** The reason of a wire code, or null for None and codes this node does not know. */
export function rejectReasonOf(code: number): HandshakeRejectReason | null {
  return FROM_WIRE.get(code) ?? null;
}

/**
 * What a refusing side tells its peer in HandshakeResponse.reason. Fixed
 * phrases: an unauthenticated peer learns why, not what this node expected
 * (no cluster names, node ids or clock readings).
 */
export const REJECT_PHRASES: Readonly<Record<HandshakeRejectReason, string>> = {
  cluster_mismatch: 'the cluster name differs',
  version_unsupported: 'no common protocol version',
  auth_failed: 'authentication failed',
  clock_skew: 'the clocks differ by more than the allowed skew',
  replay: 'the nonce was already used',
  node_id_mismatch: 'the node id is not the expected one',
  too_many_connections: 'too many handshakes at once; retry later',
  malformed: 'unexpected or malformed handshake message',
  timeout: 'the handshake did not finish in time',
  duplicate_node_id: 'the node id is already in use',
};
