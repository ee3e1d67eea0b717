// Two StreamMuxes joined by an ordered link (one priority class of one
// connection), for the stream tests: what one side's drain() sends, the other
// receives, in order; data is carried as [streamId, seq, fin, bytes].
import { resolveStreamMuxOptions, StreamMux, type StreamMuxOptions, type StreamMuxOutput } from '../../src/main/transport/stream-mux.js';

export type Wire =
  | { kind: 'out'; out: Extract<StreamMuxOutput, { type: 'send' }> }
  | { kind: 'data'; streamId: number; seq: number; fin: boolean; bytes: number };

export interface Side {
  readonly mux: StreamMux;
  /** Messages this side sent, not yet delivered to the other. */
  readonly link: Wire[];
  /** Events this side reported to its application. */
  readonly events: Exclude<StreamMuxOutput, { type: 'send' }>[];
  /** Bytes delivered to the application per stream (true data only). */
  readonly delivered: Map<number, number>;
}

export class Pair {
  readonly a: Side;
  readonly b: Side;

  constructor(a: Partial<StreamMuxOptions> = {}, b: Partial<StreamMuxOptions> = {}) {
    const oa = resolveStreamMuxOptions(a);
    const ob = resolveStreamMuxOptions(b);
    this.a = side(new StreamMux(oa, { role: 'initiator', peerMaxStreams: ob.maxStreams }));
    this.b = side(new StreamMux(ob, { role: 'acceptor', peerMaxStreams: oa.maxStreams }));
    this.collect(this.a);
    this.collect(this.b);
  }

  other(s: Side): Side {
    return s === this.a ? this.b : this.a;
  }

  /** Moves one side's drain() into its link and its events. */
  collect(s: Side): void {
    for (const o of s.mux.drain()) {
      if (o.type === 'send') s.link.push({ kind: 'out', out: o });
      else s.events.push(o);
    }
  }

  /** Sends `bytes` of data on a stream (as much as the caller decided), through the mux's accounting. */
  send(s: Side, streamId: number, bytes: number, fin = false): void {
    const seq = s.mux.send(streamId, bytes, fin);
    s.link.push({ kind: 'data', streamId, seq, fin, bytes });
    this.collect(s);
  }

  /** Delivers up to `n` messages from `from`'s link to the other side; returns how many. */
  deliver(from: Side, n = Infinity): number {
    const to = this.other(from);
    let count = 0;
    while (count < n && from.link.length > 0) {
      const w = from.link.shift() as Wire;
      if (w.kind === 'data') {
        if (to.mux.receiveData(w.streamId, w.seq, w.fin, w.bytes)) to.delivered.set(w.streamId, (to.delivered.get(w.streamId) ?? 0) + w.bytes);
      } else if (w.out.body.type === 'StreamCredit') {
        to.mux.receiveCredit(w.out.streamId, w.out.body.bytes);
      } else {
        to.mux.receiveControl(w.out.streamId, w.out.body);
      }
      this.collect(to);
      count++;
    }
    return count;
  }

  /** Delivers both ways until both links are empty. */
  settle(): void {
    while (this.deliver(this.a) + this.deliver(this.b) > 0);
  }
}

function side(mux: StreamMux): Side {
  return { mux, link: [], events: [], delivered: new Map() };
}
