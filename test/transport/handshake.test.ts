// The handshake flow: success with and without a shared secret, the
// negotiated session, state-by-state message discipline, the deadline.
import { describe, expect, it } from 'vitest';
import { ClusterwireError, HandshakeRejectedError, InvalidConfigError } from '../../src/shared/errors.js';
import { HandshakeReject } from '../../src/shared/schema/generated/clusterwire/wire/handshake-reject.js';
import { encodeEnvelope, readEnvelope } from '../../src/shared/envelope/index.js';
import type { BodyValue } from '../../src/shared/schema/layout.js';
import { ACCEPTOR_PROOF_LABEL, computeProof, INITIATOR_PROOF_LABEL, PROOF_BYTES } from '../../src/main/transport/handshake-proof.js';
import type { HandshakeMessage, HandshakeStep } from '../../src/main/transport/handshake.js';
import { createReplayCache, HandshakeAcceptor } from '../../src/main/transport/handshake-acceptor.js';
import { HandshakeInitiator } from '../../src/main/transport/handshake-initiator.js';
import { resolveHandshakeOptions } from '../../src/main/transport/handshake-options.js';
import { NonceCache } from '../../src/main/transport/nonce-cache.js';
import { depsOf, makePair, only, runHandshake, SECRET, TestClock, WALL_START } from './handshake-fixtures.js';

const PING: BodyValue = { type: 'Ping', seq: 1, sentUs: 0 };

function failure(step: HandshakeStep): HandshakeRejectedError {
  if (step.status !== 'failed') throw new Error(`expected a failed step, got ${step.status}`);
  return step.error;
}

describe('handshake without a secret', () => {
  it('completes in three messages and both sides agree on the session', () => {
    const pair = makePair();
    const x = runHandshake(pair);
    expect(x.initiatorStep.status).toBe('established');
    expect(x.acceptorStep.status).toBe('established');
    expect(pair.initiator.state).toBe('established');
    expect(pair.acceptor.state).toBe('established');
    const a = pair.initiator.session!;
    const b = pair.acceptor.session!;
    expect(a.role).toBe('initiator');
    expect(b.role).toBe('acceptor');
    expect(a.peerNodeId).toBe('node-b');
    expect(b.peerNodeId).toBe('node-a');
    expect(b.peerAdvertise).toBe('10.0.0.1:7946');
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
    expect(a.sessionId).toHaveLength(16);
    expect(Buffer.from(a.sessionId).equals(Buffer.from(b.sessionId))).toBe(true);
    expect(a.authenticated).toBe(false);
    expect(b.authenticated).toBe(false);
    expect(a.capabilities).toEqual(b.capabilities);
    // The confirm still flows, with an empty proof.
    expect(x.confirm!.proof).toHaveLength(0);
    expect(x.response!.proof).toHaveLength(0);
    expect(x.acceptorStep.send).toHaveLength(0);
    expect(x.acceptorStep.deadlineAt).toBeNull();
  });

  it('sends a request with a fresh nonce of nonceBytes, the wall clock and the advertise address', () => {
    const pair = makePair({ initiator: { nonceBytes: 24 } });
    const step = pair.initiator.start();
    const request = only(step);
    expect(request.type).toBe('HandshakeRequest');
    if (request.type !== 'HandshakeRequest') return;
    expect(request.nonce).toHaveLength(24);
    expect(request.timestampMs).toBe(WALL_START);
    expect(request.advertise).toBe('10.0.0.1:7946');
    expect([...request.versions]).toEqual([1]);
    expect(step.status).toBe('pending');
    expect(step.deadlineAt).toBe(pair.clock.mono + 10_000);
    const other = makePair({ seed: 8 }).initiator.start();
    expect(Buffer.from((only(other) as typeof request).nonce).equals(Buffer.from(request.nonce))).toBe(false);
  });

  it('is deterministic for the same seed and clocks', () => {
    const one = runHandshake(makePair({ seed: 42 }));
    const two = runHandshake(makePair({ seed: 42 }));
    expect(one.request).toEqual(two.request);
    expect(one.response).toEqual(two.response);
    expect(one.confirm).toEqual(two.confirm);
  });

  it('survives the envelope codec: the messages as bytes and back complete the same handshake', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const wire = (m: HandshakeMessage): BodyValue => {
      const header = { messageId: 1, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 0 };
      return readEnvelope(encodeEnvelope({ header, body: m })).body;
    };
    const request = only(pair.initiator.start());
    pair.acceptor.start();
    const response = only(pair.acceptor.receive(wire(request)));
    const confirmStep = pair.initiator.receive(wire(response));
    expect(confirmStep.status).toBe('established');
    const done = pair.acceptor.receive(wire(only(confirmStep)));
    expect(done.status).toBe('established');
  });
});

describe('handshake with a shared secret', () => {
  it('completes, and both proofs are 32-byte HMACs that differ', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const x = runHandshake(pair);
    expect(x.acceptorStep.status).toBe('established');
    expect(x.initiatorStep.status).toBe('established');
    expect(pair.initiator.session!.authenticated).toBe(true);
    expect(pair.acceptor.session!.authenticated).toBe(true);
    expect(x.response!.proof).toHaveLength(PROOF_BYTES);
    expect(x.confirm!.proof).toHaveLength(PROOF_BYTES);
    expect(Buffer.from(x.response!.proof).equals(Buffer.from(x.confirm!.proof))).toBe(false);
    expect(ACCEPTOR_PROOF_LABEL).not.toBe(INITIATOR_PROOF_LABEL);
  });

  it('never puts the secret on the wire', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const x = runHandshake(pair);
    const header = { messageId: 1, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 0 };
    for (const m of [x.request, x.response!, x.confirm!]) {
      const bytes = Buffer.from(encodeEnvelope({ header, body: m }));
      expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    }
  });

  it('accepts a secret given as bytes equal to the same string', () => {
    const pair = makePair({ initiator: { secret: Buffer.from(SECRET) }, acceptor: { secret: SECRET } });
    expect(runHandshake(pair).acceptorStep.status).toBe('established');
  });

  it('refuses a proof reflected back: the acceptor proof sent as the confirm', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (response.type !== 'HandshakeResponse') throw new Error('expected a response');
    // An attacker without the secret echoes the acceptor's own proof.
    const step = pair.acceptor.receive({ type: 'HandshakeConfirm', proof: response.proof, sessionId: response.sessionId });
    const error = failure(step);
    expect(error.reason).toBe('auth_failed');
    expect(error.byPeer).toBe(false);
    expect(pair.acceptor.session).toBeNull();
  });

  it('refuses a proof reflected the other way: an initiator-labelled proof in the response', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (request.type !== 'HandshakeRequest' || response.type !== 'HandshakeResponse') throw new Error('unexpected messages');
    // The proof the initiator itself would send for this very exchange: valid
    // HMAC, valid transcript, wrong role.
    const mirrored = computeProof(Buffer.from(SECRET), 'initiator', request, response);
    const step = pair.initiator.receive({ ...response, proof: mirrored });
    expect(failure(step).reason).toBe('auth_failed');
    // And the genuine acceptor proof is accepted by a fresh run of the same exchange.
    expect(runHandshake(makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } })).initiatorStep.status).toBe('established');
  });
});

describe('negotiated capabilities', () => {
  it('intersects compression in the initiator order, takes the smaller limits and the common features', () => {
    const pair = makePair({
      initiator: { compression: ['zstd', 'none', 'lz4'], maxFrameBytes: 8 << 20, maxStreams: 100, features: ['chunked', 'trace', 'x'] },
      acceptor: { compression: ['lz4', 'zstd'], maxFrameBytes: 1 << 20, maxStreams: 500, features: ['x', 'chunked', 'gossip-v2'] },
    });
    runHandshake(pair);
    const expected = { compression: [2, 1], maxFrameBytes: 1 << 20, maxStreams: 100, features: ['chunked', 'x'] };
    expect(pair.initiator.session!.capabilities).toEqual(expected);
    expect(pair.acceptor.session!.capabilities).toEqual(expected);
  });

  it('picks the highest protocol version both speak', () => {
    const pair = makePair({ initiator: { versions: [1, 2, 3] }, acceptor: { versions: [2, 1, 4] } });
    const x = runHandshake(pair);
    expect(x.response!.version).toBe(2);
    expect(pair.initiator.session!.version).toBe(2);
    expect(pair.acceptor.session!.version).toBe(2);
  });

  it('reports the peer clock offset', () => {
    const pair = makePair();
    const request = only(pair.initiator.start());
    pair.clock.wall += 1_500; // the acceptor shares this clock: its reading is 1.5 s later
    const response = only(pair.acceptor.receive(request));
    pair.clock.wall -= 1_500;
    pair.initiator.receive(response);
    expect(pair.initiator.session!.peerClockOffsetMs).toBe(1_500);
  });
});

describe('messages out of turn fail the handshake as malformed', () => {
  const check = (step: HandshakeStep, byPeer = false): void => {
    const error = failure(step);
    expect(error).toBeInstanceOf(ClusterwireError);
    expect(error.code).toBe('ERR_HANDSHAKE_REJECTED');
    expect(error.reason).toBe('malformed');
    expect(error.byPeer).toBe(byPeer);
    const refusal = only(step);
    expect(refusal.type).toBe('HandshakeResponse');
    if (refusal.type === 'HandshakeResponse') {
      expect(refusal.accepted).toBe(false);
      expect(refusal.reject).toBe(HandshakeReject.Malformed);
    }
  };

  it('acceptor awaiting the request: an application message, a confirm, a response', () => {
    for (const m of [PING, { type: 'HandshakeConfirm', proof: new Uint8Array(0), sessionId: new Uint8Array(16) } as BodyValue]) {
      const pair = makePair();
      pair.acceptor.start();
      check(pair.acceptor.receive(m));
      expect(pair.acceptor.state).toBe('failed');
    }
    const pair = makePair();
    pair.initiator.start();
    const fake = makePair();
    const response = only(fake.acceptor.receive(only(fake.initiator.start())));
    pair.acceptor.start();
    check(pair.acceptor.receive(response));
  });

  it('acceptor awaiting the confirm: an application message, a second request', () => {
    for (const second of [PING, null]) {
      const pair = makePair();
      const request = only(pair.initiator.start());
      pair.acceptor.receive(request);
      expect(pair.acceptor.state).toBe('awaiting-confirm');
      check(pair.acceptor.receive(second ?? request));
    }
  });

  it('acceptor awaiting the confirm: a confirm for another session', () => {
    const pair = makePair();
    const request = only(pair.initiator.start());
    pair.acceptor.receive(request);
    check(pair.acceptor.receive({ type: 'HandshakeConfirm', proof: new Uint8Array(0), sessionId: new Uint8Array(16) }));
  });

  it('initiator awaiting the response: an application message, a request, a confirm', () => {
    const messages: BodyValue[] = [PING, { type: 'HandshakeConfirm', proof: new Uint8Array(0), sessionId: new Uint8Array(16) }];
    const other = makePair();
    messages.push(only(other.initiator.start()));
    for (const m of messages) {
      const pair = makePair();
      pair.initiator.start();
      check(pair.initiator.receive(m));
      expect(pair.initiator.state).toBe('failed');
    }
  });

  it('initiator before start: anything', () => {
    const pair = makePair();
    check(pair.initiator.receive(PING));
  });

  it('a settled handshake takes nothing more and sends nothing more', () => {
    const pair = makePair();
    runHandshake(pair);
    const again = pair.acceptor.receive(PING);
    expect(again.status).toBe('established');
    expect(again.send).toHaveLength(0);
    const failed = makePair();
    failed.acceptor.start();
    failed.acceptor.receive(PING);
    const after = failed.acceptor.receive(only(failed.initiator.start()));
    expect(after.status).toBe('failed');
    expect(after.send).toHaveLength(0);
  });
});

describe('deadline', () => {
  it('the acceptor cuts off a peer that never sends its request', () => {
    const pair = makePair({ acceptor: { handshakeTimeoutMs: 5_000 } });
    const start = pair.acceptor.start();
    expect(start.deadlineAt).toBe(pair.clock.mono + 5_000);
    expect(pair.acceptor.tick(pair.clock.mono + 4_999).status).toBe('pending');
    const step = pair.acceptor.tick(pair.clock.mono + 5_000);
    expect(failure(step).reason).toBe('timeout');
    const refusal = only(step);
    expect(refusal.type === 'HandshakeResponse' && refusal.reject).toBe(HandshakeReject.Timeout);
  });

  it('the acceptor cuts off a peer that never confirms', () => {
    const pair = makePair();
    pair.acceptor.receive(only(pair.initiator.start()));
    expect(failure(pair.acceptor.tick(pair.clock.mono + 10_000)).reason).toBe('timeout');
  });

  it('the initiator gives up on an acceptor that never answers', () => {
    const pair = makePair();
    const step = pair.initiator.start();
    expect(pair.initiator.tick(step.deadlineAt! - 1).status).toBe('pending');
    expect(failure(pair.initiator.tick(step.deadlineAt!)).reason).toBe('timeout');
  });

  it('a message that arrives after the deadline, before any tick, fails with timeout', () => {
    const pair = makePair();
    const request = only(pair.initiator.start());
    pair.acceptor.start();
    pair.clock.advance(10_001);
    const step = pair.acceptor.receive(request);
    expect(failure(step).reason).toBe('timeout');
  });

  it('the deadline follows the monotonic clock, not the wall clock', () => {
    const pair = makePair();
    pair.acceptor.start();
    pair.clock.wall += 3_600_000; // the wall clock jumps an hour
    const request = only(pair.initiator.start());
    expect(pair.acceptor.receive(request).status).toBe('pending');
  });
});

describe('refusals received from the peer', () => {
  it('the initiator fails with byPeer and the reason of the code', () => {
    const pair = makePair({ acceptor: { cluster: 'staging' } });
    const x = runHandshake(pair);
    const error = failure(x.initiatorStep);
    expect(error.reason).toBe('cluster_mismatch');
    expect(error.byPeer).toBe(true);
    expect(x.initiatorStep.send).toHaveLength(0);
    expect(error.message).toContain('by peer');
    // The acceptor's refusal names no cluster.
    expect(x.response!.reason).not.toContain('prod');
    expect(x.response!.reason).not.toContain('staging');
  });

  it('an unknown code is reported as malformed, by the peer', () => {
    const pair = makePair();
    pair.initiator.start();
    const response = { ...only(makePair().acceptor.receive(only(makePair().initiator.start()))) } as Extract<BodyValue, { type: 'HandshakeResponse' }>;
    const step = pair.initiator.receive({ ...response, accepted: false, reject: 200, reason: 'x'.repeat(10_000) });
    const error = failure(step);
    expect(error.reason).toBe('malformed');
    expect(error.byPeer).toBe(true);
    expect(error.message.length).toBeLessThan(400);
  });

  it('an established initiator still learns that the acceptor refused its confirm', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    const confirmStep = pair.initiator.receive(response);
    expect(confirmStep.status).toBe('established');
    const confirm = only(confirmStep);
    if (confirm.type !== 'HandshakeConfirm') throw new Error('expected a confirm');
    const tampered = confirm.proof.slice();
    tampered[0] ^= 1;
    const refused = pair.acceptor.receive({ ...confirm, proof: tampered });
    expect(failure(refused).reason).toBe('auth_failed');
    const late = pair.initiator.receive(only(refused));
    expect(failure(late).reason).toBe('auth_failed');
    expect(failure(late).byPeer).toBe(true);
    expect(pair.initiator.state).toBe('failed');
  });
});

describe('collaborators and lifecycle', () => {
  it('refuses a replay cache whose window is shorter than 2 x clockSkewMs', () => {
    const options = resolveHandshakeOptions({ nodeId: 'n', cluster: 'c', clockSkewMs: 30_000 });
    const clock = new TestClock();
    expect(() => new HandshakeAcceptor(options, { ...depsOf(clock, 1), replayCache: new NonceCache({ windowMs: 59_999, maxEntries: 8 }) })).toThrow(
      /replayCache/,
    );
    expect(() => new HandshakeAcceptor(options, { ...depsOf(clock, 1), replayCache: createReplayCache(options) })).not.toThrow();
  });

  it('refuses a randomBytes source that returns the wrong length', () => {
    const options = resolveHandshakeOptions({ nodeId: 'n', cluster: 'c' });
    const clock = new TestClock();
    const initiator = new HandshakeInitiator(options, { ...depsOf(clock, 1), randomBytes: (n) => new Uint8Array(n - 1) });
    expect(() => initiator.start()).toThrow(InvalidConfigError);
  });

  it('copies random bytes, so a source that reuses its buffer cannot change a sent nonce', () => {
    const options = resolveHandshakeOptions({ nodeId: 'n', cluster: 'c' });
    const pool = new Uint8Array(16).fill(7);
    const initiator = new HandshakeInitiator(options, { ...depsOf(new TestClock(), 1), randomBytes: () => pool });
    const request = only(initiator.start());
    pool.fill(9);
    expect(request.type === 'HandshakeRequest' && [...request.nonce]).toEqual(new Array(16).fill(7));
  });

  it('exposes status, state and deadline through the lifecycle', () => {
    const pair = makePair();
    expect(pair.initiator.state).toBe('idle');
    expect(pair.initiator.deadlineAt).toBeNull();
    expect(pair.acceptor.tick(pair.clock.mono + 1_000_000).status).toBe('pending');
    pair.initiator.start();
    expect(pair.initiator.state).toBe('awaiting-response');
    expect(pair.initiator.deadlineAt).toBe(pair.clock.mono + 10_000);
    expect(pair.initiator.start().send).toHaveLength(0);
    pair.initiator.tick(pair.clock.mono + 10_000);
    expect(pair.initiator.status).toBe('failed');
    expect(pair.initiator.error!.reason).toBe('timeout');
    expect(pair.initiator.deadlineAt).toBeNull();
    expect(pair.initiator.session).toBeNull();
  });

  it('an acceptor given a request before start() starts then and there', () => {
    const pair = makePair();
    const step = pair.acceptor.receive(only(pair.initiator.start()));
    expect(step.status).toBe('pending');
    expect(step.deadlineAt).toBe(pair.clock.mono + 10_000);
  });
});
