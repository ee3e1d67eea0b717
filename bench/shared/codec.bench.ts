// Codec: envelope + frame encode, and frame decode + envelope read, of a
// one-way Message at 64 B, 1 KiB, 64 KiB and 1 MiB payloads, each beside a
// baseline run in the same process that only writes a fixed 14-byte header
// with a DataView and copies the payload (encode), or reads that header and
// takes a view of the payload (decode). Work is batched as the transport
// batches it: up to 256 messages per buffer.
import { decodeMessage, encodeEnvelope, FrameEncoder, readEnvelope, type Envelope } from '../../src/shared/envelope/index.js';
import { Writer } from '../../src/shared/envelope/codec-runtime.js';
import { TABLE_COUNT, writeRoot } from '../../src/shared/schema/codec.js';
import { FrameDecoder } from '../../src/shared/frame-decoder.js';
import type { Frame } from '../../src/shared/frame.js';
import { sizeLabel, type Task } from '../support.js';

export const CODEC_SIZES = [64, 1024, 64 * 1024, 1024 * 1024];

function batchFor(size: number): number {
  return Math.max(1, Math.min(256, Math.floor((256 * 1024) / size)));
}

function envelopes(size: number, count: number): Envelope[] {
  const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  return Array.from({ length: count }, (_, i) => ({
    header: { messageId: i + 1, correlationId: 0, sender: 0x1234_5678_9abc, timestampUs: 1_763_000_000_000_000 + i, streamId: 0, priority: 2 },
    body: { type: 'Message', topic: 'bench.topic', payload },
  }));
}

/** The baseline frame: length u32 | flags u16 | id u64 | payload, no schema, no checksum. */
function baselineEncode(target: Uint8Array, view: DataView, offset: number, id: number, payload: Uint8Array): number {
  const length = 14 + payload.length;
  view.setUint32(offset, length);
  view.setUint16(offset + 4, 1);
  view.setUint32(offset + 6, 0);
  view.setUint32(offset + 10, id);
  target.set(payload, offset + 14);
  return offset + length;
}

/** `checksumRunBytes`: frames share CRC trailers in runs of that length (FrameEncoder), as connections send them. */
export function codecTasks(options: { checksum: boolean; label: string; checksumRunBytes?: number }): Task[] {
  const tasks: Task[] = [];
  for (const size of CODEC_SIZES) {
    const group = sizeLabel(size);
    const batch = batchFor(size);
    const items = envelopes(size, batch);
    const payload = (items[0].body as { payload: Uint8Array }).payload;
    const bytes = size * batch;

    // baseline encode: a buffer per batch, as the encoder hands one over per batch
    const frameBytes = (14 + size) * batch;
    tasks.push({
      name: 'baseline encode (DataView header + copy)',
      group,
      messages: batch,
      bytes,
      fn: () => {
        const out = new Uint8Array(frameBytes);
        const view = new DataView(out.buffer);
        let at = 0;
        for (let i = 0; i < batch; i++) at = baselineEncode(out, view, at, i + 1, payload);
      },
    });
    const encoder = new FrameEncoder({ checksum: options.checksum, checksumRunBytes: options.checksumRunBytes ?? 0 });
    tasks.push({
      name: `encode envelope + frame${options.label}`,
      group,
      messages: batch,
      bytes,
      baseline: 'baseline encode (DataView header + copy)',
      fn: () => {
        for (let i = 0; i < batch; i++) encoder.append(items[i]);
        encoder.take();
      },
    });

    const baseStream = new Uint8Array(frameBytes);
    {
      const view = new DataView(baseStream.buffer);
      let at = 0;
      for (let i = 0; i < batch; i++) at = baselineEncode(baseStream, view, at, i + 1, payload);
    }
    const baseView = new DataView(baseStream.buffer);
    let sink = 0;
    tasks.push({
      name: 'baseline decode (DataView header + view)',
      group,
      messages: batch,
      bytes,
      fn: () => {
        let at = 0;
        while (at < baseStream.length) {
          const length = baseView.getUint32(at);
          const id = baseView.getUint32(at + 10);
          const view = baseStream.subarray(at + 14, at + length);
          sink += view.length + id;
          at += length;
        }
      },
    });
    for (const item of items) encoder.append(item);
    const stream = encoder.take();
    const decoder = new FrameDecoder({ requireChecksum: options.checksum, maxFrameBytes: 2 * 1024 * 1024 });
    const onFrame = (frame: Frame) => {
      const env = decodeMessage(frame);
      sink += env.header.messageId + (env.body as { payload: Uint8Array }).payload.length;
    };
    tasks.push({
      name: `decode frame + read envelope${options.label}`,
      group,
      messages: batch,
      bytes,
      baseline: 'baseline decode (DataView header + view)',
      fn: () => {
        decoder.each(stream, onFrame);
      },
    });
    if (options.checksum && options.checksumRunBytes === undefined) {
      // The schema alone: envelopes written into one reused buffer and read back, no frame, no CRC.
      const writer = new Writer(TABLE_COUNT, (size + 256) * batch);
      tasks.push({
        name: 'envelope only: write',
        group,
        messages: batch,
        bytes,
        baseline: 'baseline encode (DataView header + copy)',
        fn: () => {
          writer.rewind(0);
          for (let i = 0; i < batch; i++) writeRoot(writer, items[i]);
        },
      });
      const one = encodeEnvelope(items[0]);
      tasks.push({
        name: 'envelope only: read',
        group,
        messages: batch,
        bytes,
        baseline: 'baseline decode (DataView header + view)',
        fn: () => {
          for (let i = 0; i < batch; i++) sink += readEnvelope(one).header.sender;
        },
      });
    }
    void sink;
  }
  return tasks;
}
