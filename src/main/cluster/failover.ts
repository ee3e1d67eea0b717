// The failover coordinator: what the cluster does when a member fails. It runs
// on the Raft leader:
//
//   1. every alive member is asked to promote the sessions it backs up for the
//      failed node (sessions.ts: each becomes their owner, copies them to a new
//      backup, tells every member where they live now — routes follow)
//   2. the report (who failed, which sessions moved where, how long it took)
//      goes to every member, which records the failover as done and emits the
//      'failover' event
//
// Routing needs no step of its own: the failed member is out of every
// router from the moment membership declared it dead.
//
// A leader that fails in the middle leaves the failover unrecorded; the next
// leader runs every failover of a dead member that is not recorded as done
// (promotion is idempotent: a session already promoted is not held any more).
// A failover is keyed by member and incarnation, so a member that fails,
// comes back and fails again gets a second one.

export interface FailoverReport {
  readonly failed: string;
  readonly incarnation: number;
  /** The leader that ran it and its term. */
  readonly leader: string;
  readonly term: number;
  /** Session id -> its new owner. */
  readonly sessions: Readonly<Record<string, string>>;
  /** Members that did not answer the promotion request (their sessions stay where they were). */
  readonly unreachable: readonly string[];
  readonly durationMs: number;
}

export interface FailoverHost {
  readonly self: string;
  leaderTerm(): number | null;
  /** Dead members and their incarnations. */
  deadMembers(): readonly { readonly nodeId: string; readonly incarnation: number }[];
  aliveMembers(): readonly string[];
  /** Asks a member (or this node) to promote what it backs up for `failed`; resolves with the session ids. */
  promote(member: string, failed: string): Promise<readonly string[]>;
  /** Sends the report to a member. */
  announce(member: string, report: FailoverReport): Promise<void>;
  /** The report reached this node (emit the event). */
  completed(report: FailoverReport): void;
}

export class FailoverCoordinator {
  private readonly done = new Set<string>();
  private readonly running = new Set<string>();

  constructor(private readonly host: FailoverHost) {}

  /** Membership declared `nodeId` dead: run its failover if this node leads. */
  memberFailed(nodeId: string, incarnation: number): void {
    if (this.host.leaderTerm() !== null) void this.run(nodeId, incarnation);
  }

  /** This node became leader: finish what the previous leader left. */
  becameLeader(): void {
    for (const m of this.host.deadMembers()) if (!this.done.has(key(m.nodeId, m.incarnation))) void this.run(m.nodeId, m.incarnation);
  }

  /** A report from the leader (or this node's own). */
  record(report: FailoverReport): void {
    const k = key(report.failed, report.incarnation);
    if (this.done.has(k)) return;
    this.done.add(k);
    this.host.completed(report);
  }

  isDone(nodeId: string, incarnation: number): boolean {
    return this.done.has(key(nodeId, incarnation));
  }

  private async run(failed: string, incarnation: number): Promise<void> {
    const k = key(failed, incarnation);
    if (this.done.has(k) || this.running.has(k)) return;
    this.running.add(k);
    try {
      const started = performance.now();
      const members = [this.host.self, ...this.host.aliveMembers().filter((m) => m !== this.host.self && m !== failed)];
      const sessions: Record<string, string> = {};
      const unreachable: string[] = [];
      await Promise.all(
        members.map((m) =>
          this.host.promote(m, failed).then(
            (ids) => {
              for (const id of ids) sessions[id] = m;
            },
            () => void unreachable.push(m),
          ),
        ),
      );
      const term = this.host.leaderTerm();
      if (term === null) return; // leadership lost on the way: the next leader runs it again
      const report: FailoverReport = { failed, incarnation, leader: this.host.self, term, sessions, unreachable, durationMs: performance.now() - started };
      this.record(report);
      await Promise.all(members.filter((m) => m !== this.host.self).map((m) => this.host.announce(m, report).catch(() => undefined)));
    } finally {
      this.running.delete(k);
    }
  }
}

function key(nodeId: string, incarnation: number): string {
  return `${nodeId}\u0000${incarnation}`;
}

/** A report from the network, checked field by field. */
export function parseFailoverReport(bytes: Uint8Array): FailoverReport | null {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const str = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 255;
  const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!str(r.failed) || !int(r.incarnation) || !str(r.leader) || !int(r.term) || typeof r.durationMs !== 'number') return null;
  if (r.sessions === null || typeof r.sessions !== 'object' || !Array.isArray(r.unreachable)) return null;
  const sessions: Record<string, string> = {};
  for (const [id, owner] of Object.entries(r.sessions as Record<string, unknown>)) {
    if (!str(id) || !str(owner)) return null;
    sessions[id] = owner;
  }
  if (!r.unreachable.every(str)) return null;
  return { failed: r.failed, incarnation: r.incarnation, leader: r.leader, term: r.term, sessions, unreachable: r.unreachable as string[], durationMs: r.durationMs };
}
