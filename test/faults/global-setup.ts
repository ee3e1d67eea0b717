// Before the fault suite: it needs root and the tools, and a previous run that
// was killed may have left hosts behind. After it (even when its worker died):
// nothing of the lab remains.
import { execFileSync } from 'node:child_process';
import { cleanStale } from './netns.js';

export function setup(): void {
  if (process.getuid?.() !== 0) throw new Error('the fault suite needs root (network namespaces, nftables)');
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['faketime', 'faketime'], ['openssl', 'openssl']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`the fault suite needs ${tool}: apt-get install -y ${pkg}`);
    }
  }
  cleanStale();
}

export function teardown(): void {
  cleanStale();
}
