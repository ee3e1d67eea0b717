// StreamMux: lifecycle (open, accept, half-close, close, reset, refusal),
// credit per stream and per connection, writable events, each violation with
// its typed error, options.
import { describe, expect, it } from 'vitest';
import { FlowControlError, InvalidConfigError, StreamLimitError, StreamResetError, StreamStateError } from '../../src/shared/errors.js';
import { DEFAULT_STREAM_MUX, resolveStreamMuxOptions, StreamEvent, StreamMux } from '../../src/main/transport/stream-mux.js';
import { Pair } from './stream-mux-pair.js';

const KiB = 1024;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('StreamMux lifecycle', () => {
  it('grants the connection window at start; opening sends Open with the receive window, the peer accepts with its own', () => {
    const p = new Pair();
    expect(p.a.link).toEqual([{ kind: 'out', out: { type: 'send', streamId: 0, body: { type: 'StreamCredit', bytes: 16 * 1024 * KiB } } }]);
    p.settle();
    expect(p.a.mux.connectionSendCredit).toBe(16 * 1024 * KiB);
    const id = p.a.mux.open('logs');
    expect(id).toBe(1);
    p.collect(p.a);
    expect(p.a.link[0]).toEqual({
      kind: 'out',
      out: { type: 'send', streamId: 1, body: { type: 'StreamControl', event: StreamEvent.Open, initialCredit: 256 * KiB, topic: 'logs', reason: '' } },
    });
    // Before the peer accepted, nothing may be sent.
    expect(p.a.mux.sendable(id)).toBe(0);
    p.deliver(p.a);
    expect(p.b.events).toEqual([{ type: 'opened', streamId: 1, topic: 'logs' }]);
    expect(p.b.mux.sendable(1)).toBe(256 * KiB); // the opener's window
    p.deliver(p.b);
    expect(p.a.events).toEqual([{ type: 'writable', streamId: 1 }]);
    expect(p.a.mux.sendable(id)).toBe(256 * KiB);
  });

  it('gives the initiator odd ids and the acceptor even ones', () => {
    const p = new Pair();
    p.settle();
    expect([p.a.mux.open(), p.a.mux.open(), p.b.mux.open(), p.b.mux.open()]).toEqual([1, 3, 2, 4]);
    p.collect(p.a);
    p.collect(p.b);
    p.settle();
    expect(p.a.mux.streamCount).toBe(4);
    expect(p.b.mux.streamCount).toBe(4);
  });

  it('half-closes with fin, then with Close; frees the stream once both ended and all was consumed', () => {
    const p = new Pair();
    p.settle();
    const id = p.a.mux.open();
    p.collect(p.a);
    p.settle();
    p.send(p.a, id, 100, true);
    expect(p.a.mux.sendable(id)).toBe(0);
    expect(() => p.a.mux.send(id, 1, false)).toThrow(StreamStateError);
    p.settle();
    expect(p.b.events.at(-1)).toEqual({ type: 'ended', streamId: id });
    // B still may send: the other direction is open.
    p.send(p.b, id, 10);
    p.b.mux.close(id);
    p.collect(p.b);
    expect(p.b.mux.streamCount).toBe(1); // 100 bytes unread
    p.b.mux.consume(id, 100);
    p.collect(p.b);
    expect(p.b.events.at(-1)).toEqual({ type: 'closed', streamId: id });
    p.settle();
    expect(p.a.events.slice(-1)).toEqual([{ type: 'ended', streamId: id }]);
    p.a.mux.consume(id, 10);
    p.collect(p.a);
    expect(p.a.events.at(-1)).toEqual({ type: 'closed', streamId: id });
    expect(p.a.mux.streamCount).toBe(0);
    expect(p.b.mux.streamCount).toBe(0);
  });

  it('resets: the peer gets ERR_STREAM_RESET with the reason, unread bytes go back to the connection, late data is discarded', () => {
    const p = new Pair();
    p.settle();
    const id = p.a.mux.open();
    p.collect(p.a);
    p.settle();
    p.send(p.b, id, 1000);
    p.settle();
    expect(p.a.mux.connectionWindow.buffered).toBe(1000);
    p.send(p.b, id, 500); // in flight when A resets
    expect(p.a.mux.reset(id, 'not needed')).toBe(true);
    expect(p.a.mux.reset(id)).toBe(false);
    p.collect(p.a);
    expect(p.a.mux.connectionWindow.buffered).toBe(0);
    p.settle();
    const w = p.a.mux.connectionWindow;
    expect(w.buffered).toBe(0);
    expect(w.outstanding + w.pending).toBe(16 * 1024 * KiB);
    expect(p.a.delivered.get(id)).toBe(1000);
    const reset = p.b.events.at(-1);
    expect(reset?.type).toBe('reset');
    const err = (reset as { error: StreamResetError }).error;
    expect(err).toBeInstanceOf(StreamResetError);
    expect([err.code, err.streamId, err.reason, err.byPeer]).toEqual(['ERR_STREAM_RESET', id, 'not needed', true]);
    expect(p.b.mux.streamCount).toBe(0);
    expect(() => p.a.mux.consume(id, 1)).toThrow(StreamStateError);
  });

  it('refuses an Open past its maxStreams with a Reset; the opener sees it as a reset', () => {
    const p = new Pair({}, { maxStreams: 1 });
    p.settle();
    // A believes B accepts 1: a second open is refused locally.
    p.a.mux.open();
    expect(thrown(() => p.a.mux.open())).toBeInstanceOf(StreamLimitError);
    // A peer that ignores the limit is refused stream by stream.
    const b = new StreamMux(resolveStreamMuxOptions({ maxStreams: 1 }), { role: 'acceptor', peerMaxStreams: 256 });
    b.drain();
    const open = { event: StreamEvent.Open, initialCredit: 10, topic: '', reason: '' };
    b.receiveControl(1, open);
    b.receiveControl(3, open);
    expect(b.drain().filter((o) => o.type === 'send' && o.streamId === 3)).toEqual([
      { type: 'send', streamId: 3, body: { type: 'StreamControl', event: StreamEvent.Reset, initialCredit: 0, topic: '', reason: 'refused: maxStreams' } },
    ]);
    expect(b.streamCount).toBe(1);
    // Its data, already in flight, is discarded.
    expect(b.receiveData(3, 0, false, 5)).toBe(false);
  });

  it('frees a slot when a stream closes, so the limit is on concurrent streams', () => {
    const p = new Pair({}, { maxStreams: 1 });
    p.settle();
    const id = p.a.mux.open();
    p.collect(p.a);
    p.settle();
    p.a.mux.reset(id);
    p.collect(p.a);
    p.settle();
    expect(p.a.mux.open()).toBe(3);
  });
});

describe('StreamMux credit', () => {
  it('stops a stream at its credit and resumes it with a writable event when the reader consumes', () => {
    const p = new Pair({ initialStreamCreditBytes: 1000 }, { initialStreamCreditBytes: 1000 });
    p.settle();
    const id = p.a.mux.open();
    p.collect(p.a);
    p.settle();
    p.send(p.a, id, 600);
    p.send(p.a, id, 400);
    expect(p.a.mux.sendable(id)).toBe(0);
    expect(thrown(() => p.a.mux.send(id, 1, false))).toBeInstanceOf(FlowControlError);
    p.settle();
    // Arrived, not consumed: no credit comes back.
    expect(p.b.link).toEqual([]);
    expect(p.a.mux.sendable(id)).toBe(0);
    p.b.mux.consume(id, 300);
    p.collect(p.b);
    p.a.events.length = 0;
    p.settle();
    expect(p.a.mux.sendable(id)).toBe(300);
    expect(p.a.events).toEqual([{ type: 'writable', streamId: id }]);
  });

  it('counts data against the connection too; a connection grant wakes every stream that has credit', () => {
    const p = new Pair({}, { connectionCreditBytes: 256 * KiB });
    p.settle();
    const ids = [p.a.mux.open(), p.a.mux.open(), p.a.mux.open()];
    p.collect(p.a);
    p.settle();
    p.send(p.a, ids[0], 200 * KiB);
    p.send(p.a, ids[1], 56 * KiB);
    expect(p.a.mux.connectionSendCredit).toBe(0);
    expect(ids.map((id) => p.a.mux.sendable(id))).toEqual([0, 0, 0]);
    expect(thrown(() => p.a.mux.send(ids[2], 1, false))).toMatchObject({ code: 'ERR_FLOW_CONTROL', streamId: 0 });
    p.settle();
    p.b.mux.consume(ids[1], 56 * KiB);
    p.collect(p.b);
    p.a.events.length = 0;
    p.settle();
    expect(p.a.mux.connectionSendCredit).toBe(56 * KiB);
    expect(p.a.events.map((e) => e.type === 'writable' && e.streamId)).toEqual(ids);
  });

  it('cuts a peer that sends beyond the stream credit it was granted (ERR_FLOW_CONTROL)', () => {
    const b = new StreamMux(resolveStreamMuxOptions({ initialStreamCreditBytes: 100 }), { role: 'acceptor', peerMaxStreams: 256 });
    b.receiveControl(1, { event: StreamEvent.Open, initialCredit: 0, topic: '', reason: '' });
    b.receiveData(1, 0, false, 60);
    const e = thrown(() => b.receiveData(1, 1, false, 41)) as FlowControlError;
    expect(e).toBeInstanceOf(FlowControlError);
    expect([e.code, e.streamId, e.bytes, e.credit]).toEqual(['ERR_FLOW_CONTROL', 1, 41, 40]);
  });

  it('cuts a peer that sends beyond the connection credit, also on streams already gone', () => {
    const b = new StreamMux(resolveStreamMuxOptions({ initialStreamCreditBytes: 100, connectionCreditBytes: 150 }), { role: 'acceptor', peerMaxStreams: 256 });
    const open = { event: StreamEvent.Open, initialCredit: 0, topic: '', reason: '' };
    b.receiveControl(1, open);
    b.receiveControl(3, open);
    b.receiveData(1, 0, false, 100);
    expect(thrown(() => b.receiveData(3, 0, false, 51))).toMatchObject({ code: 'ERR_FLOW_CONTROL', streamId: 0, credit: 50 });
    b.reset(3);
    b.drain();
    expect(b.receiveData(3, 0, false, 50)).toBe(false); // discarded, but counted and credited back at once
    expect(b.drain()).toEqual([{ type: 'send', streamId: 0, body: { type: 'StreamCredit', bytes: 50 } }]);
    expect(thrown(() => b.receiveData(3, 1, false, 51))).toMatchObject({ code: 'ERR_FLOW_CONTROL', streamId: 0, credit: 50 });
  });

  it('refuses grants that raise credit past 2^32 - 1', () => {
    const a = new StreamMux(resolveStreamMuxOptions(), { role: 'initiator', peerMaxStreams: 256 });
    a.receiveCredit(0, 0xffff_ffff);
    expect(thrown(() => a.receiveCredit(0, 1))).toBeInstanceOf(FlowControlError);
    const id = a.open();
    a.receiveCredit(id, 0xffff_ffff);
    expect(thrown(() => a.receiveCredit(id, 1))).toMatchObject({ code: 'ERR_FLOW_CONTROL', streamId: id });
  });
});

describe('StreamMux violations (ERR_STREAM_STATE)', () => {
  const open = { event: StreamEvent.Open, initialCredit: 100, topic: '', reason: '' };
  const close = { event: StreamEvent.Close, initialCredit: 0, topic: '', reason: '' };
  function acceptor(): StreamMux {
    return new StreamMux(resolveStreamMuxOptions(), { role: 'acceptor', peerMaxStreams: 256 });
  }

  it.each([
    ['an Open on an id of its own parity', (b: StreamMux) => b.receiveControl(2, open)],
    ['an Open on a used id', (b: StreamMux) => (b.receiveControl(5, open), b.receiveControl(3, open))],
    ['a control on stream 0', (b: StreamMux) => b.receiveControl(0, open)],
    ['an unknown stream event', (b: StreamMux) => (b.receiveControl(1, open), b.receiveControl(1, { ...open, event: 9 }))],
    ['data on a stream never opened', (b: StreamMux) => b.receiveData(7, 0, false, 1)],
    ['data on stream 0', (b: StreamMux) => b.receiveData(0, 0, false, 1)],
    ['data on a local id never opened', (b: StreamMux) => b.receiveData(2, 0, false, 1)],
    ['credit on a stream never opened', (b: StreamMux) => b.receiveCredit(9, 1)],
    ['data after fin', (b: StreamMux) => (b.receiveControl(1, open), b.receiveData(1, 0, true, 1), b.receiveData(1, 1, false, 1))],
    ['Close after fin', (b: StreamMux) => (b.receiveControl(1, open), b.receiveData(1, 0, true, 1), b.receiveControl(1, close))],
    ['a seq gap', (b: StreamMux) => (b.receiveControl(1, open), b.receiveData(1, 1, false, 1))],
    ['consuming more than was received (local misuse)', (b: StreamMux) => (b.receiveControl(1, open), b.receiveData(1, 0, false, 5), b.consume(1, 6))],
    ['sending on a stream not held (local misuse)', (b: StreamMux) => b.send(4, 0, false)],
  ])('%s', (_, act) => {
    expect(thrown(() => act(acceptor()))).toBeInstanceOf(StreamStateError);
  });
});

describe('resolveStreamMuxOptions', () => {
  it('has the documented defaults', () => {
    expect(resolveStreamMuxOptions()).toEqual({ initialStreamCreditBytes: 256 * KiB, connectionCreditBytes: 16 * 1024 * KiB, maxStreams: 256 });
    expect(DEFAULT_STREAM_MUX).toEqual(resolveStreamMuxOptions());
  });

  it.each([
    ['initialStreamCreditBytes', { initialStreamCreditBytes: 0 }],
    ['connectionCreditBytes', { initialStreamCreditBytes: 2000, connectionCreditBytes: 1000 }],
    ['connectionCreditBytes', { connectionCreditBytes: 2 ** 32 }],
    ['maxStreams', { maxStreams: -1 }],
  ])('names %s when it is invalid', (field, input) => {
    expect(() => resolveStreamMuxOptions(input)).toThrow(InvalidConfigError);
    expect(() => resolveStreamMuxOptions(input)).toThrow(new RegExp(`invalid option ${field}`));
  });
});
