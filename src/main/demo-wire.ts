// `clusterwire demo wire`: two nodes on loopback talk through the transport:
// a handshake with a shared secret, request/response round trips, a burst of
// one-way messages, an impostor with the wrong secret refused, and a peer
// sending a corrupted frame cut off.
import net from 'node:net';
import { once } from 'node:events';
import { ClusterwireError, encodeMessage, Messenger } from './index.js';

const SECRET = 'demo secret, at least sixteen bytes';
const BURST = 200_000;

export async function wireDemo(): Promise<void> {
  const a = new Messenger({ nodeId: 'node-a', cluster: 'demo', secret: SECRET, heartbeats: false });
  const b = new Messenger({ nodeId: 'node-b', cluster: 'demo', secret: SECRET, heartbeats: false });
  let received = 0;
  a.handle('echo', (m) => m.payload);
  a.handle('burst', () => void received++);
  a.handle('count', () => new TextEncoder().encode(String(received)));
  const { port } = await a.transport.listen(0, '127.0.0.1');
  console.log(`clusterwire demo: node-a listens on 127.0.0.1:${port}\n`);

  const conn = await b.transport.connect('127.0.0.1', port, { nodeId: 'node-a' });
  console.log(`node-b connected: handshake done, version ${conn.session?.version}, authenticated ${conn.session?.authenticated}`);

  // 1. Request/response, one in flight.
  const payload = new TextEncoder().encode('ping');
  const rtts: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = process.hrtime.bigint();
    const reply = await b.request(conn, 'echo', payload);
    rtts.push(Number(process.hrtime.bigint() - t) / 1000);
    if (reply.length !== payload.length) throw new Error('echo mismatch');
  }
  rtts.sort((x, y) => x - y);
  const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(1);

  // 2. A burst of one-way 64 B messages, gathered into few writes, each frame checked on arrival.
  const data = new Uint8Array(64);
  const start = process.hrtime.bigint();
  for (let i = 0; i < BURST; i++) {
    b.send(conn, 'burst', data);
    if (!conn.writable) await conn.drain();
    else if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
  }
  const counted = Number(new TextDecoder().decode(await b.request(conn, 'count', new Uint8Array(0))));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  console.log('\n| measure | value |');
  console.log('|---|---|');
  console.log(`| request/response RTT p50 / p99 (µs) | ${pct(0.5)} / ${pct(0.99)} |`);
  console.log(`| one-way 64 B messages, framed + checked | ${(BURST / seconds / 1e6).toFixed(2)}M msgs/s (${counted} of ${BURST} arrived) |`);

  // 3. An impostor with the wrong secret is refused at the handshake.
  const impostor = new Messenger({ nodeId: 'node-x', cluster: 'demo', secret: 'not the demo secret at all', heartbeats: false });
  try {
    await impostor.transport.connect('127.0.0.1', port);
    console.log('\nimpostor: connected (unexpected)');
  } catch (error) {
    console.log(`\nimpostor with the wrong secret: ${(error as ClusterwireError).code}: ${(error as Error).message}`);
  }
  await impostor.close();

  // 4. A raw socket sending a frame with a flipped bit is cut off; node-b is not disturbed.
  const raw = net.connect(port, '127.0.0.1');
  await once(raw, 'connect');
  const frame = encodeMessage({ header: { messageId: 1, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 2 }, body: { type: 'Message', topic: 'x', payload: data } });
  frame[20] ^= 0x01;
  raw.write(frame);
  raw.resume();
  await new Promise((r) => raw.once('close', r));
  const still = await b.request(conn, 'echo', payload);
  console.log(`a peer sending a corrupted frame: cut off; node-b still answered (${still.length} bytes)`);

  await b.close();
  await a.close();
  console.log('\ndone: every socket closed.');
}

