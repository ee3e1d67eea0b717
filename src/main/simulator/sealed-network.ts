// Encrypted membership traffic in the simulator: every simulated node has its
// own Keyring and a PacketCodec, the same ones the UDP adapter uses. A message
// leaves its sender as a sealed packet (encoded with the schema, AES-256-GCM
// with the sender's primary key, the cluster name as authenticated data) and
// the receiver opens it with the keys it holds when the packet is delivered,
// so a key rotation done in the wrong order drops packets exactly as it would
// on a real network, and the failure detector sees the silence.
//
//   install(k2) everywhere -> use(k2) everywhere -> remove(k1) everywhere   no drops
//   use(k2) somewhere before k2 is installed everywhere                    drops
//   remove(k1) somewhere before use(k2) is done everywhere                 drops
//
// The nonce is random (as on the network); whether a packet opens depends only
// on the keys, so a seeded run stays reproducible.
import { Keyring } from '../membership/keyring.js';
import type { SwimMessage } from '../membership/messages.js';
import { encodeSwimMessage, PacketCodec, PacketError, type PacketProblem } from '../membership/packet-codec.js';

export class SealedNetwork {
  private readonly keyrings: Keyring[] = [];
  private readonly codecs: PacketCodec[] = [];
  private messageId = 0;
  /** Packets dropped because the receiver could not open or parse them, by reason. */
  readonly rejected: Record<PacketProblem, number> = { version: 0, flags: 0, sealed: 0, 'not-sealed': 0, decrypt: 0, truncated: 0, envelope: 0, body: 0 };

  /**
   * @param cluster authenticated with every packet
   * @param addresses each node's address ("host:port"), by node index
   * @param keys every node's initial keys, primary first
   */
  constructor(cluster: string, addresses: readonly string[], keys: readonly Uint8Array[]) {
    for (const address of addresses) {
      const keyring = new Keyring(keys);
      this.keyrings.push(keyring);
      this.codecs.push(new PacketCodec(cluster, address, keyring));
    }
  }

  /** Node `node`'s keyring: install, use and remove keys on it as an operator would. */
  keyring(node: number): Keyring {
    return this.keyrings[node];
  }

  /** `message` from node `from` as the packet that goes on the wire. */
  seal(from: number, message: SwimMessage): Uint8Array {
    this.messageId = this.messageId >= Number.MAX_SAFE_INTEGER ? 1 : this.messageId + 1;
    return this.codecs[from].encode([encodeSwimMessage(message, this.messageId)]);
  }

  /** Opens a packet at node `to` with the keys it holds now; null (and counted) when it must be dropped. */
  open(to: number, packet: Uint8Array): readonly SwimMessage[] | null {
    try {
      return this.codecs[to].decode(packet).messages;
    } catch (e) {
      if (!(e instanceof PacketError)) throw e;
      this.rejected[e.problem]++;
      return null;
    }
  }

  /** Every packet dropped so far. */
  get rejectedTotal(): number {
    let n = 0;
    for (const v of Object.values(this.rejected)) n += v;
    return n;
  }
}
