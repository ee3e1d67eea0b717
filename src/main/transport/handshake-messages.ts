// The three handshake messages as the cores see them, and the checks that
// turn a received one into trusted values.
//
// The envelope reader already guarantees wire types (strings are strings,
// vectors are Uint8Arrays), but the cores check every field they use again,
// with typeof and bounds, so that no value a caller or a peer hands in can
// make them throw or allocate without bound.
import type { BodyValue, Capabilities, HandshakeConfirm, HandshakeRequest, HandshakeResponse } from '../../shared/schema/layout.js';
import { capabilitiesProblem, copyCapabilities } from './capabilities.js';
import { isWireName, MAX_NONCE_BYTES, MIN_NONCE_BYTES, SESSION_ID_BYTES } from './handshake-options.js';
import { copyBytes } from '../../shared/bytes.js';
export { copyBytes };

/** A message of the handshake family, as the envelope codec carries it. */
export type HandshakeMessage = Extract<BodyValue, { type: 'HandshakeRequest' | 'HandshakeResponse' | 'HandshakeConfirm' }>;
export type HandshakeRequestMessage = Extract<BodyValue, { type: 'HandshakeRequest' }>;
export type HandshakeResponseMessage = Extract<BodyValue, { type: 'HandshakeResponse' }>;
export type HandshakeConfirmMessage = Extract<BodyValue, { type: 'HandshakeConfirm' }>;

/** Most protocol versions a request may offer. */
export const MAX_OFFERED_VERSIONS = 255;
/** Longest peer-supplied reason text kept in a local error. */
export const MAX_PEER_REASON_CHARS = 200;

const EMPTY = new Uint8Array(0);

/** The `type` of a received body, or a description of what it is instead. */
export function describeMessage(message: unknown): string {
  if (message === null || typeof message !== 'object') return message === null ? 'null' : typeof message;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type.slice(0, 40) : 'a message without a type';
}

/** True when `message` is an object whose `type` is `type`. */
export function isMessageOf<T extends HandshakeMessage['type']>(
  message: unknown,
  type: T,
): message is Extract<HandshakeMessage, { type: T }> {
  return message !== null && typeof message === 'object' && (message as { type?: unknown }).type === type;
}

/** Why a received HandshakeRequest is malformed, or null when it is well formed. */
export function requestProblem(m: HandshakeRequest): string | null {
  if (!(m.versions instanceof Uint8Array) || m.versions.length > MAX_OFFERED_VERSIONS) return 'versions is not a byte list';
  if (!isWireName(m.nodeId, false)) return 'nodeId is missing or too long';
  if (typeof m.cluster !== 'string') return 'cluster is missing';
  if (!Number.isSafeInteger(m.timestampMs)) return 'timestampMs is not a safe integer';
  if (!isNonce(m.nonce)) return `nonce must be ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes`;
  if (!isWireName(m.advertise, true)) return 'advertise is too long';
  return capabilitiesProblem(m.capabilities);
}

/** Why a received accepted HandshakeResponse is malformed, or null. */
export function acceptedResponseProblem(m: HandshakeResponse): string | null {
  if (typeof m.version !== 'number' || !Number.isInteger(m.version)) return 'version is not a number';
  if (!isWireName(m.nodeId, false)) return 'nodeId is missing or too long';
  if (typeof m.cluster !== 'string') return 'cluster is missing';
  if (!Number.isSafeInteger(m.timestampMs)) return 'timestampMs is not a safe integer';
  if (!isNonce(m.nonce)) return `nonce must be ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes`;
  if (!(m.sessionId instanceof Uint8Array) || m.sessionId.length !== SESSION_ID_BYTES) return `sessionId must be ${SESSION_ID_BYTES} bytes`;
  if (!(m.proof instanceof Uint8Array)) return 'proof is not a byte list';
  return capabilitiesProblem(m.capabilities);
}

/** Why a received HandshakeConfirm is malformed, or null. */
export function confirmProblem(m: HandshakeConfirm): string | null {
  if (!(m.sessionId instanceof Uint8Array)) return 'sessionId is not a byte list';
  if (!(m.proof instanceof Uint8Array)) return 'proof is not a byte list';
  return null;
}

/** A private copy of a checked request: received byte vectors are views into a receive buffer. */
export function copyRequest(m: HandshakeRequest): HandshakeRequest {
  return {
    versions: copyBytes(m.versions),
    nodeId: m.nodeId,
    cluster: m.cluster,
    capabilities: m.capabilities === null ? null : copyCapabilities(m.capabilities as Capabilities),
    timestampMs: m.timestampMs,
    nonce: copyBytes(m.nonce),
    advertise: m.advertise,
  };
}

/** A private copy of a checked accepted response. */
export function copyResponse(m: HandshakeResponse): HandshakeResponse {
  return {
    accepted: true,
    reject: 0,
    reason: '',
    version: m.version,
    nodeId: m.nodeId,
    cluster: m.cluster,
    capabilities: m.capabilities === null ? null : copyCapabilities(m.capabilities),
    timestampMs: m.timestampMs,
    nonce: copyBytes(m.nonce),
    proof: copyBytes(m.proof),
    sessionId: copyBytes(m.sessionId),
  };
}

/** A refusal: a HandshakeResponse with accepted = false and the reject code. */
export function rejectionMessage(code: number, reason: string, nodeId: string, cluster: string, timestampMs: number): HandshakeResponseMessage {
  return {
    type: 'HandshakeResponse',
    accepted: false,
    reject: code,
    reason,
    version: 0,
    nodeId,
    cluster,
    capabilities: null,
    timestampMs,
    nonce: EMPTY,
    proof: EMPTY,
    sessionId: EMPTY,
  };
}

/** The peer's reason text, shortened and quoted for a local error message. */
export function peerReasonText(reason: unknown): string {
  if (typeof reason !== 'string' || reason.length === 0) return 'no reason given';
  const short = reason.length > MAX_PEER_REASON_CHARS ? `${reason.slice(0, MAX_PEER_REASON_CHARS)}...` : reason;
  return JSON.stringify(short);
}

function isNonce(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length >= MIN_NONCE_BYTES && v.length <= MAX_NONCE_BYTES;
}
