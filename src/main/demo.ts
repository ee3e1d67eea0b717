// `npm start`: two endpoints on loopback exchange framed envelopes over a real
// TCP connection: request/response round trips, a pipelined burst, then a
// corrupted frame that the receiver refuses with a typed error and cuts off.
// (The cluster demo of five processes replaces this once membership and the
// transport land; this shows the wire format on its own.)
import net from 'node:net';
import { once } from 'node:events';
import { ClusterwireError, decodeMessage, FrameDecoder, FrameEncoder, type BodyOf, type Envelope } from './index.js';

const BURST = 200_000;
let nextId = 1;

function envelope(body: Envelope['body'], correlationId = 0): Envelope {
  return {
    header: { messageId: nextId++, correlationId, sender: 1, timestampUs: Date.now() * 1000, streamId: 0, priority: 2 },
    body,
  };
}

async function main(): Promise<void> {
  // The receiver: decodes every frame, checks it, answers requests.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    const replies = new FrameEncoder();
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          const msg = decodeMessage(frame);
          received++;
          if (msg.body.type === 'Request') {
            replies.append({
              header: { messageId: nextId++, correlationId: msg.header.messageId, sender: 2, timestampUs: Date.now() * 1000, streamId: 0, priority: 2 },
              body: { type: 'Response', payload: (msg.body as BodyOf<'Request'>).payload },
            });
          }
        }
        if (replies.pendingFrames > 0) socket.write(replies.take());
      } catch (error) {
        const e = error as ClusterwireError;
        console.log(`  receiver: ${e.code} after ${received} good frames: ${e.message}; connection cut`);
        socket.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  console.log(`clusterwire wire demo: receiver on 127.0.0.1:${port}\n`);

  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const decoder = new FrameDecoder();
  const encoder = new FrameEncoder();
  const waiting = new Map<number, (env: Envelope) => void>();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      const msg = decodeMessage(frame);
      waiting.get(msg.header.correlationId)?.(msg);
      waiting.delete(msg.header.correlationId);
    }
  });
  const request = (payload: Uint8Array): Promise<Envelope> => {
    const env = envelope({ type: 'Request', topic: 'echo', payload, idempotent: true, attempt: 0, timeoutMs: 1000 });
    encoder.append(env);
    socket.write(encoder.take());
    return new Promise((resolve) => waiting.set(env.header.messageId, resolve));
  };

  // 1. Round trips, one in flight.
  const rtts: number[] = [];
  const payload = new TextEncoder().encode('ping');
  for (let i = 0; i < 2000; i++) {
    const t = process.hrtime.bigint();
    const reply = await request(payload);
    rtts.push(Number(process.hrtime.bigint() - t) / 1000);
    if (new TextDecoder().decode((reply.body as BodyOf<'Response'>).payload) !== 'ping') throw new Error('echo mismatch');
  }
  rtts.sort((a, b) => a - b);
  const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(1);

  // 2. A pipelined burst of one-way messages, gathered into few writes.
  const data = new Uint8Array(64);
  const start = process.hrtime.bigint();
  for (let i = 0; i < BURST; i++) {
    encoder.append(envelope({ type: 'Message', topic: 'burst', payload: data }));
    if (encoder.pendingBytes > 256 * 1024) {
      if (!socket.write(encoder.take())) await once(socket, 'drain');
    }
  }
  const last = request(payload); // answered after every message before it
  await last;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| request/response RTT p50 / p99 (µs) | ${pct(0.5)} / ${pct(0.99)} |`);
  console.log(`| one-way 64 B messages, framed + checked | ${(BURST / seconds / 1e6).toFixed(2)}M msgs/s |`);

  // 3. A corrupted frame: the receiver refuses it with a typed error.
  console.log('\nsending a frame with one payload bit flipped ...');
  encoder.append(envelope({ type: 'Message', topic: 'bad', payload: data }));
  const bad = encoder.take();
  bad[20] ^= 0x01;
  socket.write(bad);
  await once(socket, 'close');
  server.close();
  console.log('done: both ends closed.');
}

await main();
