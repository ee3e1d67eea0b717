// The connection pool on real loopback sockets: strategies, reconnect after
// the peer restarts, health checks by ping, idle trimming.
import { afterEach, describe, expect, it } from 'vitest';
import { Transport } from '../../src/main/transport/transport.js';
import { ConnectionPool, resolvePoolOptions } from '../../src/main/transport/connection-pool.js';
import { ClusterwireError, ErrorCode, InvalidConfigError } from '../../src/shared/errors.js';
import { until } from '../support/until.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(nodeId: string, port = 0): Promise<{ transport: Transport; port: number; received: () => number }> {
  let received = 0;
  const transport = new Transport({ nodeId, cluster: 'pool' }, { onMessage: () => void received++ });
  const address = await transport.listen(port);
  cleanup.push(() => transport.close());
  return { transport, port: address.port, received: () => received };
}

function client(): Transport {
  const t = new Transport({ nodeId: 'client', cluster: 'pool' }, { onMessage: () => undefined });
  cleanup.push(() => t.close());
  return t;
}

describe('ConnectionPool', () => {
  it('validates its options, naming the field', () => {
    expect(() => resolvePoolOptions({ minConnections: 3, maxConnections: 2 })).toThrow(InvalidConfigError);
    expect(() => resolvePoolOptions({ strategy: 'random' as never })).toThrow(/strategy/);
  });

  it('keeps the minimum and hands connections out round-robin', async () => {
    const a = await server('a');
    const pool = new ConnectionPool(client(), { nodeId: 'a', host: '127.0.0.1', port: a.port }, { minConnections: 3, healthCheckIntervalMs: 0 });
    cleanup.push(() => pool.stop());
    pool.start();
    await until(() => pool.size === 3);
    const picks = Array.from({ length: 6 }, () => pool.acquire());
    expect(new Set(picks).size).toBe(3);
    expect(picks.slice(0, 3)).toEqual(picks.slice(3));
  });

  it('least-loaded picks the connection with the fewest bytes queued', async () => {
    const a = await server('a');
    const pool = new ConnectionPool(client(), { nodeId: 'a', host: '127.0.0.1', port: a.port }, { minConnections: 2, strategy: 'least-loaded', healthCheckIntervalMs: 0 });
    cleanup.push(() => pool.stop());
    pool.start();
    await until(() => pool.size === 2);
    const first = pool.acquire();
    first.send({ type: 'Message', topic: 't', payload: new Uint8Array(10_000) }); // queued until the next tick
    const second = pool.acquire();
    expect(second).not.toBe(first);
  });

  it('fails fast with ERR_PEER_UNAVAILABLE while the peer is down, and reconnects after it restarts', async () => {
    const first = await server('a');
    const port = first.port;
    const pool = new ConnectionPool(client(), { nodeId: 'a', host: '127.0.0.1', port }, { minConnections: 1, healthCheckIntervalMs: 0, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
    cleanup.push(() => pool.stop());
    pool.start();
    await until(() => pool.size === 1);
    await first.transport.close();
    await until(() => pool.size === 0);
    let error: unknown;
    try {
      pool.acquire();
    } catch (e) {
      error = e;
    }
    expect((error as ClusterwireError).code).toBe(ErrorCode.PEER_UNAVAILABLE);
    await until(() => pool.failures >= 1);
    const again = await server('a', port);
    await until(() => pool.size === 1);
    pool.acquire().send({ type: 'Message', topic: 'back', payload: new Uint8Array(1) });
    await until(() => again.received() === 1);
  });

  it('measures round trips by ping and replaces a connection whose pings go unanswered', async () => {
    const a = await server('a');
    const pool = new ConnectionPool(client(), { nodeId: 'a', host: '127.0.0.1', port: a.port }, { minConnections: 1, healthCheckIntervalMs: 40, pingTimeoutMs: 30, unhealthyAfterMissedPings: 2, backoff: { initialDelayMs: 10, maxDelayMs: 50 } });
    cleanup.push(() => pool.stop());
    pool.start();
    await until(() => pool.size === 1);
    await until(() => !Number.isNaN(pool.rtt().avgMs));
    expect(pool.rtt().avgMs).toBeGreaterThan(0);
    const stuck = pool.acquire();
    // the server stops reading: its pongs never come
    for (const c of a.transport.connections) c.socket.pause();
    await until(() => stuck.state === 'failed');
    for (const c of a.transport.connections) c.socket.resume();
    await until(() => pool.size === 1 && pool.acquire() !== stuck);
  });
});
