// The membership adapter for real networks: binds a Swim core to a UDP
// socket (probes and gossip, several messages per datagram) and a TCP
// listener on the same port (push-pull and the probe fallback), with real
// timers and a monotonic clock. All protocol decisions stay in the core; this
// file only moves bytes and time.
//
//   const m = await UdpMembership.start({ cluster: 'prod', swim: { name: 'a', host: '10.0.0.5', port: 7946 } });
//   m.on('event', (e) => ...);  m.join(['10.0.0.6:7946']);
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { InvalidConfigError } from '../../shared/errors.js';
import type { SwimEvent, SwimStep } from './events.js';
import { Keyring } from './keyring.js';
import type { MemberView } from './member.js';
import type { Send, SwimMessageType } from './messages.js';
import type { SwimOptionsInput } from './options.js';
import { encodeSwimMessage, PacketCodec, PacketError, packetBytes, SEAL_OVERHEAD_BYTES, type PacketProblem } from './packet-codec.js';
import { PeerRegistry } from './peer-registry.js';
import { Sfc32 } from '../simulator/prng.js';
import { Swim } from './swim.js';

export interface UdpMembershipOptions {
  /** Member options; `host` and `port` are the advertised address (UDP and TCP). */
  readonly swim: SwimOptionsInput;
  /** Cluster name: authenticated in every sealed packet. */
  readonly cluster: string;
  /** Address to bind (default: swim.host). */
  readonly bindHost?: string;
  /** AES-256-GCM keys (32 bytes each), primary first; omitted = plain packets. */
  readonly keys?: readonly Uint8Array[];
  /** Largest accepted stream packet (default 16 MiB). */
  readonly maxStreamPacketBytes?: number;
}

export interface UdpMembershipStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  streamsIn: number;
  streamsOut: number;
  streamErrors: number;
  /** Packets dropped because they failed to open or parse, by reason. */
  dropped: Record<PacketProblem, number>;
  /** Protocol messages sent and received, by type (several may share one packet). */
  messagesOut: Record<SwimMessageType, number>;
  messagesIn: Record<SwimMessageType, number>;
}

function messageCounts(): Record<SwimMessageType, number> {
  return { SwimPing: 0, SwimPingReq: 0, SwimAck: 0, SwimNack: 0, SwimGossip: 0, SwimPushPull: 0 };
}

type Events = { event: [SwimEvent] };

export class UdpMembership extends EventEmitter<Events> {
  readonly swim: Swim;
  readonly registry = new PeerRegistry();
  readonly keyring: Keyring | null;
  readonly stats: UdpMembershipStats = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    streamsIn: 0,
    streamsOut: 0,
    streamErrors: 0,
    dropped: { version: 0, flags: 0, sealed: 0, 'not-sealed': 0, decrypt: 0, truncated: 0, envelope: 0, body: 0 },
    messagesOut: messageCounts(),
    messagesIn: messageCounts(),
  };
  private readonly codec: PacketCodec;
  private readonly budget: number;
  private readonly maxStream: number;
  private timer: NodeJS.Timeout | null = null;
  private messageId = 1;
  private closed = false;

  private constructor(
    opts: UdpMembershipOptions,
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
  ) {
    super();
    if (typeof opts.cluster !== 'string' || opts.cluster.length === 0) throw new InvalidConfigError('cluster', 'expected a non-empty string');
    this.keyring = opts.keys === undefined ? null : new Keyring(opts.keys);
    this.swim = new Swim(opts.swim, { rng: new Sfc32(crypto.randomInt(2 ** 31), crypto.randomInt(2 ** 31)), now: performance.now() });
    this.codec = new PacketCodec(opts.cluster, this.swim.address, this.keyring);
    this.budget = this.swim.options.maxPacketBytes - (this.keyring === null ? 0 : SEAL_OVERHEAD_BYTES);
    this.maxStream = opts.maxStreamPacketBytes ?? 16 * 1024 * 1024;
    udp.on('message', (bytes) => this.onPacket(bytes));
    tcp.on('connection', (socket) => this.onStream(socket));
  }

  /** Binds UDP and TCP on the advertised port and starts the protocol. */
  static async start(opts: UdpMembershipOptions): Promise<UdpMembership> {
    const host = opts.bindHost ?? opts.swim.host ?? '127.0.0.1';
    const port = opts.swim.port ?? 7946;
    // port 0: UDP takes any free port and TCP must get the same number; when
    // TCP finds it taken, both try again on another
    for (let attempt = 1; ; attempt++) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const bound = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(bound, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        await new Promise<void>((r) => udp.close(() => r()));
        if (port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
        throw e;
      }
      udp.on('error', () => {});
      const m = new UdpMembership(port === bound ? opts : { ...opts, swim: { ...opts.swim, port: bound } }, udp, tcp);
      m.arm();
      return m;
    }
  }

  /** Joins through seed addresses ("host:port"). */
  join(seeds: readonly string[]): void {
    this.perform(this.swim.join(seeds, performance.now()));
  }

  /** Disseminates a user broadcast. */
  broadcast(topic: string, payload: Uint8Array): void {
    this.perform(this.swim.broadcast(topic, payload, performance.now()));
  }

  setMeta(meta: Uint8Array): void {
    this.perform(this.swim.setMeta(meta));
  }

  members(): MemberView[] {
    return this.swim.members();
  }

  /** Leaves gracefully, lets the news spread for `lingerMs`, then closes. */
  async leave(lingerMs = 1_000): Promise<void> {
    this.perform(this.swim.leave(performance.now()));
    await new Promise((r) => setTimeout(r, lingerMs));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }

  // ------------------------------------------------------------ driving

  private arm(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const d = this.swim.nextDeadline();
    if (d === Infinity) {
      this.timer = null;
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.perform(this.swim.tick(performance.now()));
    }, Math.max(0, Math.ceil(d - performance.now())));
  }

  private onPacket(bytes: Buffer): void {
    if (this.closed) return;
    this.stats.packetsIn++;
    this.stats.bytesIn += bytes.length;
    this.deliver(bytes, 'packet');
  }

  private deliver(bytes: Uint8Array, channel: 'packet' | 'stream'): void {
    let packet;
    try {
      packet = this.codec.decode(bytes);
    } catch (e) {
      if (e instanceof PacketError) {
        this.stats.dropped[e.problem]++;
        return;
      }
      throw e;
    }
    if (packet.messages.length > 0) this.registry.recordIn(packet.messages[0].source, bytes.length, Date.now());
    for (const m of packet.messages) {
      this.stats.messagesIn[m.type]++;
      this.perform(this.swim.receive(packet.from, m, performance.now(), channel), false);
    }
    this.arm();
  }

  private onStream(socket: net.Socket): void {
    this.stats.streamsIn++;
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > this.maxStream) {
          this.stats.dropped.truncated++;
          socket.destroy();
          return;
        }
        if (buf.length < 4 + len) break;
        const packet = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (!this.closed) this.deliver(packet, 'stream');
      }
    });
    socket.on('error', () => {
      this.stats.streamErrors++;
    });
  }

  /** Performs one step: emits its events, sends its messages (compound packets per destination). */
  private perform(step: SwimStep, rearm = true): void {
    if (this.closed) return;
    if (step.events.length > 0) {
      const events = [...step.events];
      this.registry.apply(events, Date.now());
      for (const e of events) this.emit('event', e);
    }
    if (step.sends.length > 0) {
      const packets = new Map<string, Uint8Array[]>();
      const streams = new Map<string, Uint8Array[]>();
      for (const s of step.sends) {
        this.stats.messagesOut[s.message.type]++;
        const target = s.channel === 'packet' ? packets : streams;
        let list = target.get(s.to);
        if (list === undefined) target.set(s.to, (list = []));
        list.push(this.envelope(s));
      }
      for (const [to, envelopes] of packets) this.sendPackets(to, envelopes);
      for (const [to, envelopes] of streams) this.sendStream(to, envelopes);
    }
    if (rearm) this.arm();
  }

  private envelope(s: Send): Uint8Array {
    const id = this.messageId;
    this.messageId = this.messageId >= Number.MAX_SAFE_INTEGER ? 1 : this.messageId + 1;
    return encodeSwimMessage(s.message, id);
  }

  private sendPackets(to: string, envelopes: Uint8Array[]): void {
    const { host, port } = splitAddress(to);
    const from = this.swim.address;
    let batch: Uint8Array[] = [];
    const flush = (): void => {
      if (batch.length === 0) return;
      const packet = this.codec.encode(batch);
      this.stats.packetsOut++;
      this.stats.bytesOut += packet.length;
      this.udp.send(packet, port, host);
      batch = [];
    };
    for (const e of envelopes) {
      if (batch.length > 0 && (batch.length === 255 || packetBytes(from, [...batch, e]) > this.budget)) flush();
      batch.push(e);
    }
    flush();
  }

  private sendStream(to: string, envelopes: Uint8Array[]): void {
    const { host, port } = splitAddress(to);
    this.stats.streamsOut++;
    const socket = net.connect(port, host);
    socket.on('error', () => {
      this.stats.streamErrors++;
    });
    socket.setTimeout(10_000, () => socket.destroy());
    for (const e of envelopes) {
      const packet = this.codec.encode([e]);
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(packet.length, 0);
      socket.write(len);
      socket.write(packet);
      this.stats.bytesOut += packet.length + 4;
    }
    socket.end();
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(address.slice(i + 1)) };
}
