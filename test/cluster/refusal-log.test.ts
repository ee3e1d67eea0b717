// What a ClusterNode logs when a peer is refused: a data handshake refused
// by either side names the reason (auth_failed, cluster_mismatch, a TLS
// verification code), and membership packets that cannot be opened are
// counted by reason in a warning. The fault suite greps agents' logs for these.
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/main/index.js';
import type { ClusterNodeOptionsInput } from '../../src/main/cluster/options.js';
import { makePki } from '../support/certs.js';
import { until } from '../support/until.js';

type Line = Record<string, unknown>;

function capture(): { lines: Line[]; logger: Logger } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.length > 0) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  const logger: Logger = pino({ level: 'warn' }, sink);
  return { lines, logger };
}

const BASE: ClusterNodeOptionsInput = { preset: 'local', host: '127.0.0.1', port: 0, cluster: 'refusals', leaveLingerMs: 0 };

describe('refusals are logged with their reason', () => {
  const nodes: ClusterNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  async function pair(a: ClusterNodeOptionsInput, b: ClusterNodeOptionsInput): Promise<{ a: Line[]; b: Line[]; nodeA: ClusterNode; nodeB: ClusterNode }> {
    const la = capture();
    const lb = capture();
    const nodeA = await ClusterNode.start({ ...BASE, ...a, nodeId: 'a', logger: la.logger });
    nodes.push(nodeA);
    const nodeB = await ClusterNode.start({ ...BASE, ...b, nodeId: 'b', logger: lb.logger, seeds: [nodeA.gossipAddress] });
    nodes.push(nodeB);
    return { a: la.lines, b: lb.lines, nodeA, nodeB };
  }

  const refusals = (lines: Line[]): Line[] => lines.filter((l) => l.msg === 'handshake refused');

  it('a wrong secret: auth_failed, logged on both sides', async () => {
    const { a, b, nodeB } = await pair({ secret: 'the right shared secret, 32 bytes+' }, { secret: 'a wrong shared secret, 32 bytes++' });
    await until(() => nodeB.member('a')?.state === 'alive', 10_000, 20);
    await expect(nodeB.request('a', 'x', new Uint8Array(1), { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_REJECTED' });
    // both dial (Raft, the request) and both are told: whichever side checks the proof first refuses
    await until(() => refusals(a).length > 0 && refusals(b).length > 0, 5_000, 20);
    for (const l of [...refusals(a), ...refusals(b)]) expect(l).toMatchObject({ reason: 'auth_failed', err: expect.stringMatching(/authentication failed|does not match the shared secret/) });
    // the refused member is routed around and fails fast, and health says why
    for (let i = 0; i < 20; i++) expect(nodeB.route()).toBe('b');
    const t = performance.now();
    await expect(nodeB.request('a', 'x', new Uint8Array(1))).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_REJECTED', reason: 'auth_failed' });
    expect(performance.now() - t).toBeLessThan(50);
    expect(nodeB.health().reasons.join('; ')).toMatch(/data handshake refused with a \(auth_failed\)/);
    // repeated refusals of the same peer for the same reason: one line per 10 s
    for (let i = 0; i < 5; i++) await nodeB.request('a', 'x', new Uint8Array(1), { timeoutMs: 2_000 }).catch(() => undefined);
    const lines = (l: Line[]) => refusals(l).filter((x) => x.peer === 'a' && x.byPeer === false).length + refusals(l).filter((x) => x.peer === 'a' && x.byPeer === true).length;
    expect(lines(b)).toBeLessThanOrEqual(2);
  });

  it('a certificate from another CA: the TLS verification code', async () => {
    const right = makePki('right-ca');
    const other = makePki('other-ca');
    const { b, nodeB } = await pair({ tls: { ...right.issue('a'), ca: right.ca } }, { tls: { ...other.issue('b'), ca: other.ca } });
    await until(() => nodeB.member('a')?.state === 'alive', 10_000, 20);
    await expect(nodeB.request('a', 'x', new Uint8Array(1), { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'ERR_PEER_UNAVAILABLE' });
    await until(() => refusals(b).length > 0, 5_000, 20);
    expect(String(refusals(b)[0].reason)).toMatch(/^tls: [A-Z_]+$/);
  });

  it('a peer that is merely down is not a refusal', async () => {
    const { b, nodeA, nodeB } = await pair({}, {});
    await until(() => nodeB.member('a')?.state === 'alive', 10_000, 20);
    const port = nodeA.dataPort;
    await nodeA.stop();
    nodes.shift();
    await expect(nodeB.request('a', 'x', new Uint8Array(1), { timeoutMs: 1_000 })).rejects.toBeDefined();
    expect(port).toBeGreaterThan(0);
    expect(refusals(b)).toEqual([]);
  });

  it('gossip sealed with another key: the packets dropped, counted by reason', async () => {
    const { a } = await pair({ gossipKeys: [new Uint8Array(crypto.randomBytes(32))] }, { gossipKeys: [new Uint8Array(crypto.randomBytes(32))] });
    await until(() => a.some((l) => l.msg === 'membership packets dropped'), 10_000, 50);
    const line = a.find((l) => l.msg === 'membership packets dropped')!;
    expect((line.dropped as Record<string, number>).decrypt).toBeGreaterThan(0);
  });
});
