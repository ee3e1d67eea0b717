// The README's ClusterNode example, run as it stands against the built
// package: a documented example that stops working fails the suite.
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { runModule } from '../support/run-module.js';

function example(): string {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## The cluster: `ClusterNode`'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('no example in the README section');
  const dist = new URL('../../dist/src/main/index.js', import.meta.url).href;
  return match[1].replace("from 'clusterwire'", `from ${JSON.stringify(dist)}`);
}

it('the README ClusterNode example runs and prints what it says', async () => {
  const { code, out } = await runModule(example(), 30_000);
  expect(out).toMatch(/prices sku-1234 for a/);
  expect(out).toMatch(/sent to \[ '(b|c)', '(b|c)' \]/);
  expect(out).toMatch(/b: invalidate sku-1234 \(from a\)/);
  expect(out).toMatch(/a: c failed/);
  expect(out).toContain('ERR_PEER_UNAVAILABLE');
  expect(out).toMatch(/clusterwire_members_alive\{node="a",cluster="shop"\} 2/);
  expect(code).toBe(0);
});
