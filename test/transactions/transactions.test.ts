// The node adapter a host wires to its messaging: several Transactions over
// an in-process bus with real timers, the application's callbacks (async,
// failing), log-before-send through the adapter, a coordinator restarted on
// its logs ending a blocked recovery, close() and a failing log.
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStoppedError } from '../../src/shared/errors.js';
import { Transactions, type TransactionApplication } from '../../src/main/transactions/transactions.js';
import { MemoryTxLog } from '../../src/main/transactions/log.js';
import type { TxEvent } from '../../src/main/transactions/events.js';
import type { TxInfo, TxMessage } from '../../src/main/transactions/messages.js';
import { FailingLog, TracingLog } from './harness.js';

const OPTIONS = { prepareTimeoutMs: 500, retransmitIntervalMs: 20, maxRetransmitIntervalMs: 100, statusIntervalMs: 50, recoveryPollMs: 30, outcomeRetentionMs: 60_000 };
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const payload = (s: string): Uint8Array => new TextEncoder().encode(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

/** A recording application: what each participant was asked, in order. */
function recorder(name: string, calls: string[], vote: (tx: TxInfo) => Promise<'yes' | 'no'> | 'yes' | 'no' = () => 'yes', failCommits = 0): TransactionApplication {
  let failures = failCommits;
  return {
    prepare: (tx) => {
      calls.push(`${name} prepare ${text(tx.payload)}`);
      return vote(tx);
    },
    commit: (tx) => {
      if (failures-- > 0) throw new Error('disk busy');
      calls.push(`${name} commit ${text(tx.payload)}`);
    },
    abort: (tx, reason) => {
      calls.push(`${name} abort ${reason}`);
    },
    restored: (tx) => {
      calls.push(`${name} restored ${tx.txId}`);
    },
  };
}

interface Cluster {
  readonly nodes: Map<string, Transactions>;
  readonly calls: string[];
  readonly events: string[];
  drop: (from: string, to: string, m: TxMessage) => boolean;
  add(name: string, app?: TransactionApplication, logs?: { coordinator: MemoryTxLog; participant: MemoryTxLog }): Transactions;
}

let clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters) for (const n of c.nodes.values()) n.close();
  clusters = [];
});

function cluster(): Cluster {
  const c: Cluster = {
    nodes: new Map(),
    calls: [],
    events: [],
    drop: () => false,
    add(name, app = recorder(name, c.calls), logs = { coordinator: new MemoryTxLog(), participant: new MemoryTxLog() }) {
      const node = new Transactions({ ...OPTIONS, name }, app, {
        logs,
        send: (to, m) => {
          if (!c.drop(name, to, m)) setImmediate(() => c.nodes.get(to)?.receive(name, m));
        },
        onEvent: (e: TxEvent) => c.events.push(`${name} ${e.type}`),
      });
      c.nodes.get(name)?.close();
      c.nodes.set(name, node);
      return node;
    },
  };
  clusters.push(c);
  return c;
}

describe('Transactions (the node adapter)', () => {
  it('begin resolves committed; every participant, the coordinator itself included, prepares then commits its payload', async () => {
    const c = cluster();
    const a = c.add('a');
    c.add('b');
    c.add('d');
    const result = await a.begin([
      { name: 'a', payload: payload('pa') },
      { name: 'b', payload: payload('pb') },
      { name: 'd', payload: payload('pd') },
    ]);
    expect(result).toMatchObject({ outcome: 'committed', reason: 'every participant voted yes' });
    await until(() => c.events.includes('a finished'));
    expect(c.calls.sort()).toEqual(['a commit pa', 'a prepare pa', 'b commit pb', 'b prepare pb', 'd commit pd', 'd prepare pd']);
  });

  it('an async No, or a prepare that throws, aborts: every participant is told abort, none commits', async () => {
    const c = cluster();
    const a = c.add('a');
    c.add('b', recorder('b', c.calls, async (): Promise<'no'> => {
      await sleep(10);
      return 'no';
    }));
    c.add('d', recorder('d', c.calls, () => {
      throw new Error('constraint violated');
    }));
    const result = await a.begin([
      { name: 'b', payload: payload('pb') },
      { name: 'd', payload: payload('pd') },
    ]);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/voted no/);
    await until(() => c.calls.filter((x) => x.includes('abort')).length === 2);
    expect(c.calls.some((x) => x.includes('commit'))).toBe(false);
    expect(c.calls.find((x) => x.startsWith('d abort'))).toMatch(/prepare failed: constraint violated|voted no/);
  });

  it('a commit that throws is delivered again until it succeeds', async () => {
    const c = cluster();
    const a = c.add('a');
    c.add('b', recorder('b', c.calls, () => 'yes', 2));
    await a.begin([{ name: 'b', payload: payload('pb') }]);
    await until(() => c.events.includes('a finished'));
    expect(c.calls).toEqual(['b prepare pb', 'b commit pb']);
  });

  it('logs the decision before the adapter sends it', async () => {
    const c = cluster();
    const trace: string[] = [];
    const logs = { coordinator: new TracingLog(trace), participant: new MemoryTxLog() };
    const a = c.add('a', undefined, logs);
    c.add('b');
    const inner = c.drop;
    c.drop = (from, to, m) => {
      if (from === 'a') trace.push(`send ${m.type}`);
      return inner(from, to, m);
    };
    await a.begin([{ name: 'b', payload: payload('x') }]);
    await until(() => c.events.includes('a finished'));
    expect(trace).toEqual(['append begin', 'send TxPrepare', 'append decision:committed', 'send TxCommit', 'append end']);
  });

  it('a coordinator lost after logging commit: the leader blocks; restarted on its logs, it ends the transaction', async () => {
    const c = cluster();
    const logs = { coordinator: new MemoryTxLog(), participant: new MemoryTxLog() };
    const a = c.add('a', undefined, logs);
    c.add('b');
    c.add('d');
    c.add('l');
    for (const n of c.nodes.values()) n.setLeader('l');
    // Nothing from a arrives once it has decided: as if it died right after logging.
    c.drop = (from, _to, m) => from === 'a' && m.type !== 'TxPrepare';
    const result = await a.begin([
      { name: 'b', payload: payload('pb') },
      { name: 'd', payload: payload('pd') },
    ]);
    expect(result.outcome).toBe('committed');
    a.close();
    c.nodes.delete('a');
    for (const n of c.nodes.values()) n.memberFailed('a');
    await until(() => c.events.includes('l recovery-blocked'));
    expect(c.nodes.get('b')?.participant.inDoubt()).toHaveLength(1);
    expect(c.calls.some((x) => x.includes('commit'))).toBe(false);
    // a comes back with its logs.
    c.drop = () => false;
    c.add('a', undefined, logs);
    for (const n of c.nodes.values()) n.memberAlive('a');
    await until(() => c.calls.filter((x) => x.includes('commit')).length === 2 && c.events.includes('l recovered'));
    expect(c.calls.filter((x) => x.includes('commit')).sort()).toEqual(['b commit pb', 'd commit pd']);
  });

  it('close() rejects a pending begin with ERR_NODE_STOPPED', async () => {
    const c = cluster();
    const a = c.add('a');
    c.drop = () => true;
    const pending = a.begin([{ name: 'b', payload: payload('x') }]);
    a.close();
    await expect(pending).rejects.toBeInstanceOf(NodeStoppedError);
    await expect(a.begin([{ name: 'b', payload: payload('x') }])).rejects.toMatchObject({ code: 'ERR_NODE_STOPPED' });
  });

  it('a log that fails stops the node: begin rejects with the failure, onError hears it', async () => {
    const errors: unknown[] = [];
    const a = new Transactions({ ...OPTIONS, name: 'a' }, recorder('a', []), {
      logs: { coordinator: new FailingLog((r) => r.kind === 'begin'), participant: new MemoryTxLog() },
      send: () => {},
      onError: (e) => errors.push(e),
    });
    await expect(a.begin([{ name: 'b', payload: payload('x') }])).rejects.toThrow(/disk failed writing begin/);
    expect(errors).toHaveLength(1);
    await expect(a.begin([{ name: 'b', payload: payload('x') }])).rejects.toThrow(/disk failed/);
    a.close();
  });

  it('refuses a bad begin without stopping', async () => {
    const c = cluster();
    const a = c.add('a');
    c.add('b');
    await expect(a.begin([])).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    await expect(a.begin([{ name: 'b', payload: payload('x') }])).resolves.toMatchObject({ outcome: 'committed' });
  });
});
