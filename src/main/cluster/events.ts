// What a ClusterNode tells its application, as typed EventEmitter events and
// as one async-iterable stream (`for await (const e of node.events())`).
//
// Each iterator holds at most `capacity` events: a consumer that falls behind
// loses the oldest ones, and the next event it reads says how many it lost
// (`dropped`), so a slow consumer can neither grow the node's memory nor miss
// that it missed something.
import type { ClusterMember } from './members.js';
import type { ReceivedFile } from '../transfer/incoming-transfer.js';
import type { FailoverReport } from './failover.js';

export type ClusterEvent =
  | { readonly type: 'member-joined'; readonly member: ClusterMember }
  /** A suspected, failed or left member is alive again (refuted, restarted, re-merged). */
  | { readonly type: 'member-alive'; readonly member: ClusterMember }
  | { readonly type: 'member-suspect'; readonly member: ClusterMember }
  | { readonly type: 'member-failed'; readonly member: ClusterMember }
  | { readonly type: 'member-left'; readonly member: ClusterMember }
  | { readonly type: 'member-updated'; readonly member: ClusterMember }
  /** The Raft leader this node follows changed; null while an election runs. `term` is the fencing token. */
  | { readonly type: 'leader-changed'; readonly leader: string | null; readonly term: number }
  /** A session moved to another owner (reason: failover, drain). */
  | { readonly type: 'session-migrated'; readonly session: string; readonly from: string; readonly to: string; readonly reason: string }
  /** The leader finished the failover of a failed member: what moved where. */
  | { readonly type: 'failover'; readonly report: FailoverReport }
  /** The leader finished a transaction whose coordinator failed (the termination protocol). */
  | { readonly type: 'transaction-recovered'; readonly txId: string; readonly coordinator: string; readonly outcome: 'committed' | 'aborted' }
  /** Every participant is prepared and the coordinator is down: the transaction waits for it to return with its log. */
  | { readonly type: 'transaction-blocked'; readonly txId: string; readonly coordinator: string }
  /** A file sent by a member arrived whole and verified in transfers.directory. */
  | { readonly type: 'file-received'; readonly file: ReceivedFile }
  /** Fewer than a majority of the known members are reachable from here. */
  | { readonly type: 'partition-detected'; readonly reachable: number; readonly total: number }
  /** A majority is reachable again. */
  | { readonly type: 'partition-healed'; readonly reachable: number; readonly total: number };

export type ClusterEventType = ClusterEvent['type'];

/** The EventEmitter map: one event per type, plus 'event' for all of them. */
export type ClusterEventMap = { [K in ClusterEventType]: [Extract<ClusterEvent, { type: K }>] } & { event: [ClusterEvent] };

/** An event as an iterator yields it: `dropped` counts events lost before it. */
export type IteratedEvent = ClusterEvent & { readonly dropped: number };

/** A bounded queue of events read as an async iterator; ends when the node stops. */
export class EventStream implements AsyncIterableIterator<IteratedEvent> {
  private readonly buffer: (ClusterEvent | undefined)[];
  private head = 0;
  private count = 0;
  private dropped = 0;
  private waiting: ((result: IteratorResult<IteratedEvent>) => void) | null = null;
  private ended = false;

  constructor(
    readonly capacity: number,
    private readonly onClose: (stream: EventStream) => void,
  ) {
    this.buffer = new Array<ClusterEvent | undefined>(capacity);
  }

  push(event: ClusterEvent): void {
    if (this.ended) return;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: this.stamp(event), done: false });
      return;
    }
    if (this.count === this.capacity) {
      this.buffer[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.dropped++;
    }
    this.buffer[(this.head + this.count) % this.capacity] = event;
    this.count++;
  }

  /** Ends the stream: buffered events are still read, then it is done. */
  end(): void {
    this.ended = true;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<IteratedEvent>> {
    if (this.count > 0) {
      const event = this.buffer[this.head] as ClusterEvent;
      this.buffer[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      return Promise.resolve({ value: this.stamp(event), done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting !== null) return Promise.reject(new Error('next() called again before the previous call settled'));
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Called by `break` in a for-await loop: the node stops feeding this stream. */
  return(): Promise<IteratorResult<IteratedEvent>> {
    this.count = 0;
    this.buffer.fill(undefined);
    this.end();
    this.onClose(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IteratedEvent> {
    return this;
  }

  private stamp(event: ClusterEvent): IteratedEvent {
    const dropped = this.dropped;
    this.dropped = 0;
    return { ...event, dropped };
  }
}
