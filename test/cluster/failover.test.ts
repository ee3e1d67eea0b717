// Sessions, failover and rolling restart through the public API on loopback:
// no acknowledged session state is lost when its owner fails, every node
// learns where sessions went, and a rolling restart brings every node back
// with the leader last.
import { describe, expect, it } from 'vitest';
import { ClusterNode, ClusterwireError, type ClusterEvent, type ClusterNodeOptionsInput } from '../../src/main/index.js';
import { until } from '../support/until.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const base = (cluster: string): ClusterNodeOptionsInput => ({ preset: 'local', host: '127.0.0.1', port: 0, cluster, leaveLingerMs: 200 });

async function cluster(name: string, n: number): Promise<ClusterNode[]> {
  const nodes = [await ClusterNode.start({ ...base(name), nodeId: `${name}-0` })];
  nodes.push(...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => ClusterNode.start({ ...base(name), nodeId: `${name}-${i + 1}`, seeds: [nodes[0].gossipAddress] })))));
  await until(() => nodes.every((x) => x.aliveMembers().length === n && x.leader() !== null && x.leader()!.nodeId === nodes[0].leader()!.nodeId), 15_000, 10);
  return nodes;
}

describe('sessions and failover', () => {
  it('a failed owner loses no acknowledged state: its sessions move to their backups, every node is told, routes follow', async () => {
    const nodes = await cluster('fo', 5);
    try {
      const leader = nodes[0].leader()!.nodeId;
      const owner = nodes.find((n) => n.id !== leader)!;
      const events = new Map<string, ClusterEvent[]>();
      for (const n of nodes) {
        const list: ClusterEvent[] = [];
        events.set(n.id, list);
        n.on('event', (e) => list.push(e));
      }
      const ids = Array.from({ length: 12 }, (_, i) => `cart-${i}`);
      for (const id of ids) {
        const v = await owner.openSession(id, enc.encode(`${id}:v1`));
        expect(v.backup).not.toBeNull();
        expect(v.backup).not.toBe(owner.id);
        const u = await owner.updateSession(id, enc.encode(`${id}:v2`));
        expect(u.version).toBe(2);
      }
      expect(owner.route({ session: 'cart-3' })).toBe(owner.id);
      // an update in flight when the owner dies was never acknowledged; the last acknowledged one is v2
      const backups = new Map(ids.map((id) => [id, owner.session(id)!.backup!]));
      await owner.stop();
      const rest = nodes.filter((n) => n !== owner);
      await until(() => rest.every((n) => events.get(n.id)!.some((e) => e.type === 'failover')), 15_000, 10);
      for (const n of rest) {
        const report = (events.get(n.id)!.find((e) => e.type === 'failover') as Extract<ClusterEvent, { type: 'failover' }>).report;
        expect(report.failed).toBe(owner.id);
        expect(report.leader).toBe(leader);
        expect(Object.keys(report.sessions).sort()).toEqual([...ids].sort());
      }
      for (const id of ids) {
        const newOwner = rest.find((n) => n.id === backups.get(id))!;
        const s = newOwner.session(id)!;
        expect(dec.decode(s.state)).toBe(`${id}:v2`);
        expect(s.version).toBe(2);
        expect(s.backup).not.toBeNull();
        expect(s.backup).not.toBe(owner.id);
        for (const n of rest) {
          expect(n.sessionOwner(id)).toBe(newOwner.id);
          expect(n.route({ session: id })).toBe(newOwner.id);
        }
        // the moved session keeps working: updates reach its new backup
        expect((await newOwner.updateSession(id, enc.encode(`${id}:v3`))).version).toBe(3);
      }
      expect(rest[0].metrics().failover.failoverEvents).toBe(1);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('a session needs a backup: alone, openSession fails with ERR_PEER_UNAVAILABLE', async () => {
    const node = await ClusterNode.start({ ...base('alone'), nodeId: 'solo', leadership: { bootstrapExpect: 1 } });
    try {
      const error = await node.openSession('s', enc.encode('x')).catch((e: unknown) => e);
      expect((error as ClusterwireError).code).toBe('ERR_PEER_UNAVAILABLE');
      expect(node.session('s')).toBeUndefined();
      expect(() => node.handle('cw.health', () => undefined)).toThrow(/reserved/);
    } finally {
      await node.stop();
    }
  });
});

describe('rolling restart', () => {
  it('restarts every node one at a time, the leader last; sessions are drained to their backups and survive', async () => {
    const nodes = await cluster('rr', 4);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const ports = new Map(nodes.map((n) => [n.id, Number(n.gossipAddress.split(':')[1])]));
    const seed = nodes[0].gossipAddress;
    try {
      const leader = byId.get(nodes[0].leader()!.nodeId)!;
      const owner = nodes.find((n) => n !== leader)!;
      for (let i = 0; i < 6; i++) await owner.openSession(`s${i}`, enc.encode(`state-${i}`));
      const order: string[] = [];
      const report = await leader.rollingRestart({
        healthTimeoutMs: 15_000,
        restart: async (id) => {
          order.push(id);
          const old = byId.get(id)!;
          await old.stop();
          const fresh = await ClusterNode.start({ ...base('rr'), nodeId: id, port: ports.get(id)!, seeds: id === nodes[0].id ? [nodes[1].gossipAddress] : [seed] });
          byId.set(id, fresh);
        },
      });
      expect(report.failed).toBeNull();
      expect(report.leaderRestarted).toBe(true);
      expect(order).toHaveLength(4);
      expect(order[3]).toBe(leader.id);
      expect(report.restarted.find((s) => s.nodeId === owner.id)!.sessionsMoved).toBe(6);
      const now = [...byId.values()];
      await until(() => now.every((n) => n.aliveMembers().length === 4 && n.leader() !== null), 15_000, 20);
      for (let i = 0; i < 6; i++) {
        const holder = now.find((n) => n.session(`s${i}`) !== undefined);
        expect(holder, `s${i} has an owner`).toBeDefined();
        expect(dec.decode(holder!.session(`s${i}`)!.state)).toBe(`state-${i}`);
      }
      // every node routes to every other again, the old leader (restarted last) included
      for (const n of now) {
        n.setRoutingStrategy('round-robin');
        const picked = new Set<string>();
        await until(() => {
          for (let i = 0; i < 20; i++) picked.add(n.route());
          return picked.has(leader.id);
        }, 10_000, 50);
      }
      const notLeader = now.find((n) => !n.isLeader)!;
      await expect(notLeader.rollingRestart({ restart: async () => undefined })).rejects.toMatchObject({ code: 'ERR_NOT_LEADER' });
    } finally {
      await Promise.all([...byId.values(), ...nodes].map((n) => n.stop()));
    }
  });
});
