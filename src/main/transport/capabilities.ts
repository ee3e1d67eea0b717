// Capability negotiation: what both ends of a connection can use.
//
// Each side announces its own Capabilities (the acceptor announces its own,
// not the negotiated result), and both compute the same result from the two
// announcements:
//
//   compression     algorithms both list, in the INITIATOR's order of
//                   preference, each once (uncompressed is always allowed)
//   maxFrameBytes   the smaller of the two
//   maxStreams      the smaller of the two
//   features        features both list, in the initiator's order, each once
import type { Capabilities } from '../../shared/schema/layout.js';
import { MAX_U32, MIN_MAX_FRAME_BYTES } from './handshake-options.js';

/** Most compression ids or features a peer may announce. */
export const MAX_ANNOUNCED_ENTRIES = 256;

/**
 * Returns why `value` is not an acceptable capability announcement from a
 * peer, or null when it is. Unknown compression ids and features are fine
 * (a newer peer); they simply do not survive the intersection.
 */
export function capabilitiesProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return 'capabilities are missing';
  const c = value as Partial<Record<keyof Capabilities, unknown>>;
  if (!Array.isArray(c.compression) || c.compression.length > MAX_ANNOUNCED_ENTRIES) {
    return `compression must be a list of at most ${MAX_ANNOUNCED_ENTRIES} ids`;
  }
  for (const id of c.compression) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 255) return 'compression ids must be bytes';
  }
  if (typeof c.maxFrameBytes !== 'number' || !Number.isInteger(c.maxFrameBytes) || c.maxFrameBytes < MIN_MAX_FRAME_BYTES || c.maxFrameBytes > MAX_U32) {
    return `maxFrameBytes must be an integer in [${MIN_MAX_FRAME_BYTES}, ${MAX_U32}]`;
  }
  if (typeof c.maxStreams !== 'number' || !Number.isInteger(c.maxStreams) || c.maxStreams < 0 || c.maxStreams > MAX_U32) {
    return `maxStreams must be an integer in [0, ${MAX_U32}]`;
  }
  if (!Array.isArray(c.features) || c.features.length > MAX_ANNOUNCED_ENTRIES) {
    return `features must be a list of at most ${MAX_ANNOUNCED_ENTRIES} strings`;
  }
  for (const f of c.features) if (typeof f !== 'string') return 'features must be strings';
  return null;
}

/** The capabilities both sides use, from the two announcements. */
export function negotiateCapabilities(initiator: Readonly<Capabilities>, acceptor: Readonly<Capabilities>): Capabilities {
  return {
    compression: intersect(initiator.compression, acceptor.compression),
    maxFrameBytes: Math.min(initiator.maxFrameBytes, acceptor.maxFrameBytes),
    maxStreams: Math.min(initiator.maxStreams, acceptor.maxStreams),
    features: intersect(initiator.features, acceptor.features),
  };
}

/** A deep copy, so that nothing refers to a receive buffer or a caller's arrays. */
export function copyCapabilities(c: Readonly<Capabilities>): Capabilities {
  return {
    compression: [...c.compression],
    maxFrameBytes: c.maxFrameBytes,
    maxStreams: c.maxStreams,
    features: [...c.features],
  };
}

function intersect<T>(preferred: readonly T[], other: readonly T[]): T[] {
  const allowed = new Set(other);
  const out: T[] = [];
  const taken = new Set<T>();
  for (const x of preferred) {
    if (allowed.has(x) && !taken.has(x)) {
      taken.add(x);
      out.push(x);
    }
  }
  return out;
}
