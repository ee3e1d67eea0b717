// The connection handshake: a pure state machine, one per connection, with an
// initiator side (handshake-initiator.ts) and an acceptor side
// (handshake-acceptor.ts). No sockets, timers or clocks inside: the caller
// hands messages in and performs what comes out.
//
//   initiator                                   acceptor
//   start() ── HandshakeRequest ──────────────▶ receive(): cluster, node id,
//            (versions, node id, cluster,        version, clock skew, replay;
//             capabilities, wall clock,          picks version and session id
//             nonce Ni, advertise)
//   receive() ◀──────────── HandshakeResponse ─ (accepted, version, node id,
//   checks it and the acceptor's proof           capabilities, wall clock,
//                                                nonce Na, session id, proof)
//   ── HandshakeConfirm (proof, session id) ──▶ receive(): checks the proof
//   established                                 established
//
// With a shared secret, each proof is an HMAC over the whole exchange under
// a label of its own (handshake-proof.ts); without one, proofs are empty but
// the confirm is still sent, so there is one flow. A side that refuses sends
// a HandshakeResponse with accepted = false and the reason code, then fails
// locally; a side that receives such a refusal fails with byPeer = true.
// Any other message than the one expected in the current state fails the
// handshake as 'malformed', so no application message is taken before it is
// established. The handshake must finish by `deadlineAt` (monotonic clock);
// tick(now) at or after it fails with 'timeout', as does a message received
// then.
//
// Every method returns a HandshakeStep: the messages to send (in order),
// whether the handshake is pending, established or failed, and the deadline
// to arm while pending.
import { HandshakeRejectedError, InvalidConfigError, type HandshakeRejectReason } from '../../shared/errors.js';
import type { Capabilities } from '../../shared/schema/layout.js';
import type { HandshakeOptions } from './handshake-options.js';
import { peerReasonText, rejectionMessage, type HandshakeMessage, type HandshakeResponseMessage } from './handshake-messages.js';
import { REJECT_PHRASES, rejectCodeOf, rejectReasonOf } from './reject-reason.js';

export type { HandshakeMessage } from './handshake-messages.js';

/** What is nondeterministic, injected (the simulator passes virtual ones). */
export interface HandshakeDeps {
  /** Monotonic milliseconds (performance.now() in production): the deadline and the replay window. */
  readonly now: () => number;
  /** Wall-clock milliseconds since the epoch (Date.now() in production): the timestamp sent and the skew check only. */
  readonly wallClock: () => number;
  /** `n` random bytes (crypto.randomBytes in production): nonces and session ids. */
  readonly randomBytes: (n: number) => Uint8Array;
}

/** What this connection knows about its peer before the handshake. */
export interface PeerExpectation {
  /** The node id the peer must announce: from its TLS certificate, or the node that was dialled. */
  readonly nodeId?: string;
}

/** The result of a completed handshake. */
export interface HandshakeSession {
  readonly role: 'initiator' | 'acceptor';
  /** The protocol version both use: the highest both speak. */
  readonly version: number;
  /** 16 bytes chosen by the acceptor. */
  readonly sessionId: Uint8Array;
  readonly peerNodeId: string;
  /** Where the peer accepts connections ('' when it did not say; the acceptor never says). */
  readonly peerAdvertise: string;
  /** What both sides can use (capabilities.ts). */
  readonly capabilities: Capabilities;
  /** True when both sides proved the shared secret. */
  readonly authenticated: boolean;
  /** Peer's wall clock minus this node's when its message arrived, in ms (within ±clockSkewMs). */
  readonly peerClockOffsetMs: number;
}

export type HandshakeStatus = 'pending' | 'established' | 'failed';

/**
 * What one call produced. `send` is empty when there is nothing to send.
 * While pending, `deadlineAt` is the monotonic time to call tick() at
 * (Infinity before start() armed it).
 */
export type HandshakeStep =
  | { readonly status: 'pending'; readonly send: readonly HandshakeMessage[]; readonly deadlineAt: number }
  | {
      readonly status: 'established';
      readonly send: readonly HandshakeMessage[];
      readonly session: HandshakeSession;
      readonly deadlineAt: null;
    }
  | {
      readonly status: 'failed';
      readonly send: readonly HandshakeMessage[];
      readonly error: HandshakeRejectedError;
      readonly deadlineAt: null;
    };

const NOTHING: readonly HandshakeMessage[] = Object.freeze([]);

/** What the initiator and the acceptor share: settling, deadlines, refusals. */
export abstract class HandshakeParty {
  readonly options: HandshakeOptions;
  protected readonly deps: HandshakeDeps;
  protected deadline: number | null = null;
  #settled: HandshakeStep | null = null;

  constructor(options: HandshakeOptions, deps: HandshakeDeps) {
    this.options = options;
    this.deps = deps;
  }

  /** 'pending' until established or failed; both are final. */
  get status(): HandshakeStatus {
    return this.#settled?.status ?? 'pending';
  }

  /** The session once established, else null. */
  get session(): HandshakeSession | null {
    return this.#settled?.status === 'established' ? this.#settled.session : null;
  }

  /** The error once failed, else null. */
  get error(): HandshakeRejectedError | null {
    return this.#settled?.status === 'failed' ? this.#settled.error : null;
  }

  /** Monotonic time by which the handshake must finish; null before start and once settled. */
  get deadlineAt(): number | null {
    return this.#settled === null ? this.deadline : null;
  }

  /** Advances time (monotonic ms): at or after the deadline a pending handshake fails with 'timeout'. */
  tick(now: number): HandshakeStep {
    if (this.#settled !== null) return this.quiet();
    if (this.deadline !== null && now >= this.deadline) return this.timedOut();
    return this.pending(NOTHING);
  }

  /** Fails the handshake when the deadline has passed at the injected clock's now; null otherwise. */
  protected expired(): HandshakeStep | null {
    if (this.deadline !== null && this.deps.now() >= this.deadline) return this.timedOut();
    return null;
  }

  protected timedOut(): HandshakeStep {
    return this.fail('timeout', `not finished within ${this.options.handshakeTimeoutMs} ms`);
  }

  protected get settled(): boolean {
    return this.#settled !== null;
  }

  /** The settled step again, with nothing more to send. */
  protected quiet(): HandshakeStep {
    const s = this.#settled;
    if (s === null) return this.pending(NOTHING);
    return s.send.length === 0 ? s : { ...s, send: NOTHING };
  }

  protected pending(send: readonly HandshakeMessage[]): HandshakeStep {
    return { status: 'pending', send, deadlineAt: this.deadline ?? Number.POSITIVE_INFINITY };
  }

  protected establish(session: HandshakeSession, send: readonly HandshakeMessage[]): HandshakeStep {
    const step: HandshakeStep = { status: 'established', send, session, deadlineAt: null };
    this.#settled = step;
    return step;
  }

  /** This node refuses: tells the peer why (a fixed phrase) and fails with `detail`. */
  protected fail(reason: HandshakeRejectReason, detail: string): HandshakeStep {
    const refusal = rejectionMessage(
      rejectCodeOf(reason),
      REJECT_PHRASES[reason],
      this.options.nodeId,
      this.options.cluster,
      this.deps.wallClock(),
    );
    return this.settleFailed(new HandshakeRejectedError(reason, detail, false), [refusal]);
  }

  /** The peer refused: nothing is sent back. */
  protected refusedByPeer(reason: HandshakeRejectReason, detail: string): HandshakeStep {
    return this.settleFailed(new HandshakeRejectedError(reason, detail, true), NOTHING);
  }

  /** Fails with the peer's refusal (a HandshakeResponse with accepted = false). */
  protected peerRefusal(message: HandshakeResponseMessage): HandshakeStep {
    const reason = rejectReasonOf(message.reject);
    if (reason === null) {
      return this.refusedByPeer('malformed', `refused with unknown code ${typeof message.reject === 'number' ? message.reject : typeof message.reject}: ${peerReasonText(message.reason)}`);
    }
    return this.refusedByPeer(reason, peerReasonText(message.reason));
  }

  private settleFailed(error: HandshakeRejectedError, send: readonly HandshakeMessage[]): HandshakeStep {
    const step: HandshakeStep = { status: 'failed', send, error, deadlineAt: null };
    this.#settled = step;
    return step;
  }

  /** `n` fresh random bytes from the injected source, as a private copy. */
  protected random(n: number): Uint8Array {
    const bytes = this.deps.randomBytes(n);
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
      throw new InvalidConfigError('randomBytes', `returned ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes, expected ${n}`);
    }
    return new Uint8Array(bytes); // a copy: the source may reuse its buffer
  }

  /** Why `peerTimestampMs` is outside the allowed skew of the local wall clock, or null. */
  protected skewProblem(peerTimestampMs: number, wallMs: number): string | null {
    const offset = peerTimestampMs - wallMs;
    if (Math.abs(offset) <= this.options.clockSkewMs) return null;
    return `peer clock is ${offset > 0 ? 'ahead' : 'behind'} by ${Math.abs(offset)} ms (allowed ${this.options.clockSkewMs} ms)`;
  }
}
