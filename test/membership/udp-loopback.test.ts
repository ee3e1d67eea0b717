// Real sockets on loopback: in-process members (key rotation under traffic)
// and five separate processes (convergence, kill -9, re-admission).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { SwimEvent } from '../../src/main/membership/events.js';
import { UdpMembership } from '../../src/main/membership/udp-membership.js';

async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (m: UdpMembership): number => m.members().filter((x) => x.state === 'alive').length;

describe('UDP membership on loopback, in process', () => {
  // Real sockets and real time on a shared machine: a run that misses a deadline is
  // tried once more from scratch (its nodes are closed in `finally`); failing twice fails.
  it('converges, rotates the AES-256-GCM key under traffic without false deaths, and detects a stopped member', { retry: 1 }, async () => {
    const ports = await freePorts(5);
    const k1 = crypto.randomBytes(32);
    const k2 = crypto.randomBytes(32);
    const nodes = await Promise.all(ports.map((port, i) => UdpMembership.start({ cluster: 'test', keys: [k1], swim: { name: `m${i}`, host: '127.0.0.1', port, preset: 'local' } })));
    const events: { node: string; e: SwimEvent }[] = [];
    for (const n of nodes) n.on('event', (e) => events.push({ node: n.swim.name, e }));
    try {
      for (const n of nodes.slice(1)) n.join([`127.0.0.1:${ports[0]}`]);
      await until(() => nodes.every((n) => alive(n) === 4), 10_000, 'convergence');
      for (const n of nodes) n.keyring?.install(k2);
      await new Promise((r) => setTimeout(r, 500));
      for (const n of nodes) {
        n.keyring?.use(k2);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const n of nodes) n.keyring?.remove(k1);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(events.filter((x) => x.e.type === 'member-dead')).toEqual([]);
      expect(nodes.every((n) => alive(n) === 4)).toBe(true);
      expect(nodes.reduce((s, n) => s + n.stats.dropped.decrypt, 0)).toBe(0);
      expect(nodes.every((n) => n.stats.packetsIn > 0 && n.registry.status().quorumAvailable)).toBe(true);
      await nodes[4].close();
      await until(() => nodes.slice(0, 4).every((n) => n.swim.stateOf('m4') === 'dead'), 10_000, 'detection of m4');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('counts and drops packets it cannot open', async () => {
    const [p1, p2] = await freePorts(2);
    const a = await UdpMembership.start({ cluster: 'test', keys: [crypto.randomBytes(32)], swim: { name: 'a', host: '127.0.0.1', port: p1, preset: 'local' } });
    const b = await UdpMembership.start({ cluster: 'test', keys: [crypto.randomBytes(32)], swim: { name: 'b', host: '127.0.0.1', port: p2, preset: 'local' } });
    try {
      b.join([`127.0.0.1:${p1}`]);
      const sock = (await import('node:dgram')).createSocket('udp4');
      await new Promise<void>((r) => sock.send(Buffer.from('not a packet'), p1, '127.0.0.1', () => r()));
      sock.close();
      await until(() => a.stats.dropped.decrypt + a.stats.dropped.version > 1, 5_000, 'dropped packets');
      expect(a.members()).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('UDP membership, five processes on loopback', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('converge, detect a kill -9, and re-admit the restarted process', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    // The children run the compiled package (npm test builds it first) from a
    // folder inside it, so that they resolve its dependencies.
    const built = path.join(root, 'dist', 'src', 'main', 'membership', 'udp-membership.js');
    expect(fs.existsSync(built), 'run `npm run build` first').toBe(true);
    const cache = path.join(root, 'node_modules', '.cache');
    fs.mkdirSync(cache, { recursive: true });
    const out = fs.mkdtempSync(path.join(cache, 'clusterwire-udp-'));
    dirs.push(out);
    const agent = path.join(out, 'agent.mjs');
    fs.writeFileSync(
      agent,
      `import { UdpMembership } from ${JSON.stringify(built)};
const [name, port, seeds] = process.argv.slice(2);
const m = await UdpMembership.start({ cluster: 'five', swim: { name, host: '127.0.0.1', port: Number(port), preset: 'local' } });
if (seeds) m.join(seeds.split(','));
let last = '';
setInterval(() => {
  const view = JSON.stringify(m.members().map((x) => [x.name, x.state]).sort());
  if (view !== last) { last = view; process.stdout.write(view + '\\n'); }
}, 50);
`,
    );
    const ports = await freePorts(5);
    const views = new Map<string, Map<string, string>>();
    const start = (i: number): ChildProcess => {
      const name = `p${i}`;
      const seeds = i === 0 ? '' : `127.0.0.1:${ports[0]}`;
      const child = spawn(process.execPath, [agent, name, String(ports[i]), seeds], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      views.set(name, new Map());
      readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        views.set(name, new Map(JSON.parse(line) as [string, string][]));
      });
      return child;
    };
    const sees = (who: string, whom: string, state: string): boolean => views.get(who)?.get(whom) === state;
    const procs = [0, 1, 2, 3, 4].map(start);
    const names = ['p0', 'p1', 'p2', 'p3', 'p4'];
    await until(() => names.every((a) => names.every((b) => a === b || sees(a, b, 'alive'))), 20_000, 'five processes to converge');
    procs[3].kill('SIGKILL');
    await until(() => names.filter((n) => n !== 'p3').every((a) => sees(a, 'p3', 'dead')), 15_000, 'kill -9 to be detected');
    start(3);
    await until(() => names.every((a) => names.every((b) => a === b || sees(a, b, 'alive'))), 20_000, 'the restarted process to be re-admitted');
  });
});
