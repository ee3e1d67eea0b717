// The session store's rules on an in-memory network of stores: a change is
// acknowledged only once a backup holds it, a lost backup is replaced, a
// promoted backup fences off the old owner, drains hand sessions over.
import { describe, expect, it } from 'vitest';
import { SessionStore, type MigrationBody } from '../../src/main/cluster/sessions.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

class Net {
  readonly stores = new Map<string, SessionStore>();
  readonly down = new Set<string>();
  /** Messages a node swallows without answering (a hung backup). */
  readonly mute = new Set<string>();
  readonly moves: string[] = [];

  add(name: string, ackTimeoutMs = 200): SessionStore {
    const store = new SessionStore(
      {
        self: name,
        aliveMembers: () => [...this.stores.keys()].filter((n) => n !== name && !this.down.has(n)),
        send: async (to, body: MigrationBody) => {
          if (this.down.has(to) || this.down.has(name)) throw new Error(`${to} unreachable`);
          if (this.mute.has(to)) return;
          queueMicrotask(() => this.stores.get(to)!.receive(name, body));
        },
        moved: (session, from, to, reason) => this.moves.push(`${name}: ${session} ${from}->${to} (${reason})`),
      },
      ackTimeoutMs,
    );
    this.stores.set(name, store);
    return store;
  }
}

describe('SessionStore', () => {
  it('acknowledges a change only once a backup holds it, and replaces a backup that fails', async () => {
    const net = new Net();
    const [a] = ['a', 'b', 'c', 'd'].map((n) => net.add(n));
    const v = await a.open('s', enc.encode('one'));
    expect(v.version).toBe(1);
    const backup = v.backup!;
    expect(net.stores.get(backup)!.heldFor('a')).toEqual(['s']);
    net.down.add(backup);
    a.memberFailed(backup);
    await new Promise((r) => setTimeout(r, 10));
    const next = a.get('s')!.backup!;
    expect(next).not.toBe(backup);
    expect(net.stores.get(next)!.heldFor('a')).toEqual(['s']);
    const u = await a.update('s', enc.encode('two'));
    expect(u).toMatchObject({ version: 2, backup: next });
  });

  it('tries the next member when a backup does not answer, and fails when none does', async () => {
    const net = new Net();
    const a = net.add('a', 50);
    net.add('b', 50);
    net.mute.add('b');
    await expect(a.open('s', enc.encode('x'))).rejects.toMatchObject({ code: 'ERR_PEER_UNAVAILABLE' });
    expect(a.get('s')).toBeUndefined();
    net.add('c', 50);
    const v = await a.open('s', enc.encode('x'));
    expect(v.backup).toBe('c');
  });

  it('promotes the copies of a failed owner with the last acknowledged state and tells every member', async () => {
    const net = new Net();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => net.add(n));
    for (let i = 0; i < 6; i++) {
      await a.open(`s${i}`, enc.encode(`${i}:1`));
      await a.update(`s${i}`, enc.encode(`${i}:2`));
    }
    net.down.add('a');
    const promoted = [...(await b.promote('a')), ...(await c.promote('a'))].sort();
    expect(promoted).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    for (let i = 0; i < 6; i++) {
      const owner = b.get(`s${i}`) ?? c.get(`s${i}`);
      expect(dec.decode(owner!.state)).toBe(`${i}:2`);
      expect(owner!.version).toBe(2);
      expect(owner!.backup).not.toBe('a');
      expect(b.ownerOf(`s${i}`)).toBe(owner!.owner);
      expect(c.ownerOf(`s${i}`)).toBe(owner!.owner);
    }
    // promoting again does nothing: the copies are owned now
    expect(await b.promote('a')).toEqual([]);
  });

  it('fences an owner that was taken for dead: its next update fails and it learns where the session went', async () => {
    const net = new Net();
    const [a, b] = ['a', 'b'].map((n) => net.add(n));
    net.add('c');
    await a.open('s', enc.encode('v1'));
    const backup = a.get('s')!.backup!;
    const promoted = net.stores.get(backup)!;
    // the others declared a dead while it was only cut off; its backup takes over
    net.down.add('a');
    await promoted.promote('a');
    net.down.delete('a');
    await expect(a.update('s', enc.encode('stale'))).rejects.toMatchObject({ code: 'ERR_PEER_UNAVAILABLE' });
    expect(a.get('s')).toBeUndefined();
    expect(dec.decode(promoted.get('s')!.state)).toBe('v1');
    void b;
  });

  it('drains: every owned session is handed to its backup, which takes over', async () => {
    const net = new Net();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => net.add(n));
    for (let i = 0; i < 4; i++) await a.open(`d${i}`, enc.encode(`d${i}`));
    const moved = await a.drain();
    expect(moved.sort()).toEqual(['d0', 'd1', 'd2', 'd3']);
    expect(a.ownedIds()).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 4; i++) {
      const owner = b.get(`d${i}`) ?? c.get(`d${i}`);
      expect(dec.decode(owner!.state)).toBe(`d${i}`);
      expect(a.ownerOf(`d${i}`)).toBe(owner!.owner);
    }
    expect(net.moves.some((m) => m.includes('(drain)'))).toBe(true);
  });

  it('refuses malformed input: a replicate not from the owner, an oversized state', async () => {
    const net = new Net();
    const [a] = ['a', 'b'].map((n) => net.add(n));
    const acks: boolean[] = [];
    const spy = new SessionStore({ self: 'x', aliveMembers: () => [], send: async (_to, body) => void (body.type === 'ClientMigrationAck' && acks.push(body.accepted)), moved: () => undefined }, 100, 16);
    spy.receive('a', { type: 'ClientMigration', session: 's', fromNode: 'b', toNode: 'x', version: 1, state: new Uint8Array(1), reason: 'replicate' });
    spy.receive('a', { type: 'ClientMigration', session: 's', fromNode: 'a', toNode: 'x', version: 1, state: new Uint8Array(17), reason: 'replicate' });
    spy.receive('a', { type: 'ClientMigration', session: 's', fromNode: 'a', toNode: 'x', version: 1, state: new Uint8Array(3), reason: 'replicate' });
    await new Promise((r) => setTimeout(r, 5));
    expect(acks).toEqual([false, false, true]);
    expect(spy.heldFor('a')).toEqual(['s']);
    await expect(a.open('', enc.encode('x'))).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
  });
});
