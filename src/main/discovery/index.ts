// Discovery: where the seeds to join come from.
export {
  DEFAULT_SEED_PORT,
  dedupeSeeds,
  normalizeSeed,
  parseSeed,
  sameSeeds,
  seedAddress,
  SeedSet,
  timerScheduler,
  type Scheduler,
  type Seed,
  type SeedErrorListener,
  type SeedListener,
  type SeedSource,
} from './seed-source.js';
export { StaticSeeds, type StaticSeedsOptions } from './static-seeds.js';
export { DnsSeeds, resolveDnsSeedsOptions, type DnsSeedsOptions, type DnsSeedsOptionsInput } from './dns-seeds.js';
export { FileSeeds, parseSeedFile, resolveFileSeedsOptions, type FileSeedsOptions, type FileSeedsOptionsInput } from './file-seeds.js';
