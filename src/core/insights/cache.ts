/**
 * The statistics cache beside the events file (`<file>.stats-cache`): per file of the set, its
 * identity, how far it was read, the set's repair epoch then, and its aggregate. It is a convenience, never trusted: a file that is
 * not ours, not a regular file, a symlink, too big, of another format, version or time zone, or whose
 * body does not match the checksum in its header is ignored (and later replaced). It is written to a
 * new 0600 temp file (O_EXCL|O_NOFOLLOW) and renamed over the old one, so readers see either
 * version whole and a symlink planted at the name is replaced, never followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { FileAgg } from './fileAgg';
import { arr, CacheFormatError, fail, guarded, nat, str } from './codec';
import type { LocalClock } from './clock';

export const CACHE_FORMAT = 'local-telemetry-sink/stats-cache';
/** Bump when the aggregate's meaning or encoding changes: older caches are then rebuilt. */
export const CACHE_VERSION = 2;
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
const STALE_TEMP_MS = 10 * 60_000;

export interface FileEntry {
  /** Where the file was last seen (informational; identity is dev + ino). */
  path: string;
  dev: string;
  ino: string;
  /** Bytes read: the end of the last complete line. */
  offset: number;
  /** mtime (ns) when `offset` was reached: a file whose size is still `offset` must still have it. */
  mtimeNs: string;
  /** sha256 of the first and last ≤ 4 KiB before `offset`. */
  print: string;
  /**
   * The set's repair epoch token when the entry was made (integrity/repair/epoch.ts): repair rewrites
   * files in place, keeping the inode and maybe the size and both ends; a new token says it ran.
   */
  epoch: string;
  agg: FileAgg;
}

export const entryKey = (dev: string, ino: string): string => `${dev}:${ino}`;
export const cachePathFor = (eventsFile: string): string => `${eventsFile}.stats-cache`;

export class StatsCacheError extends Error {
  constructor(
    readonly code: 'ERR_CACHE_WRITE' | 'ERR_CACHE_UNSAFE',
    message: string,
    readonly sysCode?: string,
  ) {
    super(message);
  }
}

export type LoadResult = { entries: Map<string, FileEntry>; problem?: undefined } | { entries?: undefined; problem: string };

/** Reads the cache; `problem` says why there is none to use ("missing" when it does not exist). */
export function loadCache(cacheFile: string, clock: LocalClock): LoadResult {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the name must not hang the open (it is then not a regular file).
    fd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'missing' : code === 'ELOOP' ? 'a symlink (ignored)' : `unreadable (${code})` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { problem: 'not a regular file (ignored)' };
    if (process.getuid && st.uid !== process.getuid()) return { problem: 'owned by another user (ignored)' };
    if (st.size > MAX_CACHE_BYTES) return { problem: 'too big (ignored)' };
    return { entries: parseCache(fs.readFileSync(fd), clock) };
  } catch (err) {
    if (err instanceof CacheFormatError) return { problem: `${err.message} (ignored)` };
    return { problem: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  } finally {
    fs.closeSync(fd);
  }
}

export function parseCache(buf: Buffer, clock: LocalClock): Map<string, FileEntry> {
  const nl = buf.indexOf(10);
  if (nl < 0) fail('no header');
  const header = guarded('header', () => JSON.parse(buf.subarray(0, nl).toString('utf8')) as Record<string, unknown>);
  if (!header || typeof header !== 'object' || header.format !== CACHE_FORMAT) fail('not a statistics cache');
  if (header.version !== CACHE_VERSION) fail(`version ${String(header.version)}, this build reads ${CACHE_VERSION}`);
  if (header.timeZone !== clock.zoneKey) fail(`made for time zone ${String(header.timeZone)}, now ${clock.zoneKey}`);
  const body = buf.subarray(nl + 1);
  if (header.sha256 !== sha256(body)) fail('checksum mismatch');
  const list = arr(guarded('body', () => JSON.parse(body.toString('utf8')) as unknown), 'body');
  const entries = new Map<string, FileEntry>();
  for (const x of list) {
    const a = arr(x, 'entry', 8);
    const e: FileEntry = { path: str(a[0], 'path'), dev: digits(a[1]), ino: digits(a[2]), offset: nat(a[3], 'offset'), mtimeNs: digits(a[4]), print: str(a[5], 'print'), epoch: str(a[6], 'epoch'), agg: FileAgg.decode(a[7], clock) };
    entries.set(entryKey(e.dev, e.ino), e);
  }
  return entries;
}

function digits(x: unknown): string {
  const s = str(x, 'number');
  if (!/^\d{1,40}$/.test(s)) fail('bad number');
  return s;
}

export function serializeCache(entries: Iterable<FileEntry>, clock: LocalClock): Buffer {
  const list = [...entries].map((e) => [e.path, e.dev, e.ino, e.offset, e.mtimeNs, e.print, e.epoch, e.agg.encode()]);
  const body = Buffer.from(JSON.stringify(list));
  const header = JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, timeZone: clock.zoneKey, sha256: sha256(body), bytes: body.length });
  return Buffer.concat([Buffer.from(header + '\n'), body]);
}

/** Writes the cache atomically (temp + rename), 0600; only into a folder owned by this user. */
export function saveCache(cacheFile: string, entries: Iterable<FileEntry>, clock: LocalClock): void {
  const dir = path.dirname(cacheFile);
  let dst: fs.Stats;
  try {
    dst = fs.lstatSync(dir);
  } catch (err) {
    throw new StatsCacheError('ERR_CACHE_WRITE', `cannot write the statistics cache: ${(err as NodeJS.ErrnoException).code}`, (err as NodeJS.ErrnoException).code);
  }
  if (!dst.isDirectory() || (process.getuid && dst.uid !== process.getuid())) {
    throw new StatsCacheError('ERR_CACHE_UNSAFE', 'the statistics cache is not written: the events folder is not owned by this user');
  }
  removeStaleTemps(cacheFile);
  const tmp = `${cacheFile}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    const buf = serializeCache(entries, clock);
    for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, cacheFile);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new StatsCacheError('ERR_CACHE_WRITE', `cannot write the statistics cache: ${code ?? (err as Error).message}`, code);
  }
}

/** Temp files of writers killed before their rename. */
function removeStaleTemps(cacheFile: string): void {
  const dir = path.dirname(cacheFile);
  const prefix = path.basename(cacheFile) + '.';
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !/^[0-9a-f]{12}\.tmp$/.test(n.slice(prefix.length))) continue;
    try {
      const p = path.join(dir, n);
      const st = fs.lstatSync(p);
      if (st.isFile() && Date.now() - st.mtimeMs > STALE_TEMP_MS) fs.unlinkSync(p);
    } catch {
      /* gone or not ours: leave it */
    }
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
