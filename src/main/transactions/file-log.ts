// The transaction log on disk: an append-only file of checksummed records,
// one per line, rewritten by an atomic replace when compacted.
//
//   record   "t1 <record as JSON, payload in base64> <crc32 of the text before it, hex>\n"
//   append   write the record, fsync the file: durable when append() returns,
//            before any message that depends on it leaves the node
//   load     every record, in order. A bad last line (no newline, a checksum
//            or a shape that does not match) is a write torn by a crash (its
//            append never returned, so nothing depended on it): it is dropped
//            and the file truncated to the last good record, so the next
//            append does not land behind garbage. A bad record before a good
//            one is damage: load refuses (TransactionLogError), since
//            skipping it could forget a decision
//   compact  write the live records to "<path>.tmp", fsync it, rename it over
//            the file, fsync the directory
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from '../../shared/crc32.js';
import { TransactionLogError } from '../../shared/errors.js';
import type { TxLog, TxRecord } from './log.js';

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

function hex(text: string): string {
  return crc32(encoder.encode(text)).toString(16).padStart(8, '0');
}

function toJson(r: TxRecord): unknown {
  return r.kind === 'prepared' ? { ...r, payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString('base64') } : r;
}

/** One record as its line of text (with the newline). */
export function recordLine(r: TxRecord): string {
  const body = `t1 ${JSON.stringify(toJson(r))}`;
  return `${body} ${hex(body)}\n`;
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isOutcome = (v: unknown): v is 'committed' | 'aborted' => v === 'committed' || v === 'aborted';

/** The record of one line (without its newline), or null when it is not a whole, valid record. */
export function parseLine(line: string): TxRecord | null {
  const m = /^(t1 (\{.*\})) ([0-9a-f]{8})$/.exec(line);
  if (m === null || hex(m[1]) !== m[3]) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(m[2]) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object' || !isStr(o.txId)) return null;
  const txId = o.txId;
  switch (o.kind) {
    case 'begin':
      return isNames(o.participants) ? { kind: 'begin', txId, participants: o.participants } : null;
    case 'decision':
      return isNames(o.participants) && isOutcome(o.outcome) ? { kind: 'decision', txId, outcome: o.outcome, participants: o.participants } : null;
    case 'end':
      return { kind: 'end', txId };
    case 'prepared':
      if (!isStr(o.coordinator) || !isNames(o.participants) || typeof o.payload !== 'string') return null;
      return { kind: 'prepared', txId, coordinator: o.coordinator, participants: o.participants, payload: new Uint8Array(Buffer.from(o.payload, 'base64')) };
    case 'outcome':
      return isOutcome(o.outcome) && typeof o.at === 'number' && Number.isFinite(o.at) ? { kind: 'outcome', txId, outcome: o.outcome, at: o.at } : null;
    default:
      return null;
  }
}

export class FileTxLog implements TxLog {
  private fd: number | null = null;

  constructor(readonly file: string) {}

  /** Two logs in `dir` (created if missing): one per role of a node. */
  static inDirectory(dir: string): { coordinator: FileTxLog; participant: FileTxLog } {
    fs.mkdirSync(dir, { recursive: true });
    return { coordinator: new FileTxLog(path.join(dir, 'coordinator.txlog')), participant: new FileTxLog(path.join(dir, 'participant.txlog')) };
  }

  load(): TxRecord[] {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TransactionLogError(this.file, 'cannot read', { cause: e });
    }
    const records: TxRecord[] = [];
    let start = 0;
    let goodEnd = 0;
    let line = 0;
    while (start < bytes.length) {
      line++;
      const nl = bytes.indexOf(NEWLINE, start);
      const end = nl < 0 ? bytes.length : nl;
      const r = nl < 0 ? null : parseLine(bytes.toString('utf8', start, end));
      if (r === null) {
        // Torn only if nothing follows it.
        if (nl >= 0 && nl + 1 < bytes.length) throw new TransactionLogError(this.file, `record ${line} is damaged`);
        break;
      }
      records.push(r);
      start = end + 1;
      goodEnd = start;
    }
    if (goodEnd < bytes.length) this.truncate(goodEnd);
    return records;
  }

  append(record: TxRecord): void {
    if (this.fd === null) this.fd = fs.openSync(this.file, 'a');
    const bytes = encoder.encode(recordLine(record));
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    fs.fsyncSync(this.fd);
  }

  compact(live: readonly TxRecord[]): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, live.map(recordLine).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.close();
    fs.renameSync(tmp, this.file);
    syncDirectory(path.dirname(this.file));
  }

  /** Closes the file (a later append reopens it). */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private truncate(length: number): void {
    this.close();
    const fd = fs.openSync(this.file, 'r+');
    try {
      fs.ftruncateSync(fd, length);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
