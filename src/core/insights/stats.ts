/**
 * `stats`: the report for one range over the events file set, read incrementally through the
 * cache (the CLI and tests); the extension keeps a StatsStore alive instead and refreshes it.
 */
import { StatsStore } from './store';
import type { RangeName, StatsReport } from './report';

export interface StatsOptions {
  file: string;
  range?: RangeName;
  /** IANA zone for day buckets (default: the process's, i.e. TZ or the system's). */
  timeZone?: string;
  /** false: neither read nor write the cache (a full re-read). */
  cache?: boolean;
  /** The cache file (default `<file>.stats-cache`). */
  cacheFile?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** "Now" for the range and for folding old hours into days (default: the clock). */
  now?: number;
  /** false: every line through JSON.parse, none through verify's header scanner (same figures). */
  fast?: boolean;
}

export async function stats(opts: StatsOptions): Promise<StatsReport> {
  const store = new StatsStore(opts.file, { timeZone: opts.timeZone, cacheFile: opts.cache === false ? null : opts.cacheFile, fast: opts.fast, now: opts.now === undefined ? undefined : () => opts.now! });
  const build = await store.refresh({ signal: opts.signal, onProgress: opts.onProgress });
  const report = store.report(opts.range ?? 'all', opts.now);
  return { ...report, build: { ...build, ...store.persist() } };
}
