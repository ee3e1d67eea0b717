// Where a node finds the members to join: a seed source yields host:port
// pairs, from a static list (static-seeds.ts), DNS (dns-seeds.ts) or a file
// (file-seeds.ts). Sources that can change (DNS re-resolved, a file edited)
// tell subscribers when their seed set changes; a failed refresh keeps the
// last good set and reports a SeedSourceError to the error listeners.
//
// Seeds are normalized (IPv6 without brackets, hosts lower-cased), deduplicated
// by host and port and sorted, so two sources that say the same thing give
// equal lists and a refresh that finds the same set is not a change.
import { isIP } from 'node:net';
import type { SeedSourceError } from '../../shared/errors.js';

export interface Seed {
  readonly host: string;
  readonly port: number;
}

export type SeedListener = (seeds: readonly Seed[]) => void;
export type SeedErrorListener = (error: SeedSourceError) => void;

export interface SeedSource {
  /** What the source is, for errors and logs: "static", "dns:<name>", "file:<path>". */
  readonly name: string;
  /** The seeds last resolved (empty before the first resolve). */
  readonly seeds: readonly Seed[];
  /** Resolves the seeds now; rejects with SeedSourceError (keeping the last set) when it cannot. */
  resolve(): Promise<readonly Seed[]>;
  /** Calls `listener` whenever the seed set changes and `onError` when a refresh fails; returns the unsubscribe. */
  subscribe(listener: SeedListener, onError?: SeedErrorListener): () => void;
  /** Starts refreshing by itself (re-resolving, watching); resolve() works without it. */
  start(): void;
  /** Stops refreshing and releases timers and watchers. */
  close(): void;
}

/** Runs a task every intervalMs; returns the cancel. Real timers in production, a manual one in tests. */
export interface Scheduler {
  every(intervalMs: number, task: () => void): () => void;
}

/** setInterval, unref'd so that refreshing seeds never keeps a process alive. */
export const timerScheduler: Scheduler = {
  every(intervalMs, task) {
    const t = setInterval(task, intervalMs);
    t.unref();
    return () => clearInterval(t);
  },
};

export const DEFAULT_SEED_PORT = 7946;

/**
 * Reads "host", "host:port", "1.2.3.4:port", "[::1]:port", "[::1]" or "::1".
 * Returns null when the text is not a seed.
 */
export function parseSeed(text: string, defaultPort: number = DEFAULT_SEED_PORT): Seed | null {
  const s = text.trim();
  if (s === '') return null;
  let host: string;
  let portText: string | null = null;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) return null;
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  const port = portText === null ? defaultPort : Number(portText);
  if (portText !== null && !/^\d{1,5}$/.test(portText)) return null;
  return normalizeSeed(host, port);
}

/** A seed from a host and port, or null when either is not valid. */
export function normalizeSeed(host: unknown, port: unknown): Seed | null {
  if (typeof host !== 'string' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  let h = host.trim();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === '' || h.length > 253) return null;
  if (isIP(h) === 0 && !/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/.test(h)) return null;
  return Object.freeze({ host: h.toLowerCase(), port });
}

/** "host:port", with brackets around IPv6 hosts. */
export function seedAddress(seed: Seed): string {
  return isIP(seed.host) === 6 ? `[${seed.host}]:${seed.port}` : `${seed.host}:${seed.port}`;
}

/** Deduplicated (by host and port) and sorted, frozen. */
export function dedupeSeeds(seeds: Iterable<Seed>): readonly Seed[] {
  const byAddress = new Map<string, Seed>();
  for (const s of seeds) byAddress.set(seedAddress(s), s);
  return Object.freeze([...byAddress.keys()].sort().map((k) => byAddress.get(k)!));
}

export function sameSeeds(a: readonly Seed[], b: readonly Seed[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].host !== b[i].host || a[i].port !== b[i].port) return false;
  return true;
}

/** The current seed set of a source and its subscribers; sources own one. */
export class SeedSet {
  private current: readonly Seed[] = Object.freeze([]);
  private readonly listeners = new Set<{ listener: SeedListener; onError?: SeedErrorListener }>();

  get seeds(): readonly Seed[] {
    return this.current;
  }

  /** Replaces the set (deduplicated, sorted); tells subscribers when it changed. */
  update(seeds: Iterable<Seed>): readonly Seed[] {
    const next = dedupeSeeds(seeds);
    if (sameSeeds(next, this.current)) return this.current;
    this.current = next;
    for (const l of [...this.listeners]) l.listener(next);
    return next;
  }

  fail(error: SeedSourceError): void {
    for (const l of [...this.listeners]) l.onError?.(error);
  }

  subscribe(listener: SeedListener, onError?: SeedErrorListener): () => void {
    const entry = { listener, onError };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }
}
