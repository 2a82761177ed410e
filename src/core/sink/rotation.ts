import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from './errors';
import { NEW_FLAGS, O_NOFOLLOW } from './safefs';

/**
 * Rotated files live next to the live file: `events.jsonl` → `events.20261128T031347123Z-ab12cd.jsonl`.
 * The UTC stamp makes name order write order; the random suffix keeps names unique.
 */
const STAMP_RE = /^(\d{8}T\d{9}Z)-([0-9a-f]{6})$/;

export function splitName(file: string): { dir: string; stem: string; ext: string } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const ext = path.extname(base);
  return { dir, stem: ext ? base.slice(0, -ext.length) : base, ext };
}

export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:.]/g, ''); // 20261128T031347123Z
}

export function rotatedName(file: string, now = new Date()): string {
  const { dir, stem, ext } = splitName(file);
  return path.join(dir, `${stem}.${stamp(now)}-${randomBytes(3).toString('hex')}${ext}`);
}

export interface RotatedName {
  path: string;
  stamp: string;
}

export interface RotatedFile extends RotatedName {
  mtimeMs: number;
  size: number;
  ino: number;
  dev: number;
}

function readNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Names of the rotated siblings of `file`, oldest first (by the stamp in the name). One readdir, no stat. */
export function rotatedNames(file: string, names = readNames(path.dirname(file))): RotatedName[] {
  const { dir, stem, ext } = splitName(file);
  const out: RotatedName[] = [];
  const prefix = stem + '.';
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(ext)) continue;
    const m = STAMP_RE.exec(name.slice(prefix.length, ext ? name.length - ext.length : name.length));
    if (m) out.push({ path: path.join(dir, name), stamp: m[1]! });
  }
  out.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.path < b.path ? -1 : 1));
  orderTies(out);
  return out;
}

/**
 * Two rotations in one millisecond (a writer that fills the new file in one batch and rotates again)
 * get the same stamp: order those by their last write (mtime), then by ctime (set when the file was
 * rotated). Only such ties are stat'ed.
 */
function orderTies(list: RotatedName[]): void {
  for (let i = 0; i < list.length; ) {
    let j = i + 1;
    while (j < list.length && list[j]!.stamp === list[i]!.stamp) j++;
    if (j - i > 1) {
      const key = (r: RotatedName): [number, number] => {
        const st = fs.lstatSync(r.path, { throwIfNoEntry: false });
        return st ? [st.mtimeMs, st.ctimeMs] : [Infinity, Infinity];
      };
      const run = list.slice(i, j).map((r) => ({ r, k: key(r) }));
      run.sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || (a.r.path < b.r.path ? -1 : 1));
      run.forEach((x, n) => (list[i + n] = x.r));
    }
    i = j;
  }
}

/**
 * Rotated siblings of `file` that are regular files (lstat: links, FIFOs and the like named like a
 * rotated file are left out), oldest first, each with its identity (dev, ino) for readers to pin.
 */
export function listRotated(file: string): RotatedFile[] {
  const out: RotatedFile[] = [];
  for (const r of rotatedNames(file)) {
    const st = fs.lstatSync(r.path, { throwIfNoEntry: false });
    if (st?.isFile()) out.push({ ...r, mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, dev: st.dev });
  }
  return out;
}

export interface RetentionPolicy {
  /** Keep at most this many rotated files (0 = unlimited). */
  maxFiles: number;
  /** Delete rotated files older than this many days (0 = never). */
  maxAgeDays: number;
}

/**
 * Deletes rotated files beyond the policy; returns the paths removed. Runs after the lock is
 * released (several writers may run it at once: each deletes only files older than the newest
 * `maxFiles` of its own listing, so together they never delete more). One readdir; a stat only for
 * the oldest files, while they are past the age limit. With `sweep`, also removes the small temp
 * files a writer killed mid-step left (older than a minute).
 */
export function applyRetention(file: string, policy: RetentionPolicy, now = Date.now(), sweep = true): string[] {
  const off = policy.maxFiles <= 0 && policy.maxAgeDays <= 0;
  if (off && !sweep) return [];
  const names = readNames(path.dirname(file));
  if (sweep) sweepTemps(file, names, now);
  if (off) return [];
  const rotated = rotatedNames(file, names);
  const doomed: string[] = [];
  let i = 0;
  if (policy.maxFiles > 0) for (; i < rotated.length - policy.maxFiles; i++) doomed.push(rotated[i]!.path);
  if (policy.maxAgeDays > 0) {
    const cutoff = now - policy.maxAgeDays * 86_400_000;
    // Oldest first: stop at the first file still young enough (name order is write order).
    for (; i < rotated.length; i++) {
      const st = fs.lstatSync(rotated[i]!.path, { throwIfNoEntry: false });
      if (st && st.mtimeMs >= cutoff) break;
      if (st) doomed.push(rotated[i]!.path);
    }
  }
  const removed: string[] = [];
  for (const p of doomed) {
    try {
      fs.unlinkSync(p);
      removed.push(p);
    } catch {
      /* already gone */
    }
  }
  return removed;
}

function tempPrefix(file: string): string {
  return `.${path.basename(file)}.rotate-`;
}

/** Leftovers of a kill -9 mid-step: a rotation's new file, a marker's temp, a broken lock set aside. */
function sweepTemps(file: string, names: string[], now: number): void {
  const base = path.basename(file);
  const prefixes = [tempPrefix(file), `.${base}.lockfile-users.tmp-`, `${base}.lock.stale-`];
  for (const n of names) {
    if (!prefixes.some((x) => n.startsWith(x))) continue;
    const p = path.join(path.dirname(file), n);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && st.size <= 4096 && now - st.mtimeMs > 60_000) fs.rmSync(p, { force: true });
  }
}

/**
 * Rotates the live file (called under the lock) so that the live path exists at every instant:
 * an empty 0600 file is made under a temp name, the live file gets its rotated name as a second
 * link, and the temp file is renamed over the live path. A reader opening the path meanwhile gets
 * the old file (also reachable under its rotated name) or the new one, never ENOENT.
 * `live` is the fstat of the locked fd: when it already has a second link under a rotated name (a
 * rotation killed between its link and its rename), that name is kept instead of adding another.
 * Where hard links are not supported it falls back to rename + rename (a window of microseconds).
 * Returns the rotated path.
 */
export function rotateFile(file: string, live: fs.Stats): string {
  const tmp = path.join(path.dirname(file), `${tempPrefix(file)}${randomBytes(4).toString('hex')}`);
  fs.closeSync(fs.openSync(tmp, NEW_FLAGS | O_NOFOLLOW, 0o600));
  let target: string | undefined;
  let step = 'none' as 'none' | 'linked' | 'moved';
  try {
    if (live.nlink > 1) target = rotatedNames(file).find((r) => sameFile(r.path, live))?.path;
    if (!target) {
      target = rotatedName(file);
      try {
        fs.linkSync(file, target);
        step = 'linked';
      } catch (err) {
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV'].includes(errnoCode(err) ?? '')) throw err;
        fs.renameSync(file, target); // no hard links here: the short-window way
        step = 'moved';
      }
    }
    fs.renameSync(tmp, file);
    return target;
  } catch (err) {
    // Undo: the live file keeps its name (and only that one) and no temp file is left.
    if (step === 'linked' && sameFile(file, live)) fs.rmSync(target!, { force: true });
    if (step === 'moved' && !fs.existsSync(file)) fs.renameSync(target!, file);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function sameFile(p: string, st: fs.Stats): boolean {
  const o = fs.lstatSync(p, { throwIfNoEntry: false });
  return !!o && o.ino === st.ino && o.dev === st.dev;
}
