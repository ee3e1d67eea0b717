// Seeds from a file, re-read when it changes. The file is either JSON (an
// array of "host:port" strings or { host, port } objects, or an object with
// such an array under "seeds") or plain lines, one seed per line, with '#'
// starting a comment.
//
// Changes are noticed by fs.watch on the file's directory (so a file replaced
// by rename, as editors and config-map updates do, is still seen) and, since
// fs.watch is not reliable on every file system (NFS, some containers), by
// polling the file's size and modification time every pollIntervalMs as
// well. A file that is missing, unreadable or malformed keeps the last seeds
// and is reported as a SeedSourceError.
//
//   option            default   meaning
//   path              (required) the seed file
//   defaultPort       7946      the port of seeds given without one
//   pollIntervalMs    5 000     how often start() checks the file without fs.watch's help
//   maxFileBytes      1 MiB     larger files are refused
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { InvalidConfigError, SeedSourceError } from '../../shared/errors.js';
import { DEFAULT_SEED_PORT, normalizeSeed, parseSeed, SeedSet, timerScheduler, type Scheduler, type Seed, type SeedErrorListener, type SeedListener, type SeedSource } from './seed-source.js';
import { integerOption as integer } from '../../shared/options.js';

export interface FileSeedsOptionsInput {
  path: string;
  defaultPort?: number;
  pollIntervalMs?: number;
  maxFileBytes?: number;
}

export interface FileSeedsOptions {
  readonly path: string;
  readonly defaultPort: number;
  readonly pollIntervalMs: number;
  readonly maxFileBytes: number;
}

export function resolveFileSeedsOptions(input: FileSeedsOptionsInput): FileSeedsOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  if (typeof input.path !== 'string' || input.path === '') throw new InvalidConfigError('path', 'expected a file path');
  return Object.freeze({
    path: resolvePath(input.path),
    defaultPort: integer('defaultPort', input.defaultPort ?? DEFAULT_SEED_PORT, 1, 65_535),
    pollIntervalMs: integer('pollIntervalMs', input.pollIntervalMs ?? 5_000, 10, 86_400_000),
    maxFileBytes: integer('maxFileBytes', input.maxFileBytes ?? 1024 * 1024, 1, 64 * 1024 * 1024),
  });
}

/** The seeds in a seed file's text, or what is wrong with it. */
export function parseSeedFile(text: string, defaultPort: number): { readonly seeds: Seed[] } | { readonly problem: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (e) {
      return { problem: `invalid JSON: ${(e as Error).message}` };
    }
    const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' ? (doc as { seeds?: unknown }).seeds : undefined;
    if (!Array.isArray(list)) return { problem: 'JSON must be an array of seeds or an object with a "seeds" array' };
    const seeds: Seed[] = [];
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      const seed =
        typeof item === 'string'
          ? parseSeed(item, defaultPort)
          : item !== null && typeof item === 'object'
            ? normalizeSeed((item as { host?: unknown }).host, (item as { port?: unknown }).port ?? defaultPort)
            : null;
      if (seed === null) return { problem: `seeds[${i}] is not a seed: ${JSON.stringify(item)}` };
      seeds.push(seed);
    }
    return { seeds };
  }
  const seeds: Seed[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (line === '') continue;
    const seed = parseSeed(line, defaultPort);
    if (seed === null) return { problem: `line ${i + 1} is not a seed: ${JSON.stringify(line)}` };
    seeds.push(seed);
  }
  return { seeds };
}

export class FileSeeds implements SeedSource {
  readonly name: string;
  readonly options: FileSeedsOptions;
  private readonly set = new SeedSet();
  private readonly scheduler: Scheduler;
  private watcher: FSWatcher | null = null;
  private cancelPoll: (() => void) | null = null;
  /** Size and mtime when last read, to notice changes while polling. */
  private stamp = '';
  private reading: Promise<readonly Seed[]> | null = null;
  private again = false;
  private closed = false;

  constructor(options: FileSeedsOptionsInput, deps: { readonly scheduler?: Scheduler } = {}) {
    this.options = resolveFileSeedsOptions(options);
    this.name = `file:${this.options.path}`;
    this.scheduler = deps.scheduler ?? timerScheduler;
  }

  get seeds(): readonly Seed[] {
    return this.set.seeds;
  }

  /** Reads the file now. A read asked for while one runs is done once more after it. */
  resolve(): Promise<readonly Seed[]> {
    if (this.reading !== null) {
      this.again = true;
      return this.reading;
    }
    const run = async (): Promise<readonly Seed[]> => {
      try {
        let seeds = await this.read();
        while (this.again) {
          this.again = false;
          seeds = await this.read();
        }
        return seeds;
      } finally {
        this.reading = null;
      }
    };
    this.reading = run();
    return this.reading;
  }

  subscribe(listener: SeedListener, onError?: SeedErrorListener): () => void {
    return this.set.subscribe(listener, onError);
  }

  /** Reads the file, then re-reads it on every change seen by fs.watch or by polling. */
  start(): void {
    if (this.cancelPoll !== null || this.closed) return;
    const file = basename(this.options.path);
    try {
      this.watcher = watch(dirname(this.options.path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed.toString() === file) this.refresh();
      });
      this.watcher.on('error', () => {
        // The directory went away or the platform stopped watching: polling carries on alone.
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null;
    }
    this.cancelPoll = this.scheduler.every(this.options.pollIntervalMs, () => void this.poll());
    this.refresh();
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    this.cancelPoll?.();
    this.cancelPoll = null;
  }

  /** True while fs.watch is active (false: polling only). */
  get watching(): boolean {
    return this.watcher !== null;
  }

  private refresh(): void {
    if (this.closed) return;
    this.resolve().catch((e: unknown) => this.set.fail(e instanceof SeedSourceError ? e : new SeedSourceError(this.name, String(e), { cause: e })));
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    let stamp: string;
    try {
      const s = await stat(this.options.path);
      stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp !== this.stamp) this.refresh();
  }

  private async read(): Promise<readonly Seed[]> {
    const path = this.options.path;
    let text: string;
    try {
      const s = await stat(path);
      this.stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
      if (s.size > this.options.maxFileBytes) throw new SeedSourceError(this.name, `${s.size} bytes is above maxFileBytes (${this.options.maxFileBytes})`);
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (e instanceof SeedSourceError) throw e;
      this.stamp = 'missing';
      const code = (e as { code?: unknown }).code;
      throw new SeedSourceError(this.name, `cannot read the file: ${typeof code === 'string' ? code : String(e)}`, { cause: e });
    }
    const parsed = parseSeedFile(text, this.options.defaultPort);
    if ('problem' in parsed) throw new SeedSourceError(this.name, parsed.problem);
    return this.set.update(parsed.seeds);
  }
}
