// The connection's send scheduling on real loopback sockets: Critical
// messages overtake a 100 MB Low transfer, large envelopes travel as Chunk
// pieces and arrive intact, the backpressure contract counts scheduled bytes,
// and a peer sending chunks out of sequence is cut with the typed error.
import { afterEach, describe, expect, it } from 'vitest';
import { Transport, type TransportOptionsInput } from '../../src/main/transport/transport.js';
import type { Connection } from '../../src/main/transport/connection.js';
import { CONNECTION_DEFAULTS } from '../../src/main/transport/connection-options.js';
import type { Envelope } from '../../src/shared/envelope/index.js';
import { BackpressureError, ClusterwireError, ErrorCode } from '../../src/shared/errors.js';
import { until } from '../support/until.js';

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Link {
  sender: Connection;
  receiver: Connection;
  inbox: Envelope[];
  closed: Array<ClusterwireError | null>;
}

/** Two transports on loopback; `onMessage` sees every envelope the receiver takes. */
async function link(
  receiverOptions: Partial<TransportOptionsInput> = {},
  senderOptions: Partial<TransportOptionsInput> = {},
  onMessage?: (c: Connection, e: Envelope) => void,
): Promise<Link> {
  const inbox: Envelope[] = [];
  const closed: Array<ClusterwireError | null> = [];
  let receiver: Connection | null = null;
  const a = new Transport(
    { nodeId: 'a', cluster: 'sched', ...receiverOptions },
    {
      onEstablished: (c) => {
        receiver = c;
      },
      onMessage: onMessage ?? ((_c, e) => inbox.push(e)),
      onClose: (_c, error) => closed.push(error),
    },
  );
  open.push(a);
  const { port } = await a.listen(0);
  const b = new Transport({ nodeId: 'b', cluster: 'sched', ...senderOptions }, { onMessage: () => undefined });
  open.push(b);
  const sender = await b.connect('127.0.0.1', port, { nodeId: 'a' });
  await until(() => receiver !== null);
  return { sender, receiver: receiver as unknown as Connection, inbox, closed };
}

const CHUNK = 65_536;
const CRITICAL = 0;
const LOW = 3;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('send scheduling over a real connection', () => {
  it('lets Critical heartbeats overtake a 100 MB Low transfer, with the bytes ahead of them bounded by the pacing window', async () => {
    const TOTAL = 100 * 1_000_000;
    const sentAt = new Map<number, { at: number; bytesIn: number }>();
    const delays: Array<{ ms: number; bytesBetween: number }> = [];
    let bulkArrived = false;
    let receiverConn: Connection | null = null;
    const l = await link({ connection: { maxMessageBytes: 128 * 1024 * 1024 } }, { connection: { maxQueuedBytes: 256 * 1024 * 1024 } }, (c, e) => {
      receiverConn = c;
      const body = e.body;
      if (body.type !== 'Message') return;
      if (body.topic === 'bulk') {
        expect(body.payload.length).toBe(TOTAL);
        expect(body.payload[TOTAL - 1]).toBe(0x5a);
        bulkArrived = true;
        return;
      }
      const seq = body.payload[0] | (body.payload[1] << 8);
      const sent = sentAt.get(seq);
      if (sent === undefined) return;
      delays.push({ ms: performance.now() - sent.at, bytesBetween: c.counters.bytesIn - sent.bytesIn });
    });

    // What the sending process writes between a heartbeat's send() and the write carrying it.
    const socket = l.sender.socket;
    const write = socket.write.bind(socket);
    let written = 0;
    const waiting = new Map<number, number>(); // seq -> bytes written when it was sent
    let worstWrittenAhead = 0;
    socket.write = ((bytes: Uint8Array, ...rest: unknown[]) => {
      if (bytes.length < 1024 && waiting.size > 0) {
        for (const [seq, at] of waiting) {
          if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(marker(seq)) >= 0) {
            worstWrittenAhead = Math.max(worstWrittenAhead, written - at);
            waiting.delete(seq);
          }
        }
      }
      written += bytes.length;
      return (write as (...a: unknown[]) => boolean)(bytes, ...rest);
    }) as typeof socket.write;

    const payload = new Uint8Array(TOTAL).fill(0x5a);
    // heartbeats flow before the transfer starts, as on any connection that carries them (which is what pacing protects)
    l.sender.send({ type: 'Message', topic: 'hb', payload: marker(0) }, { priority: CRITICAL });
    l.sender.send({ type: 'Message', topic: 'bulk', payload }, { priority: LOW });
    let seq = 0;
    const timer = setInterval(() => {
      seq++;
      sentAt.set(seq, { at: performance.now(), bytesIn: l.receiver.counters.bytesIn });
      waiting.set(seq, written);
      l.sender.send({ type: 'Message', topic: 'hb', payload: marker(seq) }, { priority: CRITICAL });
    }, 2);
    try {
      await until(() => bulkArrived, 20_000);
    } finally {
      clearInterval(timer);
    }
    await until(() => delays.length === seq);
    expect(receiverConn).toBe(l.receiver);

    const worstMs = Math.max(...delays.map((d) => d.ms));
    const worstBytes = Math.max(...delays.map((d) => d.bytesBetween));
    console.log(
      `100 MB Low transfer: ${delays.length} Critical heartbeats; worst delay ${worstMs.toFixed(1)} ms, ` +
        `worst bytes received between send and arrival ${(worstBytes / 1e6).toFixed(2)} MB; ` +
        `worst bytes this process wrote ahead of a heartbeat after its send(): ${worstWrittenAhead}`,
    );
    expect(delays.length).toBeGreaterThan(5);
    // The connection never writes a transfer piece ahead of a waiting heartbeat: at most one chunk.
    expect(worstWrittenAhead).toBeLessThanOrEqual(CHUNK + 1024);
    // Ahead of it is only what was already in flight, which pacing bounds by the
    // window (plus the write in progress and one read): never the transfer's bulk.
    expect(worstBytes).toBeLessThan(CONNECTION_DEFAULTS.pacingWindowBytes + 8 * CHUNK);
  }, 30_000);

  it('carries envelopes larger than a chunk intact, and those around the chunk size in order', async () => {
    const l = await link();
    const big = pattern(5 * 1024 * 1024 + 7, 3);
    const id = l.sender.send({ type: 'Message', topic: 'big', payload: big }, { correlationId: 42 });
    const sizes: number[] = [];
    for (let n = CHUNK - 160; n <= CHUNK + 40; n += 8) sizes.push(n);
    for (const n of sizes) l.sender.send({ type: 'Message', topic: `edge-${n}`, payload: pattern(n, n) });
    l.sender.send({ type: 'Message', topic: 'after', payload: pattern(10, 1) });
    await until(() => l.inbox.length === sizes.length + 2);

    const first = l.inbox[0];
    expect(first.header.messageId).toBe(id);
    expect(first.header.correlationId).toBe(42);
    const body = first.body as { topic: string; payload: Uint8Array };
    expect(body.topic).toBe('big');
    expect(Buffer.compare(Buffer.from(body.payload), Buffer.from(big))).toBe(0);
    sizes.forEach((n, i) => {
      const b = l.inbox[i + 1].body as { topic: string; payload: Uint8Array };
      expect(b.topic).toBe(`edge-${n}`);
      expect(Buffer.compare(Buffer.from(b.payload), Buffer.from(pattern(n, n)))).toBe(0);
    });
    expect((l.inbox[sizes.length + 1].body as { topic: string }).topic).toBe('after');
    expect(l.receiver.counters.messagesIn).toBe(sizes.length + 2);
  });

  it('counts scheduled bytes in queuedBytes: writable turns false, send throws past maxQueuedBytes, drain resolves', async () => {
    const HIGH_WATER = 2 * 1024 * 1024;
    const MAX = 8 * 1024 * 1024;
    const l = await link({}, { connection: { highWaterMarkBytes: HIGH_WATER, maxQueuedBytes: MAX } });
    l.receiver.socket.pause(); // the reader stalls
    const payload = pattern(1024 * 1024, 9);
    let accepted = 0;
    let refusal: unknown = null;
    let sawUnwritable = false;
    for (let i = 0; i < 64 && refusal === null; i++) {
      try {
        l.sender.send({ type: 'Message', topic: 'bulk', payload }, { priority: LOW });
        accepted++;
      } catch (error) {
        refusal = error;
      }
      if (!l.sender.writable) sawUnwritable = true;
      await new Promise((r) => setImmediate(r));
    }
    expect(sawUnwritable).toBe(true);
    expect(refusal).toBeInstanceOf(BackpressureError);
    expect(l.sender.queuedBytes).toBeGreaterThan(HIGH_WATER);
    expect(l.sender.queuedBytes).toBeLessThanOrEqual(MAX + payload.length + 64 * 1024);
    // a Critical ping still gets through the queue once the reader reads again
    const rtt = l.sender.ping(5000);
    l.receiver.socket.resume();
    await l.sender.drain();
    expect(l.sender.writable).toBe(true);
    expect(await rtt).toBeGreaterThanOrEqual(0);
    await until(() => l.inbox.length === accepted);
    for (const e of l.inbox) expect((e.body as { payload: Uint8Array }).payload.length).toBe(payload.length);
  });

  it('cuts a peer that sends chunks out of sequence with ERR_CHUNK_SEQUENCE', async () => {
    const l = await link();
    l.sender.send({ type: 'Chunk', messageId: 77, offset: 0, totalBytes: 1000, data: pattern(100, 1) });
    l.sender.send({ type: 'Chunk', messageId: 77, offset: 300, totalBytes: 1000, data: pattern(100, 2) });
    await until(() => l.closed.length === 1);
    expect(l.closed[0]?.code).toBe(ErrorCode.CHUNK_SEQUENCE);
    expect(l.receiver.state).toBe('failed');
    expect(l.inbox).toHaveLength(0);
  });

  it('closes cleanly with a paced transfer still queued: what was sent arrives, then the socket ends', async () => {
    const l = await link();
    const payload = pattern(8 * 1024 * 1024, 11);
    l.sender.send({ type: 'Message', topic: 'urgent', payload: pattern(1, 1) }, { priority: CRITICAL }); // the transfer is paced
    l.sender.send({ type: 'Message', topic: 'last', payload }, { priority: LOW });
    l.sender.close();
    await until(() => l.sender.state === 'closed');
    expect(l.sender.error).toBeNull();
    await until(() => l.inbox.length === 2);
    expect(Buffer.compare(Buffer.from((l.inbox[1].body as { payload: Uint8Array }).payload), Buffer.from(payload))).toBe(0);
    expect(() => l.sender.send({ type: 'Message', topic: 'x', payload: pattern(1, 1) })).toThrow(ClusterwireError);
  });

  it('paces a transfer only within pacingIdleMs of an urgent message, or always with 0', async () => {
    const counted = (c: Connection) => (c as unknown as { pacing: { writtenBytes: number } }).pacing.writtenBytes; // white box
    const transfer = async (l: Link, urgent: boolean) => {
      const before = l.inbox.length;
      if (urgent) l.sender.send({ type: 'Message', topic: 'urgent', payload: pattern(1, 1) }, { priority: 1 });
      l.sender.send({ type: 'Message', topic: 'bulk', payload: pattern(4 * 1024 * 1024, 3) }, { priority: LOW });
      await until(() => l.inbox.length === before + (urgent ? 2 : 1));
    };
    const quiet = await link();
    await transfer(quiet, false);
    expect(counted(quiet.sender)).toBe(0); // only Normal and Low traffic: nothing to protect, not paced
    await transfer(quiet, true);
    expect(counted(quiet.sender)).toBeGreaterThan(3 * 1024 * 1024);
    const lapsed = await link({}, { connection: { pacingIdleMs: 1 } });
    lapsed.sender.send({ type: 'Message', topic: 'urgent', payload: pattern(1, 1) }, { priority: CRITICAL });
    await new Promise((r) => setTimeout(r, 20));
    await transfer(lapsed, false);
    expect(counted(lapsed.sender)).toBe(0); // the urgent message was longer ago than pacingIdleMs
    const always = await link({}, { connection: { pacingIdleMs: 0 } });
    await transfer(always, false);
    expect(counted(always.sender)).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('refuses a priority outside the four classes', async () => {
    const l = await link();
    expect(() => l.sender.send({ type: 'Message', topic: 'p', payload: pattern(8, 1) }, { priority: 4 })).toThrow(/priority/);
    l.sender.send({ type: 'Message', topic: 'ok', payload: pattern(8, 1) }, { priority: 1 });
    await until(() => l.inbox.length === 1);
  });

  it('refuses a chunked envelope declaring more than maxMessageBytes', async () => {
    const l = await link({ connection: { maxMessageBytes: 1024 * 1024 } });
    l.sender.send({ type: 'Message', topic: 'too-big', payload: pattern(2 * 1024 * 1024, 5) });
    await until(() => l.closed.length === 1);
    expect(l.closed[0]?.code).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

/** Eight bytes that name heartbeat `seq`: its number and a fixed tag. */
function marker(seq: number): Uint8Array {
  return Uint8Array.of(seq & 0xff, (seq >> 8) & 0xff, 0xc7, 0x3e, 0x91, 0x5d, 0xa2, 0x68);
}
