// The transport: listens and dials over TCP or TLS 1.3, runs the handshake on
// every connection and hands established connections their messages.
//
// With TLS, both sides present certificates from the configured CA (mutual
// authentication; a peer without one is refused by TLS itself), and the
// certificate's subject CN is the node id: the handshake then requires the
// peer to announce exactly that id (node_id_mismatch otherwise), so a node
// cannot claim another's identity with its own valid certificate. The
// certificate's OU, when present, is the peer's role (for authorization).
//
// Limits: at most maxConnections connections, and at most
// maxUnauthenticated accepted connections still in their handshake; a
// connection past either limit is closed on accept.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { ClusterwireError, InvalidConfigError, PeerUnavailableError } from '../../shared/errors.js';
import { HandshakeAcceptor, createReplayCache } from './handshake-acceptor.js';
import { HandshakeInitiator } from './handshake-initiator.js';
import { resolveHandshakeOptions, withFeature, type HandshakeOptions, type HandshakeOptionsInput } from './handshake-options.js';
import { FEATURE_CHECKSUM_RUNS } from '../../shared/frame.js';
import type { HandshakeDeps, HandshakeSession } from './handshake.js';
import type { NonceCache } from './nonce-cache.js';
import { Connection, counterFrom, type ConnectionHandlers, type MessageIds } from './connection.js';
import { resolveConnectionOptions, type ConnectionOptions, type ConnectionOptionsInput } from './connection-options.js';

export interface TlsOptions {
  /** PEM private key and certificate of this node (CN = node id). */
  key: string | Buffer;
  cert: string | Buffer;
  /** PEM of the CA that signs every node's certificate. */
  ca: string | Buffer;
}

export interface TransportOptionsInput extends HandshakeOptionsInput {
  connection?: ConnectionOptionsInput;
  tls?: TlsOptions | null;
  /** Default 1024. */
  maxConnections?: number;
  /** Accepted connections still in their handshake. Default 64. */
  maxUnauthenticated?: number;
}

export interface TransportHandlers {
  onMessage: ConnectionHandlers['onMessage'];
  /** A connection (accepted or dialled) completed its handshake. */
  onEstablished?(connection: Connection, session: HandshakeSession): void;
  onClose?(connection: Connection, error: ClusterwireError | null): void;
  /** The peer opened a stream on one of the connections (see stream.ts); without it such streams are refused. */
  onStream?: ConnectionHandlers['onStream'];
}

/** The 53-bit number of a node id, carried as the envelope header's sender. */
export function nodeNumber(nodeId: string): number {
  const digest = crypto.createHash('sha256').update(nodeId).digest();
  return (digest.readUInt32BE(0) & 0x1f_ffff) * 0x1_0000_0000 + digest.readUInt32BE(4);
}

const PRODUCTION_DEPS: HandshakeDeps = {
  now: () => performance.now(),
  wallClock: () => Date.now(),
  randomBytes: (n) => crypto.randomBytes(n),
};

export class Transport {
  readonly handshake: HandshakeOptions;
  readonly connectionOptions: ConnectionOptions;
  readonly connections = new Set<Connection>();
  readonly sender: number;
  /**
   * One message id sequence for every connection of this node, starting at a
   * random point below 2^52: ids do not repeat across connections, and a
   * restarted node does not reuse the ids its peers still remember (request
   * dedupe is keyed by sender and id).
   */
  readonly messageIds: MessageIds;
  private readonly tls: TlsOptions | null;
  private readonly maxConnections: number;
  private readonly maxUnauthenticated: number;
  private readonly replayCache: NonceCache;
  private server: net.Server | null = null;
  private unauthenticated = 0;
  /** Connections refused on accept because of a limit. */
  refused = 0;

  constructor(
    options: TransportOptionsInput,
    private readonly handlers: TransportHandlers,
    private readonly deps: HandshakeDeps = PRODUCTION_DEPS,
  ) {
    this.tls = options.tls ?? null;
    // Under TLS the record layer authenticates every byte: frames go without
    // the CRC-32 trailer unless the options ask for it (a trailer that is
    // there is still checked).
    this.connectionOptions = resolveConnectionOptions(this.tls === null ? options.connection : { checksum: false, requireChecksum: false, ...options.connection });
    // Every connection reads checksum runs (frame.ts); the announcement lets
    // peers send them. The frame size announced is what the connections'
    // decoders take, or less when the handshake options say so.
    this.handshake = withFeature(
      resolveHandshakeOptions({ ...options, maxFrameBytes: Math.min(options.maxFrameBytes ?? this.connectionOptions.maxFrameBytes, this.connectionOptions.maxFrameBytes) }),
      FEATURE_CHECKSUM_RUNS,
    );
    this.maxConnections = limit('maxConnections', options.maxConnections ?? 1024);
    this.maxUnauthenticated = limit('maxUnauthenticated', options.maxUnauthenticated ?? 64);
    this.replayCache = createReplayCache(this.handshake);
    this.sender = nodeNumber(this.handshake.nodeId);
    const start = this.deps.randomBytes(6);
    this.messageIds = counterFrom(1 + (((start[0] & 0x0f) * 2 ** 40 + start[1] * 2 ** 32 + ((start[2] << 24) >>> 0) + (start[3] << 16) + (start[4] << 8) + start[5])));
  }

  /** Starts accepting connections; resolves with the bound address. */
  async listen(port = 0, host = '127.0.0.1'): Promise<net.AddressInfo> {
    if (this.server !== null) throw new InvalidConfigError('listen', 'already listening');
    const server = this.tls
      ? tls.createServer({ ...this.tlsContext(), requestCert: true, rejectUnauthorized: true }, (socket) => this.accept(socket))
      : net.createServer((socket) => this.accept(socket));
    server.on('tlsClientError', () => {
      this.refused++;
    });
    this.server = server;
    server.listen({ port, host, exclusive: true });
    await once(server, 'listening');
    return server.address() as net.AddressInfo;
  }

  /** Dials a peer; resolves once the handshake is established. */
  connect(host: string, port: number, expect: { nodeId?: string } = {}): Promise<Connection> {
    if (this.connections.size >= this.maxConnections) {
      return Promise.reject(new PeerUnavailableError(expect.nodeId ?? `${host}:${port}`, `connection limit of ${this.maxConnections} reached`));
    }
    const socket = this.tls
      ? tls.connect({
          host,
          port,
          ...this.tlsContext(),
          servername: undefined,
          checkServerIdentity: (_host, cert) => (expect.nodeId !== undefined && cert.subject?.CN !== expect.nodeId ? new Error(`certificate is for ${String(cert.subject?.CN)}, not ${expect.nodeId}`) : undefined),
        })
      : net.connect({ host, port });
    return new Promise((resolve, reject) => {
      const initiator = new HandshakeInitiator(this.handshake, this.deps);
      let settled = false;
      const connection = new Connection(
        socket,
        initiator,
        this.sender,
        this.connectionOptions,
        {
          onMessage: this.handlers.onMessage,
          onStream: this.handlers.onStream,
          onEstablished: (c, session) => {
            settled = true;
            this.handlers.onEstablished?.(c, session);
            resolve(c);
          },
          onClose: (c, error) => {
            this.connections.delete(c);
            if (!settled) {
              settled = true;
              reject(error ?? new PeerUnavailableError(expect.nodeId ?? `${host}:${port}`, 'closed before the handshake'));
            }
            this.handlers.onClose?.(c, error);
          },
        },
        true,
        expect,
        this.messageIds,
      );
      this.connections.add(connection);
    });
  }

  /** Closes the listener and every connection; resolves when all are gone. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    // 'close' only: a socket that errors while closing (a reset peer) still closes
    const closing = [...this.connections].map((c) =>
      c.state === 'closed' || c.state === 'failed' || c.socket.destroyed ? null : new Promise<void>((resolve) => c.socket.once('close', () => resolve())),
    );
    for (const c of this.connections) c.close();
    if (server !== null) {
      server.close();
      await once(server, 'close');
    }
    const timeout = setTimeout(() => {
      for (const c of this.connections) c.socket.destroy();
    }, 2000);
    await Promise.all(closing);
    clearTimeout(timeout);
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.maxConnections || this.unauthenticated >= this.maxUnauthenticated) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.unauthenticated++;
    let counted = true;
    const uncount = () => {
      if (counted) {
        counted = false;
        this.unauthenticated--;
      }
    };
    const acceptor = new HandshakeAcceptor(this.handshake, { ...this.deps, replayCache: this.replayCache });
    const connection = new Connection(
      socket,
      acceptor,
      this.sender,
      this.connectionOptions,
      {
        onMessage: this.handlers.onMessage,
        onStream: this.handlers.onStream,
        onEstablished: (c, session) => {
          uncount();
          this.handlers.onEstablished?.(c, session);
        },
        onClose: (c, error) => {
          uncount();
          this.connections.delete(c);
          this.handlers.onClose?.(c, error);
        },
      },
      false,
      {},
      this.messageIds,
    );
    this.connections.add(connection);
  }

  private tlsContext(): tls.SecureContextOptions {
    const t = this.tls!;
    return { key: t.key, cert: t.cert, ca: t.ca, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
  }
}

function limit(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new InvalidConfigError(name, `expected a positive integer, got ${String(v)}`);
  return v;
}
