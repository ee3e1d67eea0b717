// Authorization: the rules (peer, role, default), control types, the error
// and its reply, option validation; and a fast-check comparison of the
// compiled tables with a naive reading of the rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ForbiddenError, InvalidConfigError } from '../../src/shared/errors.js';
import { WireError } from '../../src/shared/schema/generated/clusterwire/wire/wire-error.js';
import { BodyType, type BodyName } from '../../src/shared/schema/layout.js';
import {
  Authorization,
  CONTROL_TYPES,
  forbiddenReply,
  resolveAuthorizationOptions,
  type AllowList,
  type AuthorizationOptionsInput,
} from '../../src/main/transport/authorization.js';

const authz = (input: AuthorizationOptionsInput = {}): Authorization => new Authorization(resolveAuthorizationOptions(input));
const ALL_NAMES = Object.keys(BodyType).filter((n) => n !== 'NONE') as BodyName[];

describe('Authorization: rules', () => {
  it('without a policy allows every message type from every peer', () => {
    const a = authz();
    for (const t of ALL_NAMES) expect(a.check('n1', null, t)).toBeNull();
  });

  it('applies defaultAllow to peers no rule names', () => {
    const a = authz({ defaultAllow: ['Message'] });
    expect(a.allows('n1', null, 'Message')).toBe(true);
    expect(a.allows('n1', 'worker', 'Request')).toBe(false);
  });

  it('a rule for the node id replaces the default for that peer', () => {
    const a = authz({ defaultAllow: 'all', peers: { edge: ['Message'] } });
    expect(a.allows('edge', null, 'Message')).toBe(true);
    expect(a.allows('edge', null, 'AppendEntries')).toBe(false);
    expect(a.allows('core', null, 'AppendEntries')).toBe(true);
  });

  it('a rule for the role applies to every peer with that role', () => {
    const a = authz({ defaultAllow: [], roles: { replica: ['ReplicationEntries', 'ReplicationAck'] } });
    expect(a.allows('n7', 'replica', 'ReplicationEntries')).toBe(true);
    expect(a.allows('n7', 'client', 'ReplicationEntries')).toBe(false);
    expect(a.allows('n7', null, 'ReplicationEntries')).toBe(false);
  });

  it('allows what either the node id rule or the role rule lists', () => {
    const a = authz({ defaultAllow: 'all', peers: { n1: ['Message'] }, roles: { voter: ['RequestVote'] } });
    expect(a.allows('n1', 'voter', 'Message')).toBe(true);
    expect(a.allows('n1', 'voter', 'RequestVote')).toBe(true);
    expect(a.allows('n1', 'voter', 'Request')).toBe(false); // the default does not add to a named peer
    expect(a.allows('n1', 'other', 'RequestVote')).toBe(false);
  });

  it('always allows the control types, and only those, under an empty allow-list', () => {
    const a = authz({ defaultAllow: [] });
    const allowed = ALL_NAMES.filter((t) => a.allows('n1', null, t));
    expect(allowed.sort()).toEqual([...CONTROL_TYPES].sort());
    expect(CONTROL_TYPES).toEqual(['HandshakeRequest', 'HandshakeResponse', 'HandshakeConfirm', 'Ping', 'Pong', 'HeartbeatPing', 'HeartbeatPong', 'ErrorReply']);
    expect(a.allows('n1', null, 'Chunk')).toBe(false);
  });

  it('never allows a name that is not a message type', () => {
    for (const a of [authz(), authz({ defaultAllow: [] }), authz({ peers: { n1: 'all' } })]) {
      for (const bogus of ['NONE', 'toString', '__proto__', 'constructor', 'request', '']) {
        expect(a.allows('n1', null, bogus as BodyName)).toBe(false);
        expect(a.forPeer('n1', null).allows(bogus as BodyName)).toBe(false);
      }
    }
  });

  it('rule names are not looked up on the prototype', () => {
    const a = authz({ defaultAllow: [] });
    expect(a.allows('constructor', 'toString', 'Message')).toBe(false);
  });
});

describe('Authorization: refusal', () => {
  it('answers a refused message with a ForbiddenError naming the type, peer and role', () => {
    const a = authz({ defaultAllow: [] });
    const e = a.check('n9', 'client', 'AppendEntries');
    expect(e).toBeInstanceOf(ForbiddenError);
    expect(e).toMatchObject({ code: ErrorCode.FORBIDDEN, messageType: 'AppendEntries', peer: 'n9', role: 'client' });
    expect(e?.wireCode).toBe(WireError.Forbidden);
    expect(e?.message).toBe('peer n9 (role client) may not send AppendEntries');
  });

  it('builds the ErrorReply for the refused message id', () => {
    const e = new ForbiddenError('Request', 'n9');
    expect(forbiddenReply(e, 4_242)).toEqual({ code: WireError.Forbidden, inReplyTo: 4_242, message: 'Request is not allowed from this peer' });
  });

  it('forPeer merges the rules once and agrees with check()', () => {
    const a = authz({ defaultAllow: ['Message'], peers: { n1: ['Request'] }, roles: { r: ['Response'] } });
    const p = a.forPeer('n1', 'r');
    expect(p.allows('Request') && p.allows('Response') && p.allows('Ping')).toBe(true);
    expect(p.allows('Message')).toBe(false);
    expect(p.check('Message')).toMatchObject({ messageType: 'Message', peer: 'n1', role: 'r' });
    expect(p.check('Request')).toBeNull();
  });
});

describe('resolveAuthorizationOptions', () => {
  it("defaults to 'all' and no rules", () => {
    const o = resolveAuthorizationOptions();
    expect(o.defaultAllow).toBe('all');
    expect(o.peers.size + o.roles.size).toBe(0);
  });

  it('copies the lists it is given', () => {
    const list: BodyName[] = ['Message'];
    const a = authz({ defaultAllow: list });
    list.push('Request');
    expect(a.allows('n', null, 'Request')).toBe(false);
  });

  const bad: [string, unknown][] = [
    ['defaultAllow', { defaultAllow: 'none' }],
    ['defaultAllow', { defaultAllow: ['Message', 'Mesage'] }],
    ['defaultAllow', { defaultAllow: ['NONE'] }],
    ['peers.n1', { peers: { n1: ['Bogus'] } }],
    ['peers.n1', { peers: { n1: 5 } }],
    ['roles.ops', { roles: { ops: [1] } }],
    ['roles', { roles: ['ops'] }],
    ['peers', { peers: { '': 'all' } }],
  ];
  for (const [field, input] of bad) {
    it(`refuses ${JSON.stringify(input)} naming ${field}`, () => {
      expect(() => resolveAuthorizationOptions(input as AuthorizationOptionsInput)).toThrow(InvalidConfigError);
      expect(() => resolveAuthorizationOptions(input as AuthorizationOptionsInput)).toThrow(`invalid option ${field}:`);
    });
  }
});

describe('Authorization: property', () => {
  it('agrees with a naive reading of the rules for every peer, role and type', () => {
    const listArb: fc.Arbitrary<AllowList> = fc.oneof(fc.constant('all' as const), fc.subarray(ALL_NAMES, { maxLength: 8 }));
    const names = ['a', 'b', 'c'];
    fc.assert(
      fc.property(
        listArb,
        fc.dictionary(fc.constantFrom(...names), listArb),
        fc.dictionary(fc.constantFrom(...names), listArb),
        (defaultAllow, peers, roles) => {
          const a = authz({ defaultAllow, peers, roles });
          const listed = (l: AllowList | undefined, t: BodyName): boolean => l !== undefined && (l === 'all' || l.includes(t) || CONTROL_TYPES.includes(t));
          for (const peer of names) {
            for (const role of [...names, null]) {
              const p = a.forPeer(peer, role);
              for (const t of ALL_NAMES) {
                const byPeer = Object.hasOwn(peers, peer) ? peers[peer] : undefined;
                const byRole = role !== null && Object.hasOwn(roles, role) ? roles[role] : undefined;
                const expected = byPeer === undefined && byRole === undefined ? listed(defaultAllow, t) : listed(byPeer, t) || listed(byRole, t);
                expect(a.allows(peer, role, t)).toBe(expected);
                expect(p.allows(t)).toBe(expected);
                expect(a.check(peer, role, t) === null).toBe(expected);
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
