import { describe, expect, it } from 'vitest';
import { MemberState } from '../../src/main/membership/messages.js';
import type { Swim } from '../../src/main/membership/swim.js';
import { addr, ofType, run, swim } from './helpers.js';

/** Ticks until the first probe goes out; returns its ping and the time. */
function firstProbe(a: Swim) {
  for (let t = 0; t < 1_000; t++) {
    const pings = ofType(a.tick(t).sends, 'SwimPing');
    if (pings.length > 0) return { ping: pings[0], t };
  }
  throw new Error('no probe');
}

const PEERS = ['b', 'c', 'd', 'e'];

describe('SWIM failure detection: probe, ping-req, suspect', () => {
  it('SWIM 3.1: sends one ping per protocol period to a member, and an ack ends the probe', () => {
    const a = swim('a', PEERS);
    const { ping, t } = firstProbe(a);
    const target = ping.message.target;
    expect(PEERS).toContain(target);
    expect(ping.to).toBe(addr(target));
    const ack = a.receive(addr(target), { type: 'SwimAck', seq: ping.message.seq, source: target, payload: new Uint8Array(0), updates: [], broadcasts: [] }, t + 5);
    expect(ack.sends).toHaveLength(0);
    const later = run(a, t + 5, t + 450);
    expect(ofType(later.sends, 'SwimPing')).toHaveLength(0);
    expect(ofType(later.sends, 'SwimPingReq')).toHaveLength(0);
    expect(later.events.filter((e) => e.type === 'member-suspected')).toHaveLength(0);
  });

  it('SWIM 4.3: randomized round-robin probes every member once per pass', () => {
    const a = swim('a', PEERS);
    const probed: string[] = [];
    for (let t = 0; t < 4 * 500; t += 5) {
      for (const s of a.tick(t).sends) {
        if (s.message.type === 'SwimPing' && s.channel === 'packet') {
          probed.push(s.message.target);
          a.receive(s.to, { type: 'SwimAck', seq: s.message.seq, source: s.message.target, payload: new Uint8Array(0), updates: [], broadcasts: [] }, t);
        }
      }
    }
    expect(probed.slice(0, 4).sort()).toEqual(PEERS);
  });

  it('SWIM 3.1: without an ack within probeTimeoutMs, asks k = indirectChecks helpers (Lifeguard: wanting a nack) and retries directly', () => {
    const a = swim('a', PEERS);
    const { ping, t } = firstProbe(a);
    const target = ping.message.target;
    expect(ofType(run(a, t + 1, t + 199, 1).sends, 'SwimPingReq')).toHaveLength(0);
    const { sends } = run(a, t + 200, t + 200);
    const reqs = ofType(sends, 'SwimPingReq');
    expect(reqs).toHaveLength(3);
    for (const r of reqs) {
      expect(r.message.target).toBe(target);
      expect(r.message.wantNack).toBe(true);
      expect(r.message.seq).toBe(ping.message.seq);
      expect(r.to).not.toBe(addr(target));
    }
    const direct = ofType(sends, 'SwimPing').filter((s) => s.message.target === target);
    expect(direct.map((s) => s.channel).sort()).toEqual(['packet', 'stream']);
  });

  it('SWIM 4.2: a probe that fails through every path makes the target suspect, and the suspect is gossiped', () => {
    const a = swim('a', PEERS);
    const { ping, t } = firstProbe(a);
    const target = ping.message.target;
    const { events, sends } = run(a, t + 1, t + 500, 1);
    const suspected = events.filter((e) => e.type === 'member-suspected');
    expect(suspected.map((e) => e.type === 'member-suspected' && e.member.name)).toContain(target);
    expect(a.stateOf(target)).toBe('suspect');
    const carried = sends.flatMap((s) => ('updates' in s.message ? s.message.updates : []));
    expect(carried.some((u) => u.node === target && u.state === MemberState.Suspect)).toBe(true);
  });

  it('Lifeguard IV-C buddy system: the suspected member is told first, directly', () => {
    const a = swim('a', PEERS);
    const { ping, t } = firstProbe(a);
    const target = ping.message.target;
    const { sends } = run(a, t + 1, t + 500, 1);
    const told = ofType(sends, 'SwimGossip').filter((s) => s.to === addr(target));
    expect(told.length).toBeGreaterThan(0);
    expect(told[0].message.updates[0]).toMatchObject({ node: target, state: MemberState.Suspect });
  });

  it('SWIM 3.1 helper side: a ping-req makes the helper ping the target and forward its ack', () => {
    const c = swim('c', ['a', 'b']);
    const step = c.receive(addr('a'), { type: 'SwimPingReq', seq: 77, target: 'b', targetHost: 'b', targetPort: 7946, wantNack: true, source: 'a', sourceHost: 'a', sourcePort: 7946, updates: [], broadcasts: [] }, 1_000);
    const ping = ofType(step.sends, 'SwimPing')[0];
    expect(ping.to).toBe(addr('b'));
    expect(ping.message.target).toBe('b');
    const fwd = c.receive(addr('b'), { type: 'SwimAck', seq: ping.message.seq, source: 'b', payload: new Uint8Array(0), updates: [], broadcasts: [] }, 1_005);
    const acks = ofType(fwd.sends, 'SwimAck');
    expect(acks).toHaveLength(1);
    expect(acks[0].to).toBe(addr('a'));
    expect(acks[0].message.seq).toBe(77);
  });

  it('Lifeguard IV-A: a helper that hears nothing from the target sends a nack at 80% of the probe timeout', () => {
    const c = swim('c', ['a', 'b']);
    c.receive(addr('a'), { type: 'SwimPingReq', seq: 9, target: 'b', targetHost: 'b', targetPort: 7946, wantNack: true, source: 'a', sourceHost: 'a', sourcePort: 7946, updates: [], broadcasts: [] }, 1_000);
    expect(ofType(c.tick(1_150).sends, 'SwimNack')).toHaveLength(0);
    const nacks = ofType(c.tick(1_160).sends, 'SwimNack');
    expect(nacks).toHaveLength(1);
    expect(nacks[0].to).toBe(addr('a'));
    expect(nacks[0].message.seq).toBe(9);
  });

  it('Lifeguard IV-A local health: failed probes without nacks raise the score and stretch the probe interval', () => {
    const a = swim('a', PEERS, { reconnectIntervalMs: 0, pushPullIntervalMs: 0 });
    expect(a.healthScore).toBe(0);
    run(a, 0, 3_000, 5);
    expect(a.healthScore).toBeGreaterThan(0);
    const score = a.healthScore;
    // With score s the next probes are (s + 1) x probeIntervalMs apart.
    const started = new Map<number, number>();
    for (let t = 3_005; t < 3_005 + 4 * 500 * 8; t += 5) {
      for (const s of a.tick(t).sends) if (s.message.type === 'SwimPing' && !started.has(s.message.seq)) started.set(s.message.seq, t);
    }
    const times = [...started.values()];
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(score).toBeGreaterThanOrEqual(1);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500 * (score + 1) - 5);
  });

  it('Lifeguard IV-A: acked probes lower the score again', () => {
    const a = swim('a', PEERS);
    run(a, 0, 3_000, 5);
    const raised = a.healthScore;
    let t = 3_000;
    while (a.healthScore > 0 && t < 60_000) {
      for (const s of a.tick(t).sends) {
        if (s.message.type === 'SwimPing' && s.message.source === 'a') {
          a.receive(s.to, { type: 'SwimAck', seq: s.message.seq, source: s.message.target, payload: new Uint8Array(0), updates: [], broadcasts: [] }, t);
        }
      }
      t += 5;
    }
    expect(raised).toBeGreaterThan(0);
    expect(a.healthScore).toBe(0);
  });

  it('plain SWIM (lifeguard off): no nack wanted, health stays 0', () => {
    const a = swim('a', PEERS, { lifeguard: 'off' });
    const { sends } = run(a, 0, 3_000, 5);
    expect(ofType(sends, 'SwimPingReq').every((r) => !r.message.wantNack)).toBe(true);
    expect(a.healthScore).toBe(0);
  });

  it('answers a ping addressed to it with an ack of the same seq, and ignores pings for another node', () => {
    const b = swim('b', ['a']);
    const ok = b.receive(addr('a'), { type: 'SwimPing', seq: 5, target: 'b', source: 'a', sourceHost: 'a', sourcePort: 7946, updates: [], broadcasts: [] }, 10, 'stream');
    expect(ok.sends).toHaveLength(1);
    expect(ok.sends[0]).toMatchObject({ to: addr('a'), channel: 'stream', message: { type: 'SwimAck', seq: 5, source: 'b' } });
    const wrong = b.receive(addr('a'), { type: 'SwimPing', seq: 6, target: 'x', source: 'a', sourceHost: 'a', sourcePort: 7946, updates: [], broadcasts: [] }, 10);
    expect(wrong.sends).toHaveLength(0);
  });

  it('nextDeadline says when tick has work: never later than the next probe', () => {
    const a = swim('a', PEERS);
    const d = a.nextDeadline();
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(500);
    expect(a.tick(d).sends.length).toBeGreaterThan(0);
  });

  it('adaptive probe timeout: after fast acks the indirect phase starts at srtt + 4 rttvar (not below probeTimeoutMs / 8)', () => {
    const indirectDelay = (mode: 'adaptive' | 'fixed'): number => {
      const a = swim('a', PEERS, { probeTimeoutMode: mode, reconnectIntervalMs: 0, pushPullIntervalMs: 0 });
      // Ten probes answered after 2 ms.
      let t = 0;
      let answered = 0;
      while (answered < 10) {
        for (const s of a.tick(t).sends) {
          if (s.message.type === 'SwimPing' && s.channel === 'packet') {
            a.receive(s.to, { type: 'SwimAck', seq: s.message.seq, source: s.message.target, payload: new Uint8Array(0), updates: [], broadcasts: [] }, t + 2);
            answered++;
          }
        }
        t += 1;
      }
      // The next probe goes unanswered: when do the ping-reqs leave?
      let start = -1;
      for (let u = t; u < t + 2_000; u++) {
        for (const s of a.tick(u).sends) {
          if (s.message.type === 'SwimPing' && start < 0) start = u;
          if (s.message.type === 'SwimPingReq') return u - start;
        }
      }
      throw new Error('no ping-req');
    };
    expect(indirectDelay('adaptive')).toBe(25);
    expect(indirectDelay('fixed')).toBe(200);
  });
});

describe('probe outcomes reported to the host', () => {
  it('a direct ack: probe-acked with the round trip and the payload the member attaches (setAckPayload)', () => {
    const a = swim('a', ['b']);
    const b = swim('b', ['a']);
    b.setAckPayload(Uint8Array.of(7, 7, 7));
    let acked: Extract<ReturnType<Swim['tick']>['events'][number], { type: 'probe-acked' }> | undefined;
    for (let t = 0; t <= 2_000 && acked === undefined; t += 10) {
      for (const s of [...a.tick(t).sends]) {
        if (s.message.type !== 'SwimPing') continue;
        const reply = b.receive(addr('a'), s.message, t + 3);
        for (const r of [...reply.sends]) {
          const step = a.receive(addr('b'), r.message, t + 4);
          acked ??= step.events.find((e) => e.type === 'probe-acked') as typeof acked;
        }
      }
    }
    expect(acked).toMatchObject({ node: 'b', rttMs: 4, payload: Uint8Array.of(7, 7, 7) });
    expect(() => b.setAckPayload(new Uint8Array(129))).toThrow(/exceeds 128/);
  });

  it('an ack relayed by a ping-req helper: probe-relayed names the helper (the target is reachable only through it)', () => {
    const a = swim('a', ['b', 'c']);
    let relayed: unknown;
    for (let t = 0; t <= 10_000 && relayed === undefined; t += 10) {
      for (const s of [...a.tick(t).sends]) {
        // c never hears a directly; b does, and answers for c
        if (s.message.type === 'SwimPing' && s.message.target === 'b') a.receive(addr('b'), { type: 'SwimAck', seq: s.message.seq, source: 'b', payload: new Uint8Array(0), updates: [], broadcasts: [] }, t + 1);
        if (s.message.type === 'SwimPingReq' && s.to === addr('b')) {
          const step = a.receive(addr('b'), { type: 'SwimAck', seq: s.message.seq, source: 'c', payload: new Uint8Array(0), updates: [], broadcasts: [] }, t + 2);
          relayed = step.events.find((e) => e.type === 'probe-relayed');
        }
      }
    }
    expect(relayed).toEqual({ type: 'probe-relayed', node: 'c', via: 'b' });
  });
});
