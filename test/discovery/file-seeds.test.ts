import { mkdtempSync, rmSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, SeedSourceError } from '../../src/shared/errors.js';
import { FileSeeds, parseSeedFile, resolveFileSeedsOptions } from '../../src/main/discovery/file-seeds.js';
import type { Seed } from '../../src/main/discovery/seed-source.js';
import { ManualScheduler } from './manual-scheduler.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clusterwire-seeds-'));
  path = join(dir, 'seeds.txt');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const hosts = (seeds: readonly Seed[]): string[] => seeds.map((s) => `${s.host}:${s.port}`);

/** Collects changes and errors of a source; next() waits for the next one. */
function observe(src: FileSeeds) {
  const changes: string[][] = [];
  const errors: SeedSourceError[] = [];
  let wake: () => void = () => {};
  src.subscribe(
    (s) => {
      changes.push(hosts(s));
      wake();
    },
    (e) => {
      errors.push(e);
      wake();
    },
  );
  return { changes, errors, next: (): Promise<void> => new Promise((resolve) => (wake = resolve)) };
}

describe('parseSeedFile', () => {
  it('reads lines with comments, blank lines and default ports', () => {
    const parsed = parseSeedFile('# seeds\n10.0.0.1:7000\n\n  node-b.example  # rack 2\n[fd00::1]:9000\nfd00::2\n', 7946);
    expect('seeds' in parsed && hosts(parsed.seeds)).toEqual(['10.0.0.1:7000', 'node-b.example:7946', 'fd00::1:9000', 'fd00::2:7946']);
  });

  it('reads JSON arrays of strings or objects, bare or under "seeds"', () => {
    const a = parseSeedFile('["10.0.0.1:7000", {"host": "b.example", "port": 8000}, {"host": "c.example"}]', 7946);
    expect('seeds' in a && hosts(a.seeds)).toEqual(['10.0.0.1:7000', 'b.example:8000', 'c.example:7946']);
    const b = parseSeedFile('{"seeds": ["10.0.0.9"]}', 1234);
    expect('seeds' in b && hosts(b.seeds)).toEqual(['10.0.0.9:1234']);
  });

  it.each([
    ['10.0.0.1:99999\n', 'line 1'],
    ['\n\nbad host!\n', 'line 3'],
    ['[1, 2]', 'seeds[0]'],
    ['{"peers": []}', '"seeds" array'],
    ['[', 'invalid JSON'],
  ])('says what is wrong with %j', (text, problem) => {
    const parsed = parseSeedFile(text, 7946);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });
});

describe('FileSeeds', () => {
  it('reads the file, deduplicated and sorted', async () => {
    writeFileSync(path, 'b.example:1\na.example:1\nb.example:1\n');
    const src = new FileSeeds({ path });
    expect(hosts(await src.resolve())).toEqual(['a.example:1', 'b.example:1']);
    expect(src.name).toBe(`file:${path}`);
  });

  it('re-reads the file after a change, seen by fs.watch', async () => {
    writeFileSync(path, '10.0.0.1\n');
    const src = new FileSeeds({ path, pollIntervalMs: 86_400_000 }, { scheduler: new ManualScheduler() });
    const o = observe(src);
    let event = o.next();
    src.start();
    try {
      await event;
      expect(src.watching).toBe(true);
      event = o.next();
      writeFileSync(path, '10.0.0.1\n10.0.0.2\n');
      await event;
      expect(o.changes.at(-1)).toEqual(['10.0.0.1:7946', '10.0.0.2:7946']);
      // replaced by rename, as editors and Kubernetes config maps do
      event = o.next();
      writeFileSync(join(dir, 'seeds.tmp'), '["10.0.0.3:7000"]');
      renameSync(join(dir, 'seeds.tmp'), path);
      await event;
      expect(o.changes.at(-1)).toEqual(['10.0.0.3:7000']);
    } finally {
      src.close();
    }
  });

  it('notices changes by polling when fs.watch says nothing', async () => {
    writeFileSync(path, '10.0.0.1\n');
    const scheduler = new ManualScheduler();
    const src = new FileSeeds({ path, pollIntervalMs: 1_000 }, { scheduler });
    const o = observe(src);
    let event = o.next();
    src.start();
    try {
      await event;
      // stop fs.watch, leaving polling alone
      (src as unknown as { watcher: { close(): void } | null }).watcher?.close();
      (src as unknown as { watcher: unknown }).watcher = null;
      expect(src.watching).toBe(false);
      writeFileSync(path, '10.0.0.1\n10.0.0.5:9\n');
      event = o.next();
      scheduler.fire();
      await event;
      expect(o.changes.at(-1)).toEqual(['10.0.0.1:7946', '10.0.0.5:9']);
      // a poll of an unchanged file reports nothing
      const before = o.changes.length;
      scheduler.fire();
      await new Promise((r) => setTimeout(r, 50));
      expect(o.changes.length).toBe(before);
    } finally {
      src.close();
    }
  });

  it('keeps the last seeds and reports an error when the file becomes malformed or disappears', async () => {
    writeFileSync(path, '10.0.0.1\n');
    const scheduler = new ManualScheduler();
    const src = new FileSeeds({ path, pollIntervalMs: 1_000 }, { scheduler });
    const o = observe(src);
    await src.resolve();
    writeFileSync(path, 'not a seed at all!\n');
    await expect(src.resolve()).rejects.toMatchObject({ code: 'ERR_SEED_SOURCE', source: `file:${path}` });
    expect(hosts(src.seeds)).toEqual(['10.0.0.1:7946']);
    unlinkSync(path);
    let event = o.next();
    src.start();
    try {
      await event;
      expect(o.errors.at(-1)).toBeInstanceOf(SeedSourceError);
      expect(o.errors.at(-1)?.message).toContain('ENOENT');
      expect(hosts(src.seeds)).toEqual(['10.0.0.1:7946']);
      event = o.next();
      writeFileSync(path, '10.0.0.7\n');
      scheduler.fire();
      await event;
      expect(o.changes.at(-1)).toEqual(['10.0.0.7:7946']);
    } finally {
      src.close();
    }
  });

  it('refuses a file above maxFileBytes', async () => {
    writeFileSync(path, '10.0.0.1\n'.repeat(100));
    const src = new FileSeeds({ path, maxFileBytes: 100 });
    await expect(src.resolve()).rejects.toThrow(/maxFileBytes/);
  });

  it('validates its options, naming the field', () => {
    for (const [input, field] of [
      [{ path: '' }, 'path'],
      [{ path: 'x', defaultPort: 70_000 }, 'defaultPort'],
      [{ path: 'x', pollIntervalMs: 1 }, 'pollIntervalMs'],
      [{ path: 'x', maxFileBytes: 0 }, 'maxFileBytes'],
    ] as const) {
      try {
        resolveFileSeedsOptions(input);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidConfigError);
        expect((e as InvalidConfigError).field).toBe(field);
      }
    }
  });
});
