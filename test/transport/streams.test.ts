// Streams over one real connection: 120 concurrent streams with credit-based
// flow control where one reader never consumes, the negotiated stream limit,
// refusal without a handler, and a peer that sends beyond its credit.
import { afterEach, describe, expect, it } from 'vitest';
import { Transport, type TransportOptionsInput } from '../../src/main/transport/transport.js';
import type { Connection } from '../../src/main/transport/connection.js';
import type { Stream } from '../../src/main/transport/stream.js';
import { ClusterwireError, ErrorCode, StreamLimitError, StreamResetError } from '../../src/shared/errors.js';
import { until } from '../support/until.js';

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Pair {
  client: Connection;
  server: Connection;
  serverClosed: Array<ClusterwireError | null>;
}

type OnStream = ((c: Connection, s: Stream) => void) | undefined;

async function pair(onStream: OnStream, server: Partial<TransportOptionsInput> = {}, client: Partial<TransportOptionsInput> = {}, clientOnStream?: OnStream): Promise<Pair> {
  let accepted: Connection | null = null;
  const serverClosed: Array<ClusterwireError | null> = [];
  const a = new Transport(
    { nodeId: 'a', cluster: 'streams', ...server },
    {
      onMessage: () => undefined,
      onEstablished: (c) => {
        accepted = c;
      },
      onClose: (_c, error) => serverClosed.push(error),
      onStream,
    },
  );
  open.push(a);
  const { port } = await a.listen(0);
  const b = new Transport({ nodeId: 'b', cluster: 'streams', ...client }, { onMessage: () => undefined, onStream: clientOnStream });
  open.push(b);
  const conn = await b.connect('127.0.0.1', port, { nodeId: 'a' });
  await until(() => accepted !== null);
  return { client: conn, server: accepted as unknown as Connection, serverClosed };
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed * 13) & 0xff;
  return out;
}

describe('streams over one connection', () => {
  it('runs 120 concurrent streams; one reader never consumes and the other 119 complete', async () => {
    const STREAMS = 120;
    const BYTES = 160 * 1024;
    const WINDOW = 32 * 1024;
    const received = new Map<string, number[]>();
    const ended = new Set<string>();
    const closedOnServer = new Set<string>();
    let stalled: Stream | null = null;
    const p = await pair(
      (_c, stream) => {
        const chunks: number[] = [];
        received.set(stream.topic, chunks);
        if (stream.topic === 'stalled') stalled = stream;
        stream.on('data', (bytes) => {
          chunks.push(...bytes.subarray(0, 1), bytes.length); // first byte and length of each piece
          if (stream.topic !== 'stalled') stream.consume(bytes.length);
        });
        stream.on('end', () => {
          ended.add(stream.topic);
          stream.end(); // half-close back: the stream closes once both ends are done
        });
        stream.on('close', () => closedOnServer.add(stream.topic));
      },
      { connection: { streamCreditBytes: WINDOW } },
    );
    const streams: Stream[] = [];
    for (let i = 0; i < STREAMS; i++) streams.push(p.client.openStream(i === 17 ? 'stalled' : `s${i}`));
    expect(p.client.streams?.streamCount).toBe(STREAMS);
    for (const [i, s] of streams.entries()) {
      const data = pattern(BYTES, i);
      // in pieces of different sizes, as an application would write them
      for (let off = 0; off < BYTES; off += 24 * 1024 + i) s.write(data.subarray(off, Math.min(BYTES, off + 24 * 1024 + i)));
      s.end();
    }
    await until(() => ended.size === STREAMS - 1, 15_000);
    await until(() => closedOnServer.size === STREAMS - 1);
    expect(ended.has('stalled')).toBe(false);

    for (let i = 0; i < STREAMS; i++) {
      if (i === 17) continue;
      const pieces = received.get(`s${i}`) as number[];
      let total = 0;
      for (let k = 1; k < pieces.length; k += 2) total += pieces[k];
      expect(total).toBe(BYTES);
      expect(pieces[0]).toBe(pattern(1, i)[0]); // the stream's own bytes, not a neighbour's
    }
    // the stalled stream got exactly its window, and its writer holds the rest
    const stalledPieces = received.get('stalled') as number[];
    let stalledBytes = 0;
    for (let k = 1; k < stalledPieces.length; k += 2) stalledBytes += stalledPieces[k];
    expect(stalledBytes).toBe(WINDOW);
    expect(streams[17].pendingBytes).toBe(BYTES - WINDOW);
    expect(streams[17].state).toBe('open');
    // once its reader consumes, it completes too
    (stalled as unknown as Stream).consume(stalledBytes);
    (stalled as unknown as Stream).on('data', (bytes) => (stalled as unknown as Stream).consume(bytes.length));
    await until(() => ended.has('stalled'));
    expect(p.client.state).toBe('active');
    expect(p.server.state).toBe('active');
  }, 30_000);

  it('carries data both ways on a stream opened by the accepting side', async () => {
    const got: Uint8Array[] = [];
    let clientSide: Stream | null = null;
    let echoed: () => void = () => undefined;
    const echo = new Promise<void>((resolve) => (echoed = resolve));
    const p = await pair(undefined, {}, {}, (_c, s) => {
      clientSide = s;
      s.on('data', (bytes) => {
        got.push(bytes);
        s.consume(bytes.length);
      });
      s.on('end', () => {
        s.end(Uint8Array.of(9, 9));
        echoed();
      });
    });
    const serverStream = p.server.openStream('from-acceptor');
    expect(serverStream.id % 2).toBe(0);
    const back: number[] = [];
    let closed = false;
    serverStream.on('data', (bytes) => {
      back.push(...bytes);
      serverStream.consume(bytes.length);
    });
    serverStream.on('close', () => (closed = true));
    serverStream.end(pattern(1000, 4));
    await echo;
    await until(() => closed);
    expect(Buffer.concat(got)).toEqual(Buffer.from(pattern(1000, 4)));
    expect(back).toEqual([9, 9]);
    expect((clientSide as unknown as Stream).topic).toBe('from-acceptor');
    expect(p.server.streams?.streamCount).toBe(0);
  });

  it('keeps to the negotiated maxStreams and refuses streams when no handler is registered', async () => {
    const limited = await pair((_c, s) => s.on('data', (b) => s.consume(b.length)), { maxStreams: 4 });
    for (let i = 0; i < 4; i++) limited.client.openStream(`s${i}`);
    expect(() => limited.client.openStream('fifth')).toThrow(StreamLimitError);

    const refusing = await pair(undefined);
    const s = refusing.client.openStream('nobody');
    const reset = await new Promise<StreamResetError>((resolve) => s.on('reset', resolve));
    expect(reset.reason).toMatch(/no stream handler/);
    expect(s.state).toBe('reset');
    expect(refusing.client.state).toBe('active');
  });

  it('cuts a peer that sends beyond the credit it was granted with ERR_FLOW_CONTROL', async () => {
    const p = await pair((_c, s) => s.on('data', () => undefined), { connection: { streamCreditBytes: 16 * 1024 } });
    const s = p.client.openStream('greedy');
    await until(() => (p.client.streams?.streamSendCredit(s.id) ?? 0) > 0);
    // A faulty sender believes it was granted far more than the peer did.
    p.client.streams?.receiveCredit(s.id, 1024 * 1024);
    s.write(pattern(256 * 1024, 1));
    await until(() => p.serverClosed.length === 1);
    const error = p.serverClosed[0];
    expect(error?.code).toBe(ErrorCode.FLOW_CONTROL);
    expect(p.server.state).toBe('failed');
    await until(() => p.client.state === 'failed');
    expect(s.state).toBe('reset');
  });
});
