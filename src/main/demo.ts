// `clusterwire demo` (and `npm start`): a five-node cluster of separate agent
// processes on loopback, watched through their /status endpoints.
//
//   1. start the agents (the first is the seed of the others), each sending
//      echo requests to random members; show them converging and electing
//   2. measure the traffic: requests per second, latency p50 / p99
//   3. kill -9 the leader: time until every other node marks it failed, and
//      until they agree on a new leader
//   4. restart it on the same ports: time until every node sees it alive
//   5. print a summary table, stop every agent with SIGTERM (they leave
//      gracefully) and check that every process is gone
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentStatus } from './agent/status.js';

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

export interface DemoOptions {
  nodes?: number;
  /** Echo requests per second each agent sends. */
  traffic?: number;
  out?: NodeJS.WritableStream;
}

interface Agent {
  readonly name: string;
  child: ChildProcess;
  gossip: string;
  http: string;
  exited: boolean;
}

export interface DemoSummary {
  readonly convergedMs: number;
  readonly firstLeader: string;
  readonly firstTerm: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly killed: string;
  readonly detectionMs: readonly number[];
  readonly newLeader: string;
  readonly newTerm: number;
  readonly failoverMs: number;
  readonly rejoinMs: number;
  readonly failedRequests: number;
  readonly allExited: boolean;
}

export async function clusterDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const n = options.nodes ?? 5;
  const rate = options.traffic ?? 200;
  const out = options.out ?? process.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  const agents: Agent[] = [];
  const killAll = (): void => {
    for (const a of agents) if (!a.exited) a.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const started = performance.now();
  const clock = (): string => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s`;

  try {
    say(`clusterwire demo: ${n} agent processes on loopback, each sending ${rate} echo requests/s to random members\n`);
    const t0 = performance.now();
    const first = await startAgent('node-0', [], null, rate);
    agents.push(first);
    agents.push(...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => startAgent(`node-${i + 1}`, [first.gossip], null, rate)))));
    say(`${clock()}  started ${agents.map((a) => `${a.name} (pid ${a.child.pid}, http ${a.http})`).join(', ')}`);

    // 1. convergence and the first election
    let lastLine = '';
    const converged = await poll(async () => {
      const views = await Promise.all(agents.map((a) => status(a)));
      const line = views.map((v, i) => `${agents[i].name} ${v === null ? '?' : v.members.filter((m) => m.state === 'alive').length}/${n}`).join('  ');
      if (line !== lastLine) say(`${clock()}  converging: ${line}`);
      lastLine = line;
      const leader = agreedLeader(views);
      return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive').length === n) && leader !== null ? leader : null;
    }, 30_000);
    const convergedMs = performance.now() - t0;
    say(`${clock()}  converged: all ${n} see ${n} alive; leader ${converged.nodeId} (term ${converged.term})`);

    // 2. traffic
    await sleep(2_500);
    const traffic = await trafficOf(agents);
    say(`${clock()}  traffic: ${traffic.rps.toFixed(0)} requests/s over the cluster, latency p50 ${traffic.p50.toFixed(2)} ms, p99 ${traffic.p99.toFixed(2)} ms`);
    const failedBefore = traffic.failed;

    // 3. kill -9 the leader
    const victim = agents.find((a) => a.name === converged.nodeId)!;
    const others = agents.filter((a) => a !== victim);
    say(`${clock()}  kill -9 ${victim.name} (the leader, pid ${victim.child.pid})`);
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    const detection = new Map<string, number>();
    let newLeader: { nodeId: string; term: number } | null = null;
    let failoverMs = 0;
    await poll(async () => {
      const views = await Promise.all(others.map((a) => status(a)));
      views.forEach((v, i) => {
        const seen = v?.members.find((m) => m.nodeId === victim.name);
        if (v !== null && (seen === undefined || seen.state === 'dead') && !detection.has(others[i].name)) {
          detection.set(others[i].name, performance.now() - killedAt);
          say(`${clock()}  ${others[i].name} marks ${victim.name} failed after ${(performance.now() - killedAt).toFixed(0)} ms`);
        }
      });
      const leader = agreedLeader(views);
      if (newLeader === null && leader !== null && leader.nodeId !== victim.name) {
        newLeader = leader;
        failoverMs = performance.now() - killedAt;
        say(`${clock()}  new leader ${leader.nodeId} (term ${leader.term}) after ${failoverMs.toFixed(0)} ms`);
      }
      return detection.size === others.length && newLeader !== null ? true : null;
    }, 30_000);

    // 4. restart on the same ports
    const gossipPort = victim.gossip.slice(victim.gossip.lastIndexOf(':') + 1);
    const httpPort = victim.http.slice(victim.http.lastIndexOf(':') + 1);
    say(`${clock()}  restarting ${victim.name} on the same ports`);
    const restartAt = performance.now();
    const reborn = await startAgent(victim.name, [first === victim ? others[0].gossip : first.gossip], { gossipPort, httpPort }, rate);
    agents[agents.indexOf(victim)] = reborn;
    await poll(async () => {
      const views = await Promise.all(agents.map((a) => status(a)));
      return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive').length === n) ? true : null;
    }, 30_000);
    const rejoinMs = performance.now() - restartAt;
    say(`${clock()}  ${victim.name} is alive again in every view after ${rejoinMs.toFixed(0)} ms`);
    const after = await trafficOf(agents);

    // 5. summary and shutdown
    const times = [...detection.values()].sort((a, b) => a - b);
    const nl = newLeader as { nodeId: string; term: number } | null;
    const summary: DemoSummary = {
      convergedMs,
      firstLeader: converged.nodeId,
      firstTerm: converged.term,
      requestsPerSec: traffic.rps,
      p50Ms: traffic.p50,
      p99Ms: traffic.p99,
      killed: victim.name,
      detectionMs: times,
      newLeader: nl?.nodeId ?? '',
      newTerm: nl?.term ?? 0,
      failoverMs,
      rejoinMs,
      failedRequests: Math.max(0, after.failed - failedBefore),
      allExited: false,
    };
    say(`${clock()}  stopping every agent (SIGTERM: each leaves the cluster)`);
    const exits = agents.map((a) => (a.exited ? Promise.resolve() : new Promise<void>((r) => a.child.once('exit', () => r()))));
    for (const a of agents) if (!a.exited) a.child.kill('SIGTERM');
    const allExited = await Promise.race([Promise.all(exits).then(() => true), sleep(15_000).then(() => false)]);
    const result = { ...summary, allExited };
    say(`\n${table(result, n)}`);
    return result;
  } finally {
    killAll();
    process.off('exit', killAll);
  }

  async function startAgent(name: string, join: string[], fixed: { gossipPort: string; httpPort: string } | null, traffic: number): Promise<Agent> {
    const args = [
      CLI,
      'agent',
      '--node-id',
      name,
      '--cluster',
      'demo',
      '--preset',
      'local',
      '--bind',
      `127.0.0.1:${fixed?.gossipPort ?? 0}`,
      '--http',
      `127.0.0.1:${fixed?.httpPort ?? 0}`,
      '--traffic',
      String(traffic),
      ...(join.length > 0 ? ['--join', join.join(',')] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const agent: Agent = { name, child, gossip: '', http: '', exited: false };
    child.once('exit', () => (agent.exited = true));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = readline.createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 10 s: ${stderr}`)), 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}: ${stderr}`));
      });
      lines.on('line', (line) => {
        if (agent.http !== '') return;
        try {
          const entry = JSON.parse(line) as { msg?: string; gossip?: string; http?: string };
          if (entry.msg === 'agent ready') {
            agent.gossip = entry.gossip ?? '';
            agent.http = entry.http ?? '';
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log line
        }
      });
    });
    return agent;
  }
}

async function status(agent: Agent): Promise<AgentStatus | null> {
  if (agent.exited) return null;
  try {
    const res = await fetch(`http://${agent.http}/status`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as AgentStatus;
  } catch {
    return null;
  }
}

function agreedLeader(views: readonly (AgentStatus | null)[]): { nodeId: string; term: number } | null {
  const first = views[0]?.leader ?? null;
  if (first === null) return null;
  return views.every((v) => v !== null && v.leader !== null && v.leader.nodeId === first.nodeId && v.leader.term === first.term) ? first : null;
}

async function trafficOf(agents: readonly Agent[]): Promise<{ rps: number; p50: number; p99: number; failed: number }> {
  const views = (await Promise.all(agents.map((a) => status(a)))).filter((v): v is AgentStatus => v !== null);
  let rps = 0;
  let failed = 0;
  const p50s: number[] = [];
  let p99 = 0;
  for (const v of views) {
    failed += v.traffic.failed;
    const recent = v.traffic.history.slice(-2);
    if (recent.length === 0) continue;
    rps += recent.reduce((s, x) => s + x.completed, 0) / recent.length;
    p50s.push(...recent.map((x) => x.p50Ms));
    p99 = Math.max(p99, ...recent.map((x) => x.p99Ms));
  }
  p50s.sort((a, b) => a - b);
  return { rps, p50: p50s.length === 0 ? 0 : p50s[Math.floor(p50s.length / 2)], p99, failed };
}

async function poll<T>(check: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (performance.now() > end) throw new Error(`demo: condition not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function table(s: DemoSummary, n: number): string {
  const pct = (q: number): string => (s.detectionMs.length === 0 ? '–' : `${s.detectionMs[Math.min(s.detectionMs.length - 1, Math.floor(q * s.detectionMs.length))].toFixed(0)} ms`);
  const rows: [string, string][] = [
    ['nodes', `${n} processes on loopback, preset local`],
    ['converged (all see all, leader agreed)', `${s.convergedMs.toFixed(0)} ms`],
    ['first leader', `${s.firstLeader} (term ${s.firstTerm})`],
    ['echo requests', `${s.requestsPerSec.toFixed(0)}/s, p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms`],
    ['killed (kill -9)', s.killed],
    ['failure detected by every other node', `p50 ${pct(0.5)}, max ${pct(1)}`],
    ['new leader', `${s.newLeader} (term ${s.newTerm}) after ${s.failoverMs.toFixed(0)} ms`],
    ['restarted node alive everywhere', `${s.rejoinMs.toFixed(0)} ms after restart`],
    ['requests failed across the failure', String(s.failedRequests)],
    ['every process exited', s.allExited ? 'yes' : 'NO'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return ['| measure | value |', `|${'-'.repeat(w + 2)}|---|`, ...rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v} |`)].join('\n');
}
