// `clusterwire agent`: one ClusterNode as a process. Logs with pino (readable
// lines on a terminal, JSON otherwise), leaves the cluster gracefully on
// SIGTERM or SIGINT, answers `agent.echo` requests, optionally generates
// request traffic to the other members, and with --http serves the status
// page, /status, /metrics and /health.
//
//   clusterwire agent --bind 10.0.0.5:7946 --join 10.0.0.6:7946,10.0.0.7:7946 --http 10.0.0.5:8080
//   clusterwire agent --join dns:cw.default.svc.cluster.local      (A/AAAA, port 7946)
//   clusterwire agent --join srv:_gossip._udp.cw.svc               (SRV records)
//   clusterwire agent --join file:/etc/clusterwire/seeds           (re-read when it changes)
//
// Once ready it logs "agent ready" with its gossip address, data port and
// HTTP address (what the demo and the fault suite read).
import fs from 'node:fs';
import type http from 'node:http';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { InvalidConfigError } from '../../shared/errors.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import type { ClusterNodeOptionsInput } from '../cluster/options.js';
import { DnsSeeds } from '../discovery/dns-seeds.js';
import { FileSeeds } from '../discovery/file-seeds.js';
import type { SeedSource } from '../discovery/seed-source.js';
import type { PresetName } from '../membership/options.js';
import { BroadcastProbe } from './broadcast-probe.js';
import { serveHttp } from './http.js';
import { prettyStream } from './pretty-log.js';
import { StatusReporter } from './status.js';
import { ECHO_TOPIC, TrafficGenerator } from './traffic.js';

export const AGENT_USAGE = `usage: clusterwire agent [options]

  --bind HOST:PORT        gossip address to bind, UDP and TCP (default 127.0.0.1:7946)
  --advertise HOST        address peers use (required when binding 0.0.0.0 or ::)
  --data-port PORT        messaging port (default: any free port)
  --join SEEDS            comma-separated HOST:PORT, or dns:NAME[:PORT], srv:NAME, file:PATH
  --node-id ID            unique node id (default: hostname and random suffix)
  --cluster NAME          cluster name (default clusterwire)
  --preset NAME           lan | wan | local (default lan)
  --datacenter DC --rack R  metadata for locality routing
  --config FILE           JSON with ClusterNode options; flags override it
  --tls-key F --tls-cert F --tls-ca F   TLS 1.3 with mutual authentication (PEM files)
  --secret-file F         shared secret proven in every data handshake
  --gossip-key-file F     AES-256-GCM gossip keys, base64, one per line, primary first
  --state-file F          Raft term and vote, kept across restarts
  --bootstrap-expect N    voters known before the first election (default 3)
  --http HOST:PORT        serve the status page, /status, /metrics, /health
  --traffic RATE          echo requests per second to random members (default 0)
  --traffic-mode MODE     random (default): to a random alive member; routed: idempotent, to the
                          member the router picks (around suspected, failed and drained members)
  --payload BYTES         size of those requests (default 64)
  --broadcast-every MS    broadcast a probe on agent.broadcast every MS (default 0: never); every
                          agent records the probes it receives (origin, sequence, latency) in /status
  --broadcast-via MODE    direct | gossip: how the probes travel (default gossip)
  --log-level LEVEL       pino level (default info)
`;

export interface AgentHandle {
  readonly node: ClusterNode;
  readonly http: http.Server | null;
  readonly httpAddress: string | null;
  /** Leaves the cluster, stops the node and the HTTP server. */
  close(): Promise<void>;
}

/** host:port → parts; IPv6 as [::1]:7946. */
export function hostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(value);
  if (m === null || Number(m[2]) > 65_535) throw new InvalidConfigError(flag, `expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: m[1], port: Number(m[2]) };
}

/** --join: a list of addresses, or one dns:/srv:/file: source. */
export function seedsFrom(value: string): string[] | SeedSource {
  if (value.startsWith('dns:')) {
    const rest = value.slice(4);
    const i = rest.lastIndexOf(':');
    return i > 0 && /^\d+$/.test(rest.slice(i + 1)) ? new DnsSeeds({ name: rest.slice(0, i), port: Number(rest.slice(i + 1)) }) : new DnsSeeds({ name: rest });
  }
  if (value.startsWith('srv:')) return new DnsSeeds({ name: value.slice(4), records: 'srv' });
  if (value.startsWith('file:')) return new FileSeeds({ path: value.slice(5) });
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      hostPort('--join', s);
      return s;
    });
}

export async function runAgent(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<AgentHandle> {
  const { values } = parseArgs({
    args: argv,
    options: {
      bind: { type: 'string' },
      advertise: { type: 'string' },
      'data-port': { type: 'string' },
      join: { type: 'string' },
      'node-id': { type: 'string' },
      cluster: { type: 'string' },
      preset: { type: 'string' },
      datacenter: { type: 'string' },
      rack: { type: 'string' },
      config: { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-ca': { type: 'string' },
      'secret-file': { type: 'string' },
      'gossip-key-file': { type: 'string' },
      'state-file': { type: 'string' },
      'bootstrap-expect': { type: 'string' },
      http: { type: 'string' },
      traffic: { type: 'string' },
      'traffic-mode': { type: 'string' },
      payload: { type: 'string' },
      'broadcast-every': { type: 'string' },
      'broadcast-via': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const config: ClusterNodeOptionsInput = values.config === undefined ? {} : (JSON.parse(fs.readFileSync(values.config, 'utf8')) as ClusterNodeOptionsInput);
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  const logger: Logger = pino({ level: values['log-level'] ?? 'info', base: { pid: process.pid } }, tty ? prettyStream(out) : (out as NodeJS.WritableStream & { write(s: string): boolean }));
  const bind = values.bind === undefined ? null : hostPort('--bind', values.bind);
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new InvalidConfigError(flag, `expected a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const tls =
    values['tls-key'] !== undefined || values['tls-cert'] !== undefined || values['tls-ca'] !== undefined
      ? { key: read('--tls-key', values['tls-key']), cert: read('--tls-cert', values['tls-cert']), ca: read('--tls-ca', values['tls-ca']) }
      : config.tls;
  const options: ClusterNodeOptionsInput = {
    ...config,
    nodeId: values['node-id'] ?? config.nodeId,
    cluster: values.cluster ?? config.cluster,
    host: bind?.host ?? config.host,
    port: bind?.port ?? config.port,
    advertiseHost: values.advertise ?? config.advertiseHost,
    dataPort: num('--data-port', values['data-port']) ?? config.dataPort,
    seeds: values.join === undefined ? config.seeds : seedsFrom(values.join),
    preset: (values.preset as PresetName | undefined) ?? config.preset,
    metadata: { ...config.metadata, ...(values.datacenter === undefined ? {} : { datacenter: values.datacenter }), ...(values.rack === undefined ? {} : { rack: values.rack }) },
    tls,
    secret: values['secret-file'] === undefined ? config.secret : read('--secret-file', values['secret-file']).trim(),
    gossipKeys:
      values['gossip-key-file'] === undefined
        ? config.gossipKeys
        : read('--gossip-key-file', values['gossip-key-file'])
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l.length > 0)
            .map((l) => new Uint8Array(Buffer.from(l, 'base64'))),
    leadership: {
      ...config.leadership,
      ...(values['state-file'] === undefined ? {} : { stateFile: values['state-file'] }),
      ...(values['bootstrap-expect'] === undefined ? {} : { bootstrapExpect: num('--bootstrap-expect', values['bootstrap-expect']) }),
    },
    logger,
  };
  const via = values['broadcast-via'] ?? 'gossip';
  if (via !== 'gossip' && via !== 'direct') throw new InvalidConfigError('--broadcast-via', `expected direct or gossip, got ${JSON.stringify(via)}`);
  const broadcastEveryMs = num('--broadcast-every', values['broadcast-every']) ?? 0;
  const node = await ClusterNode.start(options);
  node.handle(ECHO_TOPIC, (m) => m.payload);
  for (const type of ['member-joined', 'member-alive', 'member-suspect', 'member-failed', 'member-left', 'partition-detected', 'partition-healed'] as const) {
    node.on(type, (e) => logger.info({ event: e.type, member: 'member' in e ? e.member.nodeId : undefined }, e.type));
  }
  const mode = values['traffic-mode'] ?? 'random';
  if (mode !== 'random' && mode !== 'routed') throw new InvalidConfigError('--traffic-mode', `expected random or routed, got ${JSON.stringify(mode)}`);
  const traffic = new TrafficGenerator(node, num('--traffic', values.traffic) ?? 0, num('--payload', values.payload) ?? 64, 1_000, mode);
  traffic.start();
  const probe = new BroadcastProbe(node, broadcastEveryMs, via);
  probe.start();
  const reporter = new StatusReporter(node, () => traffic.stats(), () => probe.stats());
  let server: http.Server | null = null;
  let httpAddress: string | null = null;
  if (values.http !== undefined) {
    const h = hostPort('--http', values.http);
    try {
      const served = await serveHttp(node, reporter, h.host, h.port, logger);
      server = served.server;
      httpAddress = `${h.host}:${served.address.port}`;
    } catch (error) {
      traffic.stop();
      probe.stop();
      await node.stop();
      throw error;
    }
  }
  logger.info({ node: node.id, gossip: node.gossipAddress, dataPort: node.dataPort, http: httpAddress }, 'agent ready');
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      traffic.stop();
      probe.stop();
      await traffic.settle();
      const final = traffic.stats();
      if (server !== null) {
        server.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
      }
      await node.leave();
      logger.info({ node: node.id, traffic: { completed: final.completed, failed: final.failed, errors: final.errors } }, 'agent stopped');
      logger.flush?.();
    })();
    return closing;
  };
  return { node, http: server, httpAddress, close };
}

function read(flag: string, file: string | undefined): string {
  if (file === undefined) throw new InvalidConfigError(flag, 'the TLS options go together: --tls-key, --tls-cert and --tls-ca');
  return fs.readFileSync(file, 'utf8');
}

/** The agent as a program: runs until SIGTERM or SIGINT, then leaves and exits by itself. */
export async function agentMain(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(AGENT_USAGE);
    return;
  }
  // handlers first: a signal that arrives while the node starts stops it once it has
  let handle: AgentHandle | null = null;
  let signalled = false;
  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    signalled = true;
    handle?.close().catch((error: Error) => {
      process.stderr.write(`clusterwire agent: ${error.message}\n`);
      process.exitCode = 1;
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    handle = await runAgent(argv);
  } catch (error) {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    throw error;
  }
  // the node's listening sockets keep the process alive; once they close it exits by itself
  if (signalled) await handle.close();
}
