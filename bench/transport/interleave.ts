// How long a heartbeat waits behind a bulk transfer in the send scheduler.
//
// One 100 MB envelope is queued (at Low, then at Normal) with the default
// 64 KiB chunks; a Critical heartbeat (64 bytes) falls due every N bulk
// pieces, while one of them is being written (that piece counts as waited). Each turn pulls what one socket write
// takes (maxBytes: one piece, 64 KiB or 256 KiB), as the connection does; a
// write already handed out is not taken back, so a heartbeat that falls due
// mid-write waits for the rest of that write. For each heartbeat we count
// what was written between the moment it fell due and its own write: pieces
// of the transfer, and their bytes.
// The socket-time figure comes from the real transport; here the delay is in
// pieces and bytes, which is what the scheduler controls.
//
// Run: npm run build && node dist/bench/transport/interleave.js [--mb=100]
import { performance } from 'node:perf_hooks';
import { resolveSendSchedulerOptions, SendScheduler } from '../../src/main/transport/send-scheduler.js';

const TOTAL_BYTES = Number(process.argv.find((a) => a.startsWith('--mb='))?.slice(5) ?? 100) * 1_000_000;
const HEARTBEAT = new Uint8Array(64);
const CRITICAL = 0;

interface Result {
  priority: string;
  heartbeatEvery: number;
  writeBytes: number;
  heartbeats: number;
  worstPieces: number;
  worstBytes: number;
  meanBytes: number;
  pieces: number;
  ms: number;
}

function run(priority: number, heartbeatEvery: number, writeBytes: number): Result {
  const s = new SendScheduler(resolveSendSchedulerOptions());
  s.enqueue(new Uint8Array(TOTAL_BYTES), priority, 1);
  let pieces = 0;
  let bulkPieces = 0;
  let nextDue = heartbeatEvery;
  let waiting = false;
  let due = false;
  let waitedPieces = 0;
  let waitedBytes = 0;
  let heartbeats = 0;
  let worstPieces = 0;
  let worstBytes = 0;
  let sumBytes = 0;
  const start = performance.now();
  while (s.queuedItems > 0) {
    const batch = s.pull(writeBytes);
    for (let i = 0; i < batch.length; i++) {
      pieces++;
      if (batch.priorities[i] === CRITICAL) {
        waiting = false;
        heartbeats++;
        worstPieces = Math.max(worstPieces, waitedPieces);
        worstBytes = Math.max(worstBytes, waitedBytes);
        sumBytes += waitedBytes;
        continue;
      }
      bulkPieces++;
      if (waiting) {
        // Written after the heartbeat fell due: the rest of this write, or pieces put ahead of it.
        waitedPieces++;
        waitedBytes += batch.lengths[i];
      } else if (bulkPieces >= nextDue) {
        // The heartbeat falls due while this piece is on the wire; the scheduler sees it at the next pull.
        waiting = true;
        due = true;
        waitedPieces = 1;
        waitedBytes = batch.lengths[i];
        nextDue = bulkPieces + heartbeatEvery;
      }
    }
    if (due) {
      s.enqueue(HEARTBEAT, CRITICAL);
      due = false;
    }
  }
  const ms = performance.now() - start;
  return {
    priority: priority === 3 ? 'low' : 'normal',
    heartbeatEvery,
    writeBytes,
    heartbeats,
    worstPieces,
    worstBytes,
    meanBytes: heartbeats === 0 ? 0 : sumBytes / heartbeats,
    pieces,
    ms,
  };
}

const rows: Result[] = [];
for (const priority of [3, 2]) {
  for (const every of [1, 4, 16, 64]) {
    for (const writeBytes of [1, 65_536, 262_144]) rows.push(run(priority, every, writeBytes));
  }
}

console.log(`\n${(TOTAL_BYTES / 1e6).toFixed(0)} MB transfer, 64 KiB chunks, a 64-byte Critical heartbeat every N pieces\n`);
console.log('| bulk class | heartbeat every N pieces | bytes per write | heartbeats | worst delay (pieces) | worst delay (bytes) | mean delay (bytes) | scheduler pieces/s (indicative) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.priority} | ${r.heartbeatEvery} | ${r.writeBytes === 1 ? 'one piece' : r.writeBytes} | ${r.heartbeats} | ${r.worstPieces} | ${r.worstBytes} | ${r.meanBytes.toFixed(0)} | ${Math.round(r.pieces / (r.ms / 1000)).toLocaleString('en-US')} |`,
  );
}
const worst = rows.filter((r) => r.writeBytes === 1);
console.log(`\nworst heartbeat delay with one piece per write: ${Math.max(...worst.map((r) => r.worstPieces))} piece(s), ${Math.max(...worst.map((r) => r.worstBytes))} bytes`);
