// The acceptor side of the handshake (the node that was dialled). See
// handshake.ts for the flow.
//
//   idle ─start()─▶ awaiting-request ─valid request─▶ awaiting-confirm ─valid confirm─▶ established
//                        │              (sends HandshakeResponse)   │
//                        └──── refusal, bad or unexpected message, timeout ─────────────▶ failed
//
// Checks on the request, in order (the first that fails is the reason):
// well-formed ('malformed'), same cluster ('cluster_mismatch'), not this
// node's own id ('duplicate_node_id'), the expected peer if one is known
// ('node_id_mismatch'), a common version ('version_unsupported'), the peer's
// wall clock within clockSkewMs of ours ('clock_skew'), and last a nonce not
// seen within the replay window ('replay'; 'too_many_connections' when the
// replay cache is full, see nonce-cache.ts). The nonce is recorded only when
// every other check passed, so refused requests cannot fill the cache; once
// recorded it stays recorded whatever happens next.
import { InvalidConfigError } from '../../shared/errors.js';
import type { BodyValue, Capabilities, HandshakeRequest } from '../../shared/schema/layout.js';
import { negotiateCapabilities } from './capabilities.js';
import { HandshakeParty, type HandshakeDeps, type HandshakeStep, type PeerExpectation } from './handshake.js';
import {
  confirmProblem,
  copyRequest,
  describeMessage,
  isMessageOf,
  requestProblem,
  type HandshakeConfirmMessage,
  type HandshakeResponseMessage,
} from './handshake-messages.js';
import { SESSION_ID_BYTES, type HandshakeOptions } from './handshake-options.js';
import { computeProof, proofMatches } from './handshake-proof.js';
import { NonceCache } from './nonce-cache.js';

export type AcceptorState = 'idle' | 'awaiting-request' | 'awaiting-confirm' | 'established' | 'failed';

export interface AcceptorDeps extends HandshakeDeps {
  /** The replay cache of the listener, shared by all its connections (createReplayCache). */
  readonly replayCache: NonceCache;
}

/** The replay cache a listener with these options needs: a window of 2 x clockSkewMs. */
export function createReplayCache(options: HandshakeOptions): NonceCache {
  return new NonceCache({ windowMs: 2 * options.clockSkewMs, maxEntries: options.replayCacheMaxEntries });
}

/** What the acceptor keeps between its response and the confirm. */
interface Offer {
  readonly request: HandshakeRequest;
  readonly response: HandshakeResponseMessage;
  readonly capabilities: Capabilities;
  readonly peerClockOffsetMs: number;
}

const EMPTY = new Uint8Array(0);

export class HandshakeAcceptor extends HandshakeParty {
  readonly #cache: NonceCache;
  #phase: 'idle' | 'awaiting-request' | 'awaiting-confirm' = 'idle';
  #expect: PeerExpectation = {};
  #offer: Offer | null = null;

  constructor(options: HandshakeOptions, deps: AcceptorDeps) {
    super(options, deps);
    if (!(deps.replayCache instanceof NonceCache)) throw new InvalidConfigError('replayCache', 'expected a NonceCache');
    if (deps.replayCache.windowMs < 2 * options.clockSkewMs) {
      throw new InvalidConfigError(
        'replayCache',
        `window of ${deps.replayCache.windowMs} ms is shorter than 2 x clockSkewMs (${2 * options.clockSkewMs} ms)`,
      );
    }
    this.#cache = deps.replayCache;
  }

  get state(): AcceptorState {
    return this.status === 'pending' ? this.#phase : this.status;
  }

  /** Arms the deadline when the connection is accepted; nothing is sent until the request arrives. */
  start(expect: PeerExpectation = {}): HandshakeStep {
    if (this.settled) return this.quiet();
    if (this.#phase !== 'idle') return this.pending([]);
    this.#expect = { ...expect };
    this.deadline = this.deps.now() + this.options.handshakeTimeoutMs;
    this.#phase = 'awaiting-request';
    return this.pending([]);
  }

  /** Takes one message from the initiator. A message before start() starts the handshake first. */
  receive(message: BodyValue): HandshakeStep {
    if (this.settled) return this.quiet();
    if (this.#phase === 'idle') this.start();
    const late = this.expired();
    if (late !== null) return late;
    if (this.#phase === 'awaiting-request') {
      if (!isMessageOf(message, 'HandshakeRequest')) {
        return this.fail('malformed', `expected HandshakeRequest, received ${describeMessage(message)}`);
      }
      return this.onRequest(message);
    }
    if (isMessageOf(message, 'HandshakeResponse') && message.accepted !== true) return this.peerRefusal(message);
    if (!isMessageOf(message, 'HandshakeConfirm')) {
      return this.fail('malformed', `expected HandshakeConfirm, received ${describeMessage(message)}`);
    }
    return this.onConfirm(message);
  }

  private onRequest(received: HandshakeRequest): HandshakeStep {
    const problem = requestProblem(received);
    if (problem !== null) return this.fail('malformed', `HandshakeRequest: ${problem}`);
    const o = this.options;
    const request = copyRequest(received);
    if (request.cluster !== o.cluster) {
      return this.fail('cluster_mismatch', `peer is in cluster ${JSON.stringify(request.cluster.slice(0, 255))}, this node in ${JSON.stringify(o.cluster)}`);
    }
    if (request.nodeId === o.nodeId) {
      return this.fail('duplicate_node_id', `peer announced this node's own id ${JSON.stringify(o.nodeId)}`);
    }
    const expected = this.#expect.nodeId;
    if (expected !== undefined && request.nodeId !== expected) {
      return this.fail('node_id_mismatch', `expected node ${JSON.stringify(expected)}, peer is ${JSON.stringify(request.nodeId)}`);
    }
    const version = o.versions.find((v) => request.versions.includes(v));
    if (version === undefined) {
      return this.fail('version_unsupported', `peer offers [${request.versions.join(', ')}], this node speaks [${o.versions.join(', ')}]`);
    }
    const wall = this.deps.wallClock();
    const skew = this.skewProblem(request.timestampMs, wall);
    if (skew !== null) return this.fail('clock_skew', skew);
    const verdict = this.#cache.remember(request.nonce, this.deps.now());
    if (verdict === 'replay') return this.fail('replay', 'the request nonce was already seen within the replay window');
    if (verdict === 'full') {
      return this.fail('too_many_connections', `the replay cache holds ${this.#cache.maxEntries} unexpired nonces`);
    }

    const response: HandshakeResponseMessage = {
      type: 'HandshakeResponse',
      accepted: true,
      reject: 0,
      reason: '',
      version,
      nodeId: o.nodeId,
      cluster: o.cluster,
      capabilities: {
        compression: [...o.capabilities.compression],
        maxFrameBytes: o.capabilities.maxFrameBytes,
        maxStreams: o.capabilities.maxStreams,
        features: [...o.capabilities.features],
      },
      timestampMs: wall,
      nonce: this.random(o.nonceBytes),
      proof: EMPTY,
      sessionId: this.random(SESSION_ID_BYTES),
    };
    if (o.secret !== null) response.proof = computeProof(o.secret, 'acceptor', request, response);
    this.#offer = {
      request,
      response,
      capabilities: negotiateCapabilities(request.capabilities ?? o.capabilities, o.capabilities),
      peerClockOffsetMs: request.timestampMs - wall,
    };
    this.#phase = 'awaiting-confirm';
    return this.pending([response]);
  }

  private onConfirm(confirm: HandshakeConfirmMessage): HandshakeStep {
    const problem = confirmProblem(confirm);
    if (problem !== null) return this.fail('malformed', `HandshakeConfirm: ${problem}`);
    const o = this.options;
    const offer = this.#offer as Offer;
    const { request, response } = offer;
    if (!equalBytes(confirm.sessionId, response.sessionId)) {
      return this.fail('malformed', 'HandshakeConfirm carries another session id');
    }
    if (o.secret === null) {
      if (confirm.proof.length !== 0) return this.fail('auth_failed', 'peer sent a proof but no secret is configured here');
    } else if (!proofMatches(computeProof(o.secret, 'initiator', request, response), confirm.proof)) {
      return this.fail('auth_failed', "the peer's proof does not match the shared secret");
    }
    this.#offer = null;
    return this.establish(
      {
        role: 'acceptor',
        version: response.version,
        sessionId: response.sessionId,
        peerNodeId: request.nodeId,
        peerAdvertise: request.advertise,
        capabilities: offer.capabilities,
        authenticated: o.secret !== null,
        peerClockOffsetMs: offer.peerClockOffsetMs,
      },
      [],
    );
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
