// The initiator side of the handshake (the node that dialled). See
// handshake.ts for the flow.
//
//   idle ──start()──▶ awaiting-response ──valid response──▶ established
//                        │                 (sends HandshakeConfirm)
//                        └── refusal, bad or unexpected message, timeout ──▶ failed
//
// The initiator is established as soon as it has checked the response and
// sent its confirm: application messages may follow the confirm on the same
// stream, and the acceptor takes them only after the confirm checks out. If
// the acceptor refuses the confirm, its refusal arrives afterwards; receive()
// still takes that one message and turns an established initiator into a
// failed one, so the caller learns why the connection ends.
import type { BodyValue, HandshakeRequest } from '../../shared/schema/layout.js';
import { negotiateCapabilities } from './capabilities.js';
import { HandshakeParty, type HandshakeDeps, type HandshakeStep, type PeerExpectation } from './handshake.js';
import {
  acceptedResponseProblem,
  copyBytes,
  copyResponse,
  describeMessage,
  isMessageOf,
  type HandshakeConfirmMessage,
  type HandshakeRequestMessage,
  type HandshakeResponseMessage,
} from './handshake-messages.js';
import type { HandshakeOptions } from './handshake-options.js';
import { computeProof, proofMatches } from './handshake-proof.js';

export type InitiatorState = 'idle' | 'awaiting-response' | 'established' | 'failed';

const EMPTY = new Uint8Array(0);

export class HandshakeInitiator extends HandshakeParty {
  #phase: 'idle' | 'awaiting-response' = 'idle';
  #request: HandshakeRequest | null = null;
  #expect: PeerExpectation = {};

  constructor(options: HandshakeOptions, deps: HandshakeDeps) {
    super(options, deps);
  }

  get state(): InitiatorState {
    return this.status === 'pending' ? this.#phase : this.status;
  }

  /** Opens the handshake: returns the HandshakeRequest to send and arms the deadline. */
  start(expect: PeerExpectation = {}): HandshakeStep {
    if (this.settled) return this.quiet();
    if (this.#phase !== 'idle') return this.pending([]);
    this.#expect = { ...expect };
    const o = this.options;
    this.deadline = this.deps.now() + o.handshakeTimeoutMs;
    const request: HandshakeRequestMessage = {
      type: 'HandshakeRequest',
      versions: Uint8Array.from(o.versions),
      nodeId: o.nodeId,
      cluster: o.cluster,
      capabilities: {
        compression: [...o.capabilities.compression],
        maxFrameBytes: o.capabilities.maxFrameBytes,
        maxStreams: o.capabilities.maxStreams,
        features: [...o.capabilities.features],
      },
      timestampMs: this.deps.wallClock(),
      nonce: this.random(o.nonceBytes),
      advertise: o.advertise,
    };
    this.#request = request;
    this.#phase = 'awaiting-response';
    return this.pending([request]);
  }

  /** Takes one message from the acceptor. */
  receive(message: BodyValue): HandshakeStep {
    if (this.status === 'established') return this.lateRefusal(message);
    if (this.status === 'failed') return this.quiet();
    if (this.#phase === 'idle') {
      return this.fail('malformed', `received ${describeMessage(message)} before the handshake was started`);
    }
    const late = this.expired();
    if (late !== null) return late;
    if (!isMessageOf(message, 'HandshakeResponse')) {
      return this.fail('malformed', `expected HandshakeResponse, received ${describeMessage(message)}`);
    }
    if (message.accepted !== true) return this.peerRefusal(message);
    return this.onAccepted(message);
  }

  private onAccepted(received: HandshakeResponseMessage): HandshakeStep {
    const problem = acceptedResponseProblem(received);
    if (problem !== null) return this.fail('malformed', `HandshakeResponse: ${problem}`);
    const o = this.options;
    const request = this.#request as HandshakeRequest;
    const response = copyResponse(received);
    if (response.cluster !== o.cluster) {
      return this.fail('cluster_mismatch', `peer is in cluster ${JSON.stringify(response.cluster)}, this node in ${JSON.stringify(o.cluster)}`);
    }
    if (response.nodeId === o.nodeId) {
      return this.fail('duplicate_node_id', `peer announced this node's own id ${JSON.stringify(o.nodeId)}`);
    }
    const expected = this.#expect.nodeId;
    if (expected !== undefined && response.nodeId !== expected) {
      return this.fail('node_id_mismatch', `expected node ${JSON.stringify(expected)}, peer is ${JSON.stringify(response.nodeId)}`);
    }
    if (!o.versions.includes(response.version)) {
      return this.fail('version_unsupported', `peer chose version ${response.version}, offered ${o.versions.join(', ')}`);
    }
    const wall = this.deps.wallClock();
    const skew = this.skewProblem(response.timestampMs, wall);
    if (skew !== null) return this.fail('clock_skew', skew);

    let proof: Uint8Array = EMPTY;
    if (o.secret === null) {
      if (response.proof.length !== 0) return this.fail('auth_failed', 'peer sent a proof but no secret is configured here');
    } else {
      if (response.proof.length === 0) return this.fail('auth_failed', 'peer sent no proof; a secret is configured here');
      if (!proofMatches(computeProof(o.secret, 'acceptor', request, response), response.proof)) {
        return this.fail('auth_failed', "the peer's proof does not match the shared secret");
      }
      proof = computeProof(o.secret, 'initiator', request, response);
    }
    const confirm: HandshakeConfirmMessage = { type: 'HandshakeConfirm', proof, sessionId: copyBytes(response.sessionId) };
    return this.establish(
      {
        role: 'initiator',
        version: response.version,
        sessionId: response.sessionId,
        peerNodeId: response.nodeId,
        peerAdvertise: '',
        capabilities: negotiateCapabilities(request.capabilities ?? o.capabilities, response.capabilities ?? o.capabilities),
        authenticated: o.secret !== null,
        peerClockOffsetMs: response.timestampMs - wall,
      },
      [confirm],
    );
  }

  /** After the confirm: only the acceptor's refusal of it is still taken. */
  private lateRefusal(message: BodyValue): HandshakeStep {
    if (isMessageOf(message, 'HandshakeResponse') && message.accepted !== true) {
      return this.peerRefusal(message);
    }
    return this.quiet();
  }
}
