// Proofs of the shared secret: HMAC-SHA256 over the handshake transcript.
//
// The secret never crosses the wire. Each side proves it holds the secret by
// sending HMAC-SHA256(secret, label || transcript), where the transcript is
// every field of the HandshakeRequest as the initiator sent it and every field
// of the accepted HandshakeResponse except the proof itself:
//
//   request:  versions offered, node id, cluster, capabilities, timestamp,
//             initiator nonce, advertise address
//   response: chosen version, node id, cluster, capabilities, timestamp,
//             acceptor nonce, session id
//
// Consequences:
// - Both nonces are covered, so a proof is fresh for this exchange only: a
//   recorded proof does not fit a new acceptor nonce or session id.
// - The acceptor and the initiator use different labels, so a proof sent by
//   one role is never valid for the other (a reflected proof fails).
// - The offered versions and both capability sets are covered, so a
//   man-in-the-middle who edits them to force a downgrade makes the proofs
//   disagree.
//
// Every field is written as a 4-byte big-endian length and its bytes, so no
// two different transcripts encode to the same byte string.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Capabilities, HandshakeRequest, HandshakeResponse } from '../../shared/schema/layout.js';

/** Domain label of the acceptor's proof (in HandshakeResponse.proof). */
export const ACCEPTOR_PROOF_LABEL = 'clusterwire handshake v1: acceptor proof';
/** Domain label of the initiator's proof (in HandshakeConfirm.proof). */
export const INITIATOR_PROOF_LABEL = 'clusterwire handshake v1: initiator proof';

/** HMAC-SHA256 output length. */
export const PROOF_BYTES = 32;

export type ProofRole = 'acceptor' | 'initiator';

/** The transcript fields of an accepted response (its proof is not part of it). */
export type TranscriptResponse = Pick<
  HandshakeResponse,
  'version' | 'nodeId' | 'cluster' | 'capabilities' | 'timestampMs' | 'nonce' | 'sessionId'
>;

/**
 * The proof `role` sends for this exchange. `request` and `response` must be
 * the messages as they crossed the wire (values already checked: timestamps
 * are safe integers, capabilities valid or null).
 */
export function computeProof(secret: Uint8Array, role: ProofRole, request: HandshakeRequest, response: TranscriptResponse): Uint8Array {
  const mac = createHmac('sha256', secret);
  const field = (bytes: Uint8Array): void => {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length, 0);
    mac.update(len);
    mac.update(bytes);
  };
  const text = (s: string): void => field(Buffer.from(s, 'utf8'));
  const i64 = (n: number): void => {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(n), 0);
    field(b);
  };
  const caps = (c: Capabilities | null): void => {
    if (c === null) {
      field(Uint8Array.of(0));
      return;
    }
    field(Uint8Array.of(1));
    field(Uint8Array.from(c.compression));
    const limits = Buffer.allocUnsafe(8);
    limits.writeUInt32BE(c.maxFrameBytes, 0);
    limits.writeUInt32BE(c.maxStreams, 4);
    field(limits);
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32BE(c.features.length, 0);
    field(count);
    for (const f of c.features) text(f);
  };

  text(role === 'acceptor' ? ACCEPTOR_PROOF_LABEL : INITIATOR_PROOF_LABEL);
  text('request');
  field(request.versions);
  text(request.nodeId);
  text(request.cluster);
  caps(request.capabilities);
  i64(request.timestampMs);
  field(request.nonce);
  text(request.advertise);
  text('response');
  field(Uint8Array.of(response.version));
  text(response.nodeId);
  text(response.cluster);
  caps(response.capabilities);
  i64(response.timestampMs);
  field(response.nonce);
  field(response.sessionId);
  return new Uint8Array(mac.digest());
}

/** Compares a received proof with the expected one in constant time. */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  // The length is public (always PROOF_BYTES for a real proof); only the
  // contents must be compared without an early exit.
  if (received.length !== expected.length) return false;
  return timingSafeEqual(expected, received);
}
