// Seeds from DNS, re-resolved periodically:
//
//   records 'address'  the A and AAAA records of `name`, each with `port`
//                      (a Kubernetes headless service: one address per ready pod)
//   records 'srv'      the SRV records of `name` (_gossip._tcp.svc.cluster.local):
//                      each target with the record's port; with
//                      resolveSrvTargets (default) the targets' A/AAAA
//                      addresses, otherwise the target names themselves
//
// Lookups go through a node:dns Resolver of its own, so `servers` can point
// at a particular DNS server without touching the process-wide settings.
// A name or type with no records gives no seeds; any other failure (timeout,
// refused, server failure) rejects with SeedSourceError and, when
// refreshing by itself, keeps the last seeds and tells the error listeners.
//
//   option                default   meaning
//   name                  (required) the DNS name to look up
//   records               'address' 'address' (A + AAAA) or 'srv'
//   port                  7946      the port of address records
//   servers               system    DNS servers, "ip" or "ip:port"
//   reResolveIntervalMs   30 000    how often start() re-resolves
//   timeoutMs             2 000     one query's timeout
//   tries                 2         attempts per query
//   resolveSrvTargets     true      turn SRV targets into addresses
import { Resolver } from 'node:dns/promises';
import { InvalidConfigError, SeedSourceError } from '../../shared/errors.js';
import { DEFAULT_SEED_PORT, normalizeSeed, SeedSet, timerScheduler, type Scheduler, type Seed, type SeedErrorListener, type SeedListener, type SeedSource } from './seed-source.js';
import { integerOption as integer } from '../../shared/options.js';

export interface DnsSeedsOptionsInput {
  name: string;
  records?: 'address' | 'srv';
  port?: number;
  servers?: readonly string[];
  reResolveIntervalMs?: number;
  timeoutMs?: number;
  tries?: number;
  resolveSrvTargets?: boolean;
}

export interface DnsSeedsOptions {
  readonly name: string;
  readonly records: 'address' | 'srv';
  readonly port: number;
  readonly servers: readonly string[] | null;
  readonly reResolveIntervalMs: number;
  readonly timeoutMs: number;
  readonly tries: number;
  readonly resolveSrvTargets: boolean;
}

export function resolveDnsSeedsOptions(input: DnsSeedsOptionsInput): DnsSeedsOptions {
  if (input === null || typeof input !== 'object') throw new InvalidConfigError('options', 'expected an object');
  const name = input.name;
  if (typeof name !== 'string' || name === '' || name.length > 253) throw new InvalidConfigError('name', `expected a DNS name, got ${JSON.stringify(name)}`);
  const records = input.records ?? 'address';
  if (records !== 'address' && records !== 'srv') throw new InvalidConfigError('records', `expected 'address' or 'srv', got ${String(records)}`);
  const port = integer('port', input.port ?? DEFAULT_SEED_PORT, 1, 65_535);
  let servers: readonly string[] | null = null;
  if (input.servers !== undefined) {
    if (!Array.isArray(input.servers) || input.servers.length === 0 || input.servers.some((s) => typeof s !== 'string' || s === '')) {
      throw new InvalidConfigError('servers', 'expected a non-empty array of "ip" or "ip:port" strings');
    }
    servers = Object.freeze([...input.servers]);
  }
  const reResolveIntervalMs = integer('reResolveIntervalMs', input.reResolveIntervalMs ?? 30_000, 100, 86_400_000);
  const timeoutMs = integer('timeoutMs', input.timeoutMs ?? 2_000, 1, 60_000);
  const tries = integer('tries', input.tries ?? 2, 1, 10);
  const resolveSrvTargets = input.resolveSrvTargets ?? true;
  if (typeof resolveSrvTargets !== 'boolean') throw new InvalidConfigError('resolveSrvTargets', 'expected a boolean');
  return Object.freeze({ name, records, port, servers, reResolveIntervalMs, timeoutMs, tries, resolveSrvTargets });
}

/** Codes with which node:dns says "no such records" rather than "lookup failed". */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

export class DnsSeeds implements SeedSource {
  readonly name: string;
  readonly options: DnsSeedsOptions;
  private readonly resolver: Resolver;
  private readonly set = new SeedSet();
  private readonly scheduler: Scheduler;
  private cancel: (() => void) | null = null;
  private inFlight: Promise<readonly Seed[]> | null = null;

  constructor(options: DnsSeedsOptionsInput, deps: { readonly scheduler?: Scheduler } = {}) {
    this.options = resolveDnsSeedsOptions(options);
    this.name = `dns:${this.options.name}`;
    this.scheduler = deps.scheduler ?? timerScheduler;
    this.resolver = new Resolver({ timeout: this.options.timeoutMs, tries: this.options.tries });
    if (this.options.servers !== null) {
      try {
        this.resolver.setServers(this.options.servers as string[]);
      } catch (e) {
        throw new InvalidConfigError('servers', e instanceof Error ? e.message : String(e));
      }
    }
  }

  get seeds(): readonly Seed[] {
    return this.set.seeds;
  }

  /** Looks the name up now; calls while a lookup runs share it. */
  resolve(): Promise<readonly Seed[]> {
    this.inFlight ??= this.lookup();
    return this.inFlight;
  }

  subscribe(listener: SeedListener, onError?: SeedErrorListener): () => void {
    return this.set.subscribe(listener, onError);
  }

  /** Resolves now and every reResolveIntervalMs; failures go to the error listeners. */
  start(): void {
    if (this.cancel !== null) return;
    const refresh = (): void => {
      this.resolve().catch((e: unknown) => {
        if (e instanceof SeedSourceError) this.set.fail(e);
        else this.set.fail(new SeedSourceError(this.name, String(e), { cause: e }));
      });
    };
    this.cancel = this.scheduler.every(this.options.reResolveIntervalMs, refresh);
    refresh();
  }

  close(): void {
    this.cancel?.();
    this.cancel = null;
    this.resolver.cancel();
  }

  private async lookup(): Promise<readonly Seed[]> {
    let found: Seed[];
    try {
      found = await this.collect();
    } finally {
      // Cleared before subscribers hear of the result, so one that resolves again gets a fresh lookup.
      this.inFlight = null;
    }
    return this.set.update(found);
  }

  private async collect(): Promise<Seed[]> {
    const o = this.options;
    const found: Seed[] = [];
    if (o.records === 'address') {
      for (const host of await this.addresses(o.name)) pushSeed(found, host, o.port);
    } else {
      const records = await this.query(() => this.resolver.resolveSrv(o.name), 'SRV', o.name);
      records.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
      const targets = o.resolveSrvTargets ? await Promise.all(records.map((r) => this.addresses(r.name))) : null;
      records.forEach((r, i) => {
        if (targets === null) pushSeed(found, r.name.replace(/\.$/, ''), r.port);
        else for (const host of targets[i]) pushSeed(found, host, r.port);
      });
    }
    return found;
  }

  /** A and AAAA addresses of `name` (either may be absent). */
  private async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([
      this.query(() => this.resolver.resolve4(name), 'A', name),
      this.query(() => this.resolver.resolve6(name), 'AAAA', name),
    ]);
    return [...v4, ...v6];
  }

  private async query<T>(run: () => Promise<T[]>, type: string, name: string): Promise<T[]> {
    try {
      return await run();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && NO_RECORDS.has(code)) return [];
      throw new SeedSourceError(this.name, `${type} lookup of ${name} failed: ${typeof code === 'string' ? code : String(e)}`, { cause: e });
    }
  }
}

function pushSeed(out: Seed[], host: string, port: number): void {
  const seed = normalizeSeed(host, port);
  if (seed !== null) out.push(seed);
}
