// The transaction log on disk: record format and checksums, a torn last
// record (dropped and truncated), a damaged earlier one (refused), compaction
// by atomic replace, fsync before append returns, and cores restarted from it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransactionLogError } from '../../src/shared/errors.js';
import { FileTxLog, parseLine, recordLine } from '../../src/main/transactions/file-log.js';
import type { TxRecord } from '../../src/main/transactions/log.js';
import { TxCoordinator } from '../../src/main/transactions/coordinator.js';
import { TxParticipant } from '../../src/main/transactions/participant.js';
import { OPTS, prepare, rng, sendsOf, yes } from './harness.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'txlog-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const RECORDS: TxRecord[] = [
  { kind: 'begin', txId: 't1', participants: ['a', 'b "quoted"'] },
  { kind: 'prepared', txId: 't1', coordinator: 'c', participants: ['a', 'b'], payload: new Uint8Array([0, 255, 10, 13]) },
  { kind: 'decision', txId: 't1', outcome: 'committed', participants: ['a', 'b'] },
  { kind: 'outcome', txId: 't1', outcome: 'aborted', at: 1_700_000_000_123 },
  { kind: 'end', txId: 't1' },
];

describe('FileTxLog', () => {
  it('reads back every record in order, across instances, payload bytes intact', () => {
    const file = path.join(dir, 'log');
    const log = new FileTxLog(file);
    expect(log.load()).toEqual([]);
    for (const r of RECORDS) log.append(r);
    log.close();
    expect(new FileTxLog(file).load()).toEqual(RECORDS);
    expect(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(RECORDS.length);
  });

  it('refuses a line whose checksum or shape does not match', () => {
    const line = recordLine(RECORDS[0]).trimEnd();
    expect(parseLine(line)).toEqual(RECORDS[0]);
    expect(parseLine(line.replace('t1', 't2'))).toBeNull();
    expect(parseLine(line.slice(0, -1) + (line.endsWith('0') ? '1' : '0'))).toBeNull();
    const forged = 't1 {"kind":"decision","txId":"t","outcome":"maybe","participants":[]}';
    expect(parseLine(`${forged} ${recordLine(RECORDS[4]).trimEnd().slice(-8)}`)).toBeNull();
  });

  it('drops a torn last record and truncates it away, so the next append starts on a clean line', () => {
    const file = path.join(dir, 'log');
    const log = new FileTxLog(file);
    log.append(RECORDS[0]);
    log.append(RECORDS[1]);
    log.close();
    const whole = fs.readFileSync(file);
    fs.appendFileSync(file, recordLine(RECORDS[2]).slice(0, 30)); // a crash inside write()
    const reopened = new FileTxLog(file);
    expect(reopened.load()).toEqual(RECORDS.slice(0, 2));
    expect(fs.readFileSync(file)).toEqual(whole);
    reopened.append(RECORDS[2]);
    reopened.close();
    expect(new FileTxLog(file).load()).toEqual(RECORDS.slice(0, 3));
    // A whole last line with a wrong checksum is torn too (written, not synced).
    fs.appendFileSync(file, recordLine(RECORDS[3]).replace(/[0-9a-f]{8}\n$/, '00000000\n'));
    expect(new FileTxLog(file).load()).toEqual(RECORDS.slice(0, 3));
  });

  it('refuses to load when a record before the last is damaged (skipping it could forget a decision)', () => {
    const file = path.join(dir, 'log');
    const log = new FileTxLog(file);
    for (const r of RECORDS.slice(0, 3)) log.append(r);
    log.close();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"begin"', '"bigin"'));
    expect(() => new FileTxLog(file).load()).toThrow(TransactionLogError);
    try {
      new FileTxLog(file).load();
    } catch (e) {
      expect((e as TransactionLogError).code).toBe('ERR_TRANSACTION_LOG');
      expect((e as TransactionLogError).reason).toBe('record 1 is damaged');
    }
  });

  it('compacts by an atomic replace with only the live records, and appends after it', () => {
    const file = path.join(dir, 'log');
    const log = new FileTxLog(file);
    for (const r of RECORDS) log.append(r);
    log.compact([RECORDS[1]]);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    log.append(RECORDS[4]);
    expect(new FileTxLog(file).load()).toEqual([RECORDS[1], RECORDS[4]]);
  });

  it('an append returns only after the record was written and fsynced', () => {
    const file = path.join(dir, 'log');
    const log = new FileTxLog(file);
    const calls: string[] = [];
    const realWrite = fs.writeSync as (...args: unknown[]) => number;
    const realFsync = fs.fsyncSync;
    vi.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
      calls.push('write');
      return realWrite(...args);
    }) as typeof fs.writeSync);
    vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
      calls.push('fsync');
      realFsync(fd);
    });
    log.append(RECORDS[0]);
    calls.push('returned');
    expect(calls).toEqual(['write', 'fsync', 'returned']);
  });

  it('a coordinator and a participant restarted on their files keep the decision and the prepared state', () => {
    const logs = FileTxLog.inDirectory(path.join(dir, 'node'));
    const c = new TxCoordinator({ ...OPTS, name: 'c' }, { now: 0, rng: rng(), log: logs.coordinator });
    const p = new TxParticipant({ ...OPTS, name: 'a' }, { now: 0, log: logs.participant });
    const id = c.newTxId();
    const msg = c.begin(id, [{ name: 'a', payload: new Uint8Array([42]) }], 0).sends[0].message;
    p.receive('c', msg, 1);
    const vote = p.vote(id, true, '', 2).sends[0].message;
    c.receive('a', vote, 3);
    logs.coordinator.close();
    logs.participant.close();
    const again = FileTxLog.inDirectory(path.join(dir, 'node'));
    const c2 = new TxCoordinator({ ...OPTS, name: 'c' }, { now: 10, rng: rng(), log: again.coordinator });
    expect(sendsOf(c2.tick(10))).toEqual(['TxCommit -> a']);
    const p2 = new TxParticipant({ ...OPTS, name: 'a' }, { now: 10, log: again.participant });
    expect(p2.tick(10).events).toMatchObject([{ type: 'restored', tx: { txId: id, payload: new Uint8Array([42]) } }]);
    expect(p2.receive('c', prepare(id, 'c', ['a']), 11).sends[0].message).toEqual(yes(id, 'a'));
  });
});
