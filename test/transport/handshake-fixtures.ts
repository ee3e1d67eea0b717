// Deterministic collaborators and a message pump for the handshake tests.
import type { BodyValue } from '../../src/shared/schema/layout.js';
import { createReplayCache, HandshakeAcceptor } from '../../src/main/transport/handshake-acceptor.js';
import { HandshakeInitiator } from '../../src/main/transport/handshake-initiator.js';
import type { HandshakeDeps, HandshakeMessage, HandshakeStep } from '../../src/main/transport/handshake.js';
import { resolveHandshakeOptions, type HandshakeOptionsInput } from '../../src/main/transport/handshake-options.js';
import type { NonceCache } from '../../src/main/transport/nonce-cache.js';

/** 2026-01-01T00:00:00Z: the wall clock every test clock starts at. */
export const WALL_START = 1_767_225_600_000;
export const SECRET = 'correct horse battery staple';

/** A virtual clock: a monotonic reading and a wall reading that can be moved apart. */
export class TestClock {
  mono = 1_000;
  wall = WALL_START;

  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

/** A seeded source of bytes (xorshift32): the same seed gives the same nonces. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export function depsOf(clock: TestClock, seed: number): HandshakeDeps {
  return { now: () => clock.mono, wallClock: () => clock.wall, randomBytes: seededBytes(seed) };
}

export interface PairSetup {
  initiator?: Partial<HandshakeOptionsInput>;
  acceptor?: Partial<HandshakeOptionsInput>;
  /** Clock of the acceptor; defaults to the initiator's. */
  acceptorClock?: TestClock;
  replayCache?: NonceCache;
  seed?: number;
}

export interface Pair {
  clock: TestClock;
  acceptorClock: TestClock;
  initiator: HandshakeInitiator;
  acceptor: HandshakeAcceptor;
  replayCache: NonceCache;
}

export function makePair(setup: PairSetup = {}): Pair {
  const clock = new TestClock();
  const acceptorClock = setup.acceptorClock ?? clock;
  const seed = setup.seed ?? 7;
  const initiatorOptions = resolveHandshakeOptions({ nodeId: 'node-a', cluster: 'prod', advertise: '10.0.0.1:7946', ...setup.initiator });
  const acceptorOptions = resolveHandshakeOptions({ nodeId: 'node-b', cluster: 'prod', advertise: '10.0.0.2:7946', ...setup.acceptor });
  const replayCache = setup.replayCache ?? createReplayCache(acceptorOptions);
  return {
    clock,
    acceptorClock,
    initiator: new HandshakeInitiator(initiatorOptions, depsOf(clock, seed)),
    acceptor: new HandshakeAcceptor(acceptorOptions, { ...depsOf(acceptorClock, seed * 31 + 1), replayCache }),
    replayCache,
  };
}

/** The single message a step sends (fails the test when there is not exactly one). */
export function only(step: HandshakeStep): HandshakeMessage {
  if (step.send.length !== 1) throw new Error(`expected one message to send, got ${step.send.length} (status ${step.status})`);
  return step.send[0];
}

export interface Exchange {
  request: Extract<BodyValue, { type: 'HandshakeRequest' }>;
  response: Extract<BodyValue, { type: 'HandshakeResponse' }> | null;
  confirm: Extract<BodyValue, { type: 'HandshakeConfirm' }> | null;
  initiatorStep: HandshakeStep;
  acceptorStep: HandshakeStep;
}

/** Runs a whole handshake between the two sides, delivering every message as sent. */
export function runHandshake(pair: Pair): Exchange {
  const request = only(pair.initiator.start()) as Exchange['request'];
  pair.acceptor.start();
  let acceptorStep = pair.acceptor.receive(request);
  const response = only(acceptorStep) as Extract<BodyValue, { type: 'HandshakeResponse' }>;
  let initiatorStep = pair.initiator.receive(response);
  if (!response.accepted) return { request, response, confirm: null, initiatorStep, acceptorStep };
  if (initiatorStep.status !== 'established') {
    // The initiator refused: its refusal goes back to the acceptor.
    for (const m of initiatorStep.send) acceptorStep = pair.acceptor.receive(m);
    return { request, response, confirm: null, initiatorStep, acceptorStep };
  }
  const confirm = only(initiatorStep) as Extract<BodyValue, { type: 'HandshakeConfirm' }>;
  acceptorStep = pair.acceptor.receive(confirm);
  for (const m of acceptorStep.send) initiatorStep = pair.initiator.receive(m);
  return { request, response, confirm, initiatorStep, acceptorStep };
}
