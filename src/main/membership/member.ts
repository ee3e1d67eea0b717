// How a member is reported (MemberView), and the SWIM precedence rules that decide
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
import { MemberState } from './messages.js';

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
