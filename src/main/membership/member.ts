// A member as this node sees it, and the SWIM precedence rules that decide
// whether an incoming update changes it (SWIM paper section 4.2; memberlist's
// alive/suspect/dead handling follows the same order):
//
//   alive(i)   overrides alive/suspect(j) when i > j, dead/left(j) when i > j
//   suspect(i) overrides alive(j) when i >= j, suspect(j) when i > j
//   dead(i)    overrides alive/suspect(j) when i >= j
//   left(i)    overrides alive/suspect/dead(j) when i >= j
//
// At equal incarnation the order is alive < suspect < dead < left, so a
// refutation must raise the incarnation.
import { EMPTY_BYTES, MemberState, type MemberRecord, type SwimUpdate } from './messages.js';

/** The local lifecycle of a node, including the state before its join completes. */
export type LocalState = 'joining' | 'alive' | 'suspect' | 'dead' | 'left';

export const STATE_NAMES: readonly LocalState[] = ['alive', 'suspect', 'dead', 'left'];

/** A read-only copy of a member, as events and views report it. */
export interface MemberView {
  readonly name: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly state: LocalState;
  readonly meta: Uint8Array;
  /** When this node last saw the state change (its own clock). */
  readonly since: number;
}

export function addressOf(host: string, port: number): string {
  return `${host}:${port}`;
}

export class Member {
  address: string;
  /** The record sent in push-pull exchanges; built on demand, dropped on every change. */
  private cachedRecord: MemberRecord | null = null;
  /** True while the member has a place in the probe order. */
  inOrder = false;
  /** True once the member was forgotten (reaped). */
  removed = false;
  /** When a message from this member last arrived (this node's clock). */
  lastHeard = -Infinity;

  constructor(
    readonly name: string,
    public host: string,
    public port: number,
    public incarnation: number,
    public state: MemberState,
    public meta: Uint8Array,
    public since: number,
  ) {
    this.address = addressOf(host, port);
  }

  get record(): MemberRecord {
    if (this.cachedRecord === null) {
      this.cachedRecord = { node: this.name, host: this.host, port: this.port, incarnation: this.incarnation, state: this.state, meta: this.meta };
    }
    return this.cachedRecord;
  }

  /** Applies a state/incarnation change; an alive claim may also carry a new address and metadata. */
  set(state: MemberState, incarnation: number, now: number, host: string, port: number, meta: Uint8Array | null): void {
    if (state !== this.state) this.since = now;
    this.state = state;
    this.incarnation = incarnation;
    if (state === MemberState.Alive && host.length > 0 && (host !== this.host || port !== this.port)) {
      this.host = host;
      this.port = port;
      this.address = addressOf(host, port);
    }
    if (meta !== null) this.meta = meta;
    this.cachedRecord = null;
  }

  get live(): boolean {
    return this.state === MemberState.Alive || this.state === MemberState.Suspect;
  }

  view(): MemberView {
    return Object.freeze({
      name: this.name,
      address: this.address,
      host: this.host,
      port: this.port,
      incarnation: this.incarnation,
      state: STATE_NAMES[this.state],
      meta: this.meta,
      since: this.since,
    });
  }

  /** The update that tells others about this member's current state. */
  update(from: string): SwimUpdate {
    return {
      state: this.state,
      node: this.name,
      incarnation: this.incarnation,
      from,
      host: this.host,
      port: this.port,
      meta: this.state === MemberState.Alive ? this.meta : EMPTY_BYTES,
    };
  }
}

/** True when an update in `state` at `incarnation` overrides a member in `current` at `currentIncarnation`. */
export function overrides(state: MemberState, incarnation: number, current: MemberState, currentIncarnation: number): boolean {
  switch (state) {
    case MemberState.Alive:
      return incarnation > currentIncarnation;
    case MemberState.Suspect:
      if (current === MemberState.Alive) return incarnation >= currentIncarnation;
      return incarnation > currentIncarnation;
    case MemberState.Dead:
      if (current === MemberState.Alive || current === MemberState.Suspect) return incarnation >= currentIncarnation;
      return incarnation > currentIncarnation;
    case MemberState.Left:
      if (current === MemberState.Left) return incarnation > currentIncarnation;
      return incarnation >= currentIncarnation;
    default:
      return false;
  }
}
