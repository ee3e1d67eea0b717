// Real sockets on loopback: the transport's handshake, its refusals, TLS, and
// hostile peers (garbage, oversized lengths, stalls) cut off without
// disturbing others.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { Transport, type TransportOptionsInput } from '../../src/main/transport/transport.js';
import type { Connection } from '../../src/main/transport/connection.js';
import type { Envelope } from '../../src/shared/envelope/index.js';
import { encodeFrame, FEATURE_CHECKSUM_RUNS, FLAG_CHECKSUM, FLAG_DEFERRED, readU32, writeU32 } from '../../src/shared/frame.js';
import { BackpressureError, ClusterwireError, HandshakeRejectedError } from '../../src/shared/errors.js';
import { makePki } from '../support/certs.js';
import { until } from '../support/until.js';

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Node {
  transport: Transport;
  inbox: Envelope[];
  port: number;
}

async function node(options: Partial<TransportOptionsInput> & { nodeId: string }, listen = true): Promise<Node> {
  const inbox: Envelope[] = [];
  const transport = new Transport({ cluster: 'test', ...options }, { onMessage: (_c, env) => inbox.push(env) });
  open.push(transport);
  const port = listen ? (await transport.listen(0)).port : 0;
  return { transport, inbox, port };
}

/** Resolves when the server has cut `socket` (reading whatever it sent first). */
function closed(socket: net.Socket): Promise<unknown> {
  socket.resume();
  socket.on('error', () => undefined);
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve));
}

const text = (s: string) => new TextEncoder().encode(s);

/**
 * Sends `count` messages of about 200 KB, message i filled with i + 1, each
 * once the connection holds less than 250 KB (so the next one is encoded
 * while the pieces of earlier ones are in the socket); checks that every one
 * arrives whole and unchanged.
 */
async function sendLargeAndCheck(conn: Connection, inbox: Envelope[], count: number): Promise<void> {
  const sizes = Array.from({ length: count }, (_, i) => 200_000 + (i % 5) * 1000);
  for (let i = 0; i < count; i++) {
    while (conn.queuedBytes > 250_000) await new Promise((r) => setTimeout(r, 1));
    conn.send({ type: 'Message', topic: `m${i}`, payload: new Uint8Array(sizes[i]).fill(i + 1) });
  }
  await until(() => inbox.length === count);
  inbox.forEach((env, i) => {
    const payload = (env.body as { payload: Uint8Array }).payload;
    expect(payload.length).toBe(sizes[i]);
    expect(payload.every((x) => x === i + 1)).toBe(true);
  });
}

describe('transport over TCP', () => {
  it('completes the handshake and carries messages both ways', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b' }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port, { nodeId: 'a' });
    expect(conn.state).toBe('active');
    expect(conn.session?.peerNodeId).toBe('a');
    for (let i = 0; i < 1000; i++) conn.send({ type: 'Message', topic: 't', payload: text(`m${i}`) });
    await until(() => a.inbox.length === 1000);
    expect(new TextDecoder().decode((a.inbox[999].body as { payload: Uint8Array }).payload)).toBe('m999');
    expect(a.inbox[0].header.sender).toBe(b.transport.sender);
    const back = [...a.transport.connections][0];
    await until(() => back.state === 'active');
    back.send({ type: 'Message', topic: 'reply', payload: text('hi') });
    await until(() => b.inbox.length === 1);
    expect(conn.counters.messagesOut).toBe(1000);
    expect(conn.counters.messagesIn).toBe(1);
    expect(conn.counters.bytesOut).toBeGreaterThan(1000 * 20);
  });

  it('takes nothing more from a read once a handler closed the connection, and ends it cleanly', async () => {
    let receiving: Connection | null = null;
    let delivered = 0;
    const transport = new Transport(
      { cluster: 'test', nodeId: 'a' },
      {
        onMessage: (connection) => {
          delivered++;
          receiving = connection;
          connection.close();
        },
      },
    );
    open.push(transport);
    const port = (await transport.listen(0)).port;
    const b = await node({ nodeId: 'b' }, false);
    const conn = await b.transport.connect('127.0.0.1', port, { nodeId: 'a' });
    for (let i = 0; i < 200; i++) conn.send({ type: 'Message', topic: 't', payload: text(`m${i}`) });
    await until(() => receiving !== null && (receiving as Connection).state === 'closed');
    expect(delivered).toBe(1);
    expect((receiving as unknown as Connection).error).toBeNull();
  });

  it('gathers the frames of one turn into one write', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b' }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port);
    let writes = 0;
    const write = conn.socket.write.bind(conn.socket);
    conn.socket.write = ((...args: Parameters<typeof write>) => {
      writes++;
      return write(...args);
    }) as typeof conn.socket.write;
    for (let i = 0; i < 500; i++) conn.send({ type: 'Message', topic: 't', payload: text('x') });
    await until(() => a.inbox.length === 500);
    expect(writes).toBe(1);
  });

  it('shares one CRC trailer among the frames of a write with a peer that reads checksum runs, unless told not to', async () => {
    for (const checksumRunBytes of [16_384, 0]) {
      const a = await node({ nodeId: 'a' });
      const b = await node({ nodeId: 'b', connection: { checksumRunBytes } }, false);
      const conn = await b.transport.connect('127.0.0.1', a.port);
      expect(conn.session?.capabilities.features).toContain(FEATURE_CHECKSUM_RUNS);
      const flags: number[] = [];
      const write = conn.socket.write.bind(conn.socket);
      conn.socket.write = ((...args: Parameters<typeof write>) => {
        const bytes = args[0] as Uint8Array;
        for (let at = 0; at < bytes.length; at += readU32(bytes, at)) flags.push(bytes[at + 5] | (bytes[at + 4] << 8));
        return write(...args);
      }) as typeof conn.socket.write;
      for (let i = 0; i < 500; i++) conn.send({ type: 'Message', topic: 't', payload: text(`m${i}`) });
      await until(() => a.inbox.length === 500);
      expect(a.inbox.map((e) => new TextDecoder().decode((e.body as { payload: Uint8Array }).payload))).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
      const sealed = flags.filter((f) => f & FLAG_CHECKSUM).length;
      const deferred = flags.filter((f) => f & FLAG_DEFERRED).length;
      expect(sealed + deferred).toBe(500);
      if (checksumRunBytes > 0) expect(sealed).toBeLessThan(10); // 500 frames of ~100 bytes: a few runs of 16 KiB
      else expect(deferred).toBe(0);
      await Promise.all(open.splice(0).map((t) => t.close()));
    }
  });

  it("keeps every frame within the peer's announced maxFrameBytes: large messages are cut into smaller pieces for it", async () => {
    // a announces frames of at most maxFrameBytes: from its connection options (what its decoder takes),
    // or from the handshake options alone; b is left at the defaults (64 KiB pieces). a's chunkBytes in the
    // first case is shorter than its handshake response, which must leave whole all the same.
    const limits: [number, Partial<TransportOptionsInput>][] = [
      [2048, { connection: { maxFrameBytes: 2048, chunkBytes: 256 } }],
      [1024, { maxFrameBytes: 1024 }],
    ];
    for (const [maxFrameBytes, options] of limits) {
      const a = await node({ nodeId: 'a', ...options });
      const b = await node({ nodeId: 'b' }, false);
      const conn = await b.transport.connect('127.0.0.1', a.port);
      expect(conn.session?.capabilities.maxFrameBytes).toBe(maxFrameBytes);
      // everything b writes, in order (a piece leaves as several buffers: head, views of the message, trailer)
      const written: Uint8Array[] = [];
      const write = conn.socket.write.bind(conn.socket);
      conn.socket.write = ((...args: Parameters<typeof write>) => {
        written.push(Uint8Array.from(args[0] as Uint8Array));
        return write(...args);
      }) as typeof conn.socket.write;
      await sendLargeAndCheck(conn, a.inbox, 5);
      for (let i = 0; i < 300; i++) conn.send({ type: 'Message', topic: 't', payload: text(`m${i}`) });
      await until(() => a.inbox.length === 305, 8000, 2, () => `${a.inbox.length} arrived, connection ${conn.state}`);
      expect(conn.state).toBe('active');
      const stream = Buffer.concat(written);
      let longest = 0;
      for (let at = 0; at < stream.length; at += readU32(stream, at)) longest = Math.max(longest, readU32(stream, at));
      expect(longest).toBeGreaterThan(256); // pieces, not only small frames
      expect(longest).toBeLessThanOrEqual(maxFrameBytes);
      await Promise.all(open.splice(0).map((t) => t.close()));
    }
  });

  it('sends large messages one after another from reused buffers, every byte of each intact', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b' }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port);
    // a slow socket: each write is passed on (its bytes read) and reported done a few ms later
    const write = conn.socket.write.bind(conn.socket);
    conn.socket.write = ((bytes: Uint8Array, done: () => void) => {
      setTimeout(() => write(bytes, done), 4);
      return true;
    }) as typeof conn.socket.write;
    await sendLargeAndCheck(conn, a.inbox, 60);
    // the outbound kept buffers whose pieces were written (white box: it is private to the connection)
    const outbound = (conn as unknown as { outbound: { spare: { buffers: number } } }).outbound;
    expect(outbound.spare.buffers).toBeGreaterThan(0);
  });

  it('assembles pieces that span socket reads in place, in their message’s buffer, every byte where it belongs', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b' }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port);
    const sizes = [1 << 20, 3 * 65536 + 17, 1_500_001, 1 << 20];
    const sent = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (j * 31 + (j >> 8) + i) & 0xff));
    for (const [i, payload] of sent.entries()) conn.send({ type: 'Message', topic: `big${i}`, payload });
    await until(() => a.inbox.length === sent.length);
    a.inbox.forEach((env, i) => expect(Buffer.from((env.body as { payload: Uint8Array }).payload).equals(sent[i])).toBe(true));
    const receiving = [...a.transport.connections][0] as unknown as { assembler: { inPlaceCount: number } };
    expect(receiving.assembler.inPlaceCount).toBeGreaterThan(0); // white box: most pieces span the 64 KiB reads
  });

  it('refuses a cluster mismatch and a wrong secret, with the reason on both sides', async () => {
    const a = await node({ nodeId: 'a', secret: 'correct horse battery staple' });
    const other = await node({ nodeId: 'b', cluster: 'other', secret: 'correct horse battery staple' }, false);
    const refused = await other.transport.connect('127.0.0.1', a.port).catch((e) => e);
    expect(refused).toBeInstanceOf(HandshakeRejectedError);
    expect((refused as HandshakeRejectedError).reason).toBe('cluster_mismatch');
    const wrong = await node({ nodeId: 'c', secret: 'not the right secret at all' }, false);
    const denied = await wrong.transport.connect('127.0.0.1', a.port).catch((e) => e);
    expect((denied as HandshakeRejectedError).reason).toBe('auth_failed');
    const right = await node({ nodeId: 'd', secret: 'correct horse battery staple' }, false);
    const ok = await right.transport.connect('127.0.0.1', a.port);
    expect(ok.session?.authenticated).toBe(true);
  });

  it('cuts off a peer that sends garbage, an oversized length, or an application frame before the handshake; others keep working', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b' }, false);
    const good = await b.transport.connect('127.0.0.1', a.port);

    const garbage = net.connect(a.port, '127.0.0.1');
    await once(garbage, 'connect');
    garbage.write(Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) & 0xff)));
    await closed(garbage);

    const huge = net.connect(a.port, '127.0.0.1');
    await once(huge, 'connect');
    const header = Buffer.alloc(6);
    writeU32(header, 0, 0xf000_0000);
    header[5] = 0x81;
    huge.write(header);
    await closed(huge);

    const early = net.connect(a.port, '127.0.0.1');
    await once(early, 'connect');
    early.write(encodeFrame(1, text('not an envelope')));
    await closed(early);

    good.send({ type: 'Message', topic: 'still', payload: text('fine') });
    await until(() => a.inbox.length === 1);
    expect(good.state).toBe('active');
  });

  it('cuts off a peer that stalls in the handshake', async () => {
    const a = await node({ nodeId: 'a', handshakeTimeoutMs: 200 });
    const stall = net.connect(a.port, '127.0.0.1');
    await once(stall, 'connect');
    const started = Date.now();
    await closed(stall);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('limits connections still in their handshake', async () => {
    const a = await node({ nodeId: 'a', maxUnauthenticated: 3, handshakeTimeoutMs: 5000 });
    const sockets = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const s = net.connect(a.port, '127.0.0.1');
        await once(s, 'connect');
        return s;
      }),
    );
    await until(() => a.transport.refused === 2);
    for (const s of sockets) s.destroy();
  });

  it('bounds what a slow reader can make the sender queue', async () => {
    const a = await node({ nodeId: 'a' });
    const b = await node({ nodeId: 'b', connection: { highWaterMarkBytes: 256 * 1024, maxQueuedBytes: 1024 * 1024, backpressure: 'error' } }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port);
    const receiver = [...a.transport.connections][0];
    receiver.socket.pause(); // the reader stalls
    const payload = new Uint8Array(16 * 1024);
    let sent = 0;
    let refusal: unknown = null;
    for (let round = 0; round < 400 && refusal === null; round++) {
      try {
        for (let i = 0; i < 16; i++, sent++) conn.send({ type: 'Message', topic: 'bulk', payload });
      } catch (error) {
        refusal = error;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(refusal).toBeInstanceOf(BackpressureError);
    // the sender holds at most the high-water mark plus one turn of sends
    expect(conn.queuedBytes).toBeLessThan(256 * 1024 + 17 * payload.length + 4096);
    expect(sent * payload.length).toBeGreaterThan(256 * 1024);
    receiver.socket.resume();
    await conn.drain();
    expect(conn.writable).toBe(true);
  });
});

describe('transport over TLS 1.3 with mutual authentication', () => {
  const pki = makePki();
  const stranger = makePki('another-ca');

  it('connects nodes whose certificates the CA signed, and takes the node id and role from them', async () => {
    const a = await node({ nodeId: 'a', tls: { ...pki.issue('a', 'storage'), ca: pki.ca } });
    const b = await node({ nodeId: 'b', tls: { ...pki.issue('b', 'gateway'), ca: pki.ca } }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port, { nodeId: 'a' });
    expect(conn.session?.peerNodeId).toBe('a');
    expect(conn.role).toBe('storage');
    conn.send({ type: 'Message', topic: 'tls', payload: text('secret') });
    await until(() => a.inbox.length === 1);
    expect([...a.transport.connections][0].role).toBe('gateway');
  });

  it('carries large messages encoded into reused buffers intact (TLS takes each write before its callback)', async () => {
    const a = await node({ nodeId: 'a', tls: { ...pki.issue('a'), ca: pki.ca } });
    const b = await node({ nodeId: 'b', tls: { ...pki.issue('b'), ca: pki.ca } }, false);
    const conn = await b.transport.connect('127.0.0.1', a.port, { nodeId: 'a' });
    await sendLargeAndCheck(conn, a.inbox, 40);
  });

  it('leaves the CRC-32 trailer to plain TCP unless asked for, and reads frames with or without it', async () => {
    const tlsOptions = (id: string) => ({ ...pki.issue(id), ca: pki.ca });
    const a = await node({ nodeId: 'a', tls: tlsOptions('a') });
    expect(a.transport.connectionOptions.checksum).toBe(false);
    expect(a.transport.connectionOptions.requireChecksum).toBe(false);
    const plain = await node({ nodeId: 'p' }, false);
    expect(plain.transport.connectionOptions.checksum).toBe(true);
    // a TLS peer that keeps the trailer is understood, and so is one without it
    const b = await node({ nodeId: 'b', tls: tlsOptions('b'), connection: { checksum: true } }, false);
    expect(b.transport.connectionOptions.checksum).toBe(true);
    const c = await node({ nodeId: 'c', tls: tlsOptions('c') }, false);
    for (const sender of [b, c]) (await sender.transport.connect('127.0.0.1', a.port, { nodeId: 'a' })).send({ type: 'Message', topic: 'tls', payload: text('x') });
    await until(() => a.inbox.length === 2);
  });

  it('refuses a peer without a certificate, with one from another CA, or claiming another node id', async () => {
    const a = await node({ nodeId: 'a', tls: { ...pki.issue('a'), ca: pki.ca } });
    // no certificate at all: TLS refuses
    const bare = (await import('node:tls')).connect({ host: '127.0.0.1', port: a.port, ca: pki.ca, checkServerIdentity: () => undefined });
    await closed(bare);
    await until(() => a.transport.refused === 1);
    expect(a.transport.connections.size).toBe(0);
    // a certificate from another CA
    const foreign = await node({ nodeId: 'x', tls: { ...stranger.issue('x'), ca: pki.ca } }, false);
    await expect(foreign.transport.connect('127.0.0.1', a.port)).rejects.toBeInstanceOf(ClusterwireError);
    // a valid certificate for 'm' used by a node announcing 'n'
    const liar = await node({ nodeId: 'n', tls: { ...pki.issue('m'), ca: pki.ca } }, false);
    const refused = await liar.transport.connect('127.0.0.1', a.port).catch((e) => e);
    expect(refused).toBeInstanceOf(HandshakeRejectedError);
    expect((refused as HandshakeRejectedError).reason).toBe('node_id_mismatch');
    expect(a.inbox).toHaveLength(0);
  });
});

export type { Connection };
