// TLS material for the load harness: made once per run with the openssl
// command line and passed to the receiver through the environment.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TlsOptions } from '../../src/main/transport/transport.js';

export function makeLoadPki(): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-load-pki-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  run(['req', '-x509', '-new', '-key', 'ca.key', '-days', '1', '-subj', '/CN=load-ca', '-out', 'ca.pem']);
  const env: Record<string, string> = { CW_LOAD_CA: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8') };
  for (const [i, name] of ['sender', 'receiver'].entries()) {
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(i + 1), '-days', '1', '-out', `${name}.pem`]);
    env[`CW_LOAD_${name.toUpperCase()}_KEY`] = fs.readFileSync(path.join(dir, `${name}.key`), 'utf8');
    env[`CW_LOAD_${name.toUpperCase()}_CERT`] = fs.readFileSync(path.join(dir, `${name}.pem`), 'utf8');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return env;
}

export function loadTlsFromEnv(name: 'sender' | 'receiver'): TlsOptions | null {
  const ca = process.env.CW_LOAD_CA;
  if (!ca) return null;
  return { ca, key: process.env[`CW_LOAD_${name.toUpperCase()}_KEY`]!, cert: process.env[`CW_LOAD_${name.toUpperCase()}_CERT`]! };
}
