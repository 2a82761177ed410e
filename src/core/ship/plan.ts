/**
 * Matches the files present now with the cursor's entries, by identity (device, inode, first line):
 * a renamed (rotated) file keeps its offset; a new file starts at 0; an entry whose file is gone
 * before it was shipped to its end is a gap (reported, never a crash); a file rewritten in place
 * (repair: a new inode under the same name, starting with the same line) is shipped again from 0,
 * and what was already sent collapses under FINAL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Snapshot } from './adapter';
import type { FileEntry, Gap } from './cursor';

export interface Present {
  /** The file as it was described (its fd is closed since: reopen it through the set by `index`). */
  snap: Omit<Snapshot, 'fd'>;
  /** Its index in the set. */
  index: number;
  dev: string;
  ino: string;
  first: string | null;
  name: string;
  /** Bytes to read: the locked complete-lines size for the live file, the whole size otherwise. */
  size: number;
  live: boolean;
}

export interface PlanItem {
  present: Present;
  /** The cursor entry this pass updates (already in the new cursor's files list). */
  entry: FileEntry;
  how: 'known' | 'new' | 'replaced';
}

export interface Plan {
  items: PlanItem[];
  gaps: Gap[];
  /** Names of files shipped again from the start because they were rewritten in place. */
  replaced: string[];
}

const FIRST_MAX = 64 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 32);

/** "id:<id>" of the first complete line, "sha:<hash>" when it has no readable id, null when none is complete. */
export function firstKey(fd: number, size: number): string | null {
  // Most first lines fit in 4 KiB: read that first (every pass describes every file of the set).
  let n = Math.min(size, 4096);
  for (;;) {
    if (n <= 0) return null;
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(fd, buf, got, n - got, got);
      if (r === 0) break;
      got += r;
    }
    const nl = buf.subarray(0, got).indexOf(10);
    if (nl !== -1) return keyOf(buf.subarray(0, nl));
    if (got < n || n >= Math.min(size, FIRST_MAX)) {
      // A first line longer than FIRST_MAX: its first FIRST_MAX bytes never change (append-only).
      return got >= FIRST_MAX ? 'sha:' + sha(buf.subarray(0, got)) : null;
    }
    n = Math.min(size, FIRST_MAX);
  }
}

function keyOf(line: Buffer): string {
  try {
    const o = JSON.parse(line.toString('utf8')) as { id?: unknown } | null;
    if (o && typeof o.id === 'string' && o.id.length > 0 && o.id.length <= 64) return 'id:' + o.id;
  } catch {
    /* damaged first line: identified by its bytes */
  }
  return 'sha:' + sha(line);
}

export function describe(snap: Snapshot, index: number, live: boolean): Present {
  const st = fs.fstatSync(snap.fd, { bigint: true });
  return { snap: { path: snap.path, size: snap.size, locked: snap.locked }, index, dev: String(st.dev), ino: String(st.ino), first: firstKey(snap.fd, snap.size), name: path.basename(snap.path), size: snap.size, live };
}

function sameFile(e: FileEntry, p: Present): boolean {
  if (e.dev !== p.dev || e.ino !== p.ino) return false;
  // An entry made before its file had a complete line holds nothing shipped: any first line fits.
  return e.first === p.first || (e.first === null && e.offset === 0);
}

export function reconcile(entries: readonly FileEntry[], present: readonly Present[], now = new Date()): Plan {
  const used = new Set<FileEntry>();
  const items: PlanItem[] = present.map((p) => {
    const e = entries.find((x) => !used.has(x) && sameFile(x, p));
    if (e) used.add(e);
    const base = e ?? { dev: p.dev, ino: p.ino, first: p.first, name: p.name, size: p.size, offset: 0, line: 0, live: p.live };
    return { present: p, entry: { ...base, first: p.first, name: p.name, size: Math.max(p.size, base.offset), live: p.live }, how: e ? 'known' : 'new' };
  });
  const gaps: Gap[] = [];
  const replaced: string[] = [];
  for (const e of entries) {
    if (used.has(e)) continue;
    const twin = e.first === null ? undefined : items.find((it) => it.how === 'new' && it.present.name === e.name && it.present.first === e.first);
    if (twin) {
      twin.how = 'replaced';
      replaced.push(e.name);
      continue;
    }
    // Gone before it was shipped to its end. A file that was live when last seen may also have grown
    // before it was rotated and removed: a gap of at least size − offset bytes, maybe more.
    if (e.offset < e.size || e.live) gaps.push({ at: now.toISOString(), name: e.name, bytes: e.size - e.offset, live: e.live });
  }
  return { items, gaps, replaced };
}

/**
 * A repair rewrote files of the set in place since the cursor was written (the epoch token changed):
 * offsets no longer point where they did. Every entry whose inode is still present starts over at 0
 * (rows already sent collapse under FINAL) and takes the file's first line as it is now (a repaired
 * first line is the same file, not a gap). Entries of files that are gone keep their figures.
 * Returns the entries and the names of files that had something shipped (they are sent again).
 */
export function afterRepair(entries: readonly FileEntry[], present: readonly Present[]): { entries: FileEntry[]; reset: string[] } {
  const reset: string[] = [];
  const out = entries.map((e) => {
    const p = present.find((x) => x.dev === e.dev && x.ino === e.ino);
    if (!p) return e;
    if (e.offset > 0) reset.push(p.name);
    return { ...e, first: p.first, offset: 0, line: 0 };
  });
  return { entries: out, reset };
}
