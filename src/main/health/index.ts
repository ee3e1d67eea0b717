// Health: Vivaldi network coordinates and per-peer link quality.
export { Vivaldi, distanceMs, isValidCoordinate, type Coordinate } from './vivaldi.js';
export { encodeCoordinate, decodeCoordinate } from './coordinate-codec.js';
export { resolveVivaldiOptions, DEFAULT_VIVALDI_OPTIONS, type VivaldiOptions, type VivaldiOptionsInput } from './vivaldi-options.js';
export {
  PeerQuality,
  PeerQualityTable,
  resolvePeerQualityOptions,
  DEFAULT_PEER_QUALITY_OPTIONS,
  type PeerQualityOptions,
  type PeerQualityOptionsInput,
  type PeerQualitySnapshot,
  type PeerRoute,
  type ProbeOutcome,
} from './peer-quality.js';
