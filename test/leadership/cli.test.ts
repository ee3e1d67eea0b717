import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli.js';

describe('clusterwire simulate --raft', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints the failover table and histogram', () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    expect(main(['simulate', '--raft', '--runs', '20', '--seed', '5'])).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/crash -> new leader p50 \/ p90 \/ p99 \/ max\s+\d+ ms/);
    expect(text).toMatch(/failovers measured\s+60 /);
    expect(text).toMatch(/one leader per term\s+held/);
    expect(text).toMatch(/ms \| #+/);
  });

  it('refuses a bad --membership', () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(main(['simulate', '--raft', '--membership', 'gossip'])).toBe(1);
  });
});
