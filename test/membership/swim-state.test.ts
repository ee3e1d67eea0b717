import { describe, expect, it } from 'vitest';
import { MemberState, messageBytes, type SwimMessage } from '../../src/main/membership/messages.js';
import { Swim } from '../../src/main/membership/swim.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';
import { addr, gossipOf, ofType, record, run, runAcking, swim } from './helpers.js';

const PEERS = ['b', 'c', 'd', 'e'];

function updatesIn(sends: readonly { message: SwimMessage }[]) {
  return sends.flatMap((s) => ('updates' in s.message ? s.message.updates : []));
}

describe('SWIM suspicion and incarnations', () => {
  it('SWIM 4.2: a member told it is suspected refutes with a higher incarnation and gossips alive', () => {
    const b = swim('b', ['a', 'c', 'd']);
    const step = b.receive(addr('a'), gossipOf('a', [{ node: 'b', state: MemberState.Suspect, incarnation: 0 }]), 100);
    expect(b.incarnation).toBe(1);
    expect(step.events).toContainEqual({ type: 'refuted', claimed: 'suspect', incarnation: 0 });
    expect(step.events).toContainEqual({ type: 'incarnation', incarnation: 1 });
    // The accuser hears the refutation first (directly), then everybody by gossip.
    expect(ofType(step.sends, 'SwimGossip')[0]).toMatchObject({ to: addr('a'), message: { updates: [{ node: 'b', state: MemberState.Alive, incarnation: 1 }] } });
    const later = run(b, 100, 1_000);
    expect(updatesIn(later.sends).some((u) => u.node === 'b' && u.state === MemberState.Alive && u.incarnation === 1)).toBe(true);
  });

  it('SWIM 4.2: alive with a higher incarnation overrides suspect; alive with the same incarnation does not', () => {
    const a = swim('a', PEERS);
    a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Suspect, incarnation: 0 }]), 10);
    expect(a.stateOf('b')).toBe('suspect');
    a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Alive, incarnation: 0 }]), 20);
    expect(a.stateOf('b')).toBe('suspect');
    const step = a.receive(addr('b'), gossipOf('b', [{ node: 'b', state: MemberState.Alive, incarnation: 1 }]), 30);
    expect(a.stateOf('b')).toBe('alive');
    expect(step.events.map((e) => e.type)).toContain('member-alive');
  });

  it('SWIM 4.2: dead overrides suspect and alive of the same incarnation, but not a higher alive', () => {
    const a = swim('a', PEERS);
    a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Alive, incarnation: 3 }]), 10);
    a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Dead, incarnation: 2 }]), 20);
    expect(a.stateOf('b')).toBe('alive');
    const step = a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Dead, incarnation: 3 }]), 30);
    expect(a.stateOf('b')).toBe('dead');
    expect(step.events).toContainEqual(expect.objectContaining({ type: 'member-dead', from: 'c' }));
  });

  it('Lifeguard IV-B: without confirmations a suspicion lasts the maximum timeout, then the member is dead', () => {
    // N = 5: min = 1.5 x max(2, log10 5) x 500 = 1500 ms, max = 4 x 1500 = 6000 ms.
    const s = swim('a', PEERS, { pushPullIntervalMs: 0, reconnectIntervalMs: 0 });
    s.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'c' }]), 1_000);
    // b answers a's own probes (an ack does not refute; only a higher incarnation does).
    runAcking(s, 1_000, 6_999, 1);
    expect(s.stateOf('b')).toBe('suspect');
    const step = s.tick(7_000);
    expect(s.stateOf('b')).toBe('dead');
    expect(step.events).toContainEqual(expect.objectContaining({ type: 'member-dead', from: 'a' }));
  });

  it('Lifeguard IV-B: independent confirmations shrink the timeout to the minimum', () => {
    const s = swim('a', ['b', 'c', 'd', 'e', 'f'], { pushPullIntervalMs: 0, reconnectIntervalMs: 0 });
    s.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'c' }]), 1_000);
    s.receive(addr('d'), gossipOf('d', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'd' }]), 1_100);
    s.receive(addr('e'), gossipOf('e', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'e' }]), 1_200);
    s.receive(addr('f'), gossipOf('f', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'f' }]), 1_300);
    // N = 6: min = 1.5 x max(2, log10 6) x 500 = 1500 ms, reached with 3 confirmations.
    runAcking(s, 1_300, 2_499, 1);
    expect(s.stateOf('b')).toBe('suspect');
    s.tick(2_500);
    expect(s.stateOf('b')).toBe('dead');
  });

  it('plain SWIM (lifeguard off): the suspicion timeout is fixed at the minimum', () => {
    const s = swim('a', PEERS, { lifeguard: 'off', pushPullIntervalMs: 0, reconnectIntervalMs: 0 });
    s.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Suspect, incarnation: 0, from: 'c' }]), 1_000);
    runAcking(s, 1_000, 2_499, 1);
    expect(s.stateOf('b')).toBe('suspect');
    s.tick(2_500);
    expect(s.stateOf('b')).toBe('dead');
  });

  it('a member that still spreads a refuted accusation is corrected directly', () => {
    const a = swim('a', PEERS);
    a.receive(addr('b'), gossipOf('b', [{ node: 'b', state: MemberState.Alive, incarnation: 2 }]), 10);
    const step = a.receive(addr('c'), gossipOf('c', [{ node: 'b', state: MemberState.Suspect, incarnation: 1, from: 'd' }]), 20);
    const fix = ofType(step.sends, 'SwimGossip').find((s) => s.to === addr('c'));
    expect(fix?.message.updates[0]).toMatchObject({ node: 'b', state: MemberState.Alive, incarnation: 2 });
  });

  it('a member that accuses a member who left (it missed the leave) is told it left', () => {
    const a = swim('a', PEERS);
    a.receive(addr('b'), gossipOf('b', [{ node: 'b', state: MemberState.Left, incarnation: 0 }]), 10);
    for (const state of [MemberState.Suspect, MemberState.Dead]) {
      const step = a.receive(addr('c'), gossipOf('c', [{ node: 'b', state, incarnation: 0, from: 'c' }]), 20);
      const fix = ofType(step.sends, 'SwimGossip').find((s) => s.to === addr('c'));
      expect(fix?.message.updates[0]).toMatchObject({ node: 'b', state: MemberState.Left, incarnation: 0 });
      expect(a.stateOf('b')).toBe('left');
    }
    // The accuser takes the correction: left, not dead, and no failure reported.
    const c = swim('c', ['a', 'b', 'd']);
    c.receive(addr('a'), gossipOf('a', [{ node: 'b', state: MemberState.Dead, incarnation: 0, from: 'c' }]), 10);
    const step = c.receive(addr('a'), gossipOf('a', [{ node: 'b', state: MemberState.Left, incarnation: 0, from: 'a' }]), 20);
    expect(c.stateOf('b')).toBe('left');
    expect(step.events.map((e) => e.type)).toContain('member-left');
  });

  it('restart: an alive record of itself with a higher incarnation makes a node take the highest seen + 1', () => {
    const b = swim('b', ['a']);
    expect(b.incarnation).toBe(0);
    const step = b.receive(addr('a'), { type: 'SwimPushPull', join: true, reply: true, source: 'a', members: [record('a'), record('b', 7)], userState: new Uint8Array(0) }, 5);
    expect(b.incarnation).toBe(8);
    expect(step.events).toContainEqual({ type: 'incarnation', incarnation: 8 });
  });

  it('initialIncarnation: a persisted counter is used as the starting incarnation', () => {
    const b = swim('b', [], { initialIncarnation: 41 });
    expect(b.incarnation).toBe(41);
  });
});

describe('push-pull, join, leave, metadata, broadcasts', () => {
  it('join: sends a push-pull to each seed over the stream, retries, and reports joined on the reply', () => {
    const n = swim('n', [], { joinRetryIntervalMs: 1_000 });
    const first = n.join([addr('s1'), addr('s2'), addr('n')], 0);
    expect(n.state).toBe('joining');
    const pp = ofType(first.sends, 'SwimPushPull');
    expect(pp.map((s) => s.to).sort()).toEqual([addr('s1'), addr('s2')]);
    expect(pp.every((s) => s.channel === 'stream' && s.message.join && !s.message.reply)).toBe(true);
    expect(ofType(n.tick(999).sends, 'SwimPushPull')).toHaveLength(0);
    expect(ofType(n.tick(1_000).sends, 'SwimPushPull')).toHaveLength(2);
    const step = n.receive(addr('s1'), { type: 'SwimPushPull', join: true, reply: true, source: 's1', members: [record('s1'), record('x')], userState: new Uint8Array(0) }, 1_100);
    expect(n.state).toBe('alive');
    expect(step.events).toContainEqual({ type: 'joined', via: addr('s1') });
    expect(n.stateOf('x')).toBe('alive');
  });

  it('join: gives up after joinMaxAttempts rounds with join-failed', () => {
    const n = swim('n', [], { joinRetryIntervalMs: 100, joinMaxAttempts: 3 });
    n.join([addr('s1')], 0);
    const { events } = run(n, 1, 1_000, 50);
    expect(events).toContainEqual({ type: 'join-failed', attempts: 3 });
  });

  it('push-pull: answers a request with its full state, merging the sender first', () => {
    const a = swim('a', ['b']);
    const step = a.receive(addr('c'), { type: 'SwimPushPull', join: true, reply: false, source: 'c', members: [record('c', 2), record('d')], userState: new Uint8Array(0) }, 10);
    const reply = ofType(step.sends, 'SwimPushPull')[0];
    expect(reply.to).toBe(addr('c'));
    expect(reply.message.reply).toBe(true);
    expect(reply.message.members.map((m) => m.node).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('push-pull: a dead record counts only as a suspicion, so the member can refute (partition re-merge)', () => {
    const a = swim('a', PEERS);
    a.receive(addr('c'), { type: 'SwimPushPull', join: false, reply: true, source: 'c', members: [record('b', 0, MemberState.Dead)], userState: new Uint8Array(0) }, 10);
    expect(a.stateOf('b')).toBe('suspect');
  });

  it('push-pull: a record that says this node is dead makes it refute', () => {
    const a = swim('a', PEERS);
    a.receive(addr('c'), { type: 'SwimPushPull', join: false, reply: true, source: 'c', members: [record('a', 4, MemberState.Dead)], userState: new Uint8Array(0) }, 10);
    expect(a.incarnation).toBe(5);
  });

  it('leave: gossips Left about itself, stops probing; receivers mark it left', () => {
    const a = swim('a', PEERS);
    const step = a.leave(100);
    expect(a.state).toBe('left');
    const left = updatesIn(step.sends).filter((u) => u.node === 'a' && u.state === MemberState.Left);
    expect(left.length).toBeGreaterThan(0);
    const later = run(a, 100, 5_000);
    expect(ofType(later.sends, 'SwimPing')).toHaveLength(0);
    const b = swim('b', ['a']);
    const ev = b.receive(addr('a'), gossipOf('a', [{ node: 'a', state: MemberState.Left, incarnation: 0 }]), 10);
    expect(b.stateOf('a')).toBe('left');
    expect(ev.events.map((e) => e.type)).toContain('member-left');
  });

  it('metadata: setMeta raises the incarnation and receivers report member-updated', () => {
    const a = swim('a', ['b']);
    a.setMeta(Uint8Array.of(1, 2, 3));
    expect(a.incarnation).toBe(1);
    const b = swim('b', ['a']);
    const step = b.receive(addr('a'), { type: 'SwimGossip', source: 'a', updates: [{ state: MemberState.Alive, node: 'a', incarnation: 1, from: 'a', host: 'a', port: 7946, meta: Uint8Array.of(1, 2, 3) }], broadcasts: [] }, 10);
    expect(step.events.map((e) => e.type)).toContain('member-updated');
    expect([...(b.member('a')?.meta ?? [])]).toEqual([1, 2, 3]);
    expect(() => a.setMeta(new Uint8Array(513))).toThrow(/maxMetaBytes/);
  });

  it('broadcasts: delivered once per node, and passed on', () => {
    const b = swim('b', ['a', 'c']);
    const msg: SwimMessage = { type: 'SwimGossip', source: 'a', updates: [], broadcasts: [{ id: 1, origin: 'a', topic: 't', payload: Uint8Array.of(9) }] };
    // A step is valid until the next call: copy what is kept.
    const first = [...b.receive(addr('a'), msg, 10).events];
    const second = [...b.receive(addr('c'), msg, 20).events];
    expect(first.filter((e) => e.type === 'broadcast')).toHaveLength(1);
    expect(second.filter((e) => e.type === 'broadcast')).toHaveLength(0);
    expect(b.pendingGossip).toBe(1);
  });

  it('piggybacking never makes a message larger than maxPacketBytes', () => {
    const a = swim('a', PEERS);
    const many = Array.from({ length: 200 }, (_, i) => ({ node: `m${i}`, state: MemberState.Alive, incarnation: 1 }));
    a.receive(addr('b'), gossipOf('b', many), 1);
    const { sends } = run(a, 1, 3_000);
    expect(sends.length).toBeGreaterThan(0);
    for (const s of sends) if (s.message.type !== 'SwimPushPull') expect(messageBytes(s.message)).toBeLessThanOrEqual(1_400);
  });

  it('SWIM 4.1: an update is piggybacked at most retransmitMult x ceil(log10(N + 1)) times', () => {
    const a = swim('a', PEERS, { pushPullIntervalMs: 0, reconnectIntervalMs: 0 });
    a.receive(addr('b'), gossipOf('b', [{ node: 'x', state: MemberState.Alive, incarnation: 0 }]), 1);
    const { sends } = runAcking(a, 1, 20_000);
    const copies = updatesIn(sends).filter((u) => u.node === 'x').length;
    // N = 6 (a, b..e, x): 4 x ceil(log10 7) = 4.
    expect(copies).toBe(4);
  });

  it('deterministic: the same seed gives the same sends', () => {
    const trace = (seed: number) => {
      const s = new Swim({ name: 'a', host: 'a', port: 7946 }, { rng: new Sfc32(seed), now: 0 });
      s.restore(PEERS.map((p) => record(p)), 0);
      return JSON.stringify(run(s, 0, 10_000, 7).sends.map((x) => [x.to, x.channel, x.message.type]));
    };
    expect(trace(3)).toBe(trace(3));
    expect(trace(3)).not.toBe(trace(4));
  });
});

describe('SWIM: a member that missed the gossip of a join', () => {
  const pingFrom = (source: string, target: string, seq = 1): SwimMessage => ({
    type: 'SwimPing',
    seq,
    target,
    source,
    sourceHost: source,
    sourcePort: 7946,
    updates: [],
    broadcasts: [],
  });

  it('pushes and pulls state with an unknown member that probes it, at most once every five probe intervals', () => {
    const b = swim('b', ['a'], { probeIntervalMs: 200, probeTimeoutMs: 100 });
    const first = b.receive(addr('x'), pingFrom('x', 'b'), 100);
    expect(ofType(first.sends, 'SwimAck')).toHaveLength(1); // answered as any probe is
    expect(ofType(first.sends, 'SwimPushPull')).toMatchObject([{ to: addr('x'), message: { join: false, reply: false, source: 'b' } }]);
    expect(ofType(b.receive(addr('x'), pingFrom('x', 'b', 2), 500).sends, 'SwimPushPull')).toHaveLength(0);
    expect(ofType(b.receive(addr('x'), pingFrom('x', 'b', 3), 1_100).sends, 'SwimPushPull')).toHaveLength(1);
    // the reply merges x into b's view: later probes from it start nothing
    b.receive(addr('x'), { type: 'SwimPushPull', join: false, reply: true, source: 'x', members: [record('x'), record('a')], userState: new Uint8Array(0) }, 1_200);
    expect(b.stateOf('x')).toBe('alive');
    expect(ofType(b.receive(addr('x'), pingFrom('x', 'b', 4), 5_000).sends, 'SwimPushPull')).toHaveLength(0);
  });

  it('syncs at its announced gossip address, and with one unknown prober per probe interval at most', () => {
    const b = swim('b', ['a'], { probeIntervalMs: 200, probeTimeoutMs: 100 });
    const viaStream = b.receive('x:40001', pingFrom('x', 'b'), 100, 'stream'); // a fallback ping, from an ephemeral port
    expect(ofType(viaStream.sends, 'SwimPushPull').map((s) => s.to)).toEqual([addr('x')]);
    expect(ofType(b.receive(addr('y'), pingFrom('y', 'b'), 200).sends, 'SwimPushPull')).toHaveLength(0); // within the interval
    expect(ofType(b.receive(addr('y'), pingFrom('y', 'b'), 300).sends, 'SwimPushPull')).toHaveLength(1);
  });

  it('does not sync with a known member, with a ping for another target, or with itself', () => {
    const b = swim('b', ['a']);
    expect(ofType(b.receive(addr('a'), pingFrom('a', 'b'), 100).sends, 'SwimPushPull')).toHaveLength(0);
    expect(ofType(b.receive(addr('y'), pingFrom('y', 'z'), 100).sends, 'SwimPushPull')).toHaveLength(0);
    expect(ofType(b.receive(addr('b'), pingFrom('b', 'b'), 100).sends, 'SwimPushPull')).toHaveLength(0);
  });
});
