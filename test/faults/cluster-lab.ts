// The fault suite's cluster: five agents (n1..n5) on hosts 1..5 of a NetLab,
// with everything a production cluster has switched on (TLS with mutual
// authentication, a shared secret, sealed gossip, persisted Raft state), light
// echo traffic everywhere, and probe broadcasts from n1 (gossip) and n2
// (direct). Spare hosts run the intruders (a skewed clock, a wrong name,
// secret, CA or gossip key). Also here: what the scenarios ask of the agents'
// views and logs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentStatus } from '../../src/main/agent/status.js';
import { makePki, type TestPki } from '../support/certs.js';
import { AgentProcess, sleep, type LogLine } from './agent-process.js';
import type { NetLab } from './netns.js';

export const CLUSTER = 'faults';
export const GOSSIP_PORT = 7946;
export const TRAFFIC_TIMEOUT_MS = 2_000;
/** Debian's libfaketime (package faketime), multi-threaded build: Node has threads. */
function libfaketime(): string {
  for (const dir of ['/usr/lib', ...fs.readdirSync('/usr/lib').map((d) => path.join('/usr/lib', d))]) {
    const file = path.join(dir, 'faketime', 'libfaketimeMT.so.1');
    if (fs.existsSync(file)) return file;
  }
  throw new Error('libfaketimeMT.so.1 not found: apt-get install -y faketime');
}

export interface Credentials {
  readonly cluster: string;
  readonly secretFile: string;
  readonly gossipKeyFile: string;
  /** The CA that signs the certificate. */
  readonly pki: TestPki;
}

export interface IntruderOptions {
  readonly cluster?: string;
  readonly secretFile?: string;
  readonly gossipKeyFile?: string;
  readonly pki?: TestPki;
  /** Seconds the agent's wall clock is ahead (libfaketime). */
  readonly clockOffsetSec?: number;
}

export class ClusterLab {
  readonly agents: AgentProcess[] = [];
  readonly intruders: AgentProcess[] = [];
  readonly pki = makePki('clusterwire-faults-ca');
  readonly otherPki = makePki('some-other-ca');
  readonly secretFile: string;
  readonly gossipKeyFile: string;

  constructor(
    readonly lab: NetLab,
    readonly dir: string,
    readonly size: number,
    readonly preset: 'lan' | 'local' | 'wan',
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.secretFile = this.writeFile('secret', crypto.randomBytes(32).toString('base64'));
    this.gossipKeyFile = this.writeFile('gossip.keys', crypto.randomBytes(32).toString('base64'));
    for (let i = 1; i <= size; i++) {
      const name = `n${i}`;
      const extra = i === 1 ? ['--broadcast-every', '500', '--broadcast-via', 'gossip'] : i === 2 ? ['--broadcast-every', '500', '--broadcast-via', 'direct'] : [];
      this.agents.push(new AgentProcess(lab, { name, host: i, args: [...this.args(name, i, {}), ...extra] }, path.join(dir, `${name}.log`)));
    }
  }

  writeFile(name: string, content: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  }

  /** The agent's command line: the cluster's settings, each overridable for an intruder. */
  private args(name: string, host: number, o: IntruderOptions): string[] {
    const ip = this.lab.address(host);
    const pki = o.pki ?? this.pki;
    const pem = pki.issue(name);
    const seeds = Array.from({ length: this.size }, (_, k) => k + 1)
      .filter((h) => h !== host)
      .map((h) => `${this.lab.address(h)}:${GOSSIP_PORT}`);
    return [
      '--node-id', name,
      '--cluster', o.cluster ?? CLUSTER,
      '--preset', this.preset,
      '--bind', `${ip}:${GOSSIP_PORT}`,
      '--data-port', '7947',
      '--join', seeds.join(','),
      '--http', `${ip}:8080`,
      '--secret-file', o.secretFile ?? this.secretFile,
      '--gossip-key-file', o.gossipKeyFile ?? this.gossipKeyFile,
      '--tls-key', this.writeFile(`${name}.key`, pem.key),
      '--tls-cert', this.writeFile(`${name}.pem`, pem.cert),
      '--tls-ca', this.writeFile(`${name}.ca.pem`, pki.ca),
      '--state-file', path.join(this.dir, `${name}.raft`),
      '--traffic', '20',
    ];
  }

  /** An agent on a spare host with some settings not the cluster's. */
  intruder(name: string, host: number, o: IntruderOptions): AgentProcess {
    const env: Record<string, string> =
      o.clockOffsetSec === undefined ? {} : { LD_PRELOAD: libfaketime(), FAKETIME: `+${o.clockOffsetSec}s`, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    const agent = new AgentProcess(this.lab, { name, host, args: this.args(name, host, o), env }, path.join(this.dir, `${name}.log`));
    this.intruders.push(agent);
    return agent;
  }

  agent(name: string): AgentProcess {
    const a = this.agents.find((x) => x.name === name);
    if (a === undefined) throw new Error(`no agent ${name}`);
    return a;
  }

  get names(): string[] {
    return this.agents.map((a) => a.name);
  }

  /** The statuses of the running cluster agents (null for one that did not answer). */
  async statuses(agents: readonly AgentProcess[] = this.agents.filter((a) => a.running)): Promise<Map<string, AgentStatus | null>> {
    const list = await Promise.all(agents.map((a) => a.status()));
    return new Map(agents.map((a, i) => [a.name, list[i]]));
  }

  /** Starts every cluster agent that is not running. */
  async startAll(): Promise<void> {
    for (const a of this.agents) if (!a.running) await a.start();
  }

  /**
   * Every running agent answers, sees exactly `alive` as its alive members
   * (and none suspect), and all name the same leader in the same term.
   */
  async converged(alive: readonly string[] = this.names): Promise<{ view: boolean; leader: boolean; statuses: Map<string, AgentStatus | null> }> {
    const statuses = await this.statuses();
    const want = [...alive].sort().join(',');
    let view = statuses.size > 0;
    const leaders = new Set<string>();
    for (const s of statuses.values()) {
      if (s === null) {
        view = false;
        continue;
      }
      const aliveHere = s.members.filter((m) => m.state === 'alive').map((m) => m.nodeId).sort().join(',');
      if (aliveHere !== want || s.members.some((m) => m.state === 'suspect')) view = false;
      leaders.add(s.leader === null ? 'none' : `${s.leader.nodeId}@${s.leader.term}`);
    }
    const leader = leaders.size === 1 && !leaders.has('none');
    return { view, leader, statuses };
  }

  /** Waits until converged(); resolves with the ms it took, or rejects after `timeoutMs`. */
  async waitConverged(timeoutMs = 30_000, alive: readonly string[] = this.names, needLeader = true): Promise<number> {
    const start = Date.now();
    for (;;) {
      const c = await this.converged(alive);
      if (c.view && (c.leader || !needLeader)) return Date.now() - start;
      if (Date.now() - start > timeoutMs) {
        const views = [...c.statuses].map(([n, s]) => `${n}: ${s === null ? 'no answer' : `${s.members.map((m) => `${m.nodeId}=${m.state}`).join(' ')} leader=${s.leader?.nodeId ?? '-'}@${s.leader?.term ?? '-'}`}`);
        throw new Error(`not converged within ${timeoutMs} ms:\n  ${views.join('\n  ')}`);
      }
      await sleep(100);
    }
  }

  /** The leader every running agent agrees on (null when they do not agree). */
  async leader(): Promise<{ nodeId: string; term: number } | null> {
    const c = await this.converged(this.agents.filter((a) => a.running).map((a) => a.name));
    if (!c.leader) return null;
    return [...c.statuses.values()][0]!.leader;
  }

  /** "leader changed" lines of the cluster agents since `since`, as {node, leader, term, time}. */
  leaderChanges(since = 0, agents: readonly AgentProcess[] = this.agents): { node: string; leader: string | null; term: number; time: number }[] {
    return agents.flatMap((a) => a.lines('leader changed', since).map((l) => ({ node: a.name, leader: (l.leader as string | null) ?? null, term: l.term as number, time: l.time })));
  }

  /** Terms in which two different nodes were reported leader (Raft's election safety says none). */
  termsWithTwoLeaders(since = 0): { term: number; leaders: string[] }[] {
    const byTerm = new Map<number, Set<string>>();
    for (const c of this.leaderChanges(since)) {
      if (c.leader === null) continue;
      let set = byTerm.get(c.term);
      if (set === undefined) byTerm.set(c.term, (set = new Set()));
      set.add(c.leader);
    }
    return [...byTerm].filter(([, s]) => s.size > 1).map(([term, s]) => ({ term, leaders: [...s] }));
  }

  /** Member event lines (member-failed, member-suspect, ...) about `member` that agents logged since `since`. */
  memberEvents(msg: string, member: string | null, since: number, agents: readonly AgentProcess[] = this.agents): (LogLine & { observer: string })[] {
    return agents.flatMap((a) => a.lines(msg, since).filter((l) => member === null || l.member === member).map((l) => ({ ...l, observer: a.name })));
  }

  /** Stops everything (SIGTERM, then SIGKILL) and closes the log files. */
  async close(): Promise<void> {
    await Promise.all([...this.agents, ...this.intruders].map((a) => a.stop(3_000).catch(() => undefined)));
    for (const a of [...this.agents, ...this.intruders]) a.close();
  }
}
