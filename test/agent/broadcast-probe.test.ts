// --broadcast-every / --broadcast-via: an agent's probe broadcasts reach the
// others, which record origin, sequence and latency once each in /status.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent, type AgentHandle } from '../../src/main/agent/agent.js';
import { decodeBroadcast, encodeBroadcast } from '../../src/main/agent/broadcast-probe.js';
import type { AgentStatus } from '../../src/main/agent/status.js';
import { until } from '../support/until.js';

const quiet = (): Writable => new Writable({ write: (_c, _e, done) => done() });
const status = async (a: AgentHandle): Promise<AgentStatus> => (await (await fetch(`http://${a.httpAddress}/status`)).json()) as AgentStatus;

describe('probe broadcasts', () => {
  it('encode and decode their 13 bytes; anything else is not a probe', () => {
    expect(decodeBroadcast(encodeBroadcast(7, 'gossip', 1_700_000_000_123))).toEqual({ seq: 7, via: 'gossip', sentAt: 1_700_000_000_123 });
    expect(decodeBroadcast(encodeBroadcast(2 ** 32 - 1, 'direct', 0))).toEqual({ seq: 2 ** 32 - 1, via: 'direct', sentAt: 0 });
    expect(decodeBroadcast(new Uint8Array(12))).toBeNull();
    const bad = encodeBroadcast(1, 'direct', 5);
    bad[4] = 9;
    expect(decodeBroadcast(bad)).toBeNull();
  });

  it('refuses an unknown --broadcast-via', async () => {
    await expect(runAgent(['--bind', '127.0.0.1:0', '--broadcast-via', 'carrier-pigeon'], quiet())).rejects.toThrow(/--broadcast-via/);
  });

  describe('three agents, one gossiping probes and one sending them directly', () => {
    const agents: AgentHandle[] = [];
    beforeAll(async () => {
      const common = ['--cluster', 'probes', '--preset', 'local', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0'];
      agents.push(await runAgent([...common, '--node-id', 'g', '--broadcast-every', '100', '--broadcast-via', 'gossip'], quiet()));
      const seed = agents[0].node.gossipAddress;
      agents.push(await runAgent([...common, '--node-id', 'd', '--join', seed, '--broadcast-every', '100', '--broadcast-via', 'direct'], quiet()));
      agents.push(await runAgent([...common, '--node-id', 'r', '--join', seed], quiet()));
      await until(() => agents.every((a) => a.node.aliveMembers().length === 3), 15_000, 20);
    });
    afterAll(async () => {
      await Promise.all(agents.map((a) => a.close()));
    });

    it('every agent records each probe of the others once, with its latency', async () => {
      const cut = Date.now() + 300;
      await new Promise((r) => setTimeout(r, 3_000));
      const [g, d, r] = await Promise.all(agents.map(status));
      expect(g.broadcasts).toMatchObject({ everyMs: 100, via: 'gossip' });
      expect(g.broadcasts!.sentCount).toBeGreaterThan(5);
      expect(r.broadcasts!.sentCount).toBe(0);
      for (const [sender, receivers] of [
        [g, [d, r]],
        [d, [g, r]],
      ] as const) {
        const sent = sender.broadcasts!.sent.filter((s) => s.at >= cut && s.at <= Date.now() - 1_500);
        expect(sent.length).toBeGreaterThan(3);
        for (const receiver of receivers) {
          const got = receiver.broadcasts!.received.filter((x) => x.origin === sender.node);
          expect(new Set(got.map((x) => `${x.seq}/${x.sentAt}`)).size).toBe(got.length);
          for (const s of sent) expect(got.find((x) => x.seq === s.seq), `${receiver.node} got ${sender.node}#${s.seq}`).toMatchObject({ via: sender.broadcasts!.via, sentAt: s.at });
          // generous: the machine running the tests may be busy
          for (const x of got) expect(x.latencyMs).toBeLessThan(1_500);
        }
      }
      expect(r.broadcasts!.received.some((x) => x.origin === 'r')).toBe(false);
    });

    it('traffic seconds say how long their failed requests took', async () => {
      const s = await status(agents[0]);
      expect(s.traffic.history.length).toBeGreaterThan(0);
      expect(s.traffic.history[0]).toHaveProperty('failedMaxMs', 0);
    });
  });
});
