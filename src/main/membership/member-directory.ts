// Member names and addresses, interned: each name gets a small integer id
// (the slot every MemberTable stores that member's state under) and one
// canonical endpoint (host, port, "host:port"). A core that is given none
// owns a private directory; the simulator gives all its cores one shared
// directory, so that N nodes that each know N members hold N strings, not
// N² of them, and each per-member field is one typed-array element.
//
// Tables hold the ids they use; an id nobody holds any more is recycled, so
// a long-running node whose peers come and go under new names does not grow.
// A core that is dropped without releasing its holds (a simulated node that
// restarts) only keeps its ids from being recycled.
import { addressOf } from './member.js';

/** Where a member is reached. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** "host:port": what sends are addressed to. */
  readonly address: string;
}

export class MemberDirectory {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly holds: number[] = [];
  private readonly endpoints: (Endpoint | null)[] = [];
  private readonly free: number[] = [];

  /** One more than the highest id ever given out: tables size their columns by it. */
  get capacity(): number {
    return this.names.length;
  }

  /** Names currently held by some table. */
  get size(): number {
    return this.ids.size;
  }

  /** The id of `name`, or -1 when no table holds it. */
  lookup(name: string): number {
    const id = this.ids.get(name);
    return id === undefined ? -1 : id;
  }

  name(id: number): string {
    return this.names[id];
  }

  /** The canonical endpoint of `id`: the one its first holder gave. */
  endpoint(id: number): Endpoint {
    return this.endpoints[id] as Endpoint;
  }

  /**
   * Takes a hold on `name` (reached at host:port) and returns its id. The
   * first holder sets the canonical endpoint; callers compare theirs with it.
   */
  hold(name: string, host: string, port: number): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.free.length > 0 ? (this.free.pop() as number) : this.names.length;
      this.ids.set(name, id);
      this.names[id] = name;
      this.holds[id] = 0;
      this.endpoints[id] = null;
    }
    this.holds[id]++;
    if (this.endpoints[id] === null) this.endpoints[id] = this.intern(host, port);
    return id;
  }

  /** Drops one hold on `id`; the id is recycled when none is left. */
  release(id: number): void {
    if (--this.holds[id] > 0) return;
    this.ids.delete(this.names[id]);
    this.endpoints[id] = null;
    this.free.push(id);
  }

  /** An endpoint for host:port, the canonical one of some id when it matches. */
  intern(host: string, port: number, id = -1): Endpoint {
    const e = id >= 0 ? this.endpoints[id] : null;
    if (e !== null && e.host === host && e.port === port) return e;
    return Object.freeze({ host, port, address: addressOf(host, port) });
  }
}
