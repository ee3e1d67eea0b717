// Reassembly: the receiving side of large messages, from socket reads to
// whole messages, in one process: frame decoder, envelope decode and chunk
// assembler, fed a recorded stream of 1 MiB messages cut into the pieces a
// connection sends (64 KiB each, CRC-32 trailers), in reads of 64 KiB each in
// a buffer of its own, as a socket hands them over. Nearly every piece spans
// two reads. The baseline assembles such a piece in a buffer of the decoder's
// and copies it into its message; "in place" assembles it in the message's
// buffer (FrameDecoder.setSpanTarget, ChunkAssembler.place), as connections
// do. Messages are given back (recycled) once whole, so that both measure
// the copies: with a fresh buffer per message, allocation and the garbage
// collector dominate, and the task run second pays for the first's garbage
// (the two came out 0.77-1.19x of each other depending on their order).
import { decodePayload, encodeMessage, peekChunkPiece } from '../../src/shared/envelope/index.js';
import { FrameDecoder } from '../../src/shared/frame-decoder.js';
import { ChunkAssembler } from '../../src/main/transport/chunk-assembler.js';
import { CONNECTION_DEFAULTS } from '../../src/main/transport/connection-options.js';
import type { Chunk } from '../../src/shared/schema/layout.js';
import type { Task } from '../support.js';

const MiB = 1024 * 1024;
const MESSAGES = 8;
const READ_BYTES = 64 * 1024;

export function reassemblyTasks(): Task[] {
  const piece = CONNECTION_DEFAULTS.chunkBytes;
  const frames: Uint8Array[] = [];
  for (let m = 1; m <= MESSAGES; m++) {
    const data = new Uint8Array(MiB).map((_, i) => (i * 31 + m) & 0xff);
    for (let offset = 0, k = 0; offset < MiB; offset += piece, k++) {
      const header = { messageId: m * 1000 + k, correlationId: 0, sender: 1, timestampUs: 0, streamId: 0, priority: 3 };
      frames.push(encodeMessage({ header, body: { type: 'Chunk', messageId: m, offset, totalBytes: MiB, data: data.subarray(offset, offset + piece) } }));
    }
  }
  const stream = Buffer.concat(frames);
  const reads: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += READ_BYTES) reads.push(new Uint8Array(stream.subarray(at, at + READ_BYTES)));

  const run = (inPlace: boolean) => () => {
    const decoder = new FrameDecoder();
    const assembler = new ChunkAssembler();
    if (inPlace) {
      decoder.setSpanTarget((bytes, start, available, length) => {
        const head = peekChunkPiece(bytes, start, start + available);
        return head === null ? null : assembler.place(head.messageId, head.offset, head.totalBytes, head.pieceAt, length);
      });
    }
    let whole = 0;
    const sink = (bytes: Uint8Array, start: number, end: number, id: number) => {
      const out = assembler.push(decodePayload(bytes, start, end, id).body as Chunk, 0);
      decoder.reuse(bytes);
      if (out === null) return;
      whole++;
      assembler.recycle(out);
    };
    for (const r of reads) decoder.eachPayload(r, sink);
    if (whole !== MESSAGES) throw new Error(`reassembled ${whole} of ${MESSAGES} messages`);
  };
  const group = '1 MiB';
  const base = 'copied from a frame buffer';
  return [
    { name: base, group, messages: MESSAGES, bytes: MESSAGES * MiB, fn: run(false) },
    { name: 'in place', group, messages: MESSAGES, bytes: MESSAGES * MiB, baseline: base, fn: run(true) },
  ];
}
