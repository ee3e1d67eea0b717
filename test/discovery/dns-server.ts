// A tiny authoritative DNS server for tests, on 127.0.0.1 over UDP (RFC 1035
// message format): it answers A, AAAA and SRV questions from a record table
// the test can change while it runs. Unknown names get NXDOMAIN, known names
// without records of the asked type get an empty NOERROR answer, and names
// listed in `failing` get SERVFAIL.
import dgram from 'node:dgram';
import { isIP } from 'node:net';

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface Zone {
  a: Map<string, string[]>;
  aaaa: Map<string, string[]>;
  srv: Map<string, SrvRecord[]>;
  failing: Set<string>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;

export class TestDnsServer {
  readonly zone: Zone = { a: new Map(), aaaa: new Map(), srv: new Map(), failing: new Set() };
  /** Questions received, as "TYPE name". */
  readonly queries: string[] = [];
  private readonly socket = dgram.createSocket('udp4');

  async start(): Promise<string> {
    this.socket.on('message', (msg, rinfo) => {
      const reply = this.answer(msg);
      if (reply !== null) this.socket.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return `127.0.0.1:${this.socket.address().port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | null {
    if (query.length < 12) return null;
    const id = query.readUInt16BE(0);
    const flags = query.readUInt16BE(2);
    if ((flags & 0x8000) !== 0 || query.readUInt16BE(4) !== 1) return null;
    const q = readName(query, 12);
    if (q === null || q.end + 4 > query.length) return null;
    const type = query.readUInt16BE(q.end);
    const question = query.subarray(12, q.end + 4);
    const name = q.name.toLowerCase();
    this.queries.push(`${type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type === TYPE_SRV ? 'SRV' : String(type)} ${name}`);
    const known = this.zone.a.has(name) || this.zone.aaaa.has(name) || this.zone.srv.has(name);
    let rcode = 0;
    const answers: Buffer[] = [];
    if (this.zone.failing.has(name)) rcode = 2;
    else if (!known) rcode = 3;
    else if (type === TYPE_A) for (const ip of this.zone.a.get(name) ?? []) answers.push(record(TYPE_A, ipv4(ip)));
    else if (type === TYPE_AAAA) for (const ip of this.zone.aaaa.get(name) ?? []) answers.push(record(TYPE_AAAA, ipv6(ip)));
    else if (type === TYPE_SRV) {
      for (const r of this.zone.srv.get(name) ?? []) {
        const head = Buffer.alloc(6);
        head.writeUInt16BE(r.priority, 0);
        head.writeUInt16BE(r.weight, 2);
        head.writeUInt16BE(r.port, 4);
        answers.push(record(TYPE_SRV, Buffer.concat([head, encodeName(r.target)])));
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    // QR, opcode 0, AA, RD copied from the query, RA, rcode
    header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    return Buffer.concat([header, question, ...answers]);
  }
}

/** A resource record whose owner is the question's name (a pointer to offset 12). */
function record(type: number, rdata: Buffer): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(5, 6); // TTL 5 s
  b.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([b, rdata]);
}

function readName(msg: Buffer, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    if (at >= msg.length) return null;
    const len = msg[at++];
    if (len === 0) break;
    if (len > 63 || at + len > msg.length) return null; // queries carry no compression pointers
    labels.push(msg.toString('ascii', at, at + len));
    at += len;
  }
  return { name: labels.join('.'), end: at };
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.of(p.length), Buffer.from(p, 'ascii')])), Buffer.of(0)]);
}

function ipv4(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6(ip: string): Buffer {
  if (isIP(ip) !== 6) throw new Error(`not IPv6: ${ip}`);
  const [head, tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined ? [] : tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}
