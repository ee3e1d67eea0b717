// The receiving process of the load harness's ZeroMQ and NATS rows (--peers).
// `--mode=zeromq` binds a PULL socket (one-way messages, counted) and a
// ROUTER socket (requests, answered with an empty reply carrying the
// request's id frame) on ephemeral loopback ports; `--mode=nats --url=U`
// connects to the nats-server at U and subscribes to load.msg (counted),
// load.req (answered empty) and load.sync (answered once everything before
// it was read: the sender's flow control, since NATS has none of its own).
// It answers the harness as receiver.ts does (receiver-ipc.ts). The packages
// come from the folder the harness installed them in (--packages=DIR, see
// peer-packages.ts).
import { serveHarness, tally } from './receiver-ipc.js';
import { loadPeerPackage, type Nats, type ZeroMq } from './peer-packages.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const mode = arg('mode');
const packages = arg('packages')!;
const EMPTY = new Uint8Array(0);

async function zeromq(): Promise<Record<string, string>> {
  const z = await loadPeerPackage<ZeroMq>(packages, 'zeromq');
  const pull = new z.Pull({ receiveHighWaterMark: 1000 });
  const router = new z.Router();
  await pull.bind('tcp://127.0.0.1:*');
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    for await (const [message] of pull) {
      tally.messages++;
      tally.bytes += message.length;
    }
  })();
  void (async () => {
    for await (const [identity, id, payload] of router) {
      tally.messages++;
      tally.bytes += payload.length;
      await router.send([identity, id, EMPTY]);
    }
  })();
  return { pull: pull.lastEndpoint!, router: router.lastEndpoint! };
}

async function nats(): Promise<Record<string, string>> {
  const n = await loadPeerPackage<Nats>(packages, 'nats');
  const nc = await n.connect({ servers: arg('url')!, noEcho: true });
  nc.subscribe('load.msg', {
    callback: (_e, m) => {
      tally.messages++;
      tally.bytes += m.data.length;
    },
  });
  nc.subscribe('load.req', {
    callback: (_e, m) => {
      tally.messages++;
      tally.bytes += m.data.length;
      m.respond(EMPTY);
    },
  });
  nc.subscribe('load.sync', { callback: (_e, m) => m.respond(EMPTY) });
  await nc.flush(); // the subscriptions are in place before the sender starts
  return {};
}

async function main(): Promise<void> {
  const endpoints = mode === 'zeromq' ? await zeromq() : await nats();
  serveHarness({ port: 0, endpoints });
}

await main();
