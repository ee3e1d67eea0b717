// ZeroMQ and NATS for the load harness's --peers rows: installed for the
// benchmark only, never as dependencies of the project. The npm packages go
// to a cache folder of their own (CLUSTERWIRE_PEERS_DIR, else
// $XDG_CACHE_HOME/clusterwire/bench-peers, else ~/.cache/...), installed
// there from the npm registry on first use; nats-server is Debian's package,
// installed with apt-get when it is missing and this process runs as root.
// Whatever cannot be had is left out of the table with a line saying why.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The versions the rows are measured with. */
const PACKAGES = { zeromq: 'zeromq@^6.8.0', nats: 'nats@^2.29.3' } as const;
export type PeerPackage = keyof typeof PACKAGES;

export function peerPackagesDir(): string {
  const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return process.env.CLUSTERWIRE_PEERS_DIR ?? path.join(cache, 'clusterwire', 'bench-peers');
}

function resolves(dir: string, name: PeerPackage): string | null {
  try {
    return createRequire(path.join(dir, 'package.json')).resolve(name);
  } catch {
    return null;
  }
}

/** Installs the packages into `dir` unless they are there; returns the ones that could not be had, with why. */
export function installPeerPackages(dir: string): Map<PeerPackage, string> {
  const missing = (Object.keys(PACKAGES) as PeerPackage[]).filter((name) => resolves(dir, name) === null);
  const failed = new Map<PeerPackage, string>();
  if (missing.length === 0) return failed;
  fs.mkdirSync(dir, { recursive: true });
  const manifest = path.join(dir, 'package.json');
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, JSON.stringify({ name: 'clusterwire-bench-peers', private: true }) + '\n');
  console.error(`  installing ${missing.map((m) => PACKAGES[m]).join(' ')} into ${dir} (for the benchmark only) ...`);
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', ...missing.map((m) => PACKAGES[m])], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    for (const m of missing) failed.set(m, `npm install ${PACKAGES[m]} failed: ${(error as Error).message.split('\n')[0]}`);
    return failed;
  }
  for (const m of missing) if (resolves(dir, m) === null) failed.set(m, `${PACKAGES[m]} did not install`);
  return failed;
}

/** Imports a package installed by installPeerPackages. */
export async function loadPeerPackage<T>(dir: string, name: PeerPackage): Promise<T> {
  const file = resolves(dir, name);
  if (file === null) throw new Error(`${name} is not installed in ${dir}`);
  const mod = (await import(pathToFileURL(file).href)) as T & { default?: T };
  return mod.default ?? mod; // a CommonJS package's exports are its default
}

/** The nats-server command, installed from Debian when missing and this process is root; null with why when it cannot be had. */
export function natsServer(): { command: string } | { missing: string } {
  const find = () => {
    for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
      const file = path.join(dir, 'nats-server');
      if (dir !== '' && fs.existsSync(file)) return file;
    }
    return null;
  };
  let command = find();
  if (command === null && process.getuid?.() === 0) {
    console.error('  installing nats-server (Debian) for the benchmark ...');
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server'], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch {
      // reported below
    }
    command = find();
  }
  return command !== null ? { command } : { missing: 'nats-server is not installed (Debian package nats-server; installing it needs root)' };
}

// The parts of the two packages used here (they are not dependencies of the project, so their types are not either).
export interface ZeroMqSocket extends AsyncIterable<Buffer[]> {
  bind(endpoint: string): Promise<void>;
  connect(endpoint: string): void;
  send(frames: Uint8Array | Uint8Array[]): Promise<void>;
  receive(): Promise<Buffer[]>;
  close(): void;
  readonly lastEndpoint: string | null;
}
export interface ZeroMq {
  version: string;
  Pull: new (options?: { receiveHighWaterMark?: number }) => ZeroMqSocket;
  Push: new (options?: { sendHighWaterMark?: number }) => ZeroMqSocket;
  Router: new () => ZeroMqSocket;
  Dealer: new () => ZeroMqSocket;
}
interface NatsMsg {
  data: Uint8Array;
  respond(data: Uint8Array): boolean;
}
export interface NatsConnection {
  subscribe(subject: string, options: { callback: (error: Error | null, msg: NatsMsg) => void }): unknown;
  publish(subject: string, data: Uint8Array): void;
  request(subject: string, data: Uint8Array, options: { timeout: number }): Promise<NatsMsg>;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly info?: { version: string; max_payload: number };
}
export interface Nats {
  connect(options: { servers: string; noEcho?: boolean }): Promise<NatsConnection>;
}

