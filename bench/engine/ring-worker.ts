// The worker side of the ring benchmark. Modes (workerData.mode):
//   drain  read 64 B records until the ring is closed, sum their first
//          bytes, post { records, sum }
//   echo   copy each record from the input ring to the output ring at once
//          (round-trip latency), until the input is closed
//   post   count postMessage'd records; post the count once `expect` arrived
import { parentPort, workerData } from 'node:worker_threads';
import { RingReader, RingWriter } from '../../src/shared/ring.js';

interface RingWorkerData {
  mode: 'drain' | 'echo' | 'post';
  input?: SharedArrayBuffer;
  output?: SharedArrayBuffer;
  expect?: number;
}

const data = workerData as RingWorkerData;
const port = parentPort!;

if (data.mode === 'drain') {
  const reader = new RingReader(data.input!);
  let records = 0;
  let sum = 0;
  for (;;) {
    const r = reader.tryRead();
    if (r === null) {
      reader.release();
      if (reader.drained) break;
      reader.waitForData();
      continue;
    }
    sum = (sum + r[0]) | 0;
    if ((++records & 63) === 0) reader.release();
  }
  port.postMessage({ records, sum });
} else if (data.mode === 'echo') {
  const reader = new RingReader(data.input!);
  const writer = new RingWriter(data.output!);
  for (;;) {
    const r = reader.tryRead();
    if (r === null) {
      if (reader.drained) break;
      reader.waitForData();
      continue;
    }
    while (!writer.tryWrite(r)) writer.waitForSpace();
    reader.release();
    writer.publish();
  }
  writer.close();
  port.postMessage({ done: true });
} else {
  let records = 0;
  port.on('message', () => {
    if (++records === data.expect) {
      port.postMessage({ records });
      port.close();
    }
  });
}
