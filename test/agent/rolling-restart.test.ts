// A rolling restart of five agent processes on loopback under routed,
// idempotent request traffic: the leader restarts every member one at a time
// (itself last) through a supervisor hook this test serves, and no request
// fails in any process, before or after its restart.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/main/agent/status.js';
import { until } from '../support/until.js';

const CLI = new URL('../../dist/src/main/cli.js', import.meta.url).pathname;
const N = 5;

interface Proc {
  readonly id: string;
  child: ChildProcess;
  ready: boolean;
  exited: boolean;
  /** Traffic of every finished generation of this member, from its "agent stopped" line. */
  stopped: { completed: number; failed: number; errors: Record<string, number> }[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('rolling restart of five agent processes under traffic', () => {
  const procs = new Map<string, Proc>();
  const ports = new Map<string, { gossip: number; data: number; http: number }>();
  let hookServer: http.Server | null = null;

  afterAll(async () => {
    for (const p of procs.values()) if (!p.exited) p.child.kill('SIGKILL');
    await new Promise<void>((r) => (hookServer === null ? r() : hookServer.close(() => r())));
  });

  function spawnAgent(id: string, seeds: string[]): Proc {
    const p = ports.get(id)!;
    const child = spawn(
      process.execPath,
      [CLI, 'agent', '--node-id', id, '--cluster', 'rolling', '--preset', 'local', '--bind', `127.0.0.1:${p.gossip}`, '--data-port', String(p.data), '--http', `127.0.0.1:${p.http}`, '--traffic', '50', '--traffic-mode', 'routed', ...(seeds.length > 0 ? ['--join', seeds.join(',')] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const proc: Proc = procs.get(id) ?? { id, child, ready: false, exited: false, stopped: [] };
    proc.child = child;
    proc.ready = false;
    proc.exited = false;
    procs.set(id, proc);
    child.once('exit', () => (proc.exited = true));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as { msg: string; traffic?: Proc['stopped'][number] };
      if (e.msg === 'agent ready') proc.ready = true;
      if (e.msg === 'agent stopped' && e.traffic !== undefined) proc.stopped.push(e.traffic);
    });
    return proc;
  }

  async function status(id: string): Promise<AgentStatus | null> {
    try {
      return (await (await fetch(`http://127.0.0.1:${ports.get(id)!.http}/status`, { signal: AbortSignal.timeout(1_000) })).json()) as AgentStatus;
    } catch {
      return null;
    }
  }

  async function converged(): Promise<boolean> {
    const views = await Promise.all([...procs.keys()].map((id) => status(id)));
    const leader = views[0]?.leader;
    return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive').length === N && leader != null && v.leader?.nodeId === leader.nodeId);
  }

  async function eventually(check: () => Promise<boolean>, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('restarts all five, the leader last, with no failed idempotent request', async () => {
    const ids = Array.from({ length: N }, (_, i) => `r${i}`);
    for (const id of ids) ports.set(id, { gossip: await freePort(), data: await freePort(), http: await freePort() });
    const seedsOf = (id: string): string[] => ids.filter((x) => x !== id).map((x) => `127.0.0.1:${ports.get(x)!.gossip}`);
    spawnAgent(ids[0], []);
    await until(() => procs.get(ids[0])!.ready, 15_000, 20);
    for (const id of ids.slice(1)) spawnAgent(id, [`127.0.0.1:${ports.get(ids[0])!.gossip}`]);
    await eventually(converged, 30_000);
    await new Promise((r) => setTimeout(r, 1_500)); // traffic flowing everywhere

    // the supervisor: restarts the process it is asked to, answering at once
    const restarted: string[] = [];
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        const { nodeId } = JSON.parse(body) as { nodeId: string };
        restarted.push(nodeId);
        res.writeHead(200).end();
        const proc = procs.get(nodeId)!;
        proc.child.once('exit', () => spawnAgent(nodeId, seedsOf(nodeId)));
        proc.child.kill('SIGTERM');
      });
    });
    await new Promise<void>((r) => hookServer!.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(hookServer.address() as net.AddressInfo).port}/restart`;

    const views = await Promise.all(ids.map((id) => status(id)));
    const leader = views[0]!.leader!.nodeId;
    const notLeader = ids.find((id) => id !== leader)!;
    const refused = await fetch(`http://127.0.0.1:${ports.get(notLeader)!.http}/rolling-restart`, { method: 'POST', body: JSON.stringify({ hook }) });
    expect(refused.status).toBe(409);
    const started = await fetch(`http://127.0.0.1:${ports.get(leader)!.http}/rolling-restart`, { method: 'POST', body: JSON.stringify({ hook, healthTimeoutMs: 20_000 }) });
    expect(started.status).toBe(202);

    await until(() => restarted.length === N, 90_000, 50);
    expect(restarted[N - 1]).toBe(leader);
    expect(new Set(restarted).size).toBe(N);
    await until(() => [...procs.values()].every((p) => p.ready && !p.exited), 20_000, 20);
    await eventually(converged, 30_000);
    await new Promise((r) => setTimeout(r, 1_500));

    // every generation of every member: traffic flowed and nothing failed
    const finals = await Promise.all(ids.map((id) => status(id)));
    let completed = 0;
    const failures: string[] = [];
    for (const [i, id] of ids.entries()) {
      const proc = procs.get(id)!;
      expect(proc.stopped, `${id} logged its traffic when it stopped`).toHaveLength(1);
      for (const g of [...proc.stopped, finals[i]!.traffic]) {
        completed += g.completed;
        if (g.failed > 0) failures.push(`${id}: ${g.failed} failed ${JSON.stringify(g.errors)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThan(1_000);
  }, 180_000);
});
