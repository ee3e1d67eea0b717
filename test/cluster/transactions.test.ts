// Two-phase commit through ClusterNode on loopback: commit, abort on a No,
// and a coordinator that fails with every participant prepared: the leader
// reports the transaction blocked, and the coordinator, restarted from its
// log, aborts it (it never decided), which every participant applies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, type ClusterEvent, type ClusterNodeOptionsInput } from '../../src/main/index.js';
import type { TxInfo } from '../../src/main/transactions/messages.js';
import { until } from '../support/until.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-tx-'));
const base = (id: string): ClusterNodeOptionsInput => ({ preset: 'local', host: '127.0.0.1', port: 0, cluster: 'tx', nodeId: id, leaveLingerMs: 100, transactions: { logDirectory: path.join(dir, id) } });

/** A participant's store: prepared changes held, committed ones applied. */
function participant(node: ClusterNode, gate: { hold: boolean; prepared: string[] }) {
  const applied = new Map<string, string>();
  const aborted: string[] = [];
  node.handleTransactions({
    prepare: async (t: TxInfo) => {
      const text = dec.decode(t.payload);
      if (text.startsWith('refuse')) return { vote: 'no', reason: 'refused by rule' };
      gate.prepared.push(`${node.id}:${t.txId}`);
      while (gate.hold) await new Promise((r) => setTimeout(r, 10));
      return 'yes';
    },
    commit: (t: TxInfo) => void applied.set(t.txId, dec.decode(t.payload)),
    abort: (t: TxInfo) => void aborted.push(t.txId),
  });
  return { applied, aborted };
}

describe('transactions through ClusterNode', () => {
  const nodes: ClusterNode[] = [];
  const gate = { hold: false, prepared: [] as string[] };
  let stores: ReturnType<typeof participant>[] = [];

  beforeAll(async () => {
    nodes.push(await ClusterNode.start(base('t0')));
    nodes.push(...(await Promise.all(['t1', 't2', 't3'].map((id) => ClusterNode.start({ ...base(id), seeds: [nodes[0].gossipAddress] })))));
    await until(() => nodes.every((n) => n.aliveMembers().length === 4 && n.leader() !== null), 15_000, 10);
    stores = nodes.map((n) => participant(n, gate));
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('commits on every participant when all vote yes, aborts everywhere on one No', async () => {
    const coordinator = nodes[1];
    const ok = await coordinator.beginTransaction([
      { nodeId: 't2', payload: enc.encode('debit 5') },
      { nodeId: 't3', payload: enc.encode('credit 5') },
    ]);
    expect(ok.outcome).toBe('committed');
    await until(() => stores[2].applied.has(ok.txId) && stores[3].applied.has(ok.txId), 5_000, 5);
    expect(stores[2].applied.get(ok.txId)).toBe('debit 5');

    const no = await coordinator.beginTransaction([
      { nodeId: 't2', payload: enc.encode('debit 7') },
      { nodeId: 't3', payload: enc.encode('refuse credit 7') },
    ]);
    expect(no.outcome).toBe('aborted');
    await until(() => stores[2].aborted.includes(no.txId), 5_000, 5);
    expect(stores[2].applied.has(no.txId)).toBe(false);
    expect(stores[3].applied.has(no.txId)).toBe(false);
  });

  it('a coordinator lost with every participant prepared: blocked at the leader, then aborted from its log when it returns', async () => {
    const leaderId = nodes[0].leader()!.nodeId;
    const coordinator = nodes.find((n) => n.id !== leaderId)!;
    const others = nodes.filter((n) => n !== coordinator);
    const participants = others.filter((n) => n.id !== leaderId).slice(0, 2);
    const leader = others.find((n) => n.id === leaderId)!;
    const events: ClusterEvent[] = [];
    leader.on('event', (e) => events.push(e));
    gate.hold = true;
    gate.prepared.length = 0;
    const pending = coordinator.beginTransaction(participants.map((p) => ({ nodeId: p.id, payload: enc.encode('move 9') }))).catch((e: unknown) => e);
    await until(() => gate.prepared.length === 2, 5_000, 5);
    const port = Number(coordinator.gossipAddress.split(':')[1]);
    await coordinator.stop();
    gate.hold = false; // both vote yes, to a coordinator that is gone
    expect(await pending).toMatchObject({ code: 'ERR_NODE_STOPPED' });
    await until(() => events.some((e) => e.type === 'transaction-blocked'), 15_000, 10);
    const txId = (events.find((e) => e.type === 'transaction-blocked') as Extract<ClusterEvent, { type: 'transaction-blocked' }>).txId;
    for (const p of participants) expect(stores[nodes.indexOf(p)].applied.has(txId)).toBe(false);

    // the coordinator comes back with its log: it never decided, so it aborts, and everyone applies that
    const back = await ClusterNode.start({ ...base(coordinator.id), port, seeds: [leader.gossipAddress] });
    nodes[nodes.indexOf(coordinator)] = back;
    participant(back, gate);
    await until(() => participants.every((p) => stores[nodes.indexOf(p)].aborted.includes(txId)), 20_000, 10);
    for (const p of participants) expect(stores[nodes.indexOf(p)].applied.has(txId)).toBe(false);
  });
});
