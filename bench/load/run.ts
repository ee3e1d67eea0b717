// `npm run bench:load`: the load harness. This process is the sender; a child
// process is the receiver (bench/load/receiver.ts), which checks every frame
// and reads every envelope. Each workload runs twice in the same run: over
// raw net sockets with batched writes and a fixed 9-byte header (the
// baseline: no checksum, no schema, no handshake), then over the clusterwire
// transport; every figure is given as a ratio to the baseline. The
// request/response workloads run a third time through Messenger.request()
// against a Messenger topic handler (the path ClusterNode.request takes:
// request tracking, deadlines, dispatch by topic), against the same raw
// figures. Pipelined workloads also report the CPU time per request of both
// processes, which a busy machine disturbs less than requests per second.
// Both sides keep the requests they wait for in the same IdTable (a Map
// that takes and drops an entry per request makes V8 promote its tables:
// src/main/transport/id-table.ts).
//
//   --duration=S        seconds per workload (default 3; --quick: 1)
//   --sizes=64,1024,... one-way payload sizes (default 64,256,1024,16384,262144,1048576)
//   --connections=N     connections for the one-way workloads (default 1)
//   --compression=none|lz4|zstd   --tls
//   --lend              one-way payloads longer than a chunk are lent to the
//                       connection (sent from the caller's buffer, not copied)
//   --recycle           the receiver gives each large message's bytes back once
//                       counted (connection.recycle), for the next one to reuse
//   --paced             the sender paces large messages as a connection that
//                       carries heartbeats does (pacingIdleMs: 0); without it the
//                       harness's connections carry no urgent traffic and are not paced
//   --checksum / --no-checksum  CRC-32 trailers on or off (default: the transport's,
//                       on over plain TCP, off over TLS)
//   --out=NAME          results go to bench/results/NAME.{md,json} (default load)
//   --rounds=N          run every workload N times, raw and clusterwire in turn,
//                       and report the median round (latency: all rounds' samples;
//                       file transfer: the best run);
//                       steadier figures on a shared machine (default 1)
//   --peers             the same workloads through ZeroMQ (zeromq.js) and NATS
//                       (nats.js and a local nats-server) in every round, in a
//                       table of their own (bench/load/peers.ts); installed on
//                       first use for the benchmark only, never as dependencies
//   --transfer-mib=N    file transfer rows: an N MiB file, every chunk SHA-256
//                       verified and written, against raw TCP in the same run
//                       (bench/transfer.ts; default 256, --quick 64, 0 skips them)
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Transport } from '../../src/main/transport/transport.js';
import { Messenger } from '../../src/main/transport/messenger.js';
import { IdTable } from '../../src/main/transport/id-table.js';
import type { Connection } from '../../src/main/transport/connection.js';
import type { BodyValue } from '../../src/shared/envelope/index.js';
import { RawBatch, RawFramer, RAW_ONE_WAY, RAW_REQUEST, RAW_RESPONSE } from './raw.js';
import { loadTlsFromEnv, makeLoadPki } from './tls.js';
import { measureTransfers, type TransferRow } from '../transfer.js';
import { startPeerSides, type LoadReceiver, type LoadSide } from './peers.js';
import { latencyChart } from './latency-chart.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const durationMs = Number(arg('duration') ?? (quick ? 1 : 3)) * 1000;
const sizes = (arg('sizes') ?? '64,256,1024,16384,262144,1048576').split(',').map(Number);
const connections = Number(arg('connections') ?? 1);
const compression = (arg('compression') ?? 'none') as 'none' | 'lz4' | 'zstd';
/** true or false when asked for, else undefined: the transport's default. */
const checksum = process.argv.includes('--no-checksum') ? false : process.argv.includes('--checksum') ? true : undefined;
const checksumOptions = checksum === undefined ? {} : { checksum, requireChecksum: checksum };
const useTls = process.argv.includes('--tls');
const lendOptions = process.argv.includes('--lend') ? { lend: true } : undefined;
const recycle = process.argv.includes('--recycle');
const pacing = process.argv.includes('--paced') ? { pacingIdleMs: 0 } : {};
const outName = arg('out') ?? 'load';
const transferMib = Number(arg('transfer-mib') ?? (quick ? 64 : 256));
const rounds = Math.max(1, Number(arg('rounds') ?? 1));
const withPeers = process.argv.includes('--peers');
/** Bytes queued per connection before the sender waits for the socket to drain. */
const HIGH_WATER = 4 * 1024 * 1024;
/** Bytes a sender writes per event-loop turn before it yields. */
const TURN_BYTES = 256 * 1024;

type Receiver = LoadReceiver;

async function startReceiver(mode: 'raw' | 'cw' | 'messenger', env: NodeJS.ProcessEnv): Promise<Receiver> {
  const args = [`--mode=${mode}`, `--compression=${compression}`, ...(checksum === undefined ? [] : [checksum ? '--checksum' : '--no-checksum']), ...(recycle ? ['--recycle'] : [])];
  const child = fork(path.join(here, 'receiver.js'), args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { type: string; port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
  const ask = <T>(type: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send({ type });
    });
  return { child, port, ask };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

// ------------------------------------------------------------------ raw

interface RawLink {
  socket: net.Socket;
  batch: RawBatch;
  waiting: IdTable<() => void>;
  nextId: number;
  flushScheduled: boolean;
}

async function rawConnect(port: number): Promise<RawLink> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  const link: RawLink = { socket, batch: new RawBatch(), waiting: new IdTable(), nextId: 1, flushScheduled: false };
  const framer = new RawFramer();
  socket.on('data', (chunk: Buffer) =>
    framer.push(chunk, (id, kind) => {
      if (kind !== RAW_RESPONSE) return;
      const w = link.waiting.get(id);
      link.waiting.delete(id);
      w?.();
    }),
  );
  return link;
}

/** Requests gathered per event-loop turn, as the clusterwire connection gathers them. */
function rawRequest(link: RawLink, payload: Uint8Array): Promise<void> {
  const id = link.nextId++;
  link.batch.append(id, RAW_REQUEST, payload);
  if (!link.flushScheduled) {
    link.flushScheduled = true;
    process.nextTick(() => {
      link.flushScheduled = false;
      link.socket.write(link.batch.take());
    });
  }
  return new Promise((resolve) => link.waiting.set(id, resolve));
}

// ---------------------------------------------------------- clusterwire

interface CwLink {
  conn: Connection;
  waiting: IdTable<() => void>;
}

async function cwConnect(transport: Transport, port: number, waiting: IdTable<() => void>): Promise<CwLink> {
  const conn = await transport.connect('127.0.0.1', port, { nodeId: 'receiver' });
  return { conn, waiting };
}

function cwRequest(link: CwLink, payload: Uint8Array): Promise<void> {
  const id = link.conn.send({ type: 'Request', topic: 'load', payload, idempotent: false, attempt: 0, timeoutMs: 10_000 });
  return new Promise((resolve) => link.waiting.set(id, resolve));
}

// ------------------------------------------------------------ workloads

type Side = LoadSide;

async function rawSide(receiver: Receiver): Promise<Side> {
  const links = await Promise.all(Array.from({ length: connections }, () => rawConnect(receiver.port)));
  return {
    name: 'raw',
    endMarkers: connections,
    maxPayload: Number.POSITIVE_INFINITY,
    async oneWay(size) {
      const payload = new Uint8Array(size).fill(7);
      const perTurn = Math.max(1, Math.floor(TURN_BYTES / (size + 9)));
      let sent = 0;
      const start = performance.now();
      const end = start + durationMs;
      await Promise.all(
        links.map(async (link) => {
          while (performance.now() < end) {
            for (let i = 0; i < perTurn; i++) link.batch.append(link.nextId++, RAW_ONE_WAY, payload);
            sent += perTurn;
            link.socket.write(link.batch.take());
            if (link.socket.writableLength > HIGH_WATER) await new Promise((r) => link.socket.once('drain', r));
            else await tick();
          }
          await rawRequest(link, new Uint8Array(0)); // everything before it has been read
        }),
      );
      return { messages: sent, seconds: (performance.now() - start) / 1000 };
    },
    async requestLatency() {
      return latencyLoop(() => rawRequest(links[0], new Uint8Array(64)));
    },
    async pipelined(inFlight) {
      return pipelineLoop(inFlight, () => rawRequest(links[0], new Uint8Array(64)));
    },
    async close() {
      for (const l of links) l.socket.destroy();
    },
  };
}

async function cwSide(receiver: Receiver): Promise<Side> {
  const waiting = new IdTable<() => void>();
  const transport = new Transport(
    {
      nodeId: 'sender',
      cluster: 'load',
      tls: loadTlsFromEnv('sender'),
      connection: { ...checksumOptions, ...pacing, compression, maxFrameBytes: 64 * 1024 * 1024, highWaterMarkBytes: HIGH_WATER, maxQueuedBytes: 16 * HIGH_WATER },
    },
    {
      onMessage: (_c, env) => {
        if (env.body.type !== 'Response') return;
        const w = waiting.get(env.header.correlationId);
        waiting.delete(env.header.correlationId);
        w?.();
      },
    },
  );
  const links = await Promise.all(Array.from({ length: connections }, () => cwConnect(transport, receiver.port, waiting)));
  return {
    name: 'clusterwire',
    endMarkers: connections,
    maxPayload: Number.POSITIVE_INFINITY,
    async oneWay(size) {
      const body: BodyValue = { type: 'Message', topic: 'load', payload: new Uint8Array(size).fill(7) };
      const perTurn = Math.max(1, Math.floor(TURN_BYTES / (size + 120)));
      let sent = 0;
      const start = performance.now();
      const end = start + durationMs;
      await Promise.all(
        links.map(async ({ conn }, i) => {
          while (performance.now() < end) {
            for (let k = 0; k < perTurn; k++) conn.send(body, lendOptions);
            sent += perTurn;
            if (!conn.writable) await conn.drain();
            else await tick();
          }
          await cwRequest(links[i], new Uint8Array(0));
        }),
      );
      return { messages: sent, seconds: (performance.now() - start) / 1000 };
    },
    async requestLatency() {
      return latencyLoop(() => cwRequest(links[0], new Uint8Array(64)));
    },
    async pipelined(inFlight) {
      return pipelineLoop(inFlight, () => cwRequest(links[0], new Uint8Array(64)));
    },
    async close() {
      await transport.close();
    },
  };
}

/** Requests through Messenger.request() to a Messenger topic handler: request/response workloads only. */
async function messengerSide(receiver: Receiver): Promise<Pick<Side, 'requestLatency' | 'pipelined' | 'close'>> {
  const messenger = new Messenger({
    nodeId: 'sender',
    cluster: 'load',
    tls: loadTlsFromEnv('sender'),
    connection: { ...checksumOptions, compression, maxFrameBytes: 64 * 1024 * 1024, highWaterMarkBytes: HIGH_WATER, maxQueuedBytes: 16 * HIGH_WATER },
  });
  const conn = await messenger.transport.connect('127.0.0.1', receiver.port, { nodeId: 'receiver' });
  const request = () => messenger.request(conn, 'load', new Uint8Array(64), { timeoutMs: 10_000 });
  return {
    requestLatency: () => latencyLoop(request),
    pipelined: (inFlight) => pipelineLoop(inFlight, request),
    close: () => messenger.close(),
  };
}

/** Runs `work` and adds the CPU time it took in this process and in the receiver's, in µs. */
async function withCpu<T extends object>(receiver: Receiver, work: () => Promise<T>): Promise<T & { cpuUs: number }> {
  type Usage = { user: number; system: number };
  const receiverBefore = await receiver.ask<Usage>('cpu');
  const before = process.cpuUsage();
  const result = await work();
  const mine = process.cpuUsage(before);
  const receiverAfter = await receiver.ask<Usage>('cpu');
  const cpuUs = mine.user + mine.system + receiverAfter.user + receiverAfter.system - receiverBefore.user - receiverBefore.system;
  return { ...result, cpuUs };
}

async function latencyLoop(request: () => Promise<unknown>): Promise<Float64Array> {
  const samples = new Float64Array(2_000_000);
  let n = 0;
  for (let i = 0; i < 2000; i++) await request(); // warm-up
  const end = performance.now() + durationMs;
  while (n < samples.length && performance.now() < end) {
    const t = process.hrtime.bigint();
    await request();
    samples[n++] = Number(process.hrtime.bigint() - t) / 1000;
  }
  return samples.subarray(0, n).sort();
}

async function pipelineLoop(inFlight: number, request: () => Promise<unknown>): Promise<{ requests: number; seconds: number }> {
  let done = 0;
  const start = performance.now();
  const end = start + durationMs;
  const lane = async () => {
    while (performance.now() < end) {
      await request();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { requests: done, seconds: (performance.now() - start) / 1000 };
}

const pct = (s: Float64Array, p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];

// ------------------------------------------------------------------ main

interface Row {
  workload: string;
  raw: string;
  clusterwire: string;
  ratio: string;
  rawValue: number;
  cwValue: number;
}

/** The middle element of `xs` by `key` (the upper one of two). */
function median<T>(xs: readonly T[], key: (x: T) => number): T {
  return [...xs].sort((p, q) => key(p) - key(q))[xs.length >> 1];
}

/** Latency samples of every round, sorted. */
function merged(rounds: Float64Array[]): Float64Array {
  if (rounds.length === 1) return rounds[0];
  const out = new Float64Array(rounds.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rounds) {
    out.set(r, at);
    at += r.length;
  }
  return out.sort();
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

function sizeLabel(b: number): string {
  return b >= 1 << 20 ? `${b >> 20} MiB` : b >= 1024 ? `${b >> 10} KiB` : `${b} B`;
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (useTls) Object.assign(env, makeLoadPki(), {});
  if (useTls) Object.assign(process.env, env);
  const settings = `${rounds > 1 ? `median of ${rounds} rounds, ` : ''}duration ${durationMs / 1000} s per workload, ${connections} connection(s), compression ${compression}, checksum ${checksum === undefined ? (useTls ? 'off (the TLS default)' : 'on (the default)') : checksum ? 'on' : 'off'}, ${useTls ? 'TLS 1.3' : 'plain TCP'}${lendOptions ? ', large payloads lent' : ''}${recycle ? ', large messages given back by the receiver' : ''}${process.argv.includes('--paced') ? ', large messages paced' : ''}`;
  console.error(`load harness: ${settings}`);
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const sides: Record<string, { side: Side; receiver: Receiver }> = {};
  for (const name of ['raw', 'cw'] as const) {
    const receiver = await startReceiver(name, env);
    sides[name] = { receiver, side: name === 'raw' ? await rawSide(receiver) : await cwSide(receiver) };
  }
  const peers = withPeers ? await startPeerSides({ durationMs, latencyLoop, pipelineLoop }) : { sides: [], missing: [] };
  for (const line of peers.missing) console.error(`  left out: ${line}`);
  /** Every side, in the order each round runs them: raw TCP, clusterwire, then ZeroMQ and NATS with --peers. */
  const order = [sides.raw, sides.cw, ...peers.sides];
  /** Runs a workload `rounds` times on every side in turn; the results of every round, per side, in `order`. */
  const each = async <T>(label: string, run: (s: Side, r: Receiver) => Promise<T>): Promise<T[][]> => {
    const out: T[][] = order.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      console.error(`  ${label}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''} ...`);
      for (let i = 0; i < order.length; i++) out[i].push(await run(order[i].side, order[i].receiver));
    }
    return out;
  };
  /** The median round of each side by `key`, in `order`. */
  const medians = async <T>(label: string, run: (s: Side, r: Receiver) => Promise<T>, key: (x: T) => number): Promise<T[]> => (await each(label, run)).map((rs) => median(rs, key));
  /** The --peers table: per workload, a cell per side in `order`, each with its ratio to raw TCP. */
  const peerRows: string[][] = [];
  const peerCell = (value: number, raw: number, text: string) => (!Number.isFinite(value) ? '—' : value === raw ? text : `${text}, ${(value / raw).toFixed(2)}×`);

  for (const size of sizes) {
    const [raw, cw, ...peerRuns] = await medians(`one-way ${sizeLabel(size)}`, async (side, receiver) => {
      if (size > side.maxPayload) return { messages: NaN, seconds: 1 }; // the row says '—'
      await receiver.ask('reset');
      const r = await side.oneWay(size);
      const counts = await receiver.ask<{ messages: number }>('counts');
      if (counts.messages !== r.messages + side.endMarkers) throw new Error(`${side.name}: receiver counted ${counts.messages} of ${r.messages + side.endMarkers} messages`);
      return r;
    }, (x) => x.messages / x.seconds);
    const rate = (x: { messages: number; seconds: number }) => x.messages / x.seconds;
    const gbit = (x: { messages: number; seconds: number }) => (rate(x) * size * 8) / 1e9;
    rows.push({
      workload: `one-way ${sizeLabel(size)}: msgs/s (Gbit/s)`,
      raw: `${fmtRate(rate(raw))} (${gbit(raw).toFixed(2)})`,
      clusterwire: `${fmtRate(rate(cw))} (${gbit(cw).toFixed(2)})`,
      ratio: `${(rate(cw) / rate(raw)).toFixed(2)}×`,
      rawValue: rate(raw),
      cwValue: rate(cw),
    });
    results[`oneway_${size}`] = { raw: { msgsPerSec: rate(raw), gbitPerSec: gbit(raw) }, clusterwire: { msgsPerSec: rate(cw), gbitPerSec: gbit(cw) } };
    if (peers.sides.length > 0) {
      const all = [raw, cw, ...peerRuns];
      peerRows.push([`one-way ${sizeLabel(size)}: msgs/s (Gbit/s)`, ...all.map((x) => peerCell(rate(x), rate(raw), `${fmtRate(rate(x))} (${gbit(x).toFixed(2)})`))]);
      for (let i = 0; i < peers.sides.length; i++) (results[`oneway_${size}`] as Record<string, unknown>)[peers.sides[i].side.name] = { msgsPerSec: rate(peerRuns[i]), gbitPerSec: gbit(peerRuns[i]) };
    }
  }

  const [rawLat, cwLat, ...peerLats] = (await each('request/response, 1 in flight', (side) => side.requestLatency())).map(merged);
  for (const [label, p] of [['p50', 0.5], ['p99', 0.99], ['p99.9', 0.999]] as const) {
    const a = pct(rawLat, p);
    const b = pct(cwLat, p);
    rows.push({ workload: `request/response 64 B, 1 in flight: ${label} µs`, raw: a.toFixed(1), clusterwire: b.toFixed(1), ratio: `${(b / a).toFixed(2)}×`, rawValue: a, cwValue: b });
  }
  const latencyOf = (s: Float64Array) => ({ p50: pct(s, 0.5), p99: pct(s, 0.99), p999: pct(s, 0.999), samples: s.length });
  results.latency = { raw: latencyOf(rawLat), clusterwire: latencyOf(cwLat) };
  for (let i = 0; i < peers.sides.length; i++) (results.latency as Record<string, unknown>)[peers.sides[i].side.name] = latencyOf(peerLats[i]);
  if (peers.sides.length > 0) {
    for (const [label, p] of [['p50', 0.5], ['p99', 0.99]] as const) {
      const a = pct(rawLat, p);
      peerRows.push([`request/response 64 B, 1 in flight: ${label} µs`, ...[rawLat, cwLat, ...peerLats].map((s) => peerCell(pct(s, p), a, pct(s, p).toFixed(1)))]);
    }
  }

  const [rawPipe, cwPipe, ...peerPipes] = await medians('pipelined, 100 in flight', (side, receiver) => withCpu(receiver, () => side.pipelined(100)), (x) => x.requests / x.seconds);
  const pr = (x: { requests: number; seconds: number }) => x.requests / x.seconds;
  /** CPU µs per request, both processes: steadier than req/s on a shared machine. */
  const cpu = (x: { requests: number; cpuUs: number }) => x.cpuUs / x.requests;
  rows.push({ workload: 'request/response 64 B, 100 in flight: req/s', raw: fmtRate(pr(rawPipe)), clusterwire: fmtRate(pr(cwPipe)), ratio: `${(pr(cwPipe) / pr(rawPipe)).toFixed(2)}×`, rawValue: pr(rawPipe), cwValue: pr(cwPipe) });
  rows.push({ workload: 'request/response 64 B, 100 in flight: CPU µs per request (both processes)', raw: cpu(rawPipe).toFixed(2), clusterwire: cpu(cwPipe).toFixed(2), ratio: `${(cpu(cwPipe) / cpu(rawPipe)).toFixed(2)}×`, rawValue: cpu(rawPipe), cwValue: cpu(cwPipe) });
  results.pipelined = { raw: pr(rawPipe), clusterwire: pr(cwPipe), cpuUsPerRequest: { raw: cpu(rawPipe), clusterwire: cpu(cwPipe) } };
  if (peers.sides.length > 0) {
    const all = [rawPipe, cwPipe, ...peerPipes];
    peerRows.push(['request/response 64 B, 100 in flight: req/s', ...all.map((x) => peerCell(pr(x), pr(rawPipe), fmtRate(pr(x))))]);
    peerRows.push(['request/response 64 B, 100 in flight: CPU µs per request (all processes)', ...all.map((x) => peerCell(cpu(x), cpu(rawPipe), cpu(x).toFixed(2)))]);
    results.peers = Object.fromEntries(peers.sides.map((p, i) => [p.side.name, { version: p.version, pipelined: pr(peerPipes[i]), cpuUsPerRequest: cpu(peerPipes[i]) }]));
  }

  // The same request/response workloads through Messenger.request(), against the raw figures above.
  console.error('  Messenger.request, 1 and 100 in flight ...');
  const messengerReceiver = await startReceiver('messenger', env);
  const messenger = await messengerSide(messengerReceiver);
  const msgLats: Float64Array[] = [];
  const msgPipes: Array<Awaited<ReturnType<typeof messenger.pipelined>> & { cpuUs: number }> = [];
  for (let round = 0; round < rounds; round++) {
    msgLats.push(await messenger.requestLatency());
    msgPipes.push(await withCpu(messengerReceiver, () => messenger.pipelined(100)));
  }
  const msgLat = merged(msgLats);
  const msgPipe = median(msgPipes, (x) => x.requests / x.seconds);
  await messenger.close();
  messengerReceiver.child.send({ type: 'exit' });
  for (const [label, p] of [['p50', 0.5], ['p99', 0.99]] as const) {
    const a = pct(rawLat, p);
    const b = pct(msgLat, p);
    rows.push({ workload: `Messenger.request 64 B, 1 in flight: ${label} µs`, raw: a.toFixed(1), clusterwire: b.toFixed(1), ratio: `${(b / a).toFixed(2)}×`, rawValue: a, cwValue: b });
  }
  rows.push({ workload: 'Messenger.request 64 B, 100 in flight: req/s', raw: fmtRate(pr(rawPipe)), clusterwire: fmtRate(pr(msgPipe)), ratio: `${(pr(msgPipe) / pr(rawPipe)).toFixed(2)}×`, rawValue: pr(rawPipe), cwValue: pr(msgPipe) });
  rows.push({ workload: 'Messenger.request 64 B, 100 in flight: CPU µs per request (both processes)', raw: cpu(rawPipe).toFixed(2), clusterwire: cpu(msgPipe).toFixed(2), ratio: `${(cpu(msgPipe) / cpu(rawPipe)).toFixed(2)}×`, rawValue: cpu(rawPipe), cwValue: cpu(msgPipe) });
  results.messenger = { latency: { p50: pct(msgLat, 0.5), p99: pct(msgLat, 0.99), p999: pct(msgLat, 0.999), samples: msgLat.length }, pipelined: pr(msgPipe), cpuUsPerRequest: cpu(msgPipe) };

  for (const { side, receiver } of order) {
    await side.close();
    receiver.child.send({ type: 'exit' });
  }

  if (transferMib > 0 && !useTls && compression === 'none') {
    console.error(`  file transfer, ${transferMib} MiB ...`);
    const transfer = await measureTransfers({ mib: transferMib, chunkBytes: 1024 * 1024, runs: rounds, workerCounts: [0] });
    const of = (row: string) => transfer.find((r) => r.row === row)!;
    const raw = of('raw TCP');
    const ft = of('file transfer (every chunk SHA-256 verified)');
    const rawFile = of('raw TCP into a file');
    const cell = (r: TransferRow) => `${r.mbPerSec.toFixed(0)} MB/s`;
    rows.push({ workload: `file transfer ${transferMib} MiB, every chunk SHA-256 verified, fsync'd (vs raw TCP dropping the bytes)`, raw: cell(raw), clusterwire: cell(ft), ratio: `${(ft.mbPerSec / raw.mbPerSec).toFixed(2)}×`, rawValue: raw.mbPerSec, cwValue: ft.mbPerSec });
    rows.push({ workload: `file transfer ${transferMib} MiB (vs raw TCP writing the file, synced as the transfer syncs it)`, raw: cell(rawFile), clusterwire: cell(ft), ratio: `${(ft.mbPerSec / rawFile.mbPerSec).toFixed(2)}×`, rawValue: rawFile.mbPerSec, cwValue: ft.mbPerSec });
    results.transfer = { mib: transferMib, rows: transfer };
  }

  const table = ['| workload | raw TCP (baseline) | clusterwire | clusterwire / raw |', '|---|---:|---:|---:|', ...rows.map((r) => `| ${r.workload} | ${r.raw} | ${r.clusterwire} | ${r.ratio} |`)].join('\n');
  console.log(`\n${table}\n`);
  let peerSection = '';
  if (withPeers) {
    const head = ['workload', 'raw TCP', 'clusterwire', ...peers.sides.map((p) => p.side.name)];
    const peerTable = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`, ...peerRows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    const versions = peers.sides.map((p) => p.version).join('; ');
    const left = peers.missing.length > 0 ? ` Left out: ${peers.missing.join('; ')}.` : '';
    peerSection = `\n## Beside ZeroMQ and NATS\n\nThe same workloads, in the same rounds, over plain TCP on loopback: ${versions}. Each figure is followed by its ratio to raw TCP (for latency and CPU, above 1× is slower); one-way rows give msgs/s and, in brackets, Gbit/s. The NATS figures pass through nats-server, a third process, whose CPU time is counted.${left}\n\n${peerTable}\n`;
    console.log(peerSection);
  }
  const dir = path.resolve(here, '..', '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const chartFile = `${outName}-latency.svg`;
  const chartSeries = [
    { name: 'raw TCP', samples: rawLat },
    { name: 'clusterwire', samples: cwLat },
    { name: 'Messenger.request', samples: msgLat },
    ...peers.sides.map((p, i) => ({ name: p.side.name, samples: peerLats[i] })),
  ];
  fs.writeFileSync(path.join(dir, chartFile), latencyChart(`request/response round trips, 64 B, one in flight (${useTls ? 'TLS 1.3' : 'plain TCP'}, ${new Date().toISOString().slice(0, 10)})`, chartSeries));
  const chart = `\n![Round-trip latency by percentile, one request in flight](${chartFile})\n`;
  const meta = `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}: ${settings}. Two processes on loopback; the receiver checks every frame. Latency ratios above 1× are slower.`;
  fs.writeFileSync(path.join(dir, `${outName}.md`), `# Load harness\n\n${meta}\n\n\`npm run bench:load -- ${process.argv.slice(2).join(' ')}\`\n\n${table}\n${chart}${peerSection}`);
  fs.writeFileSync(path.join(dir, `${outName}.json`), JSON.stringify({ node: process.version, date: new Date().toISOString(), settings, results }, null, 2) + '\n');
  console.error(`wrote bench/results/${outName}.md`);
}

await main();
