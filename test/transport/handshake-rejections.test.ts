// Every reason a handshake is refused, on the side that refuses and on the
// side that is told.
import { describe, expect, it } from 'vitest';
import { HandshakeRejectedError, type HandshakeRejectReason } from '../../src/shared/errors.js';
import { HandshakeReject } from '../../src/shared/schema/generated/clusterwire/wire/handshake-reject.js';
import type { BodyValue } from '../../src/shared/schema/layout.js';
import { NonceCache } from '../../src/main/transport/nonce-cache.js';
import type { HandshakeStep } from '../../src/main/transport/handshake.js';
import { computeProof } from '../../src/main/transport/handshake-proof.js';
import { rejectCodeOf, rejectReasonOf } from '../../src/main/transport/reject-reason.js';
import { makePair, only, runHandshake, SECRET, TestClock, type Exchange } from './handshake-fixtures.js';

type Request = Extract<BodyValue, { type: 'HandshakeRequest' }>;

function failure(step: HandshakeStep): HandshakeRejectedError {
  if (step.status !== 'failed') throw new Error(`expected a failed step, got ${step.status}`);
  return step.error;
}

/** The acceptor refused the request: it failed locally, told the initiator, and the initiator failed by peer. */
function expectAcceptorRefused(x: Exchange, reason: HandshakeRejectReason): void {
  const local = failure(x.acceptorStep);
  expect(local.reason).toBe(reason);
  expect(local.byPeer).toBe(false);
  expect(x.response!.accepted).toBe(false);
  expect(x.response!.reject).toBe(rejectCodeOf(reason));
  const remote = failure(x.initiatorStep);
  expect(remote.reason).toBe(reason);
  expect(remote.byPeer).toBe(true);
}

/** The initiator refused the response: it failed locally and told the acceptor, which failed by peer. */
function expectInitiatorRefused(x: Exchange, reason: HandshakeRejectReason): void {
  const local = failure(x.initiatorStep);
  expect(local.reason).toBe(reason);
  expect(local.byPeer).toBe(false);
  const refusal = only(x.initiatorStep);
  expect(refusal.type === 'HandshakeResponse' && refusal.reject).toBe(rejectCodeOf(reason));
  const remote = failure(x.acceptorStep);
  expect(remote.reason).toBe(reason);
  expect(remote.byPeer).toBe(true);
}

describe('reason codes', () => {
  it('map one to one onto the wire enum', () => {
    const reasons: HandshakeRejectReason[] = [
      'cluster_mismatch', 'version_unsupported', 'auth_failed', 'clock_skew', 'replay',
      'node_id_mismatch', 'too_many_connections', 'malformed', 'timeout', 'duplicate_node_id',
    ];
    const codes = new Set(reasons.map(rejectCodeOf));
    expect(codes.size).toBe(reasons.length);
    expect(codes.has(HandshakeReject.None)).toBe(false);
    for (const r of reasons) expect(rejectReasonOf(rejectCodeOf(r))).toBe(r);
    expect(rejectReasonOf(HandshakeReject.None)).toBeNull();
    expect(rejectReasonOf(250)).toBeNull();
  });
});

describe('cluster and identity', () => {
  it('cluster_mismatch', () => {
    expectAcceptorRefused(runHandshake(makePair({ acceptor: { cluster: 'staging' } })), 'cluster_mismatch');
  });

  it('cluster_mismatch detected by the initiator when a response names another cluster', () => {
    const pair = makePair();
    pair.initiator.start();
    const other = makePair({ initiator: { cluster: 'staging' }, acceptor: { cluster: 'staging' } });
    const response = only(other.acceptor.receive(only(other.initiator.start())));
    expect(failure(pair.initiator.receive(response)).reason).toBe('cluster_mismatch');
  });

  it('node_id_mismatch at the acceptor (expected id from a TLS certificate)', () => {
    const pair = makePair();
    pair.acceptor.start({ nodeId: 'node-z' });
    const x = { ...runHandshake(pair) };
    expectAcceptorRefused(x, 'node_id_mismatch');
  });

  it('node_id_mismatch at the initiator (dialled one node, another answered)', () => {
    const pair = makePair();
    const request = only(pair.initiator.start({ nodeId: 'node-c' }));
    const response = only(pair.acceptor.receive(request));
    const step = pair.initiator.receive(response);
    expect(failure(step).reason).toBe('node_id_mismatch');
    expect(failure(pair.acceptor.receive(only(step))).byPeer).toBe(true);
  });

  it('the expected node id is accepted when it matches', () => {
    const pair = makePair();
    const request = only(pair.initiator.start({ nodeId: 'node-b' }));
    pair.acceptor.start({ nodeId: 'node-a' });
    const response = only(pair.acceptor.receive(request));
    const confirm = pair.initiator.receive(response);
    expect(confirm.status).toBe('established');
    expect(pair.acceptor.receive(only(confirm)).status).toBe('established');
  });

  it('duplicate_node_id: a node dialling itself, or another node with the same id', () => {
    expectAcceptorRefused(runHandshake(makePair({ initiator: { nodeId: 'node-b' } })), 'duplicate_node_id');
  });
});

describe('versions', () => {
  it('version_unsupported when no version is common', () => {
    const x = runHandshake(makePair({ initiator: { versions: [2, 3] }, acceptor: { versions: [1] } }));
    expectAcceptorRefused(x, 'version_unsupported');
  });

  it('version_unsupported at the initiator when the acceptor picks a version never offered', () => {
    const pair = makePair({ initiator: { versions: [1] } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (response.type !== 'HandshakeResponse') throw new Error('expected a response');
    expect(failure(pair.initiator.receive({ ...response, version: 3 })).reason).toBe('version_unsupported');
  });
});

describe('shared secret', () => {
  it('auth_failed at the initiator when the acceptor knows another secret', () => {
    const x = runHandshake(makePair({ initiator: { secret: SECRET }, acceptor: { secret: 'another secret of 16+ bytes' } }));
    expectInitiatorRefused(x, 'auth_failed');
  });

  it('auth_failed at the acceptor when the initiator proves another secret', () => {
    // What an initiator holding the wrong secret would confirm with, had it
    // not already refused the acceptor's proof: a correct HMAC under its key.
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (request.type !== 'HandshakeRequest' || response.type !== 'HandshakeResponse') throw new Error('unexpected messages');
    const proof = computeProof(Buffer.from('the wrong secret, long enough'), 'initiator', request, response);
    const step = pair.acceptor.receive({ type: 'HandshakeConfirm', proof, sessionId: response.sessionId });
    expect(failure(step).reason).toBe('auth_failed');
    expect(failure(step).byPeer).toBe(false);
    const refusal = only(step);
    expect(refusal.type === 'HandshakeResponse' && refusal.reject).toBe(HandshakeReject.AuthFailed);
    // The same confirm under the right secret is accepted.
    const good = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const goodRequest = only(good.initiator.start());
    const goodResponse = only(good.acceptor.receive(goodRequest));
    if (goodRequest.type !== 'HandshakeRequest' || goodResponse.type !== 'HandshakeResponse') throw new Error('unexpected messages');
    const goodProof = computeProof(Buffer.from(SECRET), 'initiator', goodRequest, goodResponse);
    expect(good.acceptor.receive({ type: 'HandshakeConfirm', proof: goodProof, sessionId: goodResponse.sessionId }).status).toBe('established');
  });

  it('auth_failed when only the acceptor has a secret', () => {
    expectInitiatorRefused(runHandshake(makePair({ acceptor: { secret: SECRET } })), 'auth_failed');
  });

  it('auth_failed when only the initiator has a secret', () => {
    expectInitiatorRefused(runHandshake(makePair({ initiator: { secret: SECRET } })), 'auth_failed');
  });

  it('auth_failed at an acceptor without a secret that receives a proof', () => {
    const pair = makePair();
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (response.type !== 'HandshakeResponse') throw new Error('expected a response');
    const step = pair.acceptor.receive({ type: 'HandshakeConfirm', proof: new Uint8Array(32), sessionId: response.sessionId });
    expect(failure(step).reason).toBe('auth_failed');
  });

  it('auth_failed for a truncated, empty or bit-flipped confirm proof', () => {
    const variants = [(p: Uint8Array) => p.subarray(0, 31), () => new Uint8Array(0), (p: Uint8Array) => {
      const q = p.slice();
      q[31] ^= 0x80;
      return q;
    }];
    for (const change of variants) {
      const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
      const response = only(pair.acceptor.receive(only(pair.initiator.start())));
      const confirm = only(pair.initiator.receive(response));
      if (confirm.type !== 'HandshakeConfirm') throw new Error('expected a confirm');
      expect(failure(pair.acceptor.receive({ ...confirm, proof: change(confirm.proof) })).reason).toBe('auth_failed');
    }
  });

  it('a downgrade of the offered versions by a man in the middle breaks the proofs', () => {
    const pair = makePair({ initiator: { secret: SECRET, versions: [1, 2] }, acceptor: { secret: SECRET, versions: [1, 2] } });
    const request = only(pair.initiator.start()) as Request;
    const response = only(pair.acceptor.receive({ ...request, versions: Uint8Array.of(1) }));
    expect(response.type === 'HandshakeResponse' && response.version).toBe(1);
    expect(failure(pair.initiator.receive(response)).reason).toBe('auth_failed');
  });

  it('a response edited in flight (capabilities) breaks the proof', () => {
    const pair = makePair({ initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
    const response = only(pair.acceptor.receive(only(pair.initiator.start())));
    if (response.type !== 'HandshakeResponse' || response.capabilities === null) throw new Error('expected a response');
    const edited = { ...response, capabilities: { ...response.capabilities, compression: [] } };
    expect(failure(pair.initiator.receive(edited)).reason).toBe('auth_failed');
  });
});

describe('clock skew', () => {
  const skewed = (offsetMs: number): Exchange => {
    const acceptorClock = new TestClock();
    acceptorClock.wall += offsetMs;
    return runHandshake(makePair({ acceptorClock }));
  };

  it('refuses a peer 31 s ahead or behind', () => {
    expectAcceptorRefused(skewed(31_000), 'clock_skew');
    expectAcceptorRefused(skewed(-31_000), 'clock_skew');
  });

  it('accepts a peer 29 s ahead or behind, and exactly 30 s', () => {
    for (const offset of [29_000, -29_000, 30_000, -30_000]) {
      const x = skewed(offset);
      expect(x.acceptorStep.status).toBe('established');
      expect(x.initiatorStep.status).toBe('established');
    }
  });

  it('honours a configured clockSkewMs', () => {
    const acceptorClock = new TestClock();
    acceptorClock.wall += 6_000;
    const x = runHandshake(makePair({ acceptorClock, acceptor: { clockSkewMs: 5_000 } }));
    expectAcceptorRefused(x, 'clock_skew');
  });

  it('the initiator checks the acceptor timestamp too', () => {
    const pair = makePair({ initiator: { clockSkewMs: 1_000 } });
    const request = only(pair.initiator.start());
    const response = only(pair.acceptor.receive(request));
    if (response.type !== 'HandshakeResponse') throw new Error('expected a response');
    expect(failure(pair.initiator.receive({ ...response, timestampMs: response.timestampMs + 1_001 })).reason).toBe('clock_skew');
  });
});

describe('replay', () => {
  it('refuses a request whose nonce was already seen', () => {
    const first = makePair();
    const request = only(first.initiator.start());
    expect(first.acceptor.receive(request).status).toBe('pending');
    // The captured request, sent again on a new connection to the same listener.
    const second = makePair({ replayCache: first.replayCache });
    second.acceptor.start();
    const step = second.acceptor.receive(request);
    expect(failure(step).reason).toBe('replay');
    expect(only(step).type === 'HandshakeResponse' && (only(step) as { reject: number }).reject).toBe(HandshakeReject.Replay);
  });

  it('refuses the replay even when the wall clock jumps forward (the window is monotonic)', () => {
    const first = makePair();
    const request = only(first.initiator.start()) as Request;
    first.acceptor.receive(request);
    first.clock.wall += 3_600_000;
    const second = makePair({ replayCache: first.replayCache, acceptorClock: first.clock });
    // The timestamp is refreshed so that only the nonce can catch it.
    expect(failure(second.acceptor.receive({ ...request, timestampMs: first.clock.wall })).reason).toBe('replay');
  });

  it('accepts the nonce again once the window (2 x clockSkewMs) has passed', () => {
    const first = makePair();
    const request = only(first.initiator.start()) as Request;
    first.acceptor.receive(request);
    const clock = first.clock;
    clock.mono += 59_999;
    const again = makePair({ replayCache: first.replayCache, acceptorClock: clock });
    expect(failure(again.acceptor.receive({ ...request, timestampMs: clock.wall })).reason).toBe('replay');
    clock.mono += 1;
    const later = makePair({ replayCache: first.replayCache, acceptorClock: clock });
    expect(later.acceptor.receive({ ...request, timestampMs: clock.wall }).status).toBe('pending');
  });

  it('a refused request does not take a place in the replay cache', () => {
    const pair = makePair({ acceptor: { cluster: 'staging' } });
    runHandshake(pair);
    expect(pair.replayCache.size).toBe(0);
  });

  it('too_many_connections when the cache is full of live nonces, and accepted after they expire', () => {
    const clock = new TestClock();
    const cache = new NonceCache({ windowMs: 60_000, maxEntries: 3 });
    for (let seed = 1; seed <= 3; seed++) {
      const pair = makePair({ seed, replayCache: cache, acceptorClock: clock });
      pair.clock.mono = clock.mono;
      expect(runHandshake(pair).acceptorStep.status).toBe('established');
    }
    expect(cache.size).toBe(3);
    const fourth = makePair({ seed: 4, replayCache: cache, acceptorClock: clock });
    const x = runHandshake(fourth);
    expectAcceptorRefused(x, 'too_many_connections');
    expect(cache.size).toBe(3);
    // The earlier nonces are still remembered: the cap never evicts them.
    const replay = makePair({ seed: 1, replayCache: cache, acceptorClock: clock });
    expect(failure(replay.acceptor.receive(only(replay.initiator.start()))).reason).toBe('replay');
    clock.advance(60_000);
    const fifth = makePair({ seed: 5, replayCache: cache, acceptorClock: clock });
    fifth.clock.mono = clock.mono;
    fifth.clock.wall = clock.wall;
    expect(runHandshake(fifth).acceptorStep.status).toBe('established');
    expect(cache.size).toBe(1);
  });
});

describe('malformed requests', () => {
  const cases: [string, (r: Request) => Request][] = [
    ['a short nonce', (r) => ({ ...r, nonce: r.nonce.subarray(0, 15) })],
    ['a huge nonce', (r) => ({ ...r, nonce: new Uint8Array(65) })],
    ['an empty node id', (r) => ({ ...r, nodeId: '' })],
    ['a node id of 256 bytes', (r) => ({ ...r, nodeId: 'n'.repeat(256) })],
    ['missing capabilities', (r) => ({ ...r, capabilities: null })],
    ['a frame limit below 1 KiB', (r) => ({ ...r, capabilities: { ...r.capabilities!, maxFrameBytes: 10 } })],
    ['a fractional timestamp', (r) => ({ ...r, timestampMs: r.timestampMs + 0.5 })],
    ['an unsafe timestamp', (r) => ({ ...r, timestampMs: 2 ** 60 })],
  ];
  for (const [name, change] of cases) {
    it(`refuses ${name}`, () => {
      const pair = makePair();
      const request = only(pair.initiator.start()) as Request;
      const step = pair.acceptor.receive(change(request));
      expect(failure(step).reason).toBe('malformed');
      expect(pair.replayCache.size).toBe(0);
    });
  }
});
