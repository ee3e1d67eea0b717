// The agent in process (HTTP endpoints, the members command) and as a
// process (ready line, SIGTERM leaves gracefully and the process exits).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent, seedsFrom, hostPort, type AgentHandle } from '../../src/main/agent/agent.js';
import { formatLine } from '../../src/main/agent/pretty-log.js';
import type { AgentStatus } from '../../src/main/agent/status.js';
import { main } from '../../src/main/cli.js';
import { until } from '../support/until.js';

const quiet = (): Writable => new Writable({ write: (_c, _e, done) => done() });

describe('agent in process', () => {
  const agents: AgentHandle[] = [];

  beforeAll(async () => {
    agents.push(await runAgent(['--node-id', 'a0', '--cluster', 'agents', '--preset', 'local', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--traffic', '100', '--datacenter', 'dc-a'], quiet()));
    for (let i = 1; i < 3; i++) {
      agents.push(await runAgent(['--node-id', `a${i}`, '--cluster', 'agents', '--preset', 'local', '--bind', '127.0.0.1:0', '--join', agents[0].node.gossipAddress, '--traffic', '100'], quiet()));
    }
    await until(() => agents.every((a) => a.node.aliveMembers().length === 3 && a.node.leader() !== null), 15_000, 20);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
  });

  it('serves /status with members, leader and traffic, /health, /metrics and the page', async () => {
    const base = `http://${agents[0].httpAddress}`;
    await until(() => agents[0].node.metrics().communication.requests > 200, 10_000, 50);
    await new Promise((r) => setTimeout(r, 1_100));
    const status = (await (await fetch(`${base}/status`)).json()) as AgentStatus;
    expect(status.node).toBe('a0');
    expect(status.members.map((m) => [m.nodeId, m.state])).toEqual([
      ['a0', 'alive'],
      ['a1', 'alive'],
      ['a2', 'alive'],
    ]);
    expect(status.members[0]).toMatchObject({ self: true, datacenter: 'dc-a' });
    expect(status.leader?.term).toBeGreaterThan(0);
    expect(status.traffic.ratePerSec).toBe(100);
    expect(status.traffic.completed).toBeGreaterThan(100);
    expect(status.traffic.last?.completed).toBeGreaterThan(0);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/clusterwire_requests_total\{node="a0",cluster="agents"\} \d+/);
    const page = await fetch(`${base}/`);
    expect(await page.text()).toContain('<svg id="chart"');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: 'POST' })).status).toBe(405);
  });

  it('clusterwire members prints the view of an agent', async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stdout.write;
    try {
      expect(await main(['members', '--addr', agents[0].httpAddress!])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const text = lines.join('');
    expect(text).toMatch(/^NODE\s+STATE\s+INC/);
    expect(text).toMatch(/a0 \*\s+alive/);
    expect(text.split('\n').filter((l) => /\balive\b/.test(l))).toHaveLength(3);
  });
});

describe('agent flags', () => {
  it('parses addresses and seed sources, refusing malformed ones', () => {
    expect(hostPort('--bind', '[::1]:7946')).toEqual({ host: '::1', port: 7946 });
    expect(() => hostPort('--bind', 'localhost')).toThrow(/HOST:PORT/);
    expect(seedsFrom('10.0.0.1:7946, 10.0.0.2:7946')).toEqual(['10.0.0.1:7946', '10.0.0.2:7946']);
    expect(() => seedsFrom('10.0.0.1')).toThrow(/HOST:PORT/);
    expect((seedsFrom('srv:_cw._udp.example') as { name: string }).name).toBe('dns:_cw._udp.example');
    expect((seedsFrom('file:/tmp/seeds') as { name: string }).name).toBe('file:/tmp/seeds');
  });

  it('formats log lines for a terminal', () => {
    expect(formatLine(JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 1, 12, 4, 5, 123), pid: 1, msg: 'agent ready', gossip: '127.0.0.1:7946' }))).toBe('12:04:05.123 INFO  agent ready gossip=127.0.0.1:7946');
    expect(formatLine('not json')).toBe('not json');
  });
});

describe('agent as a process', () => {
  it('logs ready, leaves on SIGTERM (the others see member-left) and exits by itself', async () => {
    const seed = await runAgent(['--node-id', 'p0', '--cluster', 'proc', '--preset', 'local', '--bind', '127.0.0.1:0'], quiet());
    try {
      const cli = new URL('../../dist/src/main/cli.js', import.meta.url).pathname;
      const child = spawn(process.execPath, [cli, 'agent', '--node-id', 'p1', '--cluster', 'proc', '--preset', 'local', '--bind', '127.0.0.1:0', '--join', seed.node.gossipAddress], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = readline.createInterface({ input: child.stdout! });
      const log: Record<string, unknown>[] = [];
      lines.on('line', (l) => log.push(JSON.parse(l) as Record<string, unknown>));
      await until(() => log.some((e) => e.msg === 'agent ready'), 15_000, 20);
      await until(() => seed.node.member('p1')?.state === 'alive' && log.some((e) => e.msg === 'joined the cluster'), 10_000, 20);
      const left = new Promise<void>((resolve) => seed.node.on('member-left', (e) => e.member.nodeId === 'p1' && resolve()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      await left;
      expect(await exited).toBe(0);
      expect(log.some((e) => e.msg === 'agent stopped')).toBe(true);
    } finally {
      await seed.close();
    }
  });
});
