/**
 * The durable cursor of one (events file set, destination): for every file of the set, its identity
 * (device, inode and the first line's id, so a reused inode is a different file) and the byte offset
 * just past the last complete line that ClickHouse acknowledged (or that was counted as damaged).
 * Written atomically (safeFs.writeAtomic) only after an acknowledgement, so it never runs ahead of the
 * server; after a crash a batch is at worst sent again, and ReplacingMergeTree keeps it once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { ShipError } from './errors';
import { openNoFollow, removeStaleTemps, writeAtomic } from './safeFs';

export interface FileEntry {
  /** st_dev and st_ino as decimal strings (inodes can exceed 2^53). */
  dev: string;
  ino: string;
  /** "id:<first line's id>", "sha:<hash of the first line>", or null while no line is complete. */
  first: string | null;
  /** Base name when last seen (for reports; identity never uses it). */
  name: string;
  /** Size when last seen (a file removed with offset < size is a gap of at least size − offset bytes). */
  size: number;
  /** Bytes [0, offset) are done: shipped, or counted as damaged. Always a line start. */
  offset: number;
  /** Lines in [0, offset), so problem reports carry verify's line numbers. */
  line: number;
  /** It was the live file when last seen (it may have grown and been rotated since). */
  live: boolean;
}

export interface Gap {
  at: string;
  name: string;
  /** Bytes known unshipped; with `live` the file may have grown before it was rotated and removed. */
  bytes: number;
  live: boolean;
}

export interface Totals {
  shipped: number;
  /** Bytes of the set passed over (shipped or counted damaged): with shipped + invalid, the mean line size. */
  bytes: number;
  batches: number;
  retriedBatches: number;
  invalid: number;
  invalidByCode: Record<string, number>;
  gaps: number;
  gapBytes: number;
  reshipped: number;
}

export interface Cursor {
  v: 1;
  file: string;
  destination: string;
  files: FileEntry[];
  /**
   * The set's repair epoch token when the offsets were taken (absent in cursors written before it
   * existed: read as 'none'). Another token now = a repair rewrote files in place since.
   */
  epoch?: string;
  totals: Totals;
  /** ts of the last acknowledged event in write order. */
  lastTs?: string;
  recentGaps: Gap[];
  updatedAt: string;
}

export function emptyTotals(): Totals {
  return { shipped: 0, bytes: 0, batches: 0, retriedBatches: 0, invalid: 0, invalidByCode: {}, gaps: 0, gapBytes: 0, reshipped: 0 };
}

export function newCursor(file: string, destination: string): Cursor {
  return { v: 1, file, destination, files: [], totals: emptyTotals(), recentGaps: [], updatedAt: new Date().toISOString() };
}

/** `<events file>.ship-<key>.cursor` and `.lock`, key = hash of (absolute events path, destination). */
export function shipPaths(eventsFile: string, destination: string): { key: string; cursor: string; lock: string } {
  const abs = path.resolve(eventsFile);
  const key = createHash('sha256').update(abs).update('\n').update(destination).digest('hex').slice(0, 12);
  return { key, cursor: `${abs}.ship-${key}.cursor`, lock: `${abs}.ship-${key}.lock` };
}

const MAX_CURSOR_BYTES = 64 << 20;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDec = (v: unknown): v is string => typeof v === 'string' && /^\d{1,30}$/.test(v);

function checkEntry(e: unknown, i: number): string | undefined {
  const x = e as Partial<FileEntry> | null;
  if (!x || typeof x !== 'object') return `files[${i}] is not an object`;
  if (!isDec(x.dev) || !isDec(x.ino)) return `files[${i}] has no device/inode`;
  if (!(x.first === null || (typeof x.first === 'string' && /^(id|sha):/.test(x.first)))) return `files[${i}].first is malformed`;
  if (typeof x.name !== 'string' || typeof x.live !== 'boolean') return `files[${i}] has no name/live`;
  if (!isCount(x.size) || !isCount(x.offset) || !isCount(x.line)) return `files[${i}] has a bad size/offset/line`;
  return undefined;
}

/** Why `c` is not a cursor for (file, destination), or undefined when it is one. */
export function checkCursor(c: unknown, file: string, destination: string): string | undefined {
  const x = c as Partial<Cursor> | null;
  if (!x || typeof x !== 'object' || Array.isArray(x)) return 'not a JSON object';
  if (x.v !== 1) return `unknown version ${JSON.stringify(x.v)}`;
  if (x.file !== file) return `it belongs to ${JSON.stringify(x.file)}, not ${JSON.stringify(file)}`;
  if (x.destination !== destination) return `it belongs to ${JSON.stringify(x.destination)}, not ${JSON.stringify(destination)}`;
  if (!Array.isArray(x.files)) return 'no files list';
  if (x.epoch !== undefined && (typeof x.epoch !== 'string' || x.epoch.length > 64)) return 'epoch is malformed';
  for (let i = 0; i < x.files.length; i++) {
    const why = checkEntry(x.files[i], i);
    if (why) return why;
  }
  const t = x.totals as Partial<Totals> | undefined;
  if (!t || typeof t !== 'object') return 'no totals';
  for (const k of ['shipped', 'bytes', 'batches', 'retriedBatches', 'invalid', 'gaps', 'gapBytes', 'reshipped'] as const) if (!isCount(t[k])) return `totals.${k} is not a count`;
  if (!t.invalidByCode || typeof t.invalidByCode !== 'object') return 'totals.invalidByCode missing';
  if (!Array.isArray(x.recentGaps)) return 'recentGaps missing';
  return undefined;
}

/** Reads the cursor; undefined when there is none yet. Throws ERR_CURSOR_CORRUPT naming the fix. */
export function readCursor(p: string, file: string, destination: string): Cursor | undefined {
  const fd = openNoFollow(p, fs.constants.O_RDONLY);
  if (fd === undefined) return undefined;
  let text: string;
  try {
    if (fs.fstatSync(fd).size > MAX_CURSOR_BYTES) throw corrupt(p, `larger than ${MAX_CURSOR_BYTES} bytes`);
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw corrupt(p, `not JSON (${(err as Error).message})`);
  }
  const why = checkCursor(parsed, file, destination);
  if (why) throw corrupt(p, why);
  return parsed as Cursor;
}

function corrupt(p: string, why: string): ShipError {
  return new ShipError('ERR_CURSOR_CORRUPT', `the shipping cursor ${p} is unusable: ${why}. Run \`telemetry-sink ship --reset-cursor …\` to ship everything again (rows already in ClickHouse collapse under FINAL)`);
}

export function writeCursor(p: string, c: Cursor): void {
  c.updatedAt = new Date().toISOString();
  writeAtomic(p, JSON.stringify(c) + '\n');
}

/** Deletes the cursor (and stale temps); the next run ships the whole set again. */
export function removeCursor(p: string): void {
  removeStaleTemps(p);
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ShipError('ERR_CURSOR_WRITE', `cannot remove ${p}: ${(err as Error).message}`, err);
  }
}
