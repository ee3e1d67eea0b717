// Properties of the handshake under hostile input: whatever sequence of
// random, garbled, replayed or reflected messages and ticks reaches either
// side, it never throws anything but a ClusterwireError, and a side with a
// secret never becomes established with a peer that does not know it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterwireError } from '../../src/shared/errors.js';
import type { BodyValue, Capabilities } from '../../src/shared/schema/layout.js';
import { createReplayCache, HandshakeAcceptor } from '../../src/main/transport/handshake-acceptor.js';
import { HandshakeInitiator } from '../../src/main/transport/handshake-initiator.js';
import type { HandshakeStep } from '../../src/main/transport/handshake.js';
import { computeProof } from '../../src/main/transport/handshake-proof.js';
import { resolveHandshakeOptions } from '../../src/main/transport/handshake-options.js';
import { depsOf, makePair, only, SECRET, TestClock, WALL_START } from './handshake-fixtures.js';

type Request = Extract<BodyValue, { type: 'HandshakeRequest' }>;
type Response = Extract<BodyValue, { type: 'HandshakeResponse' }>;

const WRONG_SECRET = Buffer.from('a guess at the secret, 16+ bytes');

const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
/** A value of the wire type most of the time, anything at all sometimes. */
const garbled = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.anything() as fc.Arbitrary<T> });

const capabilities: fc.Arbitrary<Capabilities | null> = fc.option(
  fc.record({
    compression: fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 5 }),
    maxFrameBytes: fc.oneof(fc.constant(16 << 20), fc.integer({ min: -1, max: 2 ** 33 })),
    maxStreams: fc.oneof(fc.constant(256), fc.integer({ min: -1, max: 2 ** 33 })),
    features: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  }),
  { freq: 5 },
);

const timestamp = fc.oneof(
  fc.integer({ min: WALL_START - 40_000, max: WALL_START + 40_000 }),
  fc.double(),
  fc.constant(2 ** 60),
);

const requestArb: fc.Arbitrary<BodyValue> = fc.record({
  type: fc.constant('HandshakeRequest' as const),
  versions: garbled(fc.oneof(fc.constant(Uint8Array.of(1)), bytes(4))),
  nodeId: garbled(fc.oneof(fc.constantFrom('node-a', 'node-b', 'node-c', ''), fc.string({ maxLength: 300 }))),
  cluster: garbled(fc.oneof(fc.constant('prod'), fc.string({ maxLength: 8 }))),
  capabilities: garbled(capabilities),
  timestampMs: garbled(timestamp),
  nonce: garbled(bytes(70)),
  advertise: garbled(fc.string({ maxLength: 20 })),
});

const responseArb: fc.Arbitrary<BodyValue> = fc.record({
  type: fc.constant('HandshakeResponse' as const),
  accepted: garbled(fc.boolean()),
  reject: garbled(fc.integer({ min: 0, max: 255 })),
  reason: garbled(fc.string({ maxLength: 300 })),
  version: garbled(fc.integer({ min: 0, max: 20 })),
  nodeId: garbled(fc.constantFrom('node-a', 'node-b', 'node-c', '')),
  cluster: garbled(fc.oneof(fc.constant('prod'), fc.string({ maxLength: 8 }))),
  capabilities: garbled(capabilities),
  timestampMs: garbled(timestamp),
  nonce: garbled(bytes(70)),
  proof: garbled(fc.oneof(bytes(40), fc.uint8Array({ minLength: 32, maxLength: 32 }))),
  sessionId: garbled(fc.oneof(bytes(20), fc.uint8Array({ minLength: 16, maxLength: 16 }))),
});

const confirmArb: fc.Arbitrary<BodyValue> = fc.record({
  type: fc.constant('HandshakeConfirm' as const),
  proof: garbled(fc.oneof(bytes(40), fc.uint8Array({ minLength: 32, maxLength: 32 }))),
  sessionId: garbled(fc.oneof(bytes(20), fc.uint8Array({ minLength: 16, maxLength: 16 }))),
});

const otherArb: fc.Arbitrary<BodyValue> = fc.oneof(
  fc.record({ type: fc.constant('Ping' as const), seq: fc.nat(), sentUs: fc.nat() }),
  fc.anything() as fc.Arbitrary<BodyValue>,
);

/** What the adversary does next. Derived actions reuse what the honest side sent. */
type Action =
  | { kind: 'send'; message: BodyValue }
  | { kind: 'tick'; ms: number }
  | { kind: 'reflect' }
  | { kind: 'replay-sent' }
  | { kind: 'forge'; role: 'acceptor' | 'initiator' }
  | { kind: 'honest-request' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(requestArb, responseArb, confirmArb, otherArb).map((message) => ({ kind: 'send' as const, message })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 12_000 }).map((ms) => ({ kind: 'tick' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reflect' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'replay-sent' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('acceptor' as const, 'initiator' as const).map((role) => ({ kind: 'forge' as const, role })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'honest-request' as const }) },
);

/** Calls `f`; a thrown error must be a ClusterwireError (and is then returned as null). */
function guarded(f: () => HandshakeStep): HandshakeStep | null {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterwireError);
    return null;
  }
}

/**
 * An honest request as a real initiator (without the secret) would send it:
 * the adversary can produce valid-looking requests, just not proofs.
 */
function honestRequest(clock: TestClock, seed: number): Request {
  const options = resolveHandshakeOptions({ nodeId: 'node-a', cluster: 'prod' });
  return only(new HandshakeInitiator(options, depsOf(clock, seed)).start()) as Request;
}

describe('handshake under hostile input', () => {
  it('an acceptor with a secret never throws a foreign error and never completes with an adversary', () => {
    // Confirms (forged, reflected, random) that reached an acceptor waiting for one.
    let confirmsTried = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(actionArb, { maxLength: 12 }), fc.integer({ min: 1, max: 2 ** 31 }), (opensHonestly, rest, seed) => {
        // Half the runs open with a well-formed request, so that the acceptor
        // answers and the forged and reflected confirms meet a waiting acceptor.
        const actions: Action[] = opensHonestly ? [{ kind: 'honest-request' }, ...rest] : rest;
        const clock = new TestClock();
        const options = resolveHandshakeOptions({ nodeId: 'node-b', cluster: 'prod', secret: SECRET });
        const acceptor = new HandshakeAcceptor(options, { ...depsOf(clock, seed), replayCache: createReplayCache(options) });
        acceptor.start();
        const sent: BodyValue[] = [];
        let lastRequest: Request | null = null;
        for (const action of actions) {
          let message: BodyValue | null = null;
          if (action.kind === 'tick') {
            clock.advance(action.ms);
            guarded(() => acceptor.tick(clock.mono));
            continue;
          }
          if (action.kind === 'send') message = action.message;
          else if (action.kind === 'honest-request') message = honestRequest(clock, seed + 1);
          else if (action.kind === 'replay-sent') message = sent.at(-1) ?? null;
          else {
            const response = sent.findLast((m): m is Response => m.type === 'HandshakeResponse' && m.accepted);
            if (response === undefined) continue;
            const proof: Uint8Array =
              action.kind === 'reflect'
                ? response.proof
                : lastRequest === null
                  ? response.proof
                  : computeProof(WRONG_SECRET, action.role, lastRequest, response);
            message = { type: 'HandshakeConfirm', proof, sessionId: response.sessionId };
          }
          if (message === null) continue;
          if (acceptor.state === 'awaiting-confirm' && message !== null && typeof message === 'object' && message.type === 'HandshakeConfirm') {
            confirmsTried++;
          }
          const step = guarded(() => acceptor.receive(message));
          if (step !== null) {
            sent.push(...step.send);
            // The request the acceptor took: forged proofs are computed over it.
            const took = step.send.some((m) => m.type === 'HandshakeResponse' && m.accepted);
            if (took) lastRequest = message as Request;
          }
          expect(acceptor.status).not.toBe('established');
        }
        expect(acceptor.session).toBeNull();
      }),
      { numRuns: 400 },
    );
    expect(confirmsTried).toBeGreaterThan(25);
  });

  it('an initiator with a secret never throws a foreign error and never completes with an adversary', () => {
    // Well-formed accepted responses with a proof that reached an initiator waiting for one.
    let responsesTried = 0;
    fc.assert(
      fc.property(fc.array(actionArb, { maxLength: 10 }), fc.integer({ min: 1, max: 2 ** 31 }), (actions, seed) => {
        const clock = new TestClock();
        const options = resolveHandshakeOptions({ nodeId: 'node-a', cluster: 'prod', secret: SECRET });
        const initiator = new HandshakeInitiator(options, depsOf(clock, seed));
        const request = only(initiator.start()) as Request;
        // A fake acceptor answers with a well-formed response under a guessed secret.
        const fake = new HandshakeAcceptor(resolveHandshakeOptions({ nodeId: 'node-b', cluster: 'prod', secret: WRONG_SECRET }), {
          ...depsOf(clock, seed + 1),
          replayCache: createReplayCache(options),
        });
        const fakeResponse = guarded(() => fake.receive(request))?.send[0];
        for (const action of actions) {
          let message: BodyValue | null = null;
          if (action.kind === 'tick') {
            clock.advance(action.ms);
            guarded(() => initiator.tick(clock.mono));
            continue;
          }
          if (action.kind === 'send') message = action.message;
          else if (action.kind === 'honest-request') message = request;
          else if (action.kind === 'replay-sent') message = fakeResponse ?? null;
          else if (fakeResponse !== undefined && fakeResponse.type === 'HandshakeResponse') {
            // The proof under the guessed secret, under the wrong label, or no proof at all.
            const proof = action.kind === 'reflect' ? new Uint8Array(0) : computeProof(WRONG_SECRET, action.role, request, fakeResponse);
            message = { ...fakeResponse, proof };
          }
          if (message === null) continue;
          if (initiator.state === 'awaiting-response' && message === fakeResponse) responsesTried++;
          if (initiator.state === 'awaiting-response' && action.kind === 'forge') responsesTried++;
          guarded(() => initiator.receive(message));
          expect(initiator.status).not.toBe('established');
        }
        expect(initiator.session).toBeNull();
      }),
      { numRuns: 400 },
    );
    expect(responsesTried).toBeGreaterThan(25);
  });

  it('without a secret, garbage still only ever produces ClusterwireErrors on either side', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { maxLength: 10 }), fc.integer({ min: 1, max: 2 ** 31 }), (actions, seed) => {
        const pair = makePair({ seed });
        pair.acceptor.start();
        pair.initiator.start();
        for (const action of actions) {
          if (action.kind === 'tick') {
            pair.clock.advance(action.ms);
            guarded(() => pair.acceptor.tick(pair.clock.mono));
            guarded(() => pair.initiator.tick(pair.clock.mono));
          } else if (action.kind === 'send') {
            guarded(() => pair.acceptor.receive(action.message));
            guarded(() => pair.initiator.receive(action.message));
          }
        }
        // Settled states are final and consistent with the step they answered.
        for (const side of [pair.acceptor, pair.initiator]) {
          if (side.status === 'failed') expect(side.error).toBeInstanceOf(ClusterwireError);
          if (side.status === 'established') expect(side.session).not.toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('honest peers with the same secret always complete, whatever the seed, a skew plus transit time within the allowance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: -20_000, max: 20_000 }), fc.integer({ min: 0, max: 9_999 }), (seed, skew, delay) => {
        const acceptorClock = new TestClock();
        acceptorClock.wall += skew;
        const pair = makePair({ seed, acceptorClock, initiator: { secret: SECRET }, acceptor: { secret: SECRET } });
        const request = only(pair.initiator.start());
        pair.acceptor.start();
        pair.clock.advance(delay);
        acceptorClock.advance(delay);
        const response = only(pair.acceptor.receive(request));
        const confirmStep = pair.initiator.receive(response);
        expect(confirmStep.status).toBe('established');
        expect(pair.acceptor.receive(only(confirmStep)).status).toBe('established');
        expect(pair.initiator.session!.sessionId).toEqual(pair.acceptor.session!.sessionId);
      }),
      { numRuns: 200 },
    );
  });
});
