// ClusterNode: the object an application embeds. It joins a cluster and puts
// the layers together:
//
//   membership   UdpMembership (SWIM + Lifeguard over UDP, push-pull over TCP)
//                on `port`; its events drive everything below
//   messaging    a Messenger (TCP or TLS, handshake, request/response,
//                heartbeats) on `dataPort`, with one ConnectionPool per peer,
//                dialled on first use at the host and data port the peer's
//                gossiped metadata names
//   routing      a Router fed with the membership view, in-flight counts and
//                heartbeat RTTs
//   health       heartbeat RTT and loss per peer (PeerQuality), Lifeguard's
//                local health, event-loop delay, quorum
//   metrics      counters in the categories of DESIGN.md and a Prometheus
//                registry of the node's own
//
//   const node = await ClusterNode.start({ nodeId: 'a', port: 7946, seeds: ['10.0.0.2:7946'] });
//   node.handle('echo', (m) => m.payload);
//   const reply = await node.request('b', 'echo', bytes);
//   for await (const e of node.events()) ...
//   await node.stop();
//
// A message for a member that membership holds dead or left, or does not
// know, fails at once with ERR_PEER_UNAVAILABLE; requests in flight to a
// member fail the moment membership declares it dead. A message for this
// node itself is handled locally, without a socket, so that route() may pick
// it. stop() closes every socket, timer, watcher and worker the node opened:
// a process whose nodes have stopped exits by itself.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { ClusterwireError, HandshakeRejectedError, InvalidMessageError, JoinFailedError, NodeStoppedError, NotLeaderError, NoHandlerError, TimeoutError, HandlerFailedError, PeerUnavailableError, RequestCancelledError } from '../../shared/errors.js';
import { seedAddress, type SeedSource } from '../discovery/seed-source.js';
import { Engine } from '../engine/engine.js';
import { PeerQualityTable, type PeerQualitySnapshot } from '../health/peer-quality.js';
import { Vivaldi, type Coordinate } from '../health/vivaldi.js';
import { decodeCoordinate, encodeCoordinate } from '../health/coordinate-codec.js';
import { Sfc32 } from '../simulator/prng.js';
import type { SwimEvent } from '../membership/events.js';
import type { ClusterStatus } from '../membership/peer-registry.js';
import { UdpMembership } from '../membership/udp-membership.js';
import type { AdaptiveWeights } from '../routing/adaptive.js';
import { Router, type RouteRequest } from '../routing/router.js';
import type { StrategyName } from '../routing/strategy.js';
import { ConnectionPool } from '../transport/connection-pool.js';
import type { Connection } from '../transport/connection.js';
import { Messenger, type Incoming } from '../transport/messenger.js';
import { resolveRequestTrackerOptions } from '../transport/request-tracker-options.js';
import { EventStream, type ClusterEvent, type ClusterEventMap } from './events.js';
import { Leadership, type LeaderInfo } from './leadership.js';
import { SessionStore, type MigrationBody, type SessionView } from './sessions.js';
import { FailoverCoordinator, parseFailoverReport, type FailoverReport } from './failover.js';
import { Transactions, type TransactionApplication, type TxResult } from '../transactions/transactions.js';
import { FileTxLog } from '../transactions/file-log.js';
import { TX_MESSAGE_TYPES, type TxInfo, type TxMessage } from '../transactions/messages.js';
import type { TxEvent } from '../transactions/events.js';
import type { RaftEvent } from '../leadership/events.js';
import type { RaftMessage, RaftMessageType } from '../leadership/messages.js';
import { clusterMember, encodeMemberMeta, type ClusterMember } from './members.js';
import { ClusterCounters, metricsRegistry, type ClusterMetrics } from './metrics.js';
import { FileTransfers, type SendFileOptions } from '../transfer/file-transfers.js';
import type { Transfer } from '../transfer/outgoing-transfer.js';
import type { ReceivedFile } from '../transfer/incoming-transfer.js';
import { StateSync, type PullOptions, type Snapshot, type StateProvider } from '../transfer/state-sync.js';
import { resolveClusterNodeOptions, type ClusterNodeOptions, type ClusterNodeOptionsInput } from './options.js';

/** A message, request or gossip broadcast as a handler sees it. */
export interface ClusterMessage {
  readonly topic: string;
  /** A view into the received bytes: copy what outlives the handler. */
  readonly payload: Uint8Array;
  /** The sender's node id. */
  readonly from: string;
  readonly kind: 'message' | 'request' | 'broadcast';
}

/** For a request, the returned bytes are the response; otherwise the result is ignored. */
export type ClusterHandler = (message: ClusterMessage) => Uint8Array | void | Promise<Uint8Array | void>;

export interface ClusterSendOptions {
  /** 0 Critical, 1 High, 2 Normal (default), 3 Low. */
  priority?: number;
  /**
   * Lend the payload instead of having it copied: a payload longer than the
   * connection's chunkBytes (64 KiB) is then sent from your buffer, so do not
   * change it after the call. Default false (the payload is copied when it
   * is queued).
   */
  lend?: boolean;
}

export interface ClusterRequestOptions {
  timeoutMs?: number;
  /** Retried on timeout or a lost connection, and run at most once by the receiver. */
  idempotent?: boolean;
  /**
   * Aborting it rejects the request at once with ERR_REQUEST_CANCELLED (its
   * answer, if one comes, is dropped). A request already sent may still be
   * handled by the peer, and a local handler already running runs to its end.
   */
  signal?: AbortSignal;
}

export interface BroadcastOptions {
  /**
   * 'direct' (default): one message to every alive or suspected member over
   * its data connection, reporting who got it (a suspected member is most
   * often up: suspicion is not death; a send that fails is in the report).
   * 'gossip': epidemic dissemination over the membership protocol (small
   * payloads, reaches members the sender cannot connect to, no delivery
   * report).
   */
  via?: 'direct' | 'gossip';
}

export interface BroadcastResult {
  /** Members the message was handed to (queued on their connection). */
  readonly sent: readonly string[];
  readonly failed: readonly { readonly nodeId: string; readonly error: ClusterwireError }[];
}

export interface RollingRestartOptions {
  /** Restarts a member (this node included, last); resolves once the restart was started. */
  restart(nodeId: string): Promise<void>;
  /** Pause after each member is back. Default 0. */
  delayMs?: number;
  /** How long a restarted member may take to answer as alive and healthy. Default 30 000. */
  healthTimeoutMs?: number;
  /** The members to restart (this node is always last). Default: every alive member. */
  nodes?: readonly string[];
}

export interface RollingRestartStep {
  readonly nodeId: string;
  /** Sessions it owned, handed to their backups before the restart. */
  readonly sessionsMoved: number;
  /** From routing around it to its return. */
  readonly ms: number;
}

export interface RollingRestartReport {
  readonly restarted: readonly RollingRestartStep[];
  /** The member that did not come back (the restart stopped there), or null. */
  readonly failed: { readonly nodeId: string; readonly reason: string } | null;
  /** True when this node (the leader) was restarted last. */
  readonly leaderRestarted: boolean;
}

export interface HealthReport {
  readonly healthy: boolean;
  /** healthy; degraded (peers suspected or down, or this node is slow); unhealthy (see reasons). */
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly reasons: readonly string[];
  readonly membership: string;
  readonly quorum: boolean;
  readonly localHealthScore: number;
  readonly eventLoopDelayP99Ms: number;
  readonly peers: Readonly<Record<string, PeerQualitySnapshot>>;
}

/** Topics the node answers itself; applications may not register cw.* topics. */
const TOPIC_PROMOTE = 'cw.failover.promote';
const TOPIC_FAILOVER_DONE = 'cw.failover.done';
const TOPIC_HEALTH = 'cw.health';
const TOPIC_DRAIN = 'cw.drain';
const TOPIC_ROUTE_AROUND = 'cw.route-around';
const RESERVED_PREFIX = 'cw.';
const HIGH = 1;

const RAFT_TYPES: readonly RaftMessageType[] = ['RequestVote', 'RequestVoteResponse', 'AppendEntries', 'AppendEntriesResponse'];
const CRITICAL = 0;

/** How long a member whose data handshake was refused is routed around before it is dialled again. */
const REFUSAL_BACKOFF_MS = 5_000;

/** The reason of a handshake refusal (by either side, or by TLS verification), or null for any other failure. */
function refusalReason(error: ClusterwireError): string | null {
  if (error instanceof HandshakeRejectedError) return error.reason;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^ERR_(SSL|TLS)_|CERT|SIGNATURE|ISSUER/.test(code) ? `tls: ${code}` : null;
}

/**
 * What `promise` settles with, unless `timeoutMs` (Infinity: no limit) passes
 * first (ERR_TIMEOUT) or `signal` aborts first (ERR_REQUEST_CANCELLED, for a
 * request on `topic`).
 */
function withinLimits<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined, topic: string): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(new RequestCancelledError(topic, signal.reason));
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === Infinity ? null : setTimeout(() => finish(reject, new TimeoutError(0, timeoutMs, 0)), timeoutMs);
    const onAbort = () => finish(reject, new RequestCancelledError(topic, signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish<V>(settle: (value: V) => void, value: V): void {
      if (timer !== null) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle(value);
    }
    promise.then(
      (v) => finish(resolve, v),
      (e: unknown) => finish(reject, e),
    );
  });
}

/** Event-loop delay (p99) above which the node calls itself unhealthy. */
const EVENT_LOOP_UNHEALTHY_MS = 1_000;
/** How often routing latencies, peer quality and partition state are refreshed. */
const MAINTENANCE_INTERVAL_MS = 1_000;

interface Peer {
  member: ClusterMember;
  pool: ConnectionPool | null;
  /** removeNode() was called: no traffic until membership sees it alive anew. */
  removed: boolean;
  /** Why its data handshake was last refused (null: it was not, or a later one completed). */
  refusal: string | null;
  /** Until then it fails fast instead of being dialled again. */
  refusedUntil: number;
  refusalError: ClusterwireError | null;
}

interface JoinWaiter {
  resolve(): void;
  reject(error: ClusterwireError): void;
  seeds: readonly string[];
}

export class ClusterNode extends EventEmitter<ClusterEventMap> {
  readonly options: ClusterNodeOptions;
  readonly id: string;
  /** The worker engine (byte work); inline when `workers` is 0. */
  readonly engine: Engine;
  /** File transfers: send with sendFile(); received files land in transfers.directory and emit 'file-received'. */
  readonly files: FileTransfers;
  /** Named state snapshots served to and pulled from peers. */
  readonly state: StateSync;
  /** The Prometheus registry with this node's series (labels node and cluster). */
  readonly metricsRegistry: Registry;
  /** The address the data listener is bound to. */
  readonly dataPort: number;
  private readonly membership: UdpMembership;
  private readonly messenger: Messenger;
  private readonly router: Router;
  private readonly leadership: Leadership;
  private readonly sessions: SessionStore;
  private readonly failover: FailoverCoordinator;
  private readonly transactions: Transactions;
  private txApplication: TransactionApplication | null = null;
  /** Members being restarted by a rolling restart: routed around until they are back. */
  private readonly draining = new Set<string>();
  private readonly peers = new Map<string, Peer>();
  private readonly handlers = new Map<string, ClusterHandler>();
  private readonly streams = new Set<EventStream>();
  private readonly counters = new ClusterCounters();
  private readonly quality = new PeerQualityTable();
  /** This node's network coordinate, carried in its probe acks; peers' last coordinates by id. */
  private readonly vivaldi = new Vivaldi({}, { rng: new Sfc32(crypto.randomInt(2 ** 31), crypto.randomInt(2 ** 31)) });
  private readonly coordinates = new Map<string, Coordinate>();
  private readonly loopDelay: ReturnType<typeof monitorEventLoopDelay>;
  private readonly maintenance: NodeJS.Timeout;
  private joinWaiters: JoinWaiter[] = [];
  /** Refusals logged lately, by peer and reason, and how many were not logged since. */
  private readonly loggedRefusals = new Map<string, { at: number; suppressed: number }>();
  /** Tells a restarted node from the one before it (cw.health). */
  private readonly instance = crypto.randomBytes(8).toString('hex');
  private partitioned = false;
  private stopping: Promise<void> | null = null;
  private unsubscribeSeeds: (() => void) | null = null;
  private lastBandwidth = { at: performance.now(), bytes: 0, rate: 0 };
  /** Membership packets dropped (by reason) when last logged, and when. */
  /** The default overall timeout of a request (options.requests.requestTimeoutMs). */
  private readonly requestTimeoutMs: number;
  private loggedDrops = { at: 0, dropped: {} as Record<string, number> };

  /** Binds the data and gossip listeners, starts membership and joins the seeds (without waiting for the join). */
  static async start(input: ClusterNodeOptionsInput = {}): Promise<ClusterNode> {
    const options = resolveClusterNodeOptions(input);
    let node: ClusterNode | null = null;
    const messenger = new Messenger(
      {
        nodeId: options.nodeId,
        cluster: options.cluster,
        secret: options.secret,
        compression: options.compression,
        maxFrameBytes: options.limits.maxFrameBytes,
        maxConnections: options.limits.maxConnections,
        tls: options.tls,
        requests: options.requests,
        heartbeat: options.heartbeat,
      },
      {
        onClose: (connection, error) => node?.connectionClosed(connection, error),
        onEstablished: (_connection, session) => node?.connectionEstablished(session.peerNodeId),
      },
    );
    let membership: UdpMembership | null = null;
    try {
      const { port: dataPort } = await messenger.transport.listen(options.dataPort, options.host);
      membership = await UdpMembership.start({
        cluster: options.cluster,
        bindHost: options.host,
        keys: options.gossipKeys ?? undefined,
        swim: {
          ...options.membership,
          preset: options.preset,
          name: options.nodeId,
          host: options.advertiseHost,
          port: options.port,
          meta: encodeMemberMeta(options.metadata, dataPort),
        },
      });
      node = new ClusterNode(options, messenger, membership, dataPort);
    } catch (error) {
      await membership?.close();
      await messenger.close();
      throw error;
    }
    await node.startSeeds();
    return node;
  }

  private constructor(options: ClusterNodeOptions, messenger: Messenger, membership: UdpMembership, dataPort: number) {
    super();
    this.options = options;
    this.id = options.nodeId;
    this.messenger = messenger;
    this.membership = membership;
    this.dataPort = dataPort;
    this.engine = new Engine({ workers: options.workers });
    this.requestTimeoutMs = resolveRequestTrackerOptions(options.requests).requestTimeoutMs;
    this.router = new Router(options.routing);
    this.files = new FileTransfers(messenger, options.transfers, { engine: options.workers > 0 ? this.engine : null });
    this.files.on('received', (file) => this.publish({ type: 'file-received', file }));
    this.state = new StateSync(messenger, options.transfers, { engine: options.workers > 0 ? this.engine : null });
    const m = options.metadata;
    this.router.setNode(this.id, { state: 'alive', datacenter: m.datacenter, rack: m.rack, weight: m.capacity > 0 ? m.capacity : 1, tags: m.tags });
    this.leadership = new Leadership(this.id, options.leadership, options.preset, {
      send: (to, message) => this.sendRaft(to, message),
      onEvent: (e) => this.onRaft(e),
    });
    this.sessions = new SessionStore({
      self: this.id,
      aliveMembers: () => this.aliveMembers().filter((m) => !m.self && !this.draining.has(m.nodeId)).map((m) => m.nodeId),
      send: async (to, body) => {
        const connection = await this.connectionTo(to, 'session');
        connection.send(body, { priority: HIGH });
      },
      moved: (session, from, to, reason) => {
        this.router.bindSession(session, to, performance.now());
        this.counters.sessionMigrations++;
        this.publish({ type: 'session-migrated', session, from, to, reason });
      },
    });
    for (const type of ['ClientMigration', 'ClientMigrationAck'] as const) {
      messenger.handleBody(type, (envelope, _connection, peer) => this.sessions.receive(peer, envelope.body as MigrationBody));
    }
    this.failover = new FailoverCoordinator({
      self: this.id,
      leaderTerm: () => this.leadership.fencingToken(),
      deadMembers: () => [...this.peers.values()].filter((p) => p.member.state === 'dead').map((p) => ({ nodeId: p.member.nodeId, incarnation: p.member.incarnation })),
      aliveMembers: () => this.aliveMembers().map((m) => m.nodeId),
      promote: async (member, failed) => {
        if (member === this.id) return this.sessions.promote(failed);
        const reply = await this.request(member, TOPIC_PROMOTE, new TextEncoder().encode(failed), { timeoutMs: 10_000 });
        const ids = JSON.parse(new TextDecoder().decode(reply)) as unknown;
        return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
      },
      announce: (member, report) => this.request(member, TOPIC_FAILOVER_DONE, new TextEncoder().encode(JSON.stringify(report)), { timeoutMs: 10_000 }).then(() => undefined),
      completed: (report) => {
        this.counters.failovers++;
        this.options.logger.info({ node: this.id, failed: report.failed, sessions: Object.keys(report.sessions).length, ms: Math.round(report.durationMs) }, 'failover done');
        this.publish({ type: 'failover', report });
      },
    });
    const tx = options.transactions;
    this.transactions = new Transactions(
      { ...tx.tuning, name: this.id },
      {
        // until the application registers its handler, this node votes No
        prepare: (t) => this.txApplication?.prepare(t) ?? { vote: 'no', reason: 'no transaction handler on this node' },
        commit: (t) => this.txApplication?.commit(t),
        abort: (t, reason) => this.txApplication?.abort(t, reason),
        restored: (t) => this.txApplication?.restored?.(t),
      },
      {
        send: (to, message) => void this.sendBestEffort(to, message),
        logs: tx.logDirectory === undefined ? undefined : FileTxLog.inDirectory(tx.logDirectory),
        onEvent: (e) => this.onTransaction(e),
        onError: (error) => this.options.logger.error({ node: this.id, err: String((error as Error)?.message ?? error) }, 'transaction log failed'),
      },
    );
    for (const type of TX_MESSAGE_TYPES) messenger.handleBody(type, (envelope, _connection, peer) => this.transactions.receive(peer, envelope.body as TxMessage));
    this.serveInternal(TOPIC_PROMOTE, async (m) => new TextEncoder().encode(JSON.stringify(await this.sessions.promote(new TextDecoder().decode(m.payload)))));
    this.serveInternal(TOPIC_FAILOVER_DONE, (m) => {
      const report = parseFailoverReport(m.payload);
      if (report === null) throw new InvalidMessageError('failover report', 'malformed');
      this.failover.record(report);
    });
    this.serveInternal(TOPIC_HEALTH, () => {
      const h = this.health();
      return new TextEncoder().encode(JSON.stringify({ instance: this.instance, healthy: h.healthy, status: h.status }));
    });
    this.serveInternal(TOPIC_DRAIN, async () => new TextEncoder().encode(JSON.stringify(await this.sessions.drain())));
    this.serveInternal(TOPIC_ROUTE_AROUND, (m) => {
      const { node, on } = JSON.parse(new TextDecoder().decode(m.payload)) as { node: unknown; on: unknown };
      if (typeof node !== 'string' || typeof on !== 'boolean') throw new InvalidMessageError('route-around', 'malformed');
      this.routeAround(node, on);
    });
    for (const type of RAFT_TYPES) messenger.handleBody(type, (envelope, _connection, peer) => this.leadership.receive(peer, envelope.body as RaftMessage));
    membership.swim.setAckPayload(encodeCoordinate(this.vivaldi.coordinate));
    membership.on('event', (e) => this.onMembership(e));
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.loopDelay.enable();
    this.maintenance = setInterval(() => this.maintain(), MAINTENANCE_INTERVAL_MS);
    this.maintenance.unref();
    this.metricsRegistry = metricsRegistry(() => this.metrics(), { node: this.id, cluster: options.cluster });
    options.logger.info({ node: this.id, gossip: membership.swim.address, dataPort }, 'clusterwire node started');
  }

  /** host:port of this node's gossip (UDP and TCP). */
  get gossipAddress(): string {
    return this.membership.swim.address;
  }

  get stopped(): boolean {
    return this.stopping !== null;
  }

  // ------------------------------------------------------------ membership

  /** Joins through seed gossip addresses ("host:port"); resolves once one answered, rejects with ERR_JOIN_FAILED when none did. */
  join(seeds: readonly string[]): Promise<void> {
    if (this.stopped) return Promise.reject(new NodeStoppedError('join'));
    const others = seeds.filter((s) => s !== this.gossipAddress);
    if (others.length === 0) return Promise.resolve();
    const joined = new Promise<void>((resolve, reject) => this.joinWaiters.push({ resolve, reject, seeds: others }));
    this.membership.join(others);
    return joined;
  }

  /** Every member this node knows, itself included (dead ones until they are forgotten). */
  members(): ClusterMember[] {
    const list = [this.self()];
    for (const p of this.peers.values()) list.push(p.member);
    return list;
  }

  /** Members alive now, itself included. */
  aliveMembers(): ClusterMember[] {
    return this.members().filter((m) => m.state === 'alive');
  }

  member(nodeId: string): ClusterMember | undefined {
    return nodeId === this.id ? this.self() : this.peers.get(nodeId)?.member;
  }

  /** Totals by health and whether more than half of the members are healthy. */
  status(): ClusterStatus {
    return this.membership.registry.status();
  }

  /** Asks the member at a gossip address to let this node in (a join through it). */
  addNode(address: string): Promise<void> {
    return this.join([address]);
  }

  /**
   * Stops routing and messaging to a member on this node and closes its
   * connections, until membership sees it alive anew (it refutes, restarts or
   * re-merges). Membership itself keeps probing it: a member is declared
   * dead only by the failure detector.
   */
  removeNode(nodeId: string): boolean {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return false;
    peer.removed = true;
    this.dropPool(peer, new PeerUnavailableError(nodeId, 'removed from routing'));
    this.router.removeNode(nodeId);
    return true;
  }

  // ------------------------------------------------------------ messaging

  /** Registers the handler of a topic (messages, requests and gossip broadcasts); returns the unregister. */
  handle(topic: string, handler: ClusterHandler): () => void {
    if (typeof topic !== 'string' || topic.length === 0) throw new InvalidMessageError('topic', 'expected a non-empty string');
    if (topic.startsWith(RESERVED_PREFIX)) throw new InvalidMessageError('topic', `the prefix ${RESERVED_PREFIX} is reserved for the node's own requests`);
    this.handlers.set(topic, handler);
    this.messenger.handle(topic, (m) => this.dispatch(m, handler));
    return () => {
      if (this.handlers.get(topic) !== handler) return;
      this.handlers.delete(topic);
      this.messenger.unhandle(topic);
    };
  }

  /**
   * Gives back the payload of a received message longer than a chunk once
   * nothing refers to it any more: the next large message from that peer is
   * reassembled in its buffer instead of a new one (no page faults, less for
   * the collector). The payload must not be read after this. Bytes of any
   * other message are ignored.
   */
  recycle(payload: Uint8Array): void {
    for (const connection of this.messenger.transport.connections) connection.recycle(payload);
  }

  /** Sends a one-way message; resolves once it is queued on a connection. */
  async send(nodeId: string, topic: string, payload: Uint8Array, options: ClusterSendOptions = {}): Promise<void> {
    this.checkPayload(payload);
    if (nodeId === this.id) {
      this.local(topic, payload, 'message');
      return;
    }
    try {
      const connection = await this.connectionTo(nodeId, 'send');
      this.messenger.send(connection, topic, payload, options);
    } catch (error) {
      this.counters.failedSends++;
      throw error;
    }
  }

  /** Sends a request; resolves with the response payload or rejects with a typed error. */
  async request(nodeId: string, topic: string, payload: Uint8Array, options: ClusterRequestOptions = {}): Promise<Uint8Array> {
    this.checkPayload(payload);
    this.counters.requests++;
    const signal = options.signal;
    if (signal?.aborted === true) {
      this.counters.failedRequests++;
      throw new RequestCancelledError(topic, signal.reason);
    }
    if (nodeId === this.id) {
      const handler = this.handlers.get(topic);
      if (handler === undefined) {
        this.counters.failedRequests++;
        throw new NoHandlerError(topic, this.id);
      }
      const handled = (async () => {
        try {
          return (await handler({ topic, payload, from: this.id, kind: 'request' })) ?? new Uint8Array(0);
        } catch (error) {
          throw new HandlerFailedError(topic, String((error as Error)?.message ?? error), { cause: error });
        }
      })();
      try {
        return await (signal === undefined ? handled : withinLimits(handled, Infinity, signal, topic));
      } catch (error) {
        this.counters.failedRequests++;
        throw error;
      }
    }
    this.router.acquire(nodeId);
    try {
      // the deadline covers a dial too: a request never waits longer than its timeout
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const started = performance.now();
      const ready = this.connectionTo(nodeId, 'request');
      const connection = ready instanceof Promise ? await withinLimits(ready, timeoutMs, signal, topic) : ready;
      const left = Math.max(1, Math.floor(timeoutMs - (performance.now() - started)));
      return await this.messenger.request(connection, topic, payload, { ...options, timeoutMs: left });
    } catch (error) {
      this.counters.failedRequests++;
      throw error;
    } finally {
      this.router.release(nodeId);
    }
  }

  /** Sends to every member but this node that is not known dead or gone (see BroadcastOptions for the two ways). */
  async broadcast(topic: string, payload: Uint8Array, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    this.checkPayload(payload);
    if (this.stopped) throw new NodeStoppedError('broadcast');
    this.counters.broadcasts++;
    if (options.via === 'gossip') {
      this.membership.broadcast(topic, payload);
      return { sent: [], failed: [] };
    }
    const targets = [...this.peers.values()].filter((p) => (p.member.state === 'alive' || p.member.state === 'suspect') && !p.removed).map((p) => p.member.nodeId);
    const outcomes = await Promise.allSettled(targets.map((id) => this.send(id, topic, payload)));
    const sent: string[] = [];
    const failed: { nodeId: string; error: ClusterwireError }[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') sent.push(targets[i]);
      else failed.push({ nodeId: targets[i], error: o.reason as ClusterwireError });
    });
    return { sent, failed };
  }

  // ------------------------------------------------------------ rolling restart

  /**
   * Restarts members one at a time, this node (the leader) last. Each is
   * routed around everywhere, drained (its sessions handed to their backups,
   * the copies it holds re-made elsewhere), restarted through the
   * application's callback, and waited for until it answers as a new,
   * healthy instance; then traffic returns to it. Stops and reports the first
   * member that does not come back within healthTimeoutMs. Leader only
   * (ERR_NOT_LEADER elsewhere); the leader hands leadership to a restarted
   * member before its own restart.
   */
  async rollingRestart(options: RollingRestartOptions): Promise<RollingRestartReport> {
    if (this.stopped) throw new NodeStoppedError('rollingRestart');
    const leader = this.leader();
    if (!this.isLeader) throw new NotLeaderError(leader?.nodeId ?? null, leader?.term ?? 0);
    const healthTimeoutMs = options.healthTimeoutMs ?? 30_000;
    const delayMs = options.delayMs ?? 0;
    const targets = (options.nodes ?? this.aliveMembers().map((m) => m.nodeId)).filter((id) => id !== this.id).sort();
    const restarted: RollingRestartStep[] = [];
    for (const nodeId of targets) {
      const started = performance.now();
      await this.announceRouteAround(nodeId, true);
      const moved = await this.requestJson<string[]>(nodeId, TOPIC_DRAIN, 'drain').catch(() => [] as string[]);
      const before = await this.requestJson<{ instance: string }>(nodeId, TOPIC_HEALTH, 'health').catch(() => null);
      try {
        await options.restart(nodeId);
      } catch (error) {
        return { restarted, failed: { nodeId, reason: `restart callback failed: ${String((error as Error)?.message ?? error)}` }, leaderRestarted: false };
      }
      const back = await this.waitForNewInstance(nodeId, before?.instance ?? null, healthTimeoutMs);
      if (!back) return { restarted, failed: { nodeId, reason: `not alive and healthy within ${healthTimeoutMs} ms` }, leaderRestarted: false };
      await this.announceRouteAround(nodeId, false);
      restarted.push({ nodeId, sessionsMoved: moved.length, ms: performance.now() - started });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    }
    // this node last: drain, hand leadership over, restart
    await this.announceRouteAround(this.id, true);
    const moved = await this.sessions.drain();
    const successor = restarted.length > 0 ? restarted[restarted.length - 1].nodeId : this.aliveMembers().find((m) => !m.self)?.nodeId;
    if (successor !== undefined) {
      try {
        this.leadership.transfer(successor);
        const until = performance.now() + healthTimeoutMs;
        while (this.isLeader && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      } catch {
        // no successor could take over: restart as the leader; the others elect after it goes
      }
    }
    this.counters.rollingRestarts++;
    const self: RollingRestartStep = { nodeId: this.id, sessionsMoved: moved.length, ms: 0 };
    const started = performance.now();
    await options.restart(this.id);
    return { restarted: [...restarted, { ...self, ms: performance.now() - started }], failed: null, leaderRestarted: true };
  }

  // ------------------------------------------------------------ sessions

  /**
   * Opens a session owned by this node. Its state is copied to a backup node
   * before this resolves, and before every updateSession() resolves: when this
   * node fails, the backup takes the session over with the last acknowledged
   * state (ERR_PEER_UNAVAILABLE when no other member is alive to hold it).
   */
  openSession(sessionId: string, state: Uint8Array): Promise<SessionView> {
    if (this.stopped) return Promise.reject(new NodeStoppedError('openSession'));
    return this.sessions.open(sessionId, state).then((v) => {
      this.router.bindSession(sessionId, this.id, performance.now());
      return v;
    });
  }

  updateSession(sessionId: string, state: Uint8Array): Promise<SessionView> {
    if (this.stopped) return Promise.reject(new NodeStoppedError('updateSession'));
    return this.sessions.update(sessionId, state);
  }

  closeSession(sessionId: string): Promise<void> {
    this.router.endSession(sessionId);
    return this.sessions.close(sessionId);
  }

  /** A session this node owns. */
  session(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId);
  }

  /** The node that owns a session, as this node knows it. */
  sessionOwner(sessionId: string): string | undefined {
    return this.sessions.ownerOf(sessionId);
  }

  // ------------------------------------------------------------ transactions

  /**
   * Sets what this node does as a participant of a transaction: prepare
   * (vote; may be async; a throw is a No), commit (at least once: make it
   * idempotent), abort, and restored (a transaction still in doubt after a
   * restart). Until set, this node votes No.
   */
  handleTransactions(application: TransactionApplication): void {
    this.txApplication = application;
  }

  /**
   * Runs a two-phase commit with this node as coordinator; resolves once the
   * outcome is logged ('committed': every participant will commit; 'aborted':
   * none will). The outcome never changes afterwards; when this node fails,
   * the leader finishes the transaction with the participants.
   */
  beginTransaction(parts: readonly { readonly nodeId: string; readonly payload: Uint8Array }[]): Promise<TxResult> {
    if (this.stopped) return Promise.reject(new NodeStoppedError('beginTransaction'));
    return this.transactions.begin(parts.map((p) => ({ name: p.nodeId, payload: p.payload })));
  }

  // ------------------------------------------------------------ files and state

  /**
   * Sends a file (path), bytes or a byte stream (with totalBytes) to a member,
   * in chunks each verified by SHA-256 on arrival; resumable, throttled,
   * cancellable. The returned Transfer emits progress; done() settles it.
   */
  async sendFile(nodeId: string, source: string | AsyncIterable<Uint8Array> | Uint8Array, options: SendFileOptions = {}): Promise<Transfer> {
    const connection = await this.connectionTo(nodeId, 'sendFile');
    return this.files.send(connection, source, options);
  }

  /** Serves a named state to peers that pull it. */
  serveState(service: string, provider: StateProvider): void {
    this.state.serve(service, provider);
  }

  /** Pulls a named state from a member (full, or incremental since a version), checksum-verified. */
  async pullState(nodeId: string, service: string, options: PullOptions = {}): Promise<Snapshot> {
    const connection = await this.connectionTo(nodeId, 'pullState');
    return this.state.pull(connection, service, options);
  }

  // ------------------------------------------------------------ routing

  /** The node that should take `request` (key → consistent hashing, session → affinity, else the strategy). Never a suspected or dead node. */
  route(request: RouteRequest = {}): string {
    if (request.session !== undefined) {
      const owner = this.sessions.ownerOf(request.session);
      if (owner !== undefined && this.member(owner)?.state === 'alive' && !this.draining.has(owner)) {
        this.router.bindSession(request.session, owner, performance.now());
      }
    }
    return this.router.route(request, performance.now());
  }

  setRoutingStrategy(strategy: StrategyName, adaptiveWeights?: Partial<AdaptiveWeights>): void {
    this.router.setStrategy(strategy, adaptiveWeights);
  }

  // ------------------------------------------------------------ leadership

  /** The Raft leader this node knows and its term (the fencing token), or null while there is none. */
  leader(): LeaderInfo | null {
    return this.leadership.leader();
  }

  /** True while this node is the leader. */
  get isLeader(): boolean {
    return this.leadership.fencingToken() !== null;
  }

  /** Hands leadership to another voter (on the leader; ERR_NOT_LEADER elsewhere). */
  transferLeadership(nodeId: string): void {
    this.leadership.transfer(nodeId);
  }

  // ------------------------------------------------------------ events

  /** The cluster's events as an async iterator, holding at most limits.maxEventBuffer unread (the oldest are dropped and counted). */
  events(): AsyncIterableIterator<ClusterEvent & { readonly dropped: number }> {
    const stream = new EventStream(this.options.limits.maxEventBuffer, (s) => this.streams.delete(s));
    if (this.stopped) stream.end();
    else this.streams.add(stream);
    return stream;
  }

  // ------------------------------------------------------------ health and metrics

  /** This node's Vivaldi network coordinate (refined with every probe round trip). */
  coordinate(): Coordinate {
    return this.vivaldi.coordinate;
  }

  /** The round trip to a member estimated from network coordinates, ms (undefined before its first ack). */
  estimateRttMs(nodeId: string): number | undefined {
    const theirs = this.coordinates.get(nodeId);
    return theirs === undefined ? undefined : this.vivaldi.estimateMs(theirs);
  }

  /** Alive members ordered by estimated round trip, nearest first (members without a coordinate last). */
  nearest(limit = Infinity): string[] {
    const alive = this.aliveMembers().filter((m) => !m.self);
    const est = (id: string): number => this.estimateRttMs(id) ?? Infinity;
    return alive
      .map((m) => m.nodeId)
      .sort((a, b) => est(a) - est(b))
      .slice(0, limit);
  }

  health(): HealthReport {
    this.counters.healthChecks++;
    const reasons: string[] = [];
    const state = this.stopped ? 'stopped' : this.membership.swim.state;
    const status = this.status();
    const score = this.membership.swim.healthScore;
    const loopP99 = this.loopDelay.percentile(99) / 1e6;
    let unhealthy = false;
    if (state !== 'alive') {
      reasons.push(`membership is ${state}`);
      unhealthy = true;
    }
    if (!status.quorumAvailable) {
      reasons.push(`no quorum: ${status.healthy} of ${status.total} members healthy`);
      unhealthy = true;
    }
    if (loopP99 > EVENT_LOOP_UNHEALTHY_MS) {
      reasons.push(`event loop delay p99 ${loopP99.toFixed(0)} ms`);
      unhealthy = true;
    }
    if (score > 0) reasons.push(`local health score ${score}: this node is slow to answer probes`);
    if (status.suspected > 0) reasons.push(`${status.suspected} member(s) suspected`);
    if (status.down > 0) reasons.push(`${status.down} member(s) down`);
    const refusing = [...this.peers.values()].filter((p) => p.refusal !== null && p.member.state === 'alive');
    if (refusing.length > 0) reasons.push(`data handshake refused with ${refusing.map((p) => `${p.member.nodeId} (${p.refusal})`).join(', ')}`);
    if (unhealthy) this.counters.failedHealthChecks++;
    const peers: Record<string, PeerQualitySnapshot> = {};
    for (const id of this.peers.keys()) {
      const q = this.quality.get(id);
      if (q !== undefined) peers[id] = q.snapshot();
    }
    return {
      healthy: !unhealthy,
      status: unhealthy ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy',
      reasons,
      membership: state,
      quorum: status.quorumAvailable,
      localHealthScore: score,
      eventLoopDelayP99Ms: loopP99,
      peers,
    };
  }

  metrics(): ClusterMetrics {
    const udp = this.membership.stats;
    const c = this.counters;
    const status = this.status();
    let messagesSent = c.closedMessagesOut;
    let messagesReceived = c.closedMessagesIn;
    let bytesSent = c.closedBytesOut;
    let bytesReceived = c.closedBytesIn;
    let rttSum = 0;
    let rttCount = 0;
    let rttP99 = 0;
    for (const connection of this.messenger.transport.connections) {
      const k = connection.counters;
      messagesSent += k.messagesOut;
      messagesReceived += k.messagesIn;
      bytesSent += k.bytesOut;
      bytesReceived += k.bytesIn;
      const rtt = this.messenger.heartbeatOf(connection)?.rtt;
      if (rtt !== undefined && rtt.count > 0) {
        rttSum += rtt.averageMs * rtt.count;
        rttCount += rtt.count;
        rttP99 = Math.max(rttP99, rtt.p99Ms);
      }
    }
    const now = performance.now();
    const bytes = bytesSent + bytesReceived;
    const b = this.lastBandwidth;
    if (now - b.at >= 100) {
      b.rate = ((bytes - b.bytes) * 1000) / (now - b.at);
      b.at = now;
      b.bytes = bytes;
    }
    let dropped = 0;
    for (const v of Object.values(udp.dropped)) dropped += v;
    const r = this.router.stats;
    const pings = udp.messagesOut.SwimPing;
    const failedProbes = this.failedProbes();
    return {
      topology: {
        members: status.total,
        alive: status.healthy,
        suspect: status.suspected,
        failed: status.down,
        pingsSent: pings,
        pingReqsSent: udp.messagesOut.SwimPingReq,
        acksReceived: udp.messagesIn.SwimAck,
        nacksReceived: udp.messagesIn.SwimNack,
        failedProbes,
        suspicions: c.suspicions,
        gossipSent: udp.messagesOut.SwimGossip,
        gossipReceived: udp.messagesIn.SwimGossip,
        topologyChanges: c.topologyChanges,
        partitionsDetected: c.partitionsDetected,
        packetsDropped: dropped,
      },
      communication: {
        messagesSent,
        messagesReceived,
        bytesSent,
        bytesReceived,
        connectionErrors: c.connectionErrors,
        activeConnections: this.messenger.transport.connections.size,
        failedSends: c.failedSends,
        requests: c.requests,
        failedRequests: c.failedRequests,
        broadcasts: c.broadcasts,
        gossipBytesSent: udp.bytesOut,
        gossipBytesReceived: udp.bytesIn,
      },
      failover: {
        failoverEvents: c.failovers,
        transactionRecoveries: c.transactionRecoveries,
        sessionMigrations: c.sessionMigrations,
        rollingRestarts: c.rollingRestarts,
        leaderElections: c.leaderElections,
        term: this.leadership.term,
        isLeader: this.isLeader,
      },
      loadBalancer: {
        routed: r.routed,
        routingFailures: r.failures,
        localityHits: r.localityHits,
        crossDcRoutes: r.crossDcRoutes,
        affinityHits: r.affinityHits,
        hotspots: r.hotspots,
        rebalances: r.rebalances,
      },
      health: {
        checks: c.healthChecks,
        failedChecks: c.failedHealthChecks,
        latencyAvgMs: rttCount === 0 ? 0 : rttSum / rttCount,
        latencyP99Ms: rttP99,
        lossRate: pings === 0 ? 0 : Math.min(1, failedProbes / pings),
        bandwidthBytesPerSec: b.rate,
        localHealthScore: this.membership.swim.healthScore,
      },
    };
  }

  /** The Prometheus text exposition of metrics(). */
  metricsText(): Promise<string> {
    return this.metricsRegistry.metrics();
  }

  // ------------------------------------------------------------ lifecycle

  /** Tells the cluster this node leaves, lets that spread for leaveLingerMs, then stops. */
  async leave(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    await this.membership.leave(this.options.leaveLingerMs);
    await this.stop();
  }

  /** Closes every socket, timer, watcher and worker of the node. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.shutdown();
    return this.stopping;
  }

  // ------------------------------------------------------------ internals

  private async shutdown(): Promise<void> {
    clearInterval(this.maintenance);
    this.leadership.close();
    this.sessions.shutdown();
    this.transactions.close();
    this.loopDelay.disable();
    this.unsubscribeSeeds?.();
    if (!Array.isArray(this.options.seeds)) (this.options.seeds as SeedSource).close();
    const stopped = new NodeStoppedError('join');
    for (const w of this.joinWaiters) w.reject(stopped);
    this.joinWaiters = [];
    for (const p of this.peers.values()) this.dropPool(p, new NodeStoppedError('request'));
    await Promise.allSettled([this.files.close(), this.membership.close(), this.messenger.close()]);
    await this.engine.close();
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.options.logger.info({ node: this.id }, 'clusterwire node stopped');
  }

  private async startSeeds(): Promise<void> {
    const seeds = this.options.seeds;
    if (Array.isArray(seeds)) {
      if (seeds.length > 0) this.join(seeds).catch((e: ClusterwireError) => this.options.logger.warn({ err: e.message }, 'join failed'));
      return;
    }
    const source = seeds as SeedSource;
    // a source that changes while this node has no live peer is joined again
    this.unsubscribeSeeds = source.subscribe(
      (list) => {
        if (!this.stopped && this.aliveMembers().length <= 1 && list.length > 0) this.join(list.map(seedAddress)).catch(() => undefined);
      },
      (error) => this.options.logger.warn({ source: source.name, err: error.message }, 'seed source failed'),
    );
    source.start();
    try {
      const list = await source.resolve();
      if (list.length > 0) this.join(list.map(seedAddress)).catch((e: ClusterwireError) => this.options.logger.warn({ err: e.message }, 'join failed'));
    } catch (error) {
      this.options.logger.warn({ source: source.name, err: (error as Error).message }, 'seed source failed');
    }
  }

  private self(): ClusterMember {
    const view = {
      name: this.id,
      address: this.membership.swim.address,
      host: this.options.advertiseHost,
      port: Number(this.membership.swim.address.slice(this.membership.swim.address.lastIndexOf(':') + 1)),
      incarnation: this.membership.swim.incarnation,
      state: this.stopped ? ('left' as const) : this.membership.swim.state,
      meta: encodeMemberMeta(this.options.metadata, this.dataPort),
      since: 0,
    };
    return clusterMember(view, this.id);
  }

  private onMembership(e: SwimEvent): void {
    this.leadership.membership([e], this.membership.swim.healthScore);
    switch (e.type) {
      case 'member-joined':
      case 'member-alive':
      case 'member-updated':
      case 'member-suspected':
      case 'member-dead':
      case 'member-left':
        this.memberChanged(e);
        break;
      case 'probe-failed':
        this.quality.of(e.node).probe({ kind: 'lost' });
        break;
      case 'probe-relayed':
        this.quality.of(e.node).probe({ kind: 'indirect-ack', via: e.via });
        break;
      case 'probe-acked': {
        this.quality.of(e.node).probe({ kind: 'ack', rttMs: e.rttMs });
        const theirs = decodeCoordinate(e.payload, this.vivaldi.options.dimensions);
        if (theirs !== null) {
          this.coordinates.set(e.node, theirs);
          if (this.vivaldi.observe(e.node, theirs, e.rttMs)) this.membership.swim.setAckPayload(encodeCoordinate(this.vivaldi.coordinate));
        }
        break;
      }
      case 'joined': {
        for (const w of this.joinWaiters) w.resolve();
        this.joinWaiters = [];
        this.options.logger.info({ node: this.id, via: e.via }, 'joined the cluster');
        // a new instance is never being drained: members that routed around an
        // earlier one (the leader restarted last by a rolling restart) route to it again
        const payload = new TextEncoder().encode(JSON.stringify({ node: this.id, on: false }));
        for (const m of this.aliveMembers()) if (!m.self) this.request(m.nodeId, TOPIC_ROUTE_AROUND, payload, { timeoutMs: 5_000 }).catch(() => undefined);
        break;
      }
      case 'join-failed': {
        const waiters = this.joinWaiters;
        this.joinWaiters = [];
        for (const w of waiters) w.reject(new JoinFailedError(w.seeds, e.attempts));
        break;
      }
      case 'broadcast':
        this.local(e.topic, e.payload, 'broadcast', e.origin);
        break;
      default:
        break;
    }
  }

  private memberChanged(e: Extract<SwimEvent, { member: unknown }>): void {
    const member = clusterMember(e.member, this.id);
    const id = member.nodeId;
    let peer = this.peers.get(id);
    if (peer === undefined) {
      peer = { member, pool: null, removed: false, refusal: null, refusedUntil: 0, refusalError: null };
      this.peers.set(id, peer);
    } else {
      if (peer.pool !== null && (peer.pool.peer.host !== member.host || peer.pool.peer.port !== member.dataPort)) {
        this.dropPool(peer, new PeerUnavailableError(id, 'its address changed'));
      }
      peer.member = member;
    }
    if (e.type === 'member-alive' || e.type === 'member-joined') {
      peer.removed = false;
      this.transactions.memberAlive(id);
    }
    let type: ClusterEvent['type'];
    switch (e.type) {
      case 'member-joined':
        type = 'member-joined';
        this.counters.topologyChanges++;
        break;
      case 'member-alive':
        type = 'member-alive';
        this.counters.topologyChanges++;
        break;
      case 'member-suspected':
        type = 'member-suspect';
        this.counters.suspicions++;
        break;
      case 'member-dead':
        type = 'member-failed';
        this.counters.topologyChanges++;
        this.dropPool(peer, new PeerUnavailableError(id, 'declared dead by membership'));
        this.sessions.memberFailed(id);
        this.transactions.memberFailed(id);
        this.failover.memberFailed(id, member.incarnation);
        break;
      case 'member-left':
        type = 'member-left';
        this.counters.topologyChanges++;
        this.dropPool(peer, new PeerUnavailableError(id, 'left the cluster'));
        this.peers.delete(id);
        this.quality.forget(id);
        this.coordinates.delete(id);
        this.vivaldi.forget(id);
        break;
      default:
        type = 'member-updated';
    }
    if (e.type === 'member-left') this.router.removeNode(id);
    else if (!peer.removed) {
      this.router.applyMembership([e]);
      if (this.draining.has(id) || peer.refusal !== null) this.router.setState(id, 'suspect');
    }
    this.options.logger.debug({ node: this.id, member: id, event: type }, 'membership');
    this.publish({ type, member } as ClusterEvent);
    this.checkPartition();
  }

  private checkPartition(): void {
    const s = this.status();
    const reachable = s.total - s.down;
    const partitioned = s.total > 1 && reachable * 2 <= s.total;
    if (partitioned === this.partitioned) return;
    this.partitioned = partitioned;
    if (partitioned) this.counters.partitionsDetected++;
    this.publish({ type: partitioned ? 'partition-detected' : 'partition-healed', reachable, total: s.total });
  }

  private publish(event: ClusterEvent): void {
    const emit = this.emit as (name: string, event: ClusterEvent) => boolean;
    emit.call(this, event.type, event);
    emit.call(this, 'event', event);
    for (const s of this.streams) s.push(event);
  }

  /** A connection to a member: at once when one is open, else a dial; throws (synchronously) what fails fast. */
  private connectionTo(nodeId: string, operation: string): Connection | Promise<Connection> {
    if (this.stopped) throw new NodeStoppedError(operation);
    const peer = this.peers.get(nodeId);
    if (peer === undefined) throw new PeerUnavailableError(nodeId, 'not a member of the cluster');
    const state = peer.member.state;
    if (state === 'dead' || state === 'left') throw new PeerUnavailableError(nodeId, `member is ${state}`);
    if (peer.removed) throw new PeerUnavailableError(nodeId, 'removed from routing');
    if (peer.refusedUntil > performance.now()) {
      // the refusal again, without dialling: the same code the dial gave
      const detail = `refused within the last ${REFUSAL_BACKOFF_MS} ms; not dialled again until then`;
      const last = peer.refusalError;
      throw last instanceof HandshakeRejectedError ? new HandshakeRejectedError(last.reason, detail, last.byPeer) : new PeerUnavailableError(nodeId, `its data handshake was refused (${peer.refusal}); ${detail}`);
    }
    const pool = this.poolOf(peer);
    return pool.size > 0 ? pool.acquire() : pool.connection();
  }

  private poolOf(peer: Peer): ConnectionPool {
    if (peer.pool !== null) return peer.pool;
    const { nodeId, host, dataPort } = peer.member;
    if (dataPort === 0) throw new PeerUnavailableError(nodeId, 'its metadata names no data port');
    const pool = new ConnectionPool(this.messenger.transport, { nodeId, host, port: dataPort }, { minConnections: 1, maxConnections: 1, healthCheckIntervalMs: 0 });
    peer.pool = pool;
    pool.start();
    return pool;
  }

  /** A Raft message to a member, now, on an open connection; false (and a dial started) when there is none. */
  private sendRaft(to: string, message: RaftMessage): boolean {
    return this.sendBestEffort(to, message);
  }

  /** A protocol message whose core retransmits: sent now on an open connection, else dropped while a dial starts. */
  private sendBestEffort(to: string, message: RaftMessage | TxMessage): boolean {
    const peer = this.peers.get(to);
    if (this.stopped || peer === undefined || peer.removed || peer.member.state === 'dead' || peer.member.state === 'left') return false;
    if (peer.refusedUntil > performance.now()) return false;
    try {
      const pool = this.poolOf(peer);
      if (pool.size === 0) {
        pool.connection().catch(() => undefined);
        return false;
      }
      pool.acquire().send(message, { priority: CRITICAL });
      return true;
    } catch (error) {
      if (error instanceof ClusterwireError) return false;
      throw error;
    }
  }

  private onTransaction(e: TxEvent): void {
    switch (e.type) {
      case 'recovered':
        this.counters.transactionRecoveries++;
        this.options.logger.info({ node: this.id, tx: e.txId, coordinator: e.coordinator, outcome: e.outcome }, 'transaction recovered');
        this.publish({ type: 'transaction-recovered', txId: e.txId, coordinator: e.coordinator, outcome: e.outcome });
        break;
      case 'recovery-blocked':
        this.options.logger.warn({ node: this.id, tx: e.txId, coordinator: e.coordinator }, 'transaction blocked until its coordinator returns');
        this.publish({ type: 'transaction-blocked', txId: e.txId, coordinator: e.coordinator });
        break;
      default:
        break;
    }
  }

  private onRaft(e: RaftEvent): void {
    if (e.type === 'leader-changed') {
      if (e.leader !== null) this.counters.leaderElections++;
      this.options.logger.info({ node: this.id, leader: e.leader, term: e.term }, 'leader changed');
      this.publish({ type: 'leader-changed', leader: e.leader, term: e.term });
      this.transactions.setLeader(e.leader);
      if (e.leader === this.id) this.failover.becameLeader();
    } else if (e.type === 'role-changed') {
      this.options.logger.debug({ node: this.id, role: e.role, term: e.term, reason: e.reason }, 'raft role');
    }
  }

  private dropPool(peer: Peer, reason: ClusterwireError): void {
    const pool = peer.pool;
    if (pool === null) return;
    peer.pool = null;
    pool.stop();
    // requests in flight on the peer's connections, dialled or accepted, fail now
    for (const c of this.messenger.transport.connections) if (c.session?.peerNodeId === peer.member.nodeId) c.destroy(reason);
  }

  private connectionClosed(connection: Connection, error: ClusterwireError | null): void {
    const k = connection.counters;
    const c = this.counters;
    c.closedMessagesIn += k.messagesIn;
    c.closedMessagesOut += k.messagesOut;
    c.closedBytesIn += k.bytesIn;
    c.closedBytesOut += k.bytesOut;
    if (error !== null) c.connectionErrors++;
    if (error !== null && connection.session === null) {
      const reason = refusalReason(error);
      if (reason !== null) {
        this.logRefusal(connection, error, reason);
        this.refused(connection.peerName(), reason, error);
      }
    }
  }

  /**
   * A member whose data handshake was refused (a wrong secret, CA, cluster or
   * clock, on either side) is routed around and fails fast for
   * REFUSAL_BACKOFF_MS, then dialled again; a handshake that completes clears it.
   */
  private refused(nodeId: string, reason: string, error: ClusterwireError): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return;
    peer.refusal = reason;
    peer.refusalError = error;
    peer.refusedUntil = performance.now() + REFUSAL_BACKOFF_MS;
    if (!peer.removed) this.router.setState(nodeId, 'suspect');
  }

  private connectionEstablished(nodeId: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined || peer.refusal === null) return;
    peer.refusal = null;
    peer.refusalError = null;
    peer.refusedUntil = 0;
    if (!peer.removed && !this.draining.has(nodeId) && peer.member.state === 'alive') this.router.setState(nodeId, 'alive');
  }

  /** A data connection that failed before its handshake completed: a refusal (by either side, or by TLS) is a warning naming the reason. */
  private logRefusal(connection: Connection, error: ClusterwireError, reason: string): void {
    const byPeer = error instanceof HandshakeRejectedError && error.byPeer;
    // one line per peer and reason every 10 s, saying how many were held back
    const peer = connection.peerName();
    const key = `${peer}\u0000${reason}\u0000${byPeer}`;
    const now = performance.now();
    const last = this.loggedRefusals.get(key);
    if (last !== undefined && now - last.at < 10_000) {
      last.suppressed++;
      return;
    }
    if (this.loggedRefusals.size >= 1_024) this.loggedRefusals.clear();
    this.loggedRefusals.set(key, { at: now, suppressed: 0 });
    this.options.logger.warn({ node: this.id, peer, reason, byPeer, err: error.message, ...(last !== undefined && last.suppressed > 0 ? { suppressed: last.suppressed } : {}) }, 'handshake refused');
  }

  /** Membership packets that failed to open or parse (a gossip key or cluster name that differs, a corrupt sender): a warning with the counts by reason, at most every 10 s. */
  private logDrops(now: number): void {
    if (now - this.loggedDrops.at < 10_000) return;
    const dropped = this.membership.stats.dropped as Record<string, number>;
    const fresh: Record<string, number> = {};
    for (const [problem, n] of Object.entries(dropped)) if (n > (this.loggedDrops.dropped[problem] ?? 0)) fresh[problem] = n - (this.loggedDrops.dropped[problem] ?? 0);
    if (Object.keys(fresh).length === 0) return;
    this.loggedDrops = { at: now, dropped: { ...dropped } };
    this.options.logger.warn({ node: this.id, dropped: fresh }, 'membership packets dropped');
  }

  private dispatch(m: Incoming, handler: ClusterHandler): Uint8Array | void | Promise<Uint8Array | void> {
    return handler({ topic: m.topic, payload: m.payload, from: m.from, kind: m.envelope.body.type === 'Request' ? 'request' : 'message' });
  }

  /** Routes around a member (rolling restart) or back to it, on this node. */
  private routeAround(nodeId: string, on: boolean): void {
    if (on) {
      this.draining.add(nodeId);
      if (nodeId !== this.id) this.router.setState(nodeId, 'suspect');
      // copies it held for this node's sessions are made again elsewhere
      this.sessions.memberFailed(nodeId);
    } else {
      this.draining.delete(nodeId);
      if (nodeId === this.id || (this.member(nodeId)?.state === 'alive' && this.peers.get(nodeId)?.refusal == null)) this.router.setState(nodeId, 'alive');
    }
  }

  private async announceRouteAround(nodeId: string, on: boolean): Promise<void> {
    this.routeAround(nodeId, on);
    const payload = new TextEncoder().encode(JSON.stringify({ node: nodeId, on }));
    const others = this.aliveMembers().filter((m) => !m.self && (m.nodeId !== nodeId || !on));
    await Promise.all(others.map((m) => this.request(m.nodeId, TOPIC_ROUTE_AROUND, payload, { timeoutMs: 5_000 }).catch(() => undefined)));
  }

  private async requestJson<T>(nodeId: string, topic: string, what: string): Promise<T> {
    const reply = await this.request(nodeId, topic, new Uint8Array(0), { timeoutMs: 10_000 });
    try {
      return JSON.parse(new TextDecoder().decode(reply)) as T;
    } catch {
      throw new InvalidMessageError(what, 'malformed reply');
    }
  }

  /** Waits until `nodeId` answers as an instance other than `previous`, healthy and alive in this node's view. */
  private async waitForNewInstance(nodeId: string, previous: string | null, timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end && !this.stopped) {
      if (this.member(nodeId)?.state === 'alive') {
        const h = await this.requestJson<{ instance: string; healthy: boolean }>(nodeId, TOPIC_HEALTH, 'health').catch(() => null);
        if (h !== null && h.instance !== previous && h.healthy) return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** Registers a handler of the node's own (a cw.* topic). */
  private serveInternal(topic: string, handler: ClusterHandler): void {
    this.handlers.set(topic, handler);
    this.messenger.handle(topic, (m) => this.dispatch(m, handler));
  }

  /** Delivers a message addressed to this node (or a gossip broadcast) to its handler. */
  private local(topic: string, payload: Uint8Array, kind: 'message' | 'broadcast', from = this.id): void {
    const handler = this.handlers.get(topic);
    if (handler === undefined) return;
    try {
      const result = handler({ topic, payload, from, kind });
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      // a one-way message has no one to tell
    }
  }

  private checkPayload(payload: Uint8Array): void {
    if (!(payload instanceof Uint8Array)) throw new InvalidMessageError('payload', 'expected a Uint8Array');
    if (payload.length > this.options.limits.maxPayloadBytes) {
      throw new InvalidMessageError('payload', `${payload.length} bytes exceeds limits.maxPayloadBytes (${this.options.limits.maxPayloadBytes})`);
    }
  }

  private failedProbes(): number {
    let n = 0;
    for (const p of this.membership.registry.list()) n += p.missedProbes;
    return n;
  }

  /** Once a second: round trips into routing (heartbeat average, else the coordinate estimate), hot nodes and sessions re-read. */
  private maintain(): void {
    if (this.stopped) return;
    const now = performance.now();
    this.router.tick(now);
    this.logDrops(now);
    for (const peer of this.peers.values()) {
      if (peer.removed || peer.member.state !== 'alive' || this.draining.has(peer.member.nodeId)) continue;
      if (peer.refusal !== null) {
        // a refused member is tried again once its backoff is over: a fixed configuration readmits it
        if (peer.refusedUntil <= now && peer.member.dataPort !== 0) this.poolOf(peer).connection().catch(() => undefined);
        continue;
      }
      const hb = peer.pool !== null && peer.pool.size > 0 ? this.messenger.heartbeatOf(peer.pool.acquire()) : null;
      const latency = hb !== null && hb.rtt.count > 0 ? hb.rtt.averageMs : this.estimateRttMs(peer.member.nodeId);
      if (latency !== undefined && Number.isFinite(latency)) this.router.setLatency(peer.member.nodeId, Math.max(0, latency));
    }
  }
}
