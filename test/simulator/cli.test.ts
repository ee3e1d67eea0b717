import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/cli.js';
import { runWorkload } from '../../src/main/simulator/workload.js';

describe('clusterwire simulate', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints the report table and writes an SVG chart', () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    const svg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cw-')), 'chart.svg');
    expect(main(['simulate', '--nodes', '20', '--minutes', '1', '--seed', '3', '--loss', '0.05', '--svg', svg])).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/detection \(everywhere\) p50 \/ p99/);
    expect(text).toMatch(/false deaths\s+0/);
    const chart = fs.readFileSync(svg, 'utf8');
    expect(chart.startsWith('<svg')).toBe(true);
    expect(chart).toContain('Crash detection');
    expect(chart).toContain('<path d="M');
  });

  it('rejects unknown commands and bad flags with exit code 1', () => {
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(main(['frobnicate'])).toBe(1);
    expect(main(['simulate', '--nodes', 'many'])).toBe(1);
    expect(main(['simulate', '--preset', 'moon', '--svg', ''])).toBe(1);
    expect(err.join('')).toMatch(/ERR_INVALID_CONFIG: invalid option preset/);
  });

  it('the workload is reproducible: same seed, same report', () => {
    const a = runWorkload({ nodes: 15, minutes: 1, seed: 5, preset: 'lan', loss: 0.1 });
    const b = runWorkload({ nodes: 15, minutes: 1, seed: 5, preset: 'lan', loss: 0.1 });
    expect(JSON.stringify(a.report)).toBe(JSON.stringify(b.report));
    expect(a.report.detection.count).toBeGreaterThan(0);
  });
});
