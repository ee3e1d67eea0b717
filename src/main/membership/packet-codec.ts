// Membership packets: several SWIM messages in one datagram (a compound
// packet), optionally sealed with AES-256-GCM. The same packets travel on
// the stream transport, length-prefixed.
//
//   packet  = u8 version (1) | u8 flags | body
//   flags   bit 0: sealed; bit 1: wide (u32 message lengths)
//   plain   = u8 address length | sender address ("host:port", UTF-8)
//             | u8 count | (u16 length | Envelope)*count       (big-endian)
//             (wide: u32 lengths; only stream packets, where a push-pull of
//             a large cluster's state outgrows 64 KiB, are ever wide)
//   sealed  = 12-byte nonce | AES-256-GCM(plain) | 16-byte tag
//             authenticated data: version | flags | cluster name
//
// Each Envelope is the schema's (src/shared/envelope) with a SWIM body. A
// packet that fails to open or parse is rejected whole (PacketError); the
// caller counts and drops it.
import crypto from 'node:crypto';
import { MalformedEnvelopeError } from '../../shared/errors.js';
import { encodeEnvelope, readEnvelope } from '../../shared/envelope/index.js';
import type { SwimMessage } from './messages.js';
import type { Keyring } from './keyring.js';

export const PACKET_VERSION = 1;
const FLAG_SEALED = 1;
const FLAG_WIDE = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed packet adds to a plain one. */
export const SEAL_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;
const SWIM_BODIES = new Set(['SwimPing', 'SwimPingReq', 'SwimAck', 'SwimNack', 'SwimGossip', 'SwimPushPull']);

export type PacketProblem = 'version' | 'flags' | 'sealed' | 'not-sealed' | 'decrypt' | 'truncated' | 'envelope' | 'body';

/** Why a received packet was dropped. */
export class PacketError extends Error {
  constructor(readonly problem: PacketProblem, detail: string) {
    super(`membership packet rejected (${problem}): ${detail}`);
    this.name = 'PacketError';
  }
}

export interface DecodedPacket {
  readonly from: string;
  readonly messages: SwimMessage[];
}

/** Encodes one message as envelope bytes (what a packet carries). */
export function encodeSwimMessage(message: SwimMessage, messageId: number): Uint8Array {
  return encodeEnvelope({ header: { messageId, correlationId: 0, sender: 0, timestampUs: 0, streamId: 0, priority: 0 }, body: message });
}

/** Bytes a packet holding `envelopes` takes, before sealing. */
export function packetBytes(from: string, envelopes: readonly Uint8Array[]): number {
  let n = 2 + 1 + Buffer.byteLength(from) + 1;
  for (const e of envelopes) n += 2 + e.length;
  return n;
}

export class PacketCodec {
  private readonly cluster: Buffer;
  private readonly from: Buffer;

  /**
   * @param cluster the cluster name, authenticated with every sealed packet
   * @param from this node's address, carried in every packet
   * @param keyring null: packets go out plain and sealed ones are refused
   */
  constructor(
    cluster: string,
    from: string,
    readonly keyring: Keyring | null,
  ) {
    this.cluster = Buffer.from(cluster, 'utf8');
    this.from = Buffer.from(from, 'utf8');
    if (this.from.length > 255) throw new MalformedEnvelopeError('sender address longer than 255 bytes');
  }

  /** One packet holding `envelopes` (at most 255; an envelope of 64 KiB or more makes a wide packet). */
  encode(envelopes: readonly Uint8Array[]): Uint8Array {
    const wide = envelopes.some((e) => e.length > 0xffff);
    const lengthBytes = wide ? 4 : 2;
    let n = 1 + this.from.length + 1;
    for (const e of envelopes) n += lengthBytes + e.length;
    const plain = Buffer.allocUnsafe(n);
    let at = 0;
    plain[at++] = this.from.length;
    this.from.copy(plain, at);
    at += this.from.length;
    plain[at++] = envelopes.length;
    for (const e of envelopes) {
      if (wide) plain.writeUInt32BE(e.length, at);
      else plain.writeUInt16BE(e.length, at);
      plain.set(e, at + lengthBytes);
      at += lengthBytes + e.length;
    }
    const layout = wide ? FLAG_WIDE : 0;
    if (this.keyring === null) return Buffer.concat([Buffer.from([PACKET_VERSION, layout]), plain]);
    const flags = FLAG_SEALED | layout;
    const nonce = crypto.randomBytes(NONCE_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.keyring.primary, nonce);
    cipher.setAAD(this.aad(flags));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([PACKET_VERSION, flags]), nonce, body, cipher.getAuthTag()]);
  }

  /** What a sealed packet authenticates besides its contents: version, flags, cluster name. */
  private aad(flags: number): Buffer {
    return Buffer.concat([Buffer.from([PACKET_VERSION, flags]), this.cluster]);
  }

  /** Opens and parses a received packet; throws PacketError when it must be dropped. */
  decode(bytes: Uint8Array): DecodedPacket {
    if (bytes.length < 2) throw new PacketError('truncated', `${bytes.length} bytes`);
    if (bytes[0] !== PACKET_VERSION) throw new PacketError('version', `version ${bytes[0]}`);
    const flags = bytes[1];
    if ((flags & ~(FLAG_SEALED | FLAG_WIDE)) !== 0) throw new PacketError('flags', `flags 0x${flags.toString(16)}`);
    let plain: Uint8Array;
    if ((flags & FLAG_SEALED) !== 0) {
      if (this.keyring === null) throw new PacketError('sealed', 'sealed packet, but no keyring is configured');
      plain = this.open(bytes, flags);
    } else {
      if (this.keyring !== null) throw new PacketError('not-sealed', 'plain packet, but this node requires encryption');
      plain = bytes.subarray(2);
    }
    return parse(plain, (flags & FLAG_WIDE) !== 0);
  }

  private open(bytes: Uint8Array, flags: number): Uint8Array {
    if (bytes.length < 2 + NONCE_BYTES + TAG_BYTES) throw new PacketError('truncated', `sealed packet of ${bytes.length} bytes`);
    const nonce = bytes.subarray(2, 2 + NONCE_BYTES);
    const body = bytes.subarray(2 + NONCE_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    for (const key of (this.keyring as Keyring).keys) {
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(this.aad(flags));
        d.setAuthTag(tag);
        return Buffer.concat([d.update(body), d.final()]);
      } catch {
        // not this key
      }
    }
    throw new PacketError('decrypt', 'no installed key opens it (or it was tampered with, or sealed for another cluster)');
  }
}

function parse(plain: Uint8Array, wide: boolean): DecodedPacket {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > plain.length) throw new PacketError('truncated', `needs ${at + n} bytes, has ${plain.length}`);
  };
  need(1);
  const addrLen = plain[at++];
  need(addrLen + 1);
  const from = Buffer.from(plain.buffer, plain.byteOffset + at, addrLen).toString('utf8');
  at += addrLen;
  const count = plain[at++];
  const messages: SwimMessage[] = [];
  for (let i = 0; i < count; i++) {
    const lengthBytes = wide ? 4 : 2;
    need(lengthBytes);
    const len = wide ? ((plain[at] << 24) >>> 0) + (plain[at + 1] << 16) + (plain[at + 2] << 8) + plain[at + 3] : (plain[at] << 8) | plain[at + 1];
    at += lengthBytes;
    need(len);
    let body;
    try {
      body = readEnvelope(plain.subarray(at, at + len)).body;
    } catch (e) {
      throw new PacketError('envelope', e instanceof Error ? e.message : String(e));
    }
    if (!SWIM_BODIES.has(body.type)) throw new PacketError('body', `a ${body.type} is not a membership message`);
    messages.push(body as SwimMessage);
    at += len;
  }
  if (at !== plain.length) throw new PacketError('truncated', `${plain.length - at} trailing bytes`);
  return { from, messages };
}
