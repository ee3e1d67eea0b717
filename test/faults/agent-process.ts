// One `clusterwire agent` process inside a lab host: started with
// `ip netns exec`, its JSON log lines kept (and written to a file), its
// /status read over HTTP from the root namespace, and signals sent to it
// (kill -9, SIGSTOP, SIGCONT, SIGTERM). Restarting keeps the log: lines carry
// the run they came from. `ip netns exec` execs the command, so the child's
// pid is the agent's own.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import type { AgentStatus } from '../../src/main/agent/status.js';
import type { NetLab } from './netns.js';

export interface LogLine {
  readonly msg: string;
  /** Wall clock of the agent (pino's time, ms). */
  readonly time: number;
  readonly level: number;
  /** Which start of the agent wrote it (0 the first). */
  readonly run: number;
  readonly [field: string]: unknown;
}

export interface AgentSpec {
  readonly name: string;
  readonly host: number;
  /** Arguments after `agent`. */
  readonly args: readonly string[];
  /** Extra environment (libfaketime for a skewed clock). */
  readonly env?: Readonly<Record<string, string>>;
}

const CLI = new URL('../../dist/src/main/cli.js', import.meta.url).pathname;
/** Every agent process started and not yet seen to exit, for the exit-time cleanup. */
export const liveAgents = new Set<AgentProcess>();

export class AgentProcess {
  readonly log: LogLine[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private runs = 0;
  private readonly file: fs.WriteStream;
  /** Date.now() when the current run was spawned. */
  spawnedAt = 0;

  constructor(
    readonly lab: NetLab,
    readonly spec: AgentSpec,
    logFile: string,
  ) {
    this.file = fs.createWriteStream(logFile, { flags: 'a' });
  }

  get name(): string {
    return this.spec.name;
  }

  get address(): string {
    return this.lab.address(this.spec.host);
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  /** Spawns the agent; resolves once it logged "agent ready". */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.child !== null) throw new Error(`${this.name} is already running`);
    const run = this.runs++;
    const argv = this.lab.command(this.spec.host, [process.execPath, CLI, 'agent', ...this.spec.args]);
    this.spawnedAt = Date.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.spec.env } });
    this.child = child;
    liveAgents.add(this);
    this.file.write(`# run ${run} ${new Date(this.spawnedAt).toISOString()} ${argv.join(' ')}\n`);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      this.file.write(`${l}\n`);
      try {
        this.log.push({ ...(JSON.parse(l) as Record<string, unknown>), run } as LogLine);
      } catch {
        // not a log line
      }
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => this.file.write(`# stderr ${l}\n`));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.file.write(`# run ${run} exited code=${code} signal=${signal}\n`);
        if (this.child === child) this.child = null;
        liveAgents.delete(this);
        resolve(code);
      }),
    );
    const deadline = Date.now() + timeoutMs;
    while (!this.log.some((l) => l.run === run && l.msg === 'agent ready')) {
      if (this.child !== child) throw new Error(`${this.name} exited before it was ready (see its log)`);
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** kill -9; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.child === null) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a graceful leave); SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 8_000): Promise<number | null> {
    if (this.child === null) return this.exited;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Kills the process at once, from an exit handler (no waiting). */
  killNow(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // gone
    }
  }

  /** GET /status from the observer; null when it does not answer within `timeoutMs`. */
  async status(timeoutMs = 1_500): Promise<AgentStatus | null> {
    if (this.child === null) return null;
    try {
      const res = await fetch(`http://${this.address}:8080/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as AgentStatus;
    } catch {
      return null;
    }
  }

  /** Log lines with this message, written at or after `since` (the agent's clock). */
  lines(msg: string, since = 0): LogLine[] {
    return this.log.filter((l) => l.msg === msg && l.time >= since);
  }

  close(): void {
    this.file.end();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
