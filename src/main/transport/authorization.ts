// Which message types a peer may send: an allow-list per peer node id
// and/or per certificate role, and a default for peers no rule names.
// The connection checks every received envelope after the handshake; a
// message that is not allowed is answered with an ErrorReply
// (ERR_FORBIDDEN, forbiddenReply()) and is not dispatched.
//
//   const authz = new Authorization(resolveAuthorizationOptions({
//     defaultAllow: ['Message', 'Request', 'Response'],
//     peers: { 'ops-1': 'all' },
//     roles: { replica: ['ReplicationEntries', 'ReplicationAck', 'Request', 'Response'] },
//   }));
//   const error = authz.check(peerNodeId, certificateRole, envelope.body.type);
//
// RULES. A message is allowed when its type is a control type (below), or
// is listed by the rule for the peer's node id, or by the rule for the
// peer's role. Only when neither the node id nor the role has a rule does
// `defaultAllow` decide (default 'all', so a cluster without a policy
// works; a rule restricts the peers it names). A list is an allow-list; 'all'
// allows every type. An unknown type name is never allowed.
//
// CONTROL TYPES, always allowed whatever the policy, because a connection
// cannot work or fail cleanly without them: the handshake
// (HandshakeRequest, HandshakeResponse, HandshakeConfirm), liveness (Ping,
// Pong, HeartbeatPing, HeartbeatPong) and ErrorReply. Chunk and the Stream*
// types are NOT control types: a peer that may send large or streamed
// messages needs them listed.
//
// DECIDED ONCE. The options are compiled at construction into one
// membership table per rule, indexed by the Body union's type number, so a
// check is two Map lookups and an array read, and no allocation unless the
// message is refused. forPeer() merges the peer's rules once more, for a
// connection to keep: then a check is one array read.
import { ForbiddenError, InvalidConfigError } from '../../shared/errors.js';
import { WireError } from '../../shared/schema/generated/clusterwire/wire/wire-error.js';
import { BodyType, type BodyName, type ErrorReply } from '../../shared/schema/layout.js';

export type AllowList = 'all' | readonly BodyName[];

export interface AuthorizationOptionsInput {
  /** For peers with no rule for their node id or role. Default 'all'. */
  defaultAllow?: AllowList;
  /** Rules by peer node id. */
  peers?: Readonly<Record<string, AllowList>>;
  /** Rules by certificate role. */
  roles?: Readonly<Record<string, AllowList>>;
}

export interface AuthorizationOptions {
  readonly defaultAllow: AllowList;
  readonly peers: ReadonlyMap<string, AllowList>;
  readonly roles: ReadonlyMap<string, AllowList>;
}

/** Types every peer may send, whatever the policy. */
export const CONTROL_TYPES: readonly BodyName[] = Object.freeze([
  'HandshakeRequest',
  'HandshakeResponse',
  'HandshakeConfirm',
  'Ping',
  'Pong',
  'HeartbeatPing',
  'HeartbeatPong',
  'ErrorReply',
] as const);

const BODY_NAMES: readonly BodyName[] = Object.keys(BodyType).filter((n) => n !== 'NONE') as BodyName[];
const TABLE_LENGTH = Math.max(...Object.values(BodyType)) + 1;

export function resolveAuthorizationOptions(input: AuthorizationOptionsInput = {}): AuthorizationOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const defaultAllow = allowList('defaultAllow', input.defaultAllow ?? 'all');
  const peers = rules('peers', input.peers ?? {});
  const roles = rules('roles', input.roles ?? {});
  return Object.freeze({ defaultAllow, peers, roles });
}

/** One compiled rule: table[type number] is 1 when allowed. */
type Table = Uint8Array;

/** The rules that apply to one connection's peer, merged: one array read per check. */
export class PeerAuthorization {
  readonly #table: Table;

  constructor(
    readonly peer: string,
    readonly role: string | null,
    table: Table,
  ) {
    this.#table = table;
  }

  allows(type: BodyName): boolean {
    return this.#table[BodyType[type]] === 1;
  }

  /** null when allowed, else the error to answer with (forbiddenReply) and not dispatch. */
  check(type: BodyName): ForbiddenError | null {
    return this.#table[BodyType[type]] === 1 ? null : new ForbiddenError(String(type), this.peer, this.role);
  }
}

export class Authorization {
  readonly options: AuthorizationOptions;
  readonly #default: Table;
  readonly #peers: Map<string, Table>;
  readonly #roles: Map<string, Table>;
  /** No rules and defaultAllow 'all': every check passes. */
  readonly #open: boolean;

  constructor(options: AuthorizationOptions) {
    this.options = options;
    this.#default = compile(options.defaultAllow);
    this.#peers = new Map([...options.peers].map(([k, v]) => [k, compile(v)]));
    this.#roles = new Map([...options.roles].map(([k, v]) => [k, compile(v)]));
    this.#open = options.defaultAllow === 'all' && options.peers.size === 0 && options.roles.size === 0;
  }

  /** True when `peer` (with certificate role `role`, or null) may send `type`. */
  allows(peer: string, role: string | null, type: BodyName): boolean {
    const code = BodyType[type];
    if (this.#open) return this.#default[code] === 1;
    const byPeer = this.#peers.get(peer);
    const byRole = role === null ? undefined : this.#roles.get(role);
    if (byPeer === undefined && byRole === undefined) return this.#default[code] === 1;
    return byPeer?.[code] === 1 || byRole?.[code] === 1;
  }

  /** null when allowed, else the ForbiddenError to answer with (forbiddenReply) and not dispatch. */
  check(peer: string, role: string | null, type: BodyName): ForbiddenError | null {
    return this.allows(peer, role, type) ? null : new ForbiddenError(String(type), peer, role);
  }

  /** The rules for one connection's peer, merged once: what a connection keeps after its handshake. */
  forPeer(peer: string, role: string | null): PeerAuthorization {
    const byPeer = this.#peers.get(peer);
    const byRole = role === null ? undefined : this.#roles.get(role);
    let table: Table;
    if (byPeer === undefined && byRole === undefined) table = this.#default;
    else if (byPeer === undefined) table = byRole as Table;
    else if (byRole === undefined) table = byPeer;
    else table = byPeer.map((v, i) => v | byRole[i]);
    return new PeerAuthorization(peer, role, table);
  }
}

/** The ErrorReply that answers a refused message `inReplyTo` (its message id). */
export function forbiddenReply(error: ForbiddenError, inReplyTo: number): ErrorReply {
  return { code: WireError.Forbidden, inReplyTo, message: `${error.messageType} is not allowed from this peer` };
}

function compile(list: AllowList): Table {
  const table = new Uint8Array(TABLE_LENGTH);
  if (list === 'all') {
    for (const name of BODY_NAMES) table[BodyType[name]] = 1;
    return table;
  }
  for (const name of CONTROL_TYPES) table[BodyType[name]] = 1;
  for (const name of list) table[BodyType[name]] = 1;
  return table;
}

function rules(field: string, value: unknown): ReadonlyMap<string, AllowList> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidConfigError(field, 'expected an object of allow-lists by name');
  }
  const out = new Map<string, AllowList>();
  for (const [name, list] of Object.entries(value)) {
    if (name.length === 0) throw new InvalidConfigError(field, 'names must not be empty');
    out.set(name, allowList(`${field}.${name}`, list));
  }
  return out;
}

function allowList(field: string, value: unknown): AllowList {
  if (value === 'all') return 'all';
  if (!Array.isArray(value)) throw new InvalidConfigError(field, `expected 'all' or an array of message type names, got ${String(value)}`);
  for (const name of value) {
    if (typeof name !== 'string' || !BODY_NAMES.includes(name as BodyName)) {
      throw new InvalidConfigError(field, `unknown message type ${JSON.stringify(name)}`);
    }
  }
  return Object.freeze([...(value as BodyName[])]);
}
