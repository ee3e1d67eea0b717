import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../src/main/membership/keyring.js';
import { MemberState, type SwimMessage } from '../../src/main/membership/messages.js';
import { encodeSwimMessage, PacketCodec, PacketError } from '../../src/main/membership/packet-codec.js';

const ping: SwimMessage = {
  type: 'SwimPing',
  seq: 42,
  target: 'b',
  source: 'a',
  sourceHost: '127.0.0.1',
  sourcePort: 7946,
  updates: [{ state: MemberState.Suspect, node: 'c', incarnation: 3, from: 'a', host: '127.0.0.1', port: 7947, meta: new Uint8Array(0) }],
  broadcasts: [{ id: 9, origin: 'a', topic: 't', payload: Uint8Array.of(1, 2) }],
};
const ack: SwimMessage = { type: 'SwimAck', seq: 42, source: 'b', payload: new Uint8Array(0), updates: [], broadcasts: [] };

describe('membership packets', () => {
  it('carry a push-pull larger than 64 KiB (a large cluster) as a wide packet, plain and sealed; the flags are authenticated', () => {
    const members = Array.from({ length: 2000 }, (_, i) => ({ node: `member-${i}`, host: '10.0.0.1', port: 7000 + i, incarnation: i, state: MemberState.Alive, meta: new Uint8Array(8) }));
    const pushPull: SwimMessage = { type: 'SwimPushPull', join: false, reply: true, source: 'a', members, userState: new Uint8Array(0) };
    const envelope = encodeSwimMessage(pushPull, 1);
    expect(envelope.length).toBeGreaterThan(0xffff);
    for (const keys of [null, new Keyring([crypto.randomBytes(32)])]) {
      const packet = new PacketCodec('prod', '10.0.0.1:7946', keys).encode([envelope]);
      expect(packet[1] & 2).toBe(2);
      const out = new PacketCodec('prod', 'x:1', keys).decode(packet);
      expect((out.messages[0] as Extract<SwimMessage, { type: 'SwimPushPull' }>).members).toHaveLength(2000);
      if (keys !== null) {
        const narrowed = Uint8Array.from(packet);
        narrowed[1] &= ~2;
        expect(() => new PacketCodec('prod', 'x:1', keys).decode(narrowed)).toThrow(PacketError);
      }
    }
    // small packets stay narrow
    expect(new PacketCodec('prod', 'a:1', null).encode([encodeSwimMessage(ack, 1)])[1]).toBe(0);
  });

  it('carry several messages per datagram and the sender address (compound packets)', () => {
    const codec = new PacketCodec('prod', '127.0.0.1:7946', null);
    const p = codec.encode([encodeSwimMessage(ping, 1), encodeSwimMessage(ack, 2)]);
    const out = new PacketCodec('prod', 'x:1', null).decode(p);
    expect(out.from).toBe('127.0.0.1:7946');
    expect(out.messages.map((m) => m.type)).toEqual(['SwimPing', 'SwimAck']);
    expect(out.messages[0]).toMatchObject({ seq: 42, target: 'b', updates: [{ node: 'c', state: MemberState.Suspect, incarnation: 3 }] });
  });

  it('AES-256-GCM: opens with any installed key, not with a wrong key or another cluster name', () => {
    const k1 = crypto.randomBytes(32);
    const k2 = crypto.randomBytes(32);
    const sealed = new PacketCodec('prod', 'a:1', new Keyring([k1])).encode([encodeSwimMessage(ack, 1)]);
    expect(new PacketCodec('prod', 'b:1', new Keyring([k2, k1])).decode(sealed).messages).toHaveLength(1);
    const reject = (codec: PacketCodec, bytes: Uint8Array, problem: string): void => {
      try {
        codec.decode(bytes);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(PacketError);
        expect((e as PacketError).problem).toBe(problem);
      }
    };
    reject(new PacketCodec('prod', 'b:1', new Keyring([k2])), sealed, 'decrypt');
    reject(new PacketCodec('staging', 'b:1', new Keyring([k1])), sealed, 'decrypt');
    const tampered = Uint8Array.from(sealed);
    tampered[20] ^= 1;
    reject(new PacketCodec('prod', 'b:1', new Keyring([k1])), tampered, 'decrypt');
    reject(new PacketCodec('prod', 'b:1', null), sealed, 'sealed');
    reject(new PacketCodec('prod', 'b:1', new Keyring([k1])), new PacketCodec('prod', 'a:1', null).encode([encodeSwimMessage(ack, 1)]), 'not-sealed');
  });

  it('keyring: install, switch the primary, remove the old one; the primary cannot be removed', () => {
    const k1 = crypto.randomBytes(32);
    const k2 = crypto.randomBytes(32);
    const ring = new Keyring([k1]);
    ring.install(k2);
    expect(ring.keys).toHaveLength(2);
    expect(() => ring.remove(k1)).toThrow(/primary/);
    ring.use(k2);
    expect(Buffer.from(ring.primary).equals(k2)).toBe(true);
    ring.remove(k1);
    expect(ring.keys).toHaveLength(1);
    expect(() => ring.install(new Uint8Array(16))).toThrow(/32 bytes/);
  });

  it('any bytes either parse or fail with a PacketError (never anything else)', () => {
    const plain = new PacketCodec('prod', 'a:1', null);
    const valid = plain.encode([encodeSwimMessage(ping, 1)]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (random, at, byte) => {
        for (const bytes of [random, Uint8Array.from(valid).fill(byte, at, at + 1), valid.subarray(0, at)]) {
          try {
            plain.decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(PacketError);
          }
        }
      }),
    );
  });
});
