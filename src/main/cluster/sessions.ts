// Sessions with an owner and a backup: the state of a session lives on its
// owner and is copied to one backup node before a change is acknowledged to
// the application, so no acknowledged state is lost when one node fails.
//
//   open / update    the owner sends the whole state to the backup
//                    (ClientMigration, reason "replicate", version + 1) and
//                    resolves once the backup acked it. The backup is the
//                    alive member with the highest hash of (session, member):
//                    stable while membership is, spread over the members.
//   backup fails     the owner picks the next backup and copies the state
//   owner fails      the failover (on the leader, failover.ts) asks every node
//                    to promote the sessions it backs up for the failed node:
//                    each becomes owner of them, copies them to a new backup,
//                    and tells every member (ClientMigration, reason
//                    "failover"), who rebinds the session's route and acks.
//   drain            the owner hands each session to its backup (reason
//                    "handover", the last state), which takes over as above
//                    (reason "drain"); used by rolling restarts.
//
// Fencing: a node that owns a session refuses a "replicate" for it from
// anyone else, so an owner wrongly declared dead that comes back cannot
// overwrite the promoted copy: its next update fails with
// ERR_PEER_UNAVAILABLE, it learns of the move from the announcement, and it
// drops the session. An update still in flight when its owner fails was
// never acknowledged; the promoted copy holds the last acknowledged one.
import { InvalidMessageError, PeerUnavailableError, TimeoutError } from '../../shared/errors.js';
import type { ClientMigration, ClientMigrationAck } from '../../shared/schema/layout.js';

export type MigrationBody = ({ type: 'ClientMigration' } & ClientMigration) | ({ type: 'ClientMigrationAck' } & ClientMigrationAck);

export interface SessionHost {
  readonly self: string;
  /** Other members alive now. */
  aliveMembers(): readonly string[];
  /** Sends a migration message to a member (dialling if needed); rejects when it cannot. */
  send(to: string, body: MigrationBody): Promise<void>;
  /** A session moved (route rebinding, events). */
  moved(session: string, from: string, to: string, reason: string): void;
}

export interface SessionView {
  readonly id: string;
  readonly state: Uint8Array;
  readonly version: number;
  readonly owner: string;
  /** The node holding its copy, or null while none could be found. */
  readonly backup: string | null;
}

interface Owned {
  state: Uint8Array;
  version: number;
  backup: string | null;
}

interface Held {
  owner: string;
  state: Uint8Array;
  version: number;
}

const REPLICATE = 'replicate';
const CLOSE = 'close';
const HANDOVER = 'handover';
const MAX_SESSION_ID_BYTES = 255;

export class SessionStore {
  private readonly owned = new Map<string, Owned>();
  private readonly held = new Map<string, Held>();
  /** The owner of sessions this node has heard of (its own, and announced moves). */
  private readonly directory = new Map<string, string>();
  private readonly pending = new Map<string, { resolve(accepted: boolean): void; timer: NodeJS.Timeout }>();
  /** Work on one session runs in order. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly host: SessionHost,
    private readonly ackTimeoutMs = 5_000,
    private readonly maxStateBytes = 8 * 1024 * 1024,
  ) {}

  /** Opens a session owned by this node; resolves once its backup holds the state. */
  open(id: string, state: Uint8Array): Promise<SessionView> {
    try {
      checkId(id);
      this.checkState(state);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serial(id, async () => {
      if (this.owned.has(id)) throw new InvalidMessageError('session', `${id} is already open here`);
      const s: Owned = { state, version: 0, backup: null };
      this.owned.set(id, s);
      this.directory.set(id, this.host.self);
      try {
        await this.replicate(id, s, state);
      } catch (error) {
        this.owned.delete(id);
        this.directory.delete(id);
        throw error;
      }
      return this.view(id, s);
    });
  }

  /** Replaces a session's state; resolves with the new version once its backup holds it. */
  update(id: string, state: Uint8Array): Promise<SessionView> {
    try {
      this.checkState(state);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serial(id, async () => {
      const s = this.owned.get(id);
      if (s === undefined) throw new PeerUnavailableError(this.directory.get(id) ?? '', `session ${id} is not owned by this node`);
      await this.replicate(id, s, state);
      return this.view(id, s);
    });
  }

  /** Closes a session: the backup drops its copy. */
  close(id: string): Promise<void> {
    return this.serial(id, async () => {
      const s = this.owned.get(id);
      if (s === undefined) return;
      this.owned.delete(id);
      this.directory.delete(id);
      if (s.backup !== null) await this.exchange(s.backup, { session: id, fromNode: this.host.self, toNode: s.backup, version: s.version + 1, state: new Uint8Array(0), reason: CLOSE }).catch(() => false);
    });
  }

  get(id: string): SessionView | undefined {
    const s = this.owned.get(id);
    return s === undefined ? undefined : this.view(id, s);
  }

  /** The owner of a session as this node knows it. */
  ownerOf(id: string): string | undefined {
    return this.directory.get(id);
  }

  ownedIds(): string[] {
    return [...this.owned.keys()];
  }

  /** Sessions this node backs up, by owner. */
  heldFor(owner: string): string[] {
    const ids: string[] = [];
    for (const [id, h] of this.held) if (h.owner === owner) ids.push(id);
    return ids;
  }

  get counts(): { owned: number; held: number } {
    return { owned: this.owned.size, held: this.held.size };
  }

  /** Takes over the sessions this node backs up for a failed owner; resolves with their ids. */
  async promote(failed: string, reason = 'failover'): Promise<string[]> {
    const ids = this.heldFor(failed);
    await Promise.all(ids.map((id) => this.serial(id, () => this.takeOver(id, failed, reason))));
    return ids;
  }

  /** Hands every owned session to its backup (which takes over); resolves with the ids moved. */
  async drain(): Promise<string[]> {
    const moved: string[] = [];
    await Promise.all(
      this.ownedIds().map((id) =>
        this.serial(id, async () => {
          const s = this.owned.get(id);
          if (s === undefined) return;
          const to = s.backup ?? this.pickBackup(id, []);
          if (to === null) return;
          const accepted = await this.exchange(to, { session: id, fromNode: this.host.self, toNode: to, version: s.version, state: s.state, reason: HANDOVER }).catch(() => false);
          if (!accepted) return;
          this.owned.delete(id);
          this.directory.set(id, to);
          moved.push(id);
        }),
      ),
    );
    return moved;
  }

  /** A member failed: owned sessions it backed up get a new backup. */
  memberFailed(node: string): void {
    for (const [id, s] of this.owned) {
      if (s.backup !== node) continue;
      s.backup = null;
      void this.serial(id, async () => {
        const cur = this.owned.get(id);
        if (cur !== undefined && cur.backup === null) await this.replicate(id, cur, cur.state, false).catch(() => undefined);
      });
    }
  }

  /** A ClientMigration or ClientMigrationAck from `from` (its authenticated node id). */
  receive(from: string, body: MigrationBody): void {
    if (body.type === 'ClientMigrationAck') {
      const key = ackKey(from, body.session, body.version);
      const p = this.pending.get(key);
      if (p === undefined) return;
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.resolve(body.accepted);
      return;
    }
    const m = body;
    const ack = (accepted: boolean): void => void this.host.send(from, { type: 'ClientMigrationAck', session: m.session, version: m.version, accepted }).catch(() => undefined);
    if (m.session.length === 0 || Buffer.byteLength(m.session) > MAX_SESSION_ID_BYTES || m.state.length > this.maxStateBytes) {
      ack(false);
      return;
    }
    switch (m.reason) {
      case REPLICATE: {
        // only the owner replicates, and never over a session this node owns
        if (m.fromNode !== from || this.owned.has(m.session)) return ack(false);
        const h = this.held.get(m.session);
        if (h !== undefined && h.owner === from && h.version >= m.version) return ack(h.version === m.version);
        this.held.set(m.session, { owner: from, state: m.state.slice(), version: m.version });
        this.directory.set(m.session, from);
        return ack(true);
      }
      case CLOSE: {
        const h = this.held.get(m.session);
        if (h !== undefined && h.owner === from) this.held.delete(m.session);
        if (this.directory.get(m.session) === from) this.directory.delete(m.session);
        return ack(true);
      }
      case HANDOVER: {
        if (m.fromNode !== from || this.owned.has(m.session)) return ack(false);
        this.held.set(m.session, { owner: from, state: m.state.slice(), version: m.version });
        ack(true);
        void this.serial(m.session, () => this.takeOver(m.session, from, 'drain'));
        return;
      }
      default: {
        // an announcement: the session now lives on toNode
        if (m.toNode !== from) return ack(false);
        const previous = this.directory.get(m.session);
        this.directory.set(m.session, m.toNode);
        if (this.owned.has(m.session) && m.toNode !== this.host.self) this.owned.delete(m.session);
        const h = this.held.get(m.session);
        if (h !== undefined && h.owner !== m.toNode) this.held.delete(m.session);
        if (previous !== m.toNode) this.host.moved(m.session, m.fromNode, m.toNode, m.reason);
        return ack(true);
      }
    }
  }

  /** Stops waiting for acks: operations in flight fail. */
  shutdown(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(false);
    }
    this.pending.clear();
  }

  // ------------------------------------------------------------ internals

  private async takeOver(id: string, failed: string, reason: string): Promise<void> {
    const h = this.held.get(id);
    if (h === undefined || h.owner !== failed) return;
    this.held.delete(id);
    const s: Owned = { state: h.state, version: h.version, backup: null };
    this.owned.set(id, s);
    this.directory.set(id, this.host.self);
    // a new copy first, then the news
    await this.replicate(id, s, s.state, false, [failed]).catch(() => undefined);
    this.host.moved(id, failed, this.host.self, reason);
    const members = this.host.aliveMembers().filter((m) => m !== failed);
    await Promise.all(members.map((m) => this.exchange(m, { session: id, fromNode: failed, toNode: this.host.self, version: s.version, state: new Uint8Array(0), reason }).catch(() => false)));
  }

  /** Copies `state` to the backup (picking one if needed) as the next version; throws when no backup acks. */
  private async replicate(id: string, s: Owned, state: Uint8Array, bump = true, exclude: readonly string[] = []): Promise<void> {
    const version = bump ? s.version + 1 : s.version;
    const tried: string[] = [...exclude];
    for (;;) {
      const to = s.backup ?? this.pickBackup(id, tried);
      if (to === null) throw new PeerUnavailableError('', `no alive member to hold a copy of session ${id}`);
      const accepted = await this.exchange(to, { session: id, fromNode: this.host.self, toNode: to, version, state, reason: REPLICATE }).catch(() => false);
      if (!this.owned.has(id)) throw new PeerUnavailableError(this.directory.get(id) ?? '', `session ${id} moved away`);
      if (accepted) {
        s.backup = to;
        s.state = state;
        s.version = version;
        return;
      }
      if (s.backup === to && this.host.aliveMembers().includes(to)) {
        // the backup refused: it owns the session now (this node was taken for dead)
        this.owned.delete(id);
        throw new PeerUnavailableError(to, `session ${id} is owned by ${to}`);
      }
      s.backup = null;
      tried.push(to);
    }
  }

  private exchange(to: string, m: ClientMigration): Promise<boolean> {
    const key = ackKey(to, m.session, m.version);
    const answered = new Promise<boolean>((resolve) => {
      const previous = this.pending.get(key);
      if (previous !== undefined) {
        clearTimeout(previous.timer);
        previous.resolve(false);
      }
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(false);
      }, this.ackTimeoutMs);
      timer.unref();
      this.pending.set(key, { resolve, timer });
    });
    return this.host.send(to, { type: 'ClientMigration', ...m }).then(
      () => answered,
      (error: unknown) => {
        const p = this.pending.get(key);
        if (p !== undefined) {
          clearTimeout(p.timer);
          this.pending.delete(key);
        }
        throw error instanceof Error ? error : new TimeoutError(0, this.ackTimeoutMs, 1);
      },
    );
  }

  private pickBackup(id: string, exclude: readonly string[]): string | null {
    let best: string | null = null;
    let bestScore = -1;
    for (const m of this.host.aliveMembers()) {
      if (m === this.host.self || exclude.includes(m)) continue;
      const score = fnv1a(`${id}\u0000${m}`);
      if (score > bestScore) {
        bestScore = score;
        best = m;
      }
    }
    return best;
  }

  private serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const before = this.chains.get(id) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => undefined);
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return run;
  }

  private view(id: string, s: Owned): SessionView {
    return { id, state: s.state, version: s.version, owner: this.host.self, backup: s.backup };
  }

  private checkState(state: Uint8Array): void {
    if (!(state instanceof Uint8Array)) throw new InvalidMessageError('state', 'expected a Uint8Array');
    if (state.length > this.maxStateBytes) throw new InvalidMessageError('state', `${state.length} bytes exceeds ${this.maxStateBytes}`);
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > MAX_SESSION_ID_BYTES) throw new InvalidMessageError('session', 'expected 1..255 UTF-8 bytes');
}

function ackKey(peer: string, session: string, version: number): string {
  return `${peer}\u0000${session}\u0000${version}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
