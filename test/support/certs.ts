// A test CA and node certificates (CN = node id, OU = role), made with the
// openssl command line (Debian's openssl; .ci/run installs it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: string;
  issue(nodeId: string, role?: string): Pem;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh CA in a temporary folder; `issue` signs node certificates with it. */
export function makePki(name = 'clusterwire-test-ca'): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-pki-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', `/CN=${name}`, '-out', 'ca.pem'], dir);
  let serial = 1;
  return {
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    issue(nodeId: string, role?: string): Pem {
      const base = `node-${serial}`;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`], dir);
      const subject = role ? `/CN=${nodeId}/OU=${role}` : `/CN=${nodeId}`;
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial++), '-days', '2', '-out', `${base}.pem`], dir);
      return { key: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${base}.pem`), 'utf8') };
    },
  };
}
