// The receiving process of the load harness. `--mode=cw` listens with the
// clusterwire transport (every frame checked, every envelope read);
// `--mode=messenger` listens with a Messenger whose 'load' topic handler
// answers requests (the request/response path ClusterNode uses);
// `--mode=raw` listens with plain net and the baseline framing. It answers
// requests, counts one-way messages (with --recycle giving the bytes of
// large ones back to the connection), and reports its counts (and on 'cpu'
// its CPU time) when the parent asks over IPC.
import net from 'node:net';
import { Transport } from '../../src/main/transport/transport.js';
import { Messenger } from '../../src/main/transport/messenger.js';
import type { BodyOf } from '../../src/shared/envelope/index.js';
import { RawFramer, writeRawFrame, RAW_RESPONSE } from './raw.js';
import { loadTlsFromEnv } from './tls.js';
import { serveHarness, tally } from './receiver-ipc.js';

const mode = process.argv.find((a) => a.startsWith('--mode='))?.slice(7) ?? 'cw';
const checksum = process.argv.includes('--no-checksum') ? false : process.argv.includes('--checksum') ? true : undefined;
const checksumOptions = checksum === undefined ? {} : { checksum, requireChecksum: checksum };
const recycle = process.argv.includes('--recycle');
const compression = (process.argv.find((a) => a.startsWith('--compression='))?.slice(14) ?? 'none') as 'none' | 'lz4' | 'zstd';
/** Every response carries an empty payload: one array serves them all (it is only encoded). */
const EMPTY = new Uint8Array(0);

async function main(): Promise<void> {
  let port: number;
  if (mode === 'raw') {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const framer = new RawFramer(recycle);
      socket.on('data', (chunk: Buffer) => {
        let replies: Buffer[] | null = null;
        framer.push(chunk, (id, kind, payload) => {
          tally.messages++;
          tally.bytes += payload.length;
          if (kind === RAW_RESPONSE) return;
          if (kind !== 0) (replies ??= []).push(writeRawFrame(id, RAW_RESPONSE, payload.subarray(0, 0)));
        });
        if (replies !== null) socket.write(Buffer.concat(replies));
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as net.AddressInfo).port;
  } else if (mode === 'messenger') {
    const messenger = new Messenger({
      nodeId: 'receiver',
      cluster: 'load',
      tls: loadTlsFromEnv('receiver'),
      connection: { ...checksumOptions, compression, maxFrameBytes: 64 * 1024 * 1024 },
    });
    messenger.handle('load', (request) => {
      tally.messages++;
      tally.bytes += request.payload.length;
      return EMPTY;
    });
    port = (await messenger.transport.listen(0)).port;
  } else {
    const tls = loadTlsFromEnv('receiver');
    const transport = new Transport(
      { nodeId: 'receiver', cluster: 'load', tls, connection: { ...checksumOptions, compression, maxFrameBytes: 64 * 1024 * 1024 } },
      {
        onMessage: (connection, env) => {
          tally.messages++;
          const body = env.body;
          if (body.type === 'Message') {
            tally.bytes += body.payload.length;
            if (recycle) connection.recycle(body.payload); // counted: nothing refers to it
          }
          else if (body.type === 'Request') {
            tally.bytes += (body as BodyOf<'Request'>).payload.length;
            connection.send({ type: 'Response', payload: EMPTY }, { correlationId: env.header.messageId });
          }
        },
      },
    );
    port = (await transport.listen(0)).port;
  }
  serveHarness({ port });
}

await main();
