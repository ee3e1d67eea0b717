// The persisted term and vote: the file store's record format, torn writes,
// damage, compaction; and a core restarted from it keeping its promise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElectionStateError } from '../../src/shared/errors.js';
import { FileElectionStore } from '../../src/main/leadership/file-store.js';
import { RaftElection } from '../../src/main/leadership/raft.js';
import { lowRng } from './harness.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('FileElectionStore', () => {
  it('loads null before any save, then the last state saved, across instances', () => {
    const file = path.join(dir, 'raft');
    const s = new FileElectionStore(file);
    expect(s.load()).toBeNull();
    s.save({ term: 1, votedFor: 'a' });
    s.save({ term: 2, votedFor: null });
    s.save({ term: 2, votedFor: 'b "quoted" \\ name' });
    s.close();
    expect(new FileElectionStore(file).load()).toEqual({ term: 2, votedFor: 'b "quoted" \\ name' });
    expect(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(3);
  });

  it('ignores a torn last record (its save never returned)', () => {
    const file = path.join(dir, 'raft');
    const s = new FileElectionStore(file);
    s.save({ term: 4, votedFor: 'c' });
    s.close();
    fs.appendFileSync(file, 'v1 5 "d" 0000');
    expect(new FileElectionStore(file).load()).toEqual({ term: 4, votedFor: 'c' });
    // A whole record with a wrong checksum at the end is treated the same way.
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').split('\n')[0]}\nv1 5 "d" 00000000\n`);
    expect(new FileElectionStore(file).load()).toEqual({ term: 4, votedFor: 'c' });
  });

  it('cuts a torn last record off, so the records saved after a restart load again', () => {
    const file = path.join(dir, 'raft');
    const s = new FileElectionStore(file);
    s.save({ term: 4, votedFor: 'c' });
    s.close();
    fs.appendFileSync(file, 'v1 5 "d" 00'); // a crash in the middle of a save
    const restarted = new FileElectionStore(file);
    expect(restarted.load()).toEqual({ term: 4, votedFor: 'c' });
    restarted.save({ term: 6, votedFor: 'e' });
    restarted.save({ term: 7, votedFor: null });
    restarted.close();
    expect(new FileElectionStore(file).load()).toEqual({ term: 7, votedFor: null });
  });

  it('refuses to load when a record before the last is damaged', () => {
    const file = path.join(dir, 'raft');
    const s = new FileElectionStore(file);
    s.save({ term: 1, votedFor: 'a' });
    s.save({ term: 2, votedFor: 'b' });
    s.close();
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('v1 1 "a"', 'v1 9 "a"'));
    expect(() => new FileElectionStore(file).load()).toThrow(ElectionStateError);
  });

  it('compacts to one record by an atomic replace, keeping the newest state', () => {
    const file = path.join(dir, 'raft');
    const s = new FileElectionStore(file, { compactAfterRecords: 4 });
    for (let t = 1; t <= 9; t++) s.save({ term: t, votedFor: `n${t}` });
    s.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(2); // compacted at the 4th and 8th saves, the 9th appended
    expect(new FileElectionStore(file).load()).toEqual({ term: 9, votedFor: 'n9' });
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('a core restarted on the same file keeps its term and refuses a second vote in it', () => {
    const file = path.join(dir, 'raft');
    const voters = ['a', 'b', 'c'];
    const first = new RaftElection({ name: 'c', voters, checkQuorum: 'off' }, { rng: lowRng, now: 0, store: new FileElectionStore(file) });
    const v = { type: 'RequestVote' as const, term: 6, candidate: 'a', lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false };
    expect(first.receive('a', v, 1).sends[0].message).toMatchObject({ granted: true });
    const second = new RaftElection({ name: 'c', voters, checkQuorum: 'off' }, { rng: lowRng, now: 0, store: new FileElectionStore(file) });
    expect([second.term, second.votedFor]).toEqual([6, 'a']);
    expect(second.receive('b', { ...v, candidate: 'b' }, 2).sends[0].message).toMatchObject({ granted: false, term: 6 });
  });
});
