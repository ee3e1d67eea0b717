// The election state on disk: an append-only file of small checksummed
// records, the newest valid one winning, compacted by an atomic replace.
//
//   record   "v1 <term> <votedFor as JSON> <crc32 of the text before it, hex>\n"
//   save     append one record, fsync the file (the state is durable when
//            save() returns, before any vote leaves the node)
//   load     the last record that parses and whose checksum matches; a bad
//            last record is a write torn by a crash (its save() never
//            returned, so nothing depended on it): it is cut off the file,
//            so the next append starts on a line of its own; a bad record
//            before a good one is damage and refuses to load
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
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ElectionStateError(this.file, 'cannot read', { cause: e });
    }
    const lines = bytes.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let last: ElectionState | null = null;
    /** Bytes up to the end of the last valid record. */
    let valid = 0;
    let at = 0;
    for (let i = 0; i < lines.length; i++) {
      const r = parseRecord(lines[i]);
      at += Buffer.byteLength(lines[i]) + 1;
      if (r !== null) {
        last = r;
        valid = Math.min(at, bytes.length);
      } else if (i < lines.length - 1) throw new ElectionStateError(this.file, `record ${i + 1} of ${lines.length} is damaged`);
    }
    if (last === null && lines.length > 1) throw new ElectionStateError(this.file, 'no valid record');
    // a torn last record is cut off, so the next append starts on a line of its own
    if (valid < bytes.length) {
      const fd = fs.openSync(this.file, 'r+');
      try {
        fs.ftruncateSync(fd, valid);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
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
