// Five ClusterNodes on loopback, driven only through the public API: they
// converge, answer requests between every pair, receive broadcasts (direct
// and gossiped), route around a failed node, fail fast for a node that is
// gone, and stop cleanly.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, ClusterwireError, type ClusterEvent } from '../../src/main/index.js';
import { runModule } from '../support/run-module.js';
import { until } from '../support/until.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const FAST = { preset: 'local' as const, host: '127.0.0.1', port: 0, cluster: 'test-5', leaveLingerMs: 300 };

describe('ClusterNode: five nodes on loopback', () => {
  const nodes: ClusterNode[] = [];
  const seen: ClusterEvent[][] = [];
  const inbox = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-inbox-'));

  beforeAll(async () => {
    const first = await ClusterNode.start({ ...FAST, nodeId: 'n0', metadata: { datacenter: 'dc1', rack: 'r1' } });
    nodes.push(first);
    for (let i = 1; i < 5; i++) {
      nodes.push(
        await ClusterNode.start({
          ...FAST,
          nodeId: `n${i}`,
          seeds: [first.gossipAddress],
          metadata: { datacenter: i % 2 === 0 ? 'dc1' : 'dc2', tags: { role: 'worker' } },
          transfers: i === 2 ? { directory: inbox, chunkBytes: 256 * 1024 } : {},
        }),
      );
    }
    for (const n of nodes) {
      const events: ClusterEvent[] = [];
      seen.push(events);
      n.on('event', (e) => events.push(e));
      n.handle('echo', (m) => enc.encode(`${n.id}:${m.from}:${dec.decode(m.payload)}`));
    }
    await until(
      () => nodes.every((n) => n.aliveMembers().length === 5),
      15_000,
      20,
      () => nodes.map((n) => `${n.id} sees ${n.aliveMembers().length} alive`).join(', '),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    fs.rmSync(inbox, { recursive: true, force: true });
  });

  it('converges: every node sees all five alive, with their metadata and data ports', () => {
    for (const n of nodes) {
      const members = n.members();
      expect(members.map((m) => m.nodeId).sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
      const n3 = members.find((m) => m.nodeId === 'n3')!;
      expect(n3.datacenter).toBe('dc2');
      expect(n3.tags).toEqual({ role: 'worker' });
      expect(n3.dataPort).toBe(nodes[3].dataPort);
      expect(members.filter((m) => m.self).map((m) => m.nodeId)).toEqual([n.id]);
      expect(n.status()).toMatchObject({ total: 5, healthy: 5, quorumAvailable: true, degraded: false });
      expect(n.health().healthy).toBe(true);
    }
  });

  it('learns round trips from probe acks: per-peer quality and Vivaldi coordinates exchanged in the acks', async () => {
    const n0 = nodes[0];
    await until(() => ['n1', 'n2', 'n3', 'n4'].every((id) => n0.estimateRttMs(id) !== undefined && (n0.health().peers[id]?.samples ?? 0) >= 2), 15_000, 50);
    for (const id of ['n1', 'n2', 'n3', 'n4']) {
      const est = n0.estimateRttMs(id)!;
      expect(Number.isFinite(est)).toBe(true);
      expect(est).toBeGreaterThanOrEqual(0);
      expect(est).toBeLessThan(1_000);
      const q = n0.health().peers[id];
      expect(q.averageMs).toBeGreaterThan(0);
      expect(q.lossRate).toBe(0);
    }
    expect(n0.nearest().sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(n0.nearest(2)).toHaveLength(2);
    expect(n0.coordinate().vec).toHaveLength(8);
  });

  it('answers requests between every ordered pair, itself included', async () => {
    const calls: Promise<void>[] = [];
    for (const a of nodes) {
      for (const b of nodes) {
        calls.push(a.request(b.id, 'echo', enc.encode('hi')).then((r) => void expect(dec.decode(r)).toBe(`${b.id}:${a.id}:hi`)));
      }
    }
    await Promise.all(calls);
  });

  it('delivers one-way messages and reports errors from the peer as typed errors', async () => {
    let got = 0;
    const off = nodes[2].handle('count', () => void got++);
    for (let i = 0; i < 1000; i++) await nodes[0].send('n2', 'count', new Uint8Array(16));
    await until(() => got === 1000, 5000);
    off();
    const error = await nodes[0].request('n2', 'count', new Uint8Array(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterwireError);
    expect((error as ClusterwireError).code).toBe('ERR_NO_HANDLER');
    nodes[3].handle('boom', () => {
      throw new Error('kaput');
    });
    const failed = await nodes[1].request('n3', 'boom', new Uint8Array(0)).catch((e: unknown) => e);
    expect((failed as ClusterwireError).code).toBe('ERR_HANDLER_FAILED');
    expect((failed as Error).message).toContain('kaput');
  });

  it('reassembles a large message in the buffer of one given back with recycle()', async () => {
    const received: Array<{ buffer: ArrayBufferLike; intact: boolean }> = [];
    const off = nodes[4].handle('large', (m) => {
      received.push({ buffer: m.payload.buffer, intact: m.payload.every((b) => b === received.length + 1) });
      nodes[4].recycle(m.payload);
    });
    for (let i = 1; i <= 3; i++) {
      await nodes[1].send('n4', 'large', new Uint8Array(300_000).fill(i));
      await until(() => received.length === i, 5000);
    }
    off();
    expect(received.map((r) => r.intact)).toEqual([true, true, true]);
    expect(received[1].buffer).toBe(received[0].buffer);
    expect(received[2].buffer).toBe(received[0].buffer);
  });

  it('cancels a request through its AbortSignal, to a peer and to itself', async () => {
    const release: Array<() => void> = [];
    const offs = [nodes[1], nodes[0]].map((n) => n.handle('held', () => new Promise<Uint8Array>((r) => release.push(() => r(enc.encode('late'))))));
    for (const target of ['n1', 'n0']) {
      const abort = new AbortController();
      const pending = nodes[0].request(target, 'held', new Uint8Array(1), { signal: abort.signal });
      await until(() => release.length === 1, 5000);
      abort.abort('changed my mind');
      const error = (await pending.catch((e: unknown) => e)) as ClusterwireError;
      expect(error.code).toBe('ERR_REQUEST_CANCELLED');
      expect(error.cause).toBe('changed my mind');
      release.shift()!();
    }
    expect(((await nodes[0].request('n2', 'echo', new Uint8Array(0), { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as ClusterwireError).code).toBe('ERR_REQUEST_CANCELLED');
    for (const off of offs) off();
  });

  it('broadcasts reach every other node, directly (with a report) and by gossip', async () => {
    const direct = new Set<string>();
    const gossip = new Set<string>();
    for (const n of nodes) n.handle('news', (m) => void (m.kind === 'broadcast' ? gossip : direct).add(`${n.id}<-${m.from}`));
    const report = await nodes[1].broadcast('news', enc.encode('direct'));
    expect([...report.sent].sort()).toEqual(['n0', 'n2', 'n3', 'n4']);
    expect(report.failed).toEqual([]);
    await until(() => direct.size === 4, 5000);
    await nodes[4].broadcast('news', enc.encode('gossip'), { via: 'gossip' });
    await until(() => gossip.size === 4, 10_000, 20);
    expect([...gossip].sort()).toEqual(['n0<-n4', 'n1<-n4', 'n2<-n4', 'n3<-n4']);
  });

  it('sends a file to a member (verified, in its directory) and pulls a named state from another', async () => {
    const bytes = crypto.randomBytes(3 * 1024 * 1024 + 17);
    const received = new Promise<ClusterEvent>((resolve) => nodes[2].once('file-received', resolve));
    const transfer = await nodes[0].sendFile('n2', bytes, { name: 'blob.bin', chunkBytes: 256 * 1024 });
    let progress = 0;
    transfer.on('progress', () => progress++);
    await transfer.done();
    const event = await received;
    expect(event).toMatchObject({ type: 'file-received', file: { name: 'blob.bin', from: 'n0', bytes: bytes.length } });
    expect(fs.readFileSync(path.join(inbox, 'blob.bin')).equals(bytes)).toBe(true);
    expect(progress).toBeGreaterThan(0);
    const refused = await nodes[0].sendFile('n1', bytes.subarray(0, 10), { name: 'x.bin' }).then((t) => t.done()).catch((e: unknown) => e);
    expect((refused as ClusterwireError).code).toBe('ERR_TRANSFER_REFUSED');

    nodes[1].serveState('catalog', { snapshot: (r) => ({ version: 7, baseVersion: 0, full: true, bytes: enc.encode(`catalog for ${r.from}`) }) });
    const snapshot = await nodes[3].pullState('n1', 'catalog');
    expect(snapshot.version).toBe(7);
    expect(dec.decode(snapshot.bytes)).toBe('catalog for n3');
  });

  it('routes by key consistently and by strategy over alive nodes; metrics and Prometheus text reflect the traffic', async () => {
    const owner = nodes[0].route({ key: 'user-42' });
    for (let i = 0; i < 20; i++) expect(nodes[0].route({ key: 'user-42' })).toBe(owner);
    nodes[0].setRoutingStrategy('round-robin');
    const picked = new Set<string>();
    for (let i = 0; i < 50; i++) picked.add(nodes[0].route());
    expect([...picked].sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    const m = nodes[0].metrics();
    expect(m.topology.alive).toBe(5);
    expect(m.topology.pingsSent).toBeGreaterThan(0);
    expect(m.communication.requests).toBeGreaterThanOrEqual(5);
    expect(m.communication.messagesSent).toBeGreaterThan(1000);
    expect(m.loadBalancer.routed).toBeGreaterThanOrEqual(71);
    const text = await nodes[0].metricsText();
    expect(text).toMatch(/clusterwire_members_alive\{node="n0",cluster="test-5"\} 5/);
    expect(text).toMatch(/# TYPE clusterwire_requests_total counter/);
  });

  it('a node that leaves is gone at once: member-left everywhere, then ERR_PEER_UNAVAILABLE without waiting', async () => {
    const iterator = nodes[0].events();
    await nodes[4].leave();
    // gossip spreads the leave in a few rounds; 10 s leaves room for a suite that loads both cores
    await until(
      () => nodes.slice(0, 4).every((n) => n.member('n4') === undefined),
      10_000,
      10,
      () => nodes.slice(0, 4).map((n) => `${n.id} has n4 ${n.member('n4')?.state ?? 'gone'}`).join(', '),
    );
    const t = performance.now();
    const error = await nodes[1].request('n4', 'echo', new Uint8Array(0)).catch((e: unknown) => e);
    expect(performance.now() - t).toBeLessThan(50);
    expect((error as ClusterwireError).code).toBe('ERR_PEER_UNAVAILABLE');
    const first = await iterator.next();
    expect(first.value).toMatchObject({ type: 'member-left', dropped: 0 });
    expect((first.value as { member: { nodeId: string } }).member.nodeId).toBe('n4');
    await iterator.return!();
    expect(seen[1].some((e) => e.type === 'member-left')).toBe(true);
  });

  it('a node that stops without leaving is detected: member-failed, requests in flight fail, routing avoids it, no partition with 3 of 4 reachable', async () => {
    nodes[3].handle('slow', () => new Promise<Uint8Array>(() => undefined));
    const inFlight = nodes[0].request('n3', 'slow', new Uint8Array(0), { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await nodes[3].stop();
    await until(
      () => [0, 1, 2].every((i) => nodes[i].member('n3')?.state === 'dead'),
      15_000,
      10,
      () => [0, 1, 2].map((i) => `n${i} has n3 ${nodes[i].member('n3')?.state}`).join(', '),
    );
    const detected = performance.now() - t;
    const error = await inFlight;
    expect((error as ClusterwireError).code).toBe('ERR_PEER_UNAVAILABLE');
    expect(detected).toBeLessThan(15_000);
    expect(seen[0].some((e) => e.type === 'member-failed' && e.member.nodeId === 'n3')).toBe(true);
    for (let i = 0; i < 40; i++) expect(nodes[1].route()).not.toBe('n3');
    const start = performance.now();
    const fast = await nodes[2].send('n3', 'echo', new Uint8Array(0)).catch((e: unknown) => e);
    expect(performance.now() - start).toBeLessThan(50);
    expect((fast as ClusterwireError).code).toBe('ERR_PEER_UNAVAILABLE');
    expect(seen[0].some((e) => e.type === 'partition-detected')).toBe(false);
    expect(nodes[0].health().status).toBe('degraded');
  });

  it('refuses work after stop with ERR_NODE_STOPPED', async () => {
    const error = await nodes[3].request('n0', 'echo', new Uint8Array(0)).catch((e: unknown) => e);
    expect((error as ClusterwireError).code).toBe('ERR_NODE_STOPPED');
  });
});

describe('ClusterNode options and lifecycle', () => {
  it('validates options once, naming the field', async () => {
    await expect(ClusterNode.start({ port: 70_000 })).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG', field: 'port' });
    await expect(ClusterNode.start({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG', field: 'advertiseHost' });
    await expect(ClusterNode.start({ metadata: { tags: { 'cw.data': '1' } } })).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    await expect(ClusterNode.start({ preset: 'fast' as never })).rejects.toMatchObject({ field: 'preset' });
  });

  it('rejects join with ERR_JOIN_FAILED when no seed answers', async () => {
    const node = await ClusterNode.start({ ...FAST, nodeId: 'lonely', membership: { joinRetryIntervalMs: 50, joinMaxAttempts: 2 } });
    try {
      await expect(node.join(['127.0.0.1:9'])).rejects.toMatchObject({ code: 'ERR_JOIN_FAILED', attempts: 2 });
      expect(node.aliveMembers().map((m) => m.nodeId)).toEqual(['lonely']);
    } finally {
      await node.stop();
    }
  });

  it('a process that stops its nodes exits by itself', async () => {
    const script = `
      import { ClusterNode } from ${JSON.stringify(new URL('../../dist/src/main/index.js', import.meta.url).href)};
      const a = await ClusterNode.start({ nodeId: 'a', port: 0, preset: 'local', workers: 1 });
      const b = await ClusterNode.start({ nodeId: 'b', port: 0, preset: 'local', seeds: [a.gossipAddress] });
      a.handle('x', (m) => m.payload);
      while (b.aliveMembers().length < 2) await new Promise((r) => setTimeout(r, 10));
      await b.request('a', 'x', new Uint8Array(4));
      const it = a.events();
      await Promise.all([a.stop(), b.stop()]);
      console.log('stopped', (await it.next()).done);
    `;
    const { code, out } = await runModule(script, 20_000);
    expect(out).toContain('stopped true');
    expect(code).toBe(0);
  });
});

describe('ClusterNode leadership', () => {
  // Real sockets and real time on a shared machine: a run that misses a deadline is
  // tried once more from scratch (its nodes are stopped in `finally`); failing twice fails.
  it('elects one leader all agree on; after the leader stops the rest elect another, never two leaders in one term', { retry: 1 }, async () => {
    const nodes: ClusterNode[] = [];
    const leadersByTerm = new Map<number, Set<string>>();
    const watch = (n: ClusterNode): void => {
      n.on('leader-changed', (e) => {
        if (e.leader === null) return;
        let set = leadersByTerm.get(e.term);
        if (set === undefined) leadersByTerm.set(e.term, (set = new Set()));
        set.add(e.leader);
      });
    };
    try {
      nodes.push(await ClusterNode.start({ ...FAST, cluster: 'raft-5', nodeId: 'r0' }));
      watch(nodes[0]);
      for (let i = 1; i < 5; i++) {
        const n = await ClusterNode.start({ ...FAST, cluster: 'raft-5', nodeId: `r${i}`, seeds: [nodes[0].gossipAddress] });
        watch(n);
        nodes.push(n);
      }
      const agreed = (list: ClusterNode[]): boolean => {
        const l = list[0].leader();
        return l !== null && list.every((n) => n.leader()?.nodeId === l.nodeId && n.leader()?.term === l.term);
      };
      await until(() => agreed(nodes), 15_000, 10);
      const first = nodes[0].leader()!;
      expect(nodes.filter((n) => n.isLeader).map((n) => n.id)).toEqual([first.nodeId]);
      expect(nodes[0].metrics().failover.term).toBe(first.term);

      const old = nodes.find((n) => n.id === first.nodeId)!;
      const rest = nodes.filter((n) => n !== old);
      const t = performance.now();
      await old.stop();
      await until(() => agreed(rest) && rest[0].leader()!.nodeId !== first.nodeId, 15_000, 5);
      const elapsed = performance.now() - t;
      const second = rest[0].leader()!;
      expect(second.term).toBeGreaterThan(first.term);
      // 'local' timing: election timeouts of 150-300 ms, heartbeats every 50 ms
      expect(elapsed).toBeLessThan(3_000);
      for (const [, leaders] of leadersByTerm) expect(leaders.size).toBe(1);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
