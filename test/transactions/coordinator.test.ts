// Unit tests of the coordinator core, one rule each, with a virtual clock
// (times are plain numbers passed in). The trace log shows the order of log
// appends and of what the host sends: a decision is durable before it leaves.
import { describe, expect, it } from 'vitest';
import { BackpressureError, InvalidConfigError } from '../../src/shared/errors.js';
import { TxCoordinator } from '../../src/main/transactions/coordinator.js';
import { resolveTransactionOptions } from '../../src/main/transactions/options.js';
import { MemoryTxLog } from '../../src/main/transactions/log.js';
import { ack, ask, FailingLog, no, OPTS, perform, rng, sendsOf, TracingLog, TxState, yes } from './harness.js';

const parts = (...names: string[]): { name: string; payload: Uint8Array }[] => names.map((name) => ({ name, payload: new TextEncoder().encode(name) }));

function coordinator(log = new MemoryTxLog(), extra: object = {}): TxCoordinator {
  return new TxCoordinator({ ...OPTS, ...extra, name: 'c' }, { now: 0, rng: rng(), log });
}

describe('options', () => {
  it('fills defaults and names the field it refuses', () => {
    const o = resolveTransactionOptions({ name: 'c' });
    expect([o.prepareTimeoutMs, o.retransmitIntervalMs, o.statusIntervalMs, o.outcomeRetentionMs]).toEqual([5_000, 200, 1_000, 600_000]);
    expect(() => resolveTransactionOptions({ name: '' })).toThrow(InvalidConfigError);
    expect(() => resolveTransactionOptions({ name: 'c', retransmitIntervalMs: 500, maxRetransmitIntervalMs: 100 })).toThrow(/maxRetransmitIntervalMs/);
    expect(() => resolveTransactionOptions({ name: 'c', prepareTimeoutMs: 0 })).toThrow(/prepareTimeoutMs/);
    expect(() => resolveTransactionOptions({ name: 'c', prepareTimeoutMs: 10_000, outcomeRetentionMs: 15_000 })).toThrow(/outcomeRetentionMs/);
  });
});

describe('coordinator', () => {
  it('logs begin before any TxPrepare, and the commit decision before any TxCommit and before telling the application', () => {
    const trace: string[] = [];
    const c = coordinator(new TracingLog(trace));
    const id = c.newTxId();
    perform(c.begin(id, parts('a', 'b'), 0), trace);
    perform(c.receive('a', yes(id, 'a'), 1), trace);
    perform(c.receive('b', yes(id, 'b'), 2), trace);
    perform(c.receive('a', ack(id, 'a', TxState.Committed), 3), trace);
    perform(c.receive('b', ack(id, 'b', TxState.Committed), 4), trace);
    expect(trace).toEqual([
      'append begin',
      'send TxPrepare -> a',
      'send TxPrepare -> b',
      'append decision:committed',
      'send TxCommit -> a',
      'send TxCommit -> b',
      'event decided',
      'append end',
      'event finished',
    ]);
    expect(c.open).toBe(0);
  });

  it('a failed decision append sends nothing, tells nothing, and stops the core; restarted, it aborts (never decided)', () => {
    const log = new FailingLog((r) => r.kind === 'decision');
    const c = coordinator(log);
    const id = c.newTxId();
    c.begin(id, parts('a'), 0);
    expect(() => c.receive('a', yes(id, 'a'), 1)).toThrow(/disk failed/);
    expect(c.stopped).toBe(true);
    expect(() => c.tick(2)).toThrow(/disk failed/);
    // Restart on what was durable: only `begin`.
    const durable = new MemoryTxLog();
    for (const r of log.load()) durable.append(r);
    const again = coordinator(durable);
    const step = again.tick(10);
    expect(step.events).toEqual([{ type: 'decided', txId: id, outcome: 'aborted', reason: 'coordinator restarted before deciding', recovered: true }]);
    expect(sendsOf(step)).toEqual(['TxAbort -> a']);
  });

  it('commits only when every participant voted yes; one no aborts at once, and the No voter is not sent the abort', () => {
    const c = coordinator();
    const id = c.newTxId();
    c.begin(id, parts('a', 'b', 'd'), 0);
    expect(c.receive('a', yes(id, 'a'), 1).events).toEqual([]);
    const step = c.receive('b', no(id, 'b'), 2);
    expect(step.events[0]).toMatchObject({ type: 'decided', outcome: 'aborted', reason: 'b voted no: conflict' });
    expect(sendsOf(step)).toEqual(['TxAbort -> a', 'TxAbort -> d']);
  });

  it('aborts when a vote is missing at prepareTimeoutMs, naming who did not vote; resends TxPrepare with backoff until then', () => {
    const c = coordinator();
    const id = c.newTxId();
    c.begin(id, parts('a', 'b'), 0);
    c.receive('a', yes(id, 'a'), 5);
    expect(c.nextDeadline()).toBe(100);
    expect(sendsOf(c.tick(100))).toEqual(['TxPrepare -> b']);
    expect(c.nextDeadline()).toBe(300); // 100 later, doubled
    expect(sendsOf(c.tick(300))).toEqual(['TxPrepare -> b']);
    expect(c.nextDeadline()).toBe(700);
    c.tick(700);
    expect(c.nextDeadline()).toBe(1_000); // the prepare timeout
    const step = c.tick(1_000);
    expect(step.events[0]).toMatchObject({ type: 'decided', outcome: 'aborted', reason: 'timeout: no vote from b' });
  });

  it('resends the decision until each participant acknowledges it; duplicates and spoofed messages change nothing', () => {
    const c = coordinator();
    const id = c.newTxId();
    c.begin(id, parts('a', 'b'), 0);
    c.receive('a', yes(id, 'a'), 1);
    c.receive('a', yes(id, 'a'), 1); // duplicate
    c.receive('x', yes(id, 'b'), 1); // b's vote from someone else
    c.receive('x', yes(id, 'x'), 1); // not a participant
    expect(c.outcomeOf(id)).toBeNull();
    c.receive('b', yes(id, 'b'), 2);
    c.receive('a', ack(id, 'a', TxState.Committed), 3);
    c.receive('a', ack(id, 'a', TxState.Committed), 3);
    expect(sendsOf(c.tick(102))).toEqual(['TxCommit -> b']);
    // A late duplicate Yes from a pending participant gets the decision again; from one that acknowledged, nothing.
    expect(sendsOf(c.receive('b', yes(id, 'b'), 150))).toEqual(['TxCommit -> b']);
    expect(sendsOf(c.receive('a', yes(id, 'a'), 150))).toEqual([]);
    expect(c.receive('b', ack(id, 'b', TxState.Aborted), 160).events).toEqual([]); // not the outcome: not an ack
    expect(c.receive('b', ack(id, 'b', TxState.Committed), 170).events).toEqual([{ type: 'finished', txId: id, outcome: 'committed' }]);
  });

  it('a participant reporting Aborted while votes are collected aborts the transaction', () => {
    const c = coordinator();
    const id = c.newTxId();
    c.begin(id, parts('a', 'b'), 0);
    expect(c.receive('b', ack(id, 'b', TxState.Aborted), 1).events[0]).toMatchObject({ type: 'decided', outcome: 'aborted' });
  });

  it('answers status requests with the logged decision, nothing while undecided, Unknown for a transaction it has no record of', () => {
    const c = coordinator();
    const id = c.newTxId();
    c.begin(id, parts('a', 'b'), 0);
    expect(sendsOf(c.receive('a', ask(id, 'a', 'c', ['a', 'b']), 1))).toEqual([]);
    c.receive('a', yes(id, 'a'), 2);
    c.receive('b', yes(id, 'b'), 2);
    expect(c.receive('a', ask(id, 'a', 'c', ['a', 'b']), 3).sends[0].message).toEqual({ type: 'TxStatusResponse', txId: id, participant: 'c', state: TxState.Committed });
    expect(c.receive('a', ask('c/x/9', 'a', 'c', ['a']), 4).sends[0].message).toMatchObject({ state: TxState.Unknown });
    expect(sendsOf(c.receive('a', ask('c/x/9', 'a', 'other', ['a']), 4))).toEqual([]); // not this coordinator's
    expect(sendsOf(c.receive('b', ask(id, 'a', 'c', ['a', 'b']), 5))).toEqual([]); // asker is not the sender
  });

  it('restarted from its log, resends a logged decision to whoever has not acknowledged it', () => {
    const log = new MemoryTxLog();
    const c = coordinator(log);
    const id = c.newTxId();
    c.begin(id, parts('a', 'b'), 0);
    c.receive('a', yes(id, 'a'), 1);
    c.receive('b', yes(id, 'b'), 1);
    c.receive('a', ack(id, 'a', TxState.Committed), 2);
    const again = coordinator(log);
    expect(again.outcomeOf(id)).toBe('committed');
    const step = again.tick(50);
    expect(step.events).toEqual([]); // already decided: the application was told before
    expect(sendsOf(step)).toEqual(['TxCommit -> a', 'TxCommit -> b']);
  });

  it('compacts its log to the open transactions', () => {
    const log = new MemoryTxLog();
    const c = coordinator(log, { compactAfterRecords: 5 });
    const ids = [c.newTxId(), c.newTxId(), c.newTxId()];
    for (const id of ids) c.begin(id, parts('a'), 0);
    c.receive('a', yes(ids[0], 'a'), 1);
    c.receive('a', ack(ids[0], 'a', TxState.Committed), 2); // 5th append: end
    expect(log.compactions).toBe(1);
    expect(log.load().map((r) => `${r.kind} ${r.txId}`)).toEqual([`begin ${ids[1]}`, `begin ${ids[2]}`]);
    expect(coordinator(log).open).toBe(2);
  });

  it('refuses a bad begin before logging anything', () => {
    const log = new MemoryTxLog();
    const c = coordinator(log, { maxTransactions: 1, maxParticipants: 2 });
    expect(() => c.begin('t', [], 0)).toThrow(/participants/);
    expect(() => c.begin('t', parts('a', 'a'), 0)).toThrow(/distinct/);
    expect(() => c.begin('t', parts('a', 'b', 'd'), 0)).toThrow(/participants/);
    expect(() => c.begin('', parts('a'), 0)).toThrow(/txId/);
    c.begin('t', parts('a'), 0);
    expect(() => c.begin('t', parts('a'), 0)).toThrow(/already open/);
    expect(() => c.begin('u', parts('a'), 0)).toThrow(BackpressureError);
    expect(log.appends).toBe(1);
  });
});
