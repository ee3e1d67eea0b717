// Messaging over real loopback sockets: request/response, timeouts, retries
// of idempotent requests handled once at the receiver, forbidden types,
// handler errors, heartbeats.
import { afterEach, describe, expect, it } from 'vitest';
import { Messenger, type MessengerHandlers, type MessengerOptionsInput } from '../../src/main/transport/messenger.js';
import type { Connection } from '../../src/main/transport/connection.js';
import { getEventListeners } from 'node:events';
import { ErrorCode, RequestCancelledError } from '../../src/shared/errors.js';
import { until } from '../support/until.js';
import { codeOf } from '../support/code-of.js';

const open: Messenger[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function pair(
  server: Partial<MessengerOptionsInput> = {},
  client: Partial<MessengerOptionsInput> = {},
  clientEvents: MessengerHandlers = {},
): Promise<{ a: Messenger; b: Messenger; conn: Connection }> {
  const a = new Messenger({ nodeId: 'a', cluster: 'm', heartbeats: false, ...server });
  const b = new Messenger({ nodeId: 'b', cluster: 'm', heartbeats: false, ...client }, clientEvents);
  open.push(a, b);
  const { port } = await a.transport.listen(0);
  const conn = await b.transport.connect('127.0.0.1', port, { nodeId: 'a' });
  return { a, b, conn };
}

describe('Messenger', () => {
  it('answers requests through the topic handler, sync and async, and delivers one-way messages', async () => {
    const { a, b, conn } = await pair();
    a.handle('upper', (m) => text(str(m.payload).toUpperCase()));
    a.handle('slow', async (m) => {
      await new Promise((r) => setTimeout(r, 20));
      return text(`${m.from}:${str(m.payload)}`);
    });
    const seen: string[] = [];
    a.handle('note', (m) => void seen.push(str(m.payload)));
    expect(str(await b.request(conn, 'upper', text('hello')))).toBe('HELLO');
    expect(str(await b.request(conn, 'slow', text('x')))).toBe('b:x');
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => b.request(conn, 'upper', text(`r${i}`))));
    expect(str(many[199])).toBe('R199');
    b.send(conn, 'note', text('one-way'));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['one-way']);
  });

  it('delivers lent and copied large payloads intact, and interleaves a small message with them', async () => {
    const { a, b, conn } = await pair();
    const got: Array<{ topic: string; bytes: Buffer }> = [];
    for (const topic of ['lent', 'copied', 'small']) a.handle(topic, (m) => void got.push({ topic, bytes: Buffer.from(m.payload) }));
    const big = new Uint8Array(600 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    b.send(conn, 'lent', big, { lend: true, priority: 3 });
    b.send(conn, 'copied', big, { priority: 3 });
    b.send(conn, 'small', text('between'), { priority: 1 });
    for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got.map((g) => g.topic).sort()).toEqual(['copied', 'lent', 'small']);
    for (const g of got.filter((x) => x.topic !== 'small')) expect(g.bytes.equals(Buffer.from(big))).toBe(true);
  });

  it('fails with the peer-side reason: no handler, a handler that throws', async () => {
    const { a, b, conn } = await pair();
    a.handle('boom', () => {
      throw new Error('kaput');
    });
    expect(await codeOf(b.request(conn, 'nobody-home', text('?')))).toBe(ErrorCode.NO_HANDLER);
    expect(await codeOf(b.request(conn, 'boom', text('?')))).toBe(ErrorCode.HANDLER_FAILED);
  });

  it('times out a request that gets no answer, with ERR_TIMEOUT', async () => {
    const { a, b, conn } = await pair();
    a.handle('never', () => new Promise(() => undefined));
    const started = Date.now();
    expect(await codeOf(b.request(conn, 'never', text('?'), { timeoutMs: 150 }))).toBe(ErrorCode.TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('cancels a request when its AbortSignal aborts: ERR_REQUEST_CANCELLED at once, the late answer dropped, the listener removed', async () => {
    const { a, b, conn } = await pair();
    let handled = 0;
    let answer!: () => void;
    a.handle('held', async () => {
      handled++;
      await new Promise<void>((r) => (answer = r));
      return text('late');
    });
    a.handle('quick', () => text('ok'));

    const abort = new AbortController();
    const pending = b.request(conn, 'held', text('?'), { signal: abort.signal, timeoutMs: 5_000 });
    await until(() => handled === 1, 2_000);
    const reason = new Error('user went away');
    abort.abort(reason);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestCancelledError);
    expect((error as RequestCancelledError).code).toBe(ErrorCode.REQUEST_CANCELLED);
    expect((error as Error).cause).toBe(reason);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    answer(); // the peer still answers; the answer finds no request and is dropped
    expect(str(await b.request(conn, 'quick', text('?')))).toBe('ok');

    // aborted before: nothing is sent
    expect(await codeOf(b.request(conn, 'held', text('?'), { signal: AbortSignal.abort() }))).toBe(ErrorCode.REQUEST_CANCELLED);
    // answered before the abort: the abort changes nothing, and no listener is left
    const later = new AbortController();
    expect(str(await b.request(conn, 'quick', text('?'), { signal: later.signal }))).toBe('ok');
    expect(getEventListeners(later.signal, 'abort')).toHaveLength(0);
    later.abort();
    await new Promise((r) => setTimeout(r, 20));
    expect(handled).toBe(1);
  });

  it('retries an idempotent request and the receiver handles it once', async () => {
    const { a, b, conn } = await pair({}, { requests: { attemptTimeoutMs: 50, requestTimeoutMs: 2000 } });
    let runs = 0;
    a.handle('once', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 180)); // slower than several attempts
      return text('done');
    });
    expect(str(await b.request(conn, 'once', text('x'), { idempotent: true }))).toBe('done');
    expect(runs).toBe(1);
    // a non-idempotent request is never retried: it times out instead
    a.handle('slow-once', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 300));
      return text('late');
    });
    expect(await codeOf(b.request(conn, 'slow-once', text('x'), { timeoutMs: 100 }))).toBe(ErrorCode.TIMEOUT);
    expect(runs).toBe(2);
  });

  it('refuses message types a peer may not send, without dispatching them', async () => {
    const { a, b, conn } = await pair({ authorization: { defaultAllow: ['Message'] } });
    let ran = false;
    a.handle('secret', () => {
      ran = true;
      return text('no');
    });
    expect(await codeOf(b.request(conn, 'secret', text('?')))).toBe(ErrorCode.FORBIDDEN);
    expect(ran).toBe(false);
  });

  it('fails pending requests with ERR_PEER_UNAVAILABLE when the connection drops', async () => {
    const { a, b, conn } = await pair();
    a.handle('hang', () => new Promise(() => undefined));
    const pending = codeOf(b.request(conn, 'hang', text('?'), { timeoutMs: 5000 }));
    await new Promise((r) => setTimeout(r, 20));
    await a.close();
    expect(await pending).toBe(ErrorCode.PEER_UNAVAILABLE);
    expect(await codeOf(b.request(conn, 'hang', text('?')))).toBe(ErrorCode.PEER_UNAVAILABLE);
  });

  it('exchanges heartbeats with RTT, and reports a peer that stops answering', async () => {
    const events: string[] = [];
    const { a, b, conn } = await pair(
      { heartbeats: true, heartbeat: { heartbeatIntervalMs: 20 } },
      { heartbeats: true, heartbeat: { heartbeatIntervalMs: 20, missedLimit: 3 } },
      { onPeerEvent: (e) => void events.push(e.type) },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(events).not.toContain('heartbeat-missed');
    const hb = b.heartbeatOf(conn)!;
    expect(hb.rtt.averageMs).toBeGreaterThan(0);
    for (const c of a.transport.connections) c.socket.pause(); // a stops reading: no pongs
    await new Promise((r) => setTimeout(r, 250));
    expect(events).toContain('heartbeat-missed');
    expect(events).toContain('peer-unresponsive');
    for (const c of a.transport.connections) c.socket.resume();
  });
});
