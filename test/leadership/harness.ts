// A hand-driven cluster of election cores for unit tests: a virtual clock, a
// FIFO of messages delivered on demand (or dropped by a filter), and a
// LeaderLedger that sees every event of every core.
import type { Random } from '../../src/main/membership/random.js';
import { LeaderLedger } from '../../src/main/leadership/leader-ledger.js';
import type { RaftMessage } from '../../src/main/leadership/messages.js';
import type { RaftOptionsInput } from '../../src/main/leadership/options.js';
import { RaftElection, type RaftEvent, type RaftStep } from '../../src/main/leadership/raft.js';
import { MemoryElectionStore } from '../../src/main/leadership/store.js';

/** Always the lowest value: election timeouts equal electionTimeoutMinMs. */
export const lowRng: Random = { nextInt: () => 0, nextFloat: () => 0 };

export interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly message: RaftMessage;
}

export class Bench {
  now = 0;
  readonly cores = new Map<string, RaftElection>();
  readonly stores = new Map<string, MemoryElectionStore>();
  readonly ledger = new LeaderLedger();
  readonly inflight: Envelope[] = [];
  readonly events: { node: string; event: RaftEvent }[] = [];
  /** Messages for which this returns false are dropped. */
  link: (e: Envelope) => boolean = () => true;

  constructor(
    names: readonly string[],
    opts: Partial<RaftOptionsInput> = {},
    rngs: (name: string) => Random = () => lowRng,
  ) {
    for (const n of names) {
      const store = new MemoryElectionStore();
      this.stores.set(n, store);
      this.cores.set(n, new RaftElection({ electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20, ...opts, name: n, voters: names }, { rng: rngs(n), now: 0, store }));
    }
  }

  core(name: string): RaftElection {
    const c = this.cores.get(name);
    if (c === undefined) throw new Error(`no core ${name}`);
    return c;
  }

  /** Records a step's outputs: sends go in flight, events to the ledger. */
  take(node: string, step: RaftStep): RaftStep {
    for (const s of step.sends) this.inflight.push({ from: node, to: s.to, message: s.message });
    for (const e of step.events) this.events.push({ node, event: e });
    this.ledger.observe(node, step.events, this.now);
    return step;
  }

  tick(node: string): RaftStep {
    return this.take(node, this.core(node).tick(this.now));
  }

  /** Delivers everything in flight (and what that produces) until quiet. */
  flush(limit = 10_000): void {
    for (let i = 0; this.inflight.length > 0; i++) {
      if (i > limit) throw new Error('message storm');
      const e = this.inflight.shift() as Envelope;
      if (!this.link(e) || !this.cores.has(e.to)) continue;
      this.take(e.to, this.core(e.to).receive(e.from, e.message, this.now));
    }
  }

  /** Moves the clock to `t`, ticking every core at each of its deadlines on the way and delivering at once. */
  runUntil(t: number, down: ReadonlySet<string> = new Set()): void {
    for (;;) {
      let next = Infinity;
      for (const [n, c] of this.cores) if (!down.has(n)) next = Math.min(next, c.nextDeadline());
      if (next > t) break;
      this.now = Math.max(this.now, next);
      for (const [n, c] of this.cores) if (!down.has(n) && c.nextDeadline() <= this.now) this.tick(n);
      this.flush();
    }
    this.now = t;
  }

  leaders(): string[] {
    return [...this.cores].filter(([, c]) => c.isLeader).map(([n]) => n);
  }
}

/** A source whose nextInt always returns min(v, bound - 1): a fixed election timeout of min + v. */
export function fixedRng(v: number): Random {
  return { nextInt: (bound: number) => Math.min(v, bound - 1), nextFloat: () => 0 };
}

/** Distinct fixed timeouts: `a` first (min), then `b` 30 ms later, `c` 60 ms, anyone else 90 ms. */
export const aFirst = (name: string): Random => fixedRng(({ a: 0, b: 30, c: 60 } as Record<string, number>)[name] ?? 90);
