// Two messengers on loopback with file transfer on both, temporary
// directories and files, and the digest of a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Messenger } from '../../src/main/transport/messenger.js';
import type { Connection } from '../../src/main/transport/connection.js';
import { FileTransfers, type FileTransfersCollaborators } from '../../src/main/transfer/index.js';
import type { FileTransfersOptionsInput } from '../../src/main/transfer/index.js';

export interface Node {
  messenger: Messenger;
  transfers: FileTransfers;
  /** Where it listens. */
  port: number;
}

export const cleanups: Array<() => Promise<void> | void> = [];

export async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cw-${label}-`));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A node listening on loopback, with file transfer; closed by cleanUp() (or earlier by `stop`). */
export async function node(id: string, options: FileTransfersOptionsInput = {}, collaborators: FileTransfersCollaborators = {}): Promise<Node & { stop(): Promise<void> }> {
  const messenger = new Messenger({ nodeId: id, cluster: 'ft', heartbeats: false });
  const transfers = new FileTransfers(messenger, options, collaborators);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await transfers.close();
    await messenger.close();
  };
  cleanups.push(stop);
  const { port } = await messenger.transport.listen(0);
  return { messenger, transfers, port, stop };
}

export function connect(sender: Node, receiver: Node, receiverId: string): Promise<Connection> {
  return sender.messenger.transport.connect('127.0.0.1', receiver.port, { nodeId: receiverId });
}

/** A file of `bytes` whose every 64 KiB differs, written in 4 MiB pieces. */
export function makeFile(dir: string, name: string, bytes: number): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  const block = crypto.randomBytes(4 * 1024 * 1024);
  try {
    for (let at = 0, n = 0; at < bytes; at += block.length, n++) {
      for (let i = 0; i < block.length; i += 65536) block.writeUInt32BE(n * 64 + i / 65536, i);
      fs.writeSync(fd, block, 0, Math.min(block.length, bytes - at), at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

export function digestOf(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
