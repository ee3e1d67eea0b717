// Unit tests of the participant core, one rule each, with a virtual clock.
import { describe, expect, it } from 'vitest';
import { TxParticipant } from '../../src/main/transactions/participant.js';
import { MemoryTxLog } from '../../src/main/transactions/log.js';
import { ack, ask, OPTS, perform, prepare, sendsOf, TracingLog, TxState, TxVoteKind } from './harness.js';

const ID = 'c/1/1';
const PARTS = ['a', 'b'];

function participant(log = new MemoryTxLog(), now = 0): TxParticipant {
  return new TxParticipant({ ...OPTS, name: 'a' }, { now, log });
}

describe('participant', () => {
  it('asks the application, logs prepared (with a copy of the payload) before the Yes vote leaves', () => {
    const trace: string[] = [];
    const p = participant(new TracingLog(trace));
    const payload = new Uint8Array([7, 8, 9]);
    const step = perform(p.receive('c', prepare(ID, 'c', PARTS, payload), 0), trace);
    expect(step.events).toMatchObject([{ type: 'prepare', tx: { txId: ID, coordinator: 'c', participants: PARTS } }]);
    payload[0] = 0; // the receive buffer is reused
    perform(p.vote(ID, true, '', 5), trace);
    expect(trace).toEqual(['event prepare', 'append prepared', 'send TxVote -> c']);
    expect(p.stateOf(ID)).toBe('prepared');
    const record = (p as unknown as { log: MemoryTxLog }).log.load()[0];
    expect(record).toMatchObject({ kind: 'prepared', payload: new Uint8Array([7, 8, 9]) });
  });

  it('a No vote logs the abort, sends No, and tells the application abort', () => {
    const p = participant();
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    const step = p.vote(ID, false, 'locked', 1);
    expect(step.sends[0].message).toMatchObject({ type: 'TxVote', vote: TxVoteKind.No, reason: 'locked' });
    expect(step.events).toMatchObject([{ type: 'abort', reason: 'locked' }]);
    expect(p.stateOf(ID)).toBe('aborted');
    // A duplicate prepare is answered No again.
    expect(p.receive('c', prepare(ID, 'c', PARTS), 2).sends[0].message).toMatchObject({ vote: TxVoteKind.No });
  });

  it('votes No alone when the application has not voted within prepareTimeoutMs; the late vote only releases', () => {
    const p = participant();
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    expect(p.nextDeadline()).toBe(1_000);
    const step = p.tick(1_000);
    expect(step.sends[0].message).toMatchObject({ type: 'TxVote', vote: TxVoteKind.No });
    expect(p.stateOf(ID)).toBe('aborted');
    const late = p.vote(ID, true, '', 1_200);
    expect(sendsOf(late)).toEqual([]);
    expect(late.events).toMatchObject([{ type: 'abort' }]);
  });

  it('binding: asked its state while preparing, it aborts (logged) and answers Aborted; it never votes Yes after that', () => {
    const p = participant();
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    const answer = p.receive('l', ask(ID, 'l', 'c', PARTS), 10);
    expect(answer.sends.map((s) => s.message)).toEqual([
      { type: 'TxVote', txId: ID, participant: 'a', vote: TxVoteKind.No, reason: 'not prepared when l asked' },
      { type: 'TxStatusResponse', txId: ID, participant: 'a', state: TxState.Aborted },
    ]);
    const vote = p.vote(ID, true, '', 20);
    expect(sendsOf(vote)).toEqual([]);
    expect(vote.events).toMatchObject([{ type: 'abort' }]);
  });

  it('binding: asked about a transaction it never saw but is named in, it records the abort; the late TxPrepare gets No', () => {
    const log = new MemoryTxLog();
    const p = participant(log);
    expect(p.receive('l', ask(ID, 'l', 'c', ['b']), 0).sends).toEqual([]); // not named: no answer, nothing recorded
    expect(p.receive('l', ask(ID, 'l', 'c', PARTS), 0).sends[0].message).toMatchObject({ state: TxState.Aborted });
    expect(log.load()).toMatchObject([{ kind: 'outcome', txId: ID, outcome: 'aborted' }]);
    const late = p.receive('c', prepare(ID, 'c', PARTS), 5);
    expect(late.events).toEqual([]);
    expect(late.sends[0].message).toMatchObject({ vote: TxVoteKind.No });
  });

  it('commits on TxCommit from the coordinator, logs the outcome once the application applied it, then acknowledges', () => {
    const trace: string[] = [];
    const p = participant(new TracingLog(trace));
    p.setLeader('l');
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    p.vote(ID, true, '', 1);
    trace.length = 0;
    expect(perform(p.receive('x', { type: 'TxCommit', txId: ID }, 2), trace).events).toEqual([]); // not the coordinator, a participant or the leader
    perform(p.receive('l', { type: 'TxCommit', txId: ID }, 3), trace);
    perform(p.receive('c', { type: 'TxCommit', txId: ID }, 4), trace); // while applying: no second commit event
    perform(p.applied(ID, 5), trace);
    expect(trace).toEqual(['event commit', 'append outcome:committed', 'send TxStatusResponse -> l', 'send TxStatusResponse -> c']);
    expect(sendsOf(p.receive('c', { type: 'TxCommit', txId: ID }, 6))).toEqual(['TxStatusResponse -> c']); // duplicate: acknowledged again
  });

  it('a failed apply is delivered again after retransmitIntervalMs', () => {
    const p = participant();
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    p.vote(ID, true, '', 1);
    p.receive('c', { type: 'TxCommit', txId: ID }, 2);
    p.applyFailed(ID, 10);
    expect(p.nextDeadline()).toBe(110);
    expect(p.tick(110).events).toMatchObject([{ type: 'commit' }]);
  });

  it('an abort of a prepared transaction counts only from the coordinator, a participant or the leader', () => {
    const p = participant();
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    p.vote(ID, true, '', 1);
    expect(p.receive('x', { type: 'TxAbort', txId: ID, reason: '' }, 2).events).toEqual([]);
    expect(p.stateOf(ID)).toBe('prepared');
    const step = p.receive('b', { type: 'TxAbort', txId: ID, reason: 'b knows' }, 3);
    expect(step.events).toMatchObject([{ type: 'abort', reason: 'b knows' }]);
    expect(sendsOf(step)).toEqual(['TxStatusResponse -> c', 'TxStatusResponse -> b']);
    expect(p.receive('c', { type: 'TxCommit', txId: ID }, 4).events).toEqual([]);
    expect(p.conflicts).toBe(1);
  });

  it('in doubt, asks the coordinator and the leader every statusIntervalMs, naming coordinator and participants', () => {
    const p = participant();
    p.setLeader('l');
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    p.vote(ID, true, '', 0);
    expect(p.nextDeadline()).toBe(300);
    const step = p.tick(300);
    expect(sendsOf(step)).toEqual(['TxStatusRequest -> c', 'TxStatusRequest -> l']);
    expect(step.sends[0].message).toEqual({ type: 'TxStatusRequest', txId: ID, asker: 'a', coordinator: 'c', participants: PARTS });
    expect(p.nextDeadline()).toBe(600);
    // A leader's answer that is not an outcome changes nothing; the coordinator's Unknown is presumed abort.
    expect(p.receive('l', ack(ID, 'l', TxState.Prepared), 310).events).toEqual([]);
    expect(p.receive('l', ack(ID, 'l', TxState.Unknown), 310).events).toEqual([]);
    expect(p.receive('c', ack(ID, 'c', TxState.Unknown), 320).events).toMatchObject([{ type: 'abort', reason: 'presumed abort: the coordinator has no record' }]);
  });

  it('restarted prepared: reports it restored, asks at once, and keeps holding it; outcomes are remembered for outcomeRetentionMs', () => {
    const log = new MemoryTxLog();
    const p = participant(log);
    p.receive('c', prepare(ID, 'c', PARTS), 0);
    p.vote(ID, true, '', 0);
    p.receive('c', prepare('c/1/2', 'c', PARTS), 0);
    p.vote('c/1/2', false, '', 0);
    const again = participant(log, 1_000);
    const step = again.tick(1_000);
    expect(step.events).toMatchObject([{ type: 'restored', tx: { txId: ID, payload: new Uint8Array([1, 2, 3]) } }]);
    expect(sendsOf(step)).toEqual(['TxStatusRequest -> c']);
    expect(again.inDoubt()).toEqual([ID]);
    expect(again.receive('l', ask('c/1/2', 'l', 'c', PARTS), 1_001).sends[0].message).toMatchObject({ state: TxState.Aborted });
    again.tick(10_000);
    expect(again.stateOf('c/1/2')).toBeNull(); // forgotten after the retention
    expect(again.stateOf(ID)).toBe('prepared');
  });

  it('drops a TxPrepare not sent by its coordinator, or not naming this participant', () => {
    const p = participant();
    expect(p.receive('x', prepare(ID, 'c', PARTS), 0).events).toEqual([]);
    expect(p.receive('c', prepare(ID, 'c', ['b']), 0).events).toEqual([]);
    expect(p.stateOf(ID)).toBeNull();
  });
});
