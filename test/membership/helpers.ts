import { MemberState, type MemberRecord, type Send, type SwimMessage } from '../../src/main/membership/messages.js';
import type { SwimOptionsInput } from '../../src/main/membership/options.js';
import { Swim } from '../../src/main/membership/swim.js';
import { Sfc32 } from '../../src/main/simulator/prng.js';

export const addr = (name: string): string => `${name}:7946`;

export function record(node: string, incarnation = 0, state: MemberState = MemberState.Alive): MemberRecord {
  return { node, host: node, port: 7946, incarnation, state, meta: new Uint8Array(0) };
}

/** A core named `name` that already knows `peers` (all alive at incarnation 0). */
export function swim(name: string, peers: readonly string[] = [], options: Partial<SwimOptionsInput> = {}, seed = 1): Swim {
  const s = new Swim({ name, host: name, port: 7946, ...options }, { rng: new Sfc32(seed), now: 0 });
  s.restore(peers.map((p) => record(p)), 0);
  return s;
}

export function ofType<T extends SwimMessage['type']>(sends: readonly Send[], type: T): (Send & { message: Extract<SwimMessage, { type: T }> })[] {
  return sends.filter((s) => s.message.type === type) as (Send & { message: Extract<SwimMessage, { type: T }> })[];
}

/** Ticks every `stepMs` from `from` to `to`, collecting sends and events. */
export function run(s: Swim, from: number, to: number, stepMs = 10) {
  const sends: Send[] = [];
  const events: ReturnType<Swim['tick']>['events'][number][] = [];
  for (let t = from; t <= to; t += stepMs) {
    const step = s.tick(t);
    sends.push(...step.sends);
    events.push(...step.events);
  }
  return { sends, events };
}

export function gossipOf(self: string, updates: { node: string; state: MemberState; incarnation: number; from?: string }[]): SwimMessage {
  return {
    type: 'SwimGossip',
    source: self,
    updates: updates.map((u) => ({ state: u.state, node: u.node, incarnation: u.incarnation, from: u.from ?? self, host: u.node, port: 7946, meta: new Uint8Array(0) })),
    broadcasts: [],
  };
}

/** Like run(), but every member except those in `silent` answers pings at once. */
export function runAcking(s: Swim, from: number, to: number, stepMs = 10, silent: readonly string[] = []) {
  const sends: Send[] = [];
  const events: ReturnType<Swim['tick']>['events'][number][] = [];
  const take = (step: ReturnType<Swim['tick']>, t: number): void => {
    const out = [...step.sends];
    events.push(...step.events);
    sends.push(...out);
    for (const x of out) {
      if (x.message.type === 'SwimPing' && x.message.source === s.name && !silent.includes(x.message.target)) {
        take(s.receive(x.to, { type: 'SwimAck', seq: x.message.seq, source: x.message.target, payload: new Uint8Array(0), updates: [], broadcasts: [] }, t), t);
      }
    }
  };
  for (let t = from; t <= to; t += stepMs) take(s.tick(t), t);
  return { sends, events };
}
