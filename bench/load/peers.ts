// The load harness's --peers rows: the same workloads through ZeroMQ (PUSH/PULL
// one-way, DEALER/ROUTER request/reply) and NATS (publish/subscribe, and
// request/reply through a local nats-server), each with a receiver in a
// process of its own (peer-receiver.ts), in the same run as raw TCP and
// clusterwire. Both are driven the way their documentation shows: ZeroMQ
// sends awaited one at a time (one send may be in flight per socket),
// NATS publishes buffered by its client. NATS has no flow control of its
// own between publisher and subscriber, so the one-way sender waits, every
// 4 MiB, for the subscriber to answer a sync request sent after the last
// window (requests on one connection arrive in order), as a user would.
// The NATS rows' CPU time includes the nats-server's, read from /proc.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdTable } from '../../src/main/transport/id-table.js';
import { installPeerPackages, loadPeerPackage, natsServer, peerPackagesDir, type NatsConnection, type Nats, type ZeroMq, type ZeroMqSocket } from './peer-packages.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EMPTY = new Uint8Array(0);
/** Bytes a NATS publisher sends before it waits for the subscriber to have read the window before. */
const NATS_WINDOW_BYTES = 4 * 1024 * 1024;
/** Largest payload the harness's nats-server takes (its default is 1 MB). */
const NATS_MAX_PAYLOAD = 8 * 1024 * 1024;
/** Bytes a ZeroMQ PUSH socket may hold queued, as a message count for the size sent. */
const ZMQ_QUEUE_BYTES = 16 * 1024 * 1024;

/** One side of a workload, as the harness drives it. */
export interface LoadSide {
  readonly name: string;
  /** Messages the receiver counts beyond the ones oneWay() reports (end markers). */
  readonly endMarkers: number;
  /** Payloads above this are not sent (the row says so). */
  readonly maxPayload: number;
  oneWay(size: number): Promise<{ messages: number; seconds: number }>;
  requestLatency(): Promise<Float64Array>;
  pipelined(inFlight: number): Promise<{ requests: number; seconds: number }>;
  close(): Promise<void>;
}

export interface LoadReceiver {
  child: ChildProcess;
  port: number;
  ask<T>(type: string): Promise<T>;
}

/** What the peer sides borrow from the harness, so that every side runs the same loops. */
export interface LoadLoops {
  durationMs: number;
  latencyLoop(request: () => Promise<unknown>): Promise<Float64Array>;
  pipelineLoop(inFlight: number, request: () => Promise<unknown>): Promise<{ requests: number; seconds: number }>;
}

export interface PeerSide {
  side: LoadSide;
  receiver: LoadReceiver;
  /** What was measured with, e.g. 'ZeroMQ 4.3.5 (zeromq.js)'. */
  version: string;
}

/** The ZeroMQ and NATS sides that can be had on this machine, and a line for each that cannot. */
export async function startPeerSides(loops: LoadLoops): Promise<{ sides: PeerSide[]; missing: string[] }> {
  const dir = peerPackagesDir();
  const failed = installPeerPackages(dir);
  const sides: PeerSide[] = [];
  const missing: string[] = [];
  if (failed.has('zeromq')) missing.push(`ZeroMQ: ${failed.get('zeromq')}`);
  else {
    try {
      sides.push(await zeromqSide(dir, loops));
    } catch (error) {
      missing.push(`ZeroMQ: ${(error as Error).message}`);
    }
  }
  const server = natsServer();
  if (failed.has('nats')) missing.push(`NATS: ${failed.get('nats')}`);
  else if ('missing' in server) missing.push(`NATS: ${server.missing}`);
  else {
    try {
      sides.push(await natsSide(dir, server.command, loops));
    } catch (error) {
      missing.push(`NATS: ${(error as Error).message}`);
    }
  }
  return { sides, missing };
}

async function startPeerReceiver(args: string[], extraCpu: () => { user: number; system: number } = () => ({ user: 0, system: 0 })): Promise<{ receiver: LoadReceiver; endpoints: Record<string, string> }> {
  const child = fork(path.join(here, 'peer-receiver.js'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoints = await new Promise<Record<string, string>>((resolve, reject) => {
    child.once('message', (m: { endpoints: Record<string, string> }) => resolve(m.endpoints));
    child.once('exit', (code) => reject(new Error(`its receiver exited with ${code}`)));
  });
  const ask = <T>(type: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (m: T) => {
        if (type !== 'cpu') return resolve(m);
        const more = extraCpu();
        const cpu = m as { user: number; system: number };
        resolve({ ...cpu, user: cpu.user + more.user, system: cpu.system + more.system } as T);
      });
      child.send({ type });
    });
  return { receiver: { child, port: 0, ask }, endpoints };
}

/** Waits until the receiver has counted `expected` messages (ZeroMQ has no reply on a PUSH socket to wait for). */
async function counted(receiver: LoadReceiver, expected: number): Promise<void> {
  const giveUp = performance.now() + 60_000;
  for (;;) {
    const { messages } = await receiver.ask<{ messages: number }>('counts');
    if (messages >= expected) return;
    if (performance.now() > giveUp) throw new Error(`the receiver counted ${messages} of ${expected} messages`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function zeromqSide(dir: string, loops: LoadLoops): Promise<PeerSide> {
  const z = await loadPeerPackage<ZeroMq>(dir, 'zeromq');
  const { receiver, endpoints } = await startPeerReceiver(['--mode=zeromq', `--packages=${dir}`]);
  const dealer = new z.Dealer();
  dealer.connect(endpoints.router);
  // one send at a time per socket: requests queue here and one writer sends them
  const waiting = new IdTable<() => void>();
  const queue: Uint8Array[][] = [];
  let writing = false;
  let nextId = 1;
  const write = async () => {
    writing = true;
    while (queue.length > 0) await dealer.send(queue.shift()!);
    writing = false;
  };
  const reading = (async () => {
    for await (const [id] of dealer) {
      const n = id.readUInt32LE(0);
      const done = waiting.get(n);
      waiting.delete(n);
      done?.();
    }
  })().catch(() => undefined); // ends when the socket closes
  const request = (payload: Uint8Array) => {
    const id = nextId++;
    const idFrame = Buffer.allocUnsafe(4);
    idFrame.writeUInt32LE(id >>> 0, 0);
    queue.push([idFrame, payload]);
    if (!writing) void write();
    return new Promise<void>((resolve) => waiting.set(id, resolve));
  };
  const side: LoadSide = {
    name: 'ZeroMQ',
    endMarkers: 2, // the first message (sent before the clock starts, while the socket connects) and the last
    maxPayload: Number.POSITIVE_INFINITY,
    async oneWay(size) {
      const push = new z.Push({ sendHighWaterMark: Math.max(8, Math.min(1000, Math.floor(ZMQ_QUEUE_BYTES / size))) });
      push.connect(endpoints.pull);
      const payload = new Uint8Array(size).fill(7);
      await push.send(payload);
      let sent = 0;
      const start = performance.now();
      const end = start + loops.durationMs;
      while (performance.now() < end) {
        for (let i = 0; i < 64; i++) await push.send(payload);
        sent += 64;
      }
      await push.send(EMPTY);
      await counted(receiver, sent + side.endMarkers);
      const seconds = (performance.now() - start) / 1000;
      push.close();
      return { messages: sent, seconds };
    },
    requestLatency: () => loops.latencyLoop(() => request(new Uint8Array(64))),
    pipelined: (inFlight) => loops.pipelineLoop(inFlight, () => request(new Uint8Array(64))),
    async close() {
      dealer.close();
      await reading;
    },
  };
  return { side, receiver, version: `ZeroMQ ${z.version} (zeromq.js, PUSH/PULL and DEALER/ROUTER)` };
}

async function natsSide(dir: string, command: string, loops: LoadLoops): Promise<PeerSide> {
  const n = await loadPeerPackage<Nats>(dir, 'nats');
  const port = await freePort();
  const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-nats-'));
  const conf = path.join(confDir, 'nats.conf');
  fs.writeFileSync(conf, `listen: 127.0.0.1:${port}\nmax_payload: ${NATS_MAX_PAYLOAD}\n`);
  const server = spawn(command, ['-c', conf], { stdio: 'ignore' });
  const url = `127.0.0.1:${port}`;
  let nc: NatsConnection | null = null;
  for (let i = 0; i < 100 && nc === null; i++) {
    try {
      nc = await n.connect({ servers: url, noEcho: true });
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (nc === null) {
    server.kill();
    throw new Error(`no nats-server answered on ${url}`);
  }
  const conn = nc;
  const serverCpu = () => procCpuUs(server.pid!);
  const { receiver } = await startPeerReceiver(['--mode=nats', `--url=${url}`, `--packages=${dir}`], serverCpu);
  const sync = () => conn.request('load.sync', EMPTY, { timeout: 60_000 });
  const side: LoadSide = {
    name: 'NATS',
    endMarkers: 0,
    maxPayload: conn.info?.max_payload ?? 1024 * 1024,
    async oneWay(size) {
      const payload = new Uint8Array(size).fill(7);
      const perTurn = Math.max(1, Math.floor((256 * 1024) / (size + 32)));
      let sent = 0;
      let windowBytes = 0;
      let previous: Promise<unknown> | null = null;
      const start = performance.now();
      const end = start + loops.durationMs;
      while (performance.now() < end) {
        for (let i = 0; i < perTurn; i++) conn.publish('load.msg', payload);
        sent += perTurn;
        windowBytes += perTurn * size;
        if (windowBytes >= NATS_WINDOW_BYTES) {
          if (previous !== null) await previous;
          previous = sync();
          windowBytes = 0;
        } else await new Promise((r) => setImmediate(r));
      }
      if (previous !== null) await previous;
      await sync(); // answered once the subscriber has read everything before it
      return { messages: sent, seconds: (performance.now() - start) / 1000 };
    },
    requestLatency: () => loops.latencyLoop(() => conn.request('load.req', new Uint8Array(64), { timeout: 10_000 })),
    pipelined: (inFlight) => loops.pipelineLoop(inFlight, () => conn.request('load.req', new Uint8Array(64), { timeout: 10_000 })),
    async close() {
      await conn.close();
      server.kill();
      fs.rmSync(confDir, { recursive: true, force: true });
    },
  };
  return { side, receiver, version: `NATS ${conn.info?.version ?? ''} (nats.js and nats-server on loopback)` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** CPU time of another process from /proc (Linux), in µs; zero where it cannot be read. */
function procCpuUs(pid: number): { user: number; system: number } {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const tick = 1e6 / 100; // USER_HZ
    return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
  } catch {
    return { user: 0, system: 0 };
  }
}
