// Seeds from a fixed list given in the configuration: "host:port" strings or
// { host, port } objects, validated once when the source is built.
import { InvalidConfigError } from '../../shared/errors.js';
import { DEFAULT_SEED_PORT, normalizeSeed, parseSeed, SeedSet, type Seed, type SeedErrorListener, type SeedListener, type SeedSource } from './seed-source.js';

export interface StaticSeedsOptions {
  /** Seeds as "host", "host:port", "[v6]:port" or { host, port }. */
  seeds: readonly (string | Seed)[];
  /** The port of seeds given without one (default 7946). */
  defaultPort?: number;
}

export class StaticSeeds implements SeedSource {
  readonly name = 'static';
  private readonly set = new SeedSet();

  constructor(options: StaticSeedsOptions) {
    if (options === null || typeof options !== 'object' || !Array.isArray(options.seeds)) throw new InvalidConfigError('seeds', 'expected an array');
    const defaultPort = options.defaultPort ?? DEFAULT_SEED_PORT;
    if (!Number.isInteger(defaultPort) || defaultPort < 1 || defaultPort > 65_535) throw new InvalidConfigError('defaultPort', `expected a port in [1, 65535], got ${String(defaultPort)}`);
    const seeds = options.seeds.map((s, i) => {
      const seed = typeof s === 'string' ? parseSeed(s, defaultPort) : s !== null && typeof s === 'object' ? normalizeSeed(s.host, s.port) : null;
      if (seed === null) throw new InvalidConfigError(`seeds[${i}]`, `not a host:port seed: ${JSON.stringify(s)}`);
      return seed;
    });
    this.set.update(seeds);
  }

  get seeds(): readonly Seed[] {
    return this.set.seeds;
  }

  resolve(): Promise<readonly Seed[]> {
    return Promise.resolve(this.set.seeds);
  }

  subscribe(listener: SeedListener, onError?: SeedErrorListener): () => void {
    return this.set.subscribe(listener, onError);
  }

  start(): void {}

  close(): void {}
}
