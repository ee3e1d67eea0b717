// Crash points of the transaction simulator: where a node can be stopped, and
// the log wrapper that stops it just before or just after a record becomes
// durable. A crash is an exception (SimulatedCrash) thrown out of the core's
// call: the call's messages and events are lost with it, as they would be
// with the process, and the record is on disk or not.
import type { MemoryTxLog, TxLog, TxRecord } from './log.js';
import type { TxMessage } from './messages.js';

export type CrashPoint =
  | { readonly kind: 'receive'; readonly node: string; readonly n: number; readonly from: string; readonly message: TxMessage }
  | { readonly kind: 'append' | 'appended'; readonly node: string; readonly n: number; readonly record: TxRecord }
  | { readonly kind: 'send'; readonly node: string; readonly n: number; readonly to: string; readonly message: TxMessage };

export class SimulatedCrash extends Error {}

/** A log that consults the crash hook around each append. */
export class CrashableLog implements TxLog {
  constructor(
    private readonly inner: MemoryTxLog,
    private readonly point: (kind: 'append' | 'appended', record: TxRecord) => boolean,
  ) {}
  load(): TxRecord[] {
    return this.inner.load();
  }
  append(record: TxRecord): void {
    if (this.point('append', record)) throw new SimulatedCrash();
    this.inner.append(record);
    if (this.point('appended', record)) throw new SimulatedCrash();
  }
  compact(live: readonly TxRecord[]): void {
    this.inner.compact(live);
  }
}

