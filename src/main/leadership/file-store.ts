// The election state on disk: an append-only file of small checksummed
// records, the newest valid one winning, compacted by an atomic replace.
//
//   record   "v1 <term> <votedFor as JSON> <crc32 of the text before it, hex>\n"
//   save     append one record, fsync the file (the state is durable when
//            save() returns, before any vote leaves the node)
//   load     the last record that parses and whose checksum matches; a bad
//            last record is a write torn by a crash (its save() never
//            returned, so nothing depended on it) and is ignored; a bad
//            record before a good one is damage and refuses to load
//   compact  after `compactAfterRecords` appends: write the current record to
//            "<path>.tmp", fsync it, rename it over the file, fsync the
//            directory; the file never holds fewer than one valid record
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from '../../shared/crc32.js';
import { ElectionStateError } from '../../shared/errors.js';
import type { ElectionState, ElectionStore } from './store.js';

const encoder = new TextEncoder();

function recordText(state: ElectionState): string {
  const body = `v1 ${state.term} ${JSON.stringify(state.votedFor)}`;
  const sum = crc32(encoder.encode(body)).toString(16).padStart(8, '0');
  return `${body} ${sum}\n`;
}

function parseRecord(line: string): ElectionState | null {
  const m = /^(v1 (\d{1,16}) (null|"(?:[^"\\]|\\.)*")) ([0-9a-f]{8})$/.exec(line);
  if (m === null) return null;
  if (crc32(encoder.encode(m[1])).toString(16).padStart(8, '0') !== m[4]) return null;
  const term = Number(m[2]);
  if (!Number.isSafeInteger(term)) return null;
  let votedFor: unknown;
  try {
    votedFor = JSON.parse(m[3]);
  } catch {
    return null;
  }
  if (votedFor !== null && typeof votedFor !== 'string') return null;
  return { term, votedFor };
}

export interface FileElectionStoreOptions {
  /** Appends before the file is compacted to one record (default 64). */
  readonly compactAfterRecords?: number;
}

export class FileElectionStore implements ElectionStore {
  private fd: number | null = null;
  private appended = 0;
  private readonly compactAfter: number;

  constructor(
    readonly file: string,
    opts: FileElectionStoreOptions = {},
  ) {
    this.compactAfter = opts.compactAfterRecords ?? 64;
  }

  load(): ElectionState | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ElectionStateError(this.file, 'cannot read', { cause: e });
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let last: ElectionState | null = null;
    for (let i = 0; i < lines.length; i++) {
      const r = parseRecord(lines[i]);
      if (r !== null) last = r;
      else if (i < lines.length - 1) throw new ElectionStateError(this.file, `record ${i + 1} of ${lines.length} is damaged`);
    }
    if (last === null && lines.length > 1) throw new ElectionStateError(this.file, 'no valid record');
    return last;
  }

  save(state: ElectionState): void {
    if (this.fd === null) this.fd = fs.openSync(this.file, 'a');
    const bytes = encoder.encode(recordText(state));
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    fs.fsyncSync(this.fd);
    if (++this.appended >= this.compactAfter) this.compact(bytes);
  }

  /** Closes the file (a later save reopens it). */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private compact(record: Uint8Array): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, record);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.close();
    fs.renameSync(tmp, this.file);
    const dir = fs.openSync(path.dirname(this.file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
    this.appended = 0;
  }
}
