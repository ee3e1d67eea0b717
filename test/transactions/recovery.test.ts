// Unit tests of the termination protocol (Bernstein, Hadzilacos & Goodman
// 1987, 7.4) run by the leader, one rule each.
import { describe, expect, it } from 'vitest';
import { TransactionRecovery } from '../../src/main/transactions/recovery.js';
import { ack, ask, OPTS, sendsOf, TxState } from './harness.js';

const ID = 'c/1/1';
const PARTS = ['a', 'b'];

function leader(): TransactionRecovery {
  const r = new TransactionRecovery({ ...OPTS, name: 'l' }, { now: 0 });
  r.setLeading(true);
  r.memberFailed('c');
  return r;
}

describe('termination protocol', () => {
  it('starts only on the leader, for a coordinator declared failed, on a report from a participant', () => {
    const r = new TransactionRecovery({ ...OPTS, name: 'l' }, { now: 0 });
    r.memberFailed('c');
    expect(sendsOf(r.receive('a', ask(ID, 'a', 'c', PARTS), 0))).toEqual([]); // not leading
    r.setLeading(true);
    expect(sendsOf(r.receive('a', ask(ID, 'a', 'd', PARTS), 0))).toEqual([]); // d is not failed
    expect(sendsOf(r.receive('x', ask(ID, 'x', 'c', PARTS), 0))).toEqual([]); // x does not take part
    const step = r.receive('a', ask(ID, 'a', 'c', PARTS), 0);
    expect(step.events).toEqual([{ type: 'recovery-started', txId: ID, coordinator: 'c' }]);
    expect(sendsOf(step)).toEqual(['TxStatusRequest -> a', 'TxStatusRequest -> b', 'TxStatusRequest -> c']);
    expect(step.sends[0].message).toEqual({ type: 'TxStatusRequest', txId: ID, asker: 'l', coordinator: 'c', participants: PARTS });
  });

  it('commits if any participant committed, and sends the commit to the others until they acknowledge', () => {
    const r = leader();
    r.receive('a', ask(ID, 'a', 'c', PARTS), 0);
    r.receive('a', ack(ID, 'a', TxState.Prepared), 1);
    expect(sendsOf(r.receive('b', ack(ID, 'b', TxState.Committed), 2))).toEqual(['TxCommit -> a']);
    expect(r.phaseOf(ID)).toBe('finishing');
    expect(sendsOf(r.tick(200))).toEqual(['TxCommit -> a']);
    expect(r.receive('a', ack(ID, 'a', TxState.Committed), 210).events).toEqual([{ type: 'recovered', txId: ID, coordinator: 'c', outcome: 'committed' }]);
    expect(r.active).toBe(0);
  });

  it('aborts if any participant aborted, or answers Unknown or Preparing (never prepared)', () => {
    for (const state of [TxState.Aborted, TxState.Unknown, TxState.Preparing]) {
      const r = leader();
      r.receive('a', ask(ID, 'a', 'c', PARTS), 0);
      r.receive('a', ack(ID, 'a', TxState.Prepared), 1);
      // b already aborted needs no abort; b that never prepared is told too.
      expect(sendsOf(r.receive('b', ack(ID, 'b', state), 2))).toEqual(state === TxState.Aborted ? ['TxAbort -> a'] : ['TxAbort -> a', 'TxAbort -> b']);
    }
  });

  it('blocks when every participant is prepared and the coordinator is silent; finishes with the returning coordinator\'s word', () => {
    const r = leader();
    r.receive('a', ask(ID, 'a', 'c', PARTS), 0);
    r.receive('a', ack(ID, 'a', TxState.Prepared), 1);
    const blocked = r.receive('b', ack(ID, 'b', TxState.Prepared), 2);
    expect(blocked.events).toEqual([{ type: 'recovery-blocked', txId: ID, coordinator: 'c' }]);
    expect(r.receive('b', ack(ID, 'b', TxState.Prepared), 3).events).toEqual([]); // reported once
    expect(sendsOf(r.tick(200))).toEqual(['TxStatusRequest -> a', 'TxStatusRequest -> b', 'TxStatusRequest -> c']); // keeps asking
    r.memberAlive('c');
    expect(r.receive('c', ack(ID, 'c', TxState.Unknown), 210).sends).toEqual([]); // "no record" is not an abort here
    expect(r.phaseOf(ID)).toBe('blocked');
    expect(sendsOf(r.receive('c', ack(ID, 'c', TxState.Aborted), 220))).toEqual(['TxAbort -> a', 'TxAbort -> b']);
  });

  it('a coordinator that is also a participant: its coordinator role\'s Unknown is not read as its participant state', () => {
    const r = leader();
    const parts = ['c', 'a'];
    r.receive('a', ask(ID, 'a', 'c', parts), 0);
    r.receive('a', ack(ID, 'a', TxState.Committed), 1);
    expect(r.phaseOf(ID)).toBe('finishing');
    const r2 = leader();
    r2.receive('a', ask(ID, 'a', 'c', parts), 0);
    r2.receive('c', ack(ID, 'c', TxState.Unknown), 1);
    r2.receive('a', ack(ID, 'a', TxState.Prepared), 2);
    expect(r2.phaseOf(ID)).toBe('asking');
  });

  it('a leader that steps down drops its terminations; the next one starts again from the next report', () => {
    const r = leader();
    r.receive('a', ask(ID, 'a', 'c', PARTS), 0);
    r.setLeading(false);
    expect(r.active).toBe(0);
    expect(r.receive('a', ask(ID, 'a', 'c', PARTS), 5).sends).toEqual([]);
  });
});
