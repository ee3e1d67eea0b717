// Broadcasts an agent sends and receives on the `agent.broadcast` topic, to
// measure delivery (`--broadcast-every MS`, `--broadcast-via gossip|direct`).
// Every agent records the broadcasts it receives, whether or not it sends:
// origin, sequence number, how it came and how long it took (wall clocks, so
// the latency means something only where the hosts' clocks agree). /status
// carries the last RECORDS sent and received; the fault suite reads them.
//
//   payload = u32 sequence | u8 via (0 direct, 1 gossip) | f64 sent at (Date.now(), ms)   (big-endian, 13 bytes)
import type { ClusterNode } from '../cluster/cluster-node.js';

export const BROADCAST_TOPIC = 'agent.broadcast';
export type BroadcastVia = 'direct' | 'gossip';

const PAYLOAD_BYTES = 13;
/** Entries kept of each list. */
const RECORDS = 2_048;

export interface SentBroadcast {
  readonly seq: number;
  readonly via: BroadcastVia;
  readonly at: number;
}

export interface ReceivedBroadcast {
  readonly origin: string;
  readonly seq: number;
  readonly via: BroadcastVia;
  readonly sentAt: number;
  readonly latencyMs: number;
}

export interface BroadcastStats {
  readonly everyMs: number;
  readonly via: BroadcastVia;
  readonly sentCount: number;
  readonly receivedCount: number;
  /** The last RECORDS broadcasts sent, oldest first. */
  readonly sent: readonly SentBroadcast[];
  /** The last RECORDS broadcasts received (duplicates not counted), oldest first. */
  readonly received: readonly ReceivedBroadcast[];
}

export function encodeBroadcast(seq: number, via: BroadcastVia, at: number): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, seq);
  view.setUint8(4, via === 'gossip' ? 1 : 0);
  view.setFloat64(5, at);
  return bytes;
}

/** null for a payload that is not a probe broadcast. */
export function decodeBroadcast(bytes: Uint8Array): { seq: number; via: BroadcastVia; sentAt: number } | null {
  if (bytes.length !== PAYLOAD_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const via = view.getUint8(4);
  const sentAt = view.getFloat64(5);
  if (via > 1 || !Number.isFinite(sentAt)) return null;
  return { seq: view.getUint32(0), via: via === 1 ? 'gossip' : 'direct', sentAt };
}

export class BroadcastProbe {
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private receivedCount = 0;
  private readonly sent: SentBroadcast[] = [];
  private readonly received: ReceivedBroadcast[] = [];
  /** origin → "sequence/sent at" of the probes seen (a gossiped broadcast may arrive twice; a restarted sender counts from 1 again). */
  private readonly seen = new Map<string, Set<string>>();
  private readonly unhandle: () => void;

  /** everyMs 0: receive and record only. */
  constructor(
    private readonly node: ClusterNode,
    readonly everyMs: number,
    readonly via: BroadcastVia,
  ) {
    this.unhandle = node.handle(BROADCAST_TOPIC, (m) => this.receive(m.from, m.payload));
  }

  start(): void {
    if (this.everyMs <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => this.send(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unhandle();
  }

  stats(): BroadcastStats {
    return { everyMs: this.everyMs, via: this.via, sentCount: this.seq, receivedCount: this.receivedCount, sent: [...this.sent], received: [...this.received] };
  }

  private send(): void {
    if (this.node.stopped) return;
    const at = Date.now();
    const seq = ++this.seq;
    push(this.sent, { seq, via: this.via, at });
    this.node.broadcast(BROADCAST_TOPIC, encodeBroadcast(seq, this.via, at), { via: this.via }).catch(() => undefined);
  }

  private receive(origin: string, payload: Uint8Array): void {
    const b = decodeBroadcast(payload);
    if (b === null || origin === this.node.id) return;
    let seen = this.seen.get(origin);
    if (seen === undefined) this.seen.set(origin, (seen = new Set()));
    const key = `${b.seq}/${b.sentAt}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > RECORDS) seen.delete(seen.values().next().value!);
    this.receivedCount++;
    push(this.received, { origin, seq: b.seq, via: b.via, sentAt: b.sentAt, latencyMs: Date.now() - b.sentAt });
  }
}

function push<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > RECORDS) list.shift();
}
