/**
 * Keeps the aggregates of the events file set up to date, reading each byte once.
 *
 * Rotated files never change, so a file's aggregate is kept (in memory and in the cache) keyed by
 * its identity (device + inode: a rotation renames, it does not copy) with how far it was read and a
 * fingerprint of the bytes before that point. On each refresh, a file whose identity, fingerprint and
 * size still fit is only read from where it was left; anything else (repaired, truncated, replaced,
 * rewritten in place) is read again from the start. The live file is just the newest such file.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { IntegrityError } from '../integrity/reader';
import { openSet } from '../integrity/fileset';
import { readCanonicalLines } from '../integrity/canonicalLines';
import { readToken } from '../integrity/repair/epoch';
import { MAX_LINE_BYTES } from '../sink/envelope';
import { LocalClock } from './clock';
import { cachePathFor, entryKey, loadCache, saveCache, StatsCacheError, type FileEntry } from './cache';
import { FileAgg } from './fileAgg';
import { parseJsonLine } from './event';
import { FastEvents } from './fastEvent';
import { aiToday, buildReport } from './query';
import type { AiFigures, RangeName, StatsReport } from './report';

export interface StoreOptions {
  /** IANA zone for day buckets (default: the process's). */
  timeZone?: string;
  /** Cache file; null = no cache on disk. Default `<file>.stats-cache`. */
  cacheFile?: string | null;
  /** false: every line through JSON.parse, none through verify's header scanner (same figures; tests compare). */
  fast?: boolean;
  /** The clock hours are folded into days by (tests); default Date.now. */
  now?: () => number;
}

export interface RefreshOptions {
  signal?: AbortSignal;
  /** Bytes read so far of the bytes this refresh has to read. */
  onProgress?: (done: number, total: number) => void;
  /** Files with nothing cached last modified before this instant are left out (today's figures). */
  since?: number;
}

export interface BuildInfo {
  files: string[];
  /** Files taken whole from the cache or memory, read only past where they were left, read from 0. */
  reused: number;
  extended: number;
  rebuilt: number;
  skipped: number;
  readBytes: number;
  totalBytes: number;
  /** Lines read this time that verify's header scanner took (the rest were parsed in full). */
  fastPath: number;
  elapsedMs: number;
  /** "off", "memory", "loaded", or why the cache on disk was not used (e.g. "missing"). */
  cache: string;
  /** Filled by `persist`: whether the cache was written, or why it could not be (the figures are still right). */
  written?: boolean;
  cacheWriteError?: { code: string; message: string; sysCode?: string };
}

const PRINT_BYTES = 4096;
/** How long refresh waits before its one retry after ERR_CHANGED. */
const RETRY_CHANGED_MS = 250;
/** Hours older than this are folded into days (the 24 h range never needs them). */
const KEEP_HOURS_MS = 2 * 86_400_000;

/** One open file of the set, and the size to read it up to. */
interface Snapshot {
  path: string;
  fd: number;
  size: number;
}

interface Plan {
  snap: Snapshot;
  entry: FileEntry;
  /** A new entry, read from 0. */
  fresh: boolean;
  live: boolean;
}

export class StatsStore {
  readonly clock: LocalClock;
  private readonly cacheFile: string | null;
  private readonly fast: FastEvents | undefined;
  private entries = new Map<string, FileEntry>();
  private cacheState: string | undefined;
  private dirty = false;
  private readonly now: () => number;
  /** The set's files in write order, as of the last refresh. */
  current: FileEntry[] = [];

  constructor(readonly file: string, opts: StoreOptions = {}) {
    this.clock = new LocalClock(opts.timeZone);
    this.cacheFile = opts.cacheFile === undefined ? cachePathFor(file) : opts.cacheFile;
    this.fast = opts.fast === false ? undefined : new FastEvents();
    this.now = opts.now ?? Date.now;
  }

  /**
   * Brings the aggregates up to date. When a repair moved bytes while they were read (ERR_CHANGED,
   * see integrity/repair/epoch.ts) it starts over once, a moment later (a repair holds the lock
   * while it works); the new epoch then makes every file of the set read from 0. A second
   * ERR_CHANGED (a repair still running, or interrupted) is the caller's to report.
   */
  async refresh(opts: RefreshOptions = {}): Promise<BuildInfo> {
    try {
      return await this.refreshOnce(opts);
    } catch (err) {
      if (!(err instanceof IntegrityError && err.code === 'ERR_CHANGED') || opts.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, RETRY_CHANGED_MS));
      return this.refreshOnce(opts);
    }
  }

  private async refreshOnce(opts: RefreshOptions): Promise<BuildInfo> {
    const t0 = Date.now();
    this.loadOnce();
    const info: BuildInfo = { files: [], reused: 0, extended: 0, rebuilt: 0, skipped: 0, readBytes: 0, totalBytes: 0, fastPath: 0, elapsedMs: 0, cache: this.cacheState! };
    const fastBefore = this.fast?.taken ?? 0;
    // The set's repair epoch, before any file is sized: an entry made under another one is stale.
    const epoch = epochToken(this.file);
    const set = await openSet(this.file, true);
    let changed = false;
    try {
      const seen = new Set<string>();
      // Bytes left to read, for progress: rotated files are opened one at a time, so this is planned
      // from their identities and sizes as listed.
      const have = (dev: number, ino: number): number => {
        const e = this.entries.get(entryKey(String(dev), String(ino)));
        return e && e.epoch === epoch ? e.offset : 0;
      };
      const toRead = set.files.reduce((a, f) => a + Math.max(0, f.size - have(f.dev, f.ino)), 0);
      const next = new Map<string, FileEntry>();
      const current: FileEntry[] = [];
      for (let i = 0; i < set.files.length; i++) {
        const read = await set.withFile(i, async (fd, f) => {
          const p = this.plan({ path: f.path, fd, size: f.size }, f.live && f.path === this.file, { since: opts.since, seen, epoch });
          if (!p) {
            info.skipped++;
            return;
          }
          if (await this.take(p, info, toRead, opts.signal, opts.onProgress)) changed = true;
          next.set(entryKey(p.entry.dev, p.entry.ino), p.entry);
          current.push(p.entry);
        });
        if (!read) info.skipped++;
      }
      if (next.size !== this.entries.size) changed = true;
      this.entries = next;
      this.current = current;
      const before = this.now() - KEEP_HOURS_MS;
      for (const e of this.current) if (e.agg.compact(before)) changed = true;
    } catch (err) {
      // An entry may be half-extended: forget memory, the cache on disk is still whole.
      this.entries = new Map();
      this.current = [];
      this.cacheState = undefined;
      this.dirty = false;
      throw err;
    } finally {
      set.close();
    }
    if (changed) this.dirty = true;
    info.fastPath = (this.fast?.taken ?? 0) - fastBefore;
    info.elapsedMs = Date.now() - t0;
    return info;
  }

  /** Counts one planned file in `info` and reads what it has new; true when it read anything. */
  private async take(p: Plan, info: BuildInfo, toRead: number, signal: AbortSignal | undefined, onProgress: RefreshOptions['onProgress']): Promise<boolean> {
    const before = p.entry.offset;
    info.files.push(p.snap.path);
    info.totalBytes += p.snap.size;
    if (p.fresh) info.rebuilt++;
    else if (p.snap.size > before) info.extended++;
    else info.reused++;
    if (!p.fresh && p.snap.size <= before) return false;
    const done = info.readBytes;
    await this.read(p, signal, (d) => onProgress?.(done + d, toRead));
    info.readBytes += p.snap.size - before;
    return true;
  }

  /** The report for one range over the set as of the last refresh. */
  report(range: RangeName, now = Date.now()): StatsReport {
    return buildReport(this.current.map((e) => e.agg), this.current.map((e) => e.path), this.clock, range, now);
  }

  /** Today's AI totals (local day), or null when there were none. */
  today(now = Date.now()): AiFigures | null {
    return aiToday(this.current.map((e) => e.agg), this.clock, now);
  }

  /**
   * Our entries plus those another window or process wrote for files we have not read (e.g. the
   * status bar only reads today's files): kept while the file at their path is still that file.
   */
  private withOthers(): Map<string, FileEntry> {
    const all = new Map(this.entries);
    for (const [k, e] of loadCache(this.cacheFile!, this.clock).entries ?? []) {
      if (all.has(k)) continue;
      try {
        const st = fs.statSync(e.path, { bigint: true });
        if (String(st.dev) === e.dev && String(st.ino) === e.ino) all.set(k, e);
      } catch {
        /* gone: dropped */
      }
    }
    return all;
  }

  private loadOnce(): void {
    if (this.cacheState !== undefined) {
      this.cacheState = 'memory';
      return;
    }
    if (!this.cacheFile) {
      this.cacheState = 'off';
      return;
    }
    const r = loadCache(this.cacheFile, this.clock);
    if (r.entries) this.entries = r.entries;
    this.cacheState = r.entries ? 'loaded' : r.problem;
  }

  /** What to do with one file: continue its entry, start it afresh, or (undefined) leave it out. */
  private plan(snap: Snapshot, live: boolean, o: { since: number | undefined; seen: Set<string>; epoch: string }): Plan | undefined {
    const st = fs.fstatSync(snap.fd, { bigint: true });
    const dev = String(st.dev);
    const ino = String(st.ino);
    const mtimeNs = String(st.mtimeNs);
    // The same inode twice (a hard link under a second rotated name) is read once.
    if (o.seen.has(entryKey(dev, ino))) return undefined;
    o.seen.add(entryKey(dev, ino));
    const old = this.entries.get(entryKey(dev, ino));
    // A repair rewrites files in place (same inode, maybe the same size and ends): its epoch tells.
    if (old && old.epoch === o.epoch && old.offset <= snap.size && (old.offset < snap.size || old.mtimeNs === mtimeNs) && old.print === fingerprint(snap.fd, old.offset)) {
      old.path = snap.path;
      return { snap, entry: old, fresh: false, live };
    }
    if (o.since !== undefined && Number(st.mtimeMs) < o.since) return undefined;
    return { snap, entry: { path: snap.path, dev, ino, offset: 0, mtimeNs, print: fingerprint(snap.fd, 0), epoch: o.epoch, agg: new FileAgg(this.clock) }, fresh: true, live };
  }

  /**
   * Reads [offset, size) of one file into its aggregate. Only complete lines count; the live file's
   * unterminated last line waits for the next refresh, a rotated file's is unreadable (as verify says).
   */
  private async read(p: Plan, signal: AbortSignal | undefined, progress: (done: number) => void): Promise<void> {
    const { snap, entry } = p;
    const agg = entry.agg;
    const start = entry.offset;
    const fast = this.fast;
    let end = start;
    await readCanonicalLines(
      { fd: snap.fd, path: snap.path, start, end: snap.size, maxLine: MAX_LINE_BYTES, fast: fast !== undefined, signal, onProgress: progress },
      {
        canonical: (b, s, e, f, _line, offset) => {
          const ev = fast!.event(b, f);
          if (!ev) return false;
          agg.lines++;
          agg.add(ev);
          end = offset + (e - s) + 1;
          return true;
        },
        other: (l) => {
          if (!l.terminated) {
            if (p.live) return;
            agg.lines++;
            agg.unreadable++;
            end = snap.size;
            return;
          }
          end = l.offset + l.length + 1;
          if (l.truncated) {
            agg.lines++;
            agg.unreadable++;
          } else agg.addLine(l.bytes, parseJsonLine);
        },
      },
    );
    entry.offset = end;
    entry.mtimeNs = String(fs.fstatSync(snap.fd, { bigint: true }).mtimeNs);
    entry.print = fingerprint(snap.fd, end);
  }

  /**
   * Writes the cache if a refresh changed anything since the last write. Separate from refresh so a
   * page can be drawn first; never throws (the figures are right either way).
   */
  persist(): Pick<BuildInfo, 'written' | 'cacheWriteError'> {
    if (!this.dirty || !this.cacheFile) return { written: false };
    try {
      saveCache(this.cacheFile, this.withOthers().values(), this.clock);
      this.dirty = false;
      return { written: true };
    } catch (err) {
      const e = err as StatsCacheError;
      return { written: false, cacheWriteError: { code: e.code ?? 'ERR_CACHE_WRITE', message: e.message, ...(e.sysCode ? { sysCode: e.sysCode } : {}) } };
    }
  }
}

/** The set's repair epoch token ('none' before the first repair). */
function epochToken(file: string): string {
  try {
    return readToken(file);
  } catch (err) {
    throw new IntegrityError('ERR_READ', `cannot read the repair epoch next to ${file}: ${(err as Error).message}`, err);
  }
}

/** sha256 of the first and the last ≤ 4 KiB before `offset`: a replaced or rewritten file shows. */
export function fingerprint(fd: number, offset: number): string {
  const h = createHash('sha256');
  const n = Math.min(PRINT_BYTES, offset);
  const buf = Buffer.alloc(n);
  h.update(buf.subarray(0, fs.readSync(fd, buf, 0, n, 0)));
  h.update('|');
  h.update(buf.subarray(0, fs.readSync(fd, buf, 0, n, offset - n)));
  return h.digest('hex').slice(0, 32);
}
