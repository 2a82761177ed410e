import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitName } from '../../sink/rotation';
import { bumpToken } from './epoch';
import { closeQuietly, copyRange, createPrivate, fsyncDir, OutFile, Owner, preadAll, pwriteAll, unlinkQuietly } from './io';
import { commitJournal, filler, HEADER_BYTES, Journal, JournalHeader, markApplied, newHeader } from './journal';
import type { RepairLock } from './lock';

/** Named points of a repair, in order (a test kills the process at each one). */
export type RepairStep =
  | 'scanned'
  | 'locked'
  | 'linked'
  | 'split-partial'
  | 'split'
  | 'committed'
  | 'quarantined'
  | 'epoch'
  | 'apply-partial'
  | 'applied-data'
  | 'filler'
  | 'marked'
  | 'truncated'
  | 'recommitted'
  | 'unjournaled'
  | 'unlinked';

/** One file being rewritten, with the paths of its repair's artifacts. */
export interface Target {
  live: string;
  fd: number;
  dev: number;
  ino: number;
  owner?: Owner;
  lock: RepairLock;
  paths: { link: string; journal: string; next: string; qtmp: string };
  hook: (step: RepairStep) => void;
  chunk: number;
}

/**
 * Brings a committed journal to its end. Pending: copy its bytes over [from, newSize), write the
 * filler at the end of the old size, fsync, mark applied. Applied: settle the truncation (see
 * settle), then remove the journal and, last, the `.inode` link. Every step can be repeated after
 * a crash with the same result, which is what makes a killed repair recoverable at any point.
 */
export async function runJournal(t: Target, j: Journal): Promise<void> {
  try {
    if (!j.applied) {
      t.lock.assertHeld('rewrite the file');
      bumpToken(t.live, t.owner);
      t.hook('epoch');
      let at = j.h.from;
      await copyRange(j.fd, HEADER_BYTES, j.h.dataLen, async (b) => {
        await pwriteAll(t.fd, b, at);
        if (at === j.h.from) t.hook('apply-partial');
        at += b.length;
      }, t.chunk);
      t.hook('applied-data');
      const f = filler(j.h);
      await pwriteAll(t.fd, f.bytes, f.at);
      t.hook('filler');
      fs.fsyncSync(t.fd);
      t.lock.assertHeld('mark its journal applied');
      await markApplied(j);
      t.hook('marked');
    }
    if (await settle(t, j.h)) return;
  } finally {
    closeQuietly(j.fd);
  }
  finish(t);
}

/**
 * After `applied`: was the file cut to newSize before the crash? Writers append at the end, so after
 * a crash lines may follow either the old end (not cut) or the new one (cut). The filler decides:
 * still in place → not cut. Not cut and nothing appended → cut now. Not cut with lines appended after
 * it → a new journal moves those lines down over the filler (true: that journal finished the job).
 */
async function settle(t: Target, h: JournalHeader): Promise<boolean> {
  const n = fs.fstatSync(t.fd).size;
  const f = filler(h);
  if (n < h.size || !(await holds(t.fd, f.at, f.bytes))) return false;
  if (n > h.size) {
    await dropFiller(t, h, n);
    return true;
  }
  t.lock.assertHeld('truncate the file');
  fs.ftruncateSync(t.fd, h.newSize);
  fs.fsyncSync(t.fd);
  t.hook('truncated');
  return false;
}

async function holds(fd: number, at: number, want: Buffer): Promise<boolean> {
  const got = Buffer.alloc(want.length);
  return (await preadAll(fd, got, want.length, at)) === want.length && got.equals(want);
}

/** Lines appended after an uncut filler: a new journal (same id, replacing the old one) moves them down. */
async function dropFiller(t: Target, h: JournalHeader, size: number): Promise<void> {
  unlinkQuietly(t.paths.next);
  const fd = createPrivate(t.paths.next, t.owner);
  const h2 = newHeader({ id: h.id, dev: h.dev, ino: h.ino, from: h.newSize, size, dataLen: size - h.size });
  try {
    const out = new OutFile(fd, HEADER_BYTES);
    await copyRange(t.fd, h.size, size - h.size, async (b) => out.write(b), t.chunk);
    await out.flush();
    await commitJournal(fd, t.paths.next, t.paths.journal, h2);
  } catch (err) {
    closeQuietly(fd);
    unlinkQuietly(t.paths.next); // the old journal still stands and is repeated next time
    throw err;
  }
  t.hook('recommitted');
  await runJournal(t, { path: t.paths.journal, fd, h: h2, applied: false }); // closes fd
}

/**
 * The quarantine temp file gets its final name, never replacing a file: if the name is taken by
 * another file, the next free `<name>.<n>` is used. Returns where it is (undefined: nothing to place).
 */
export function placeQuarantine(t: Target, h: JournalHeader): string | undefined {
  if (!h.quarantine) return undefined;
  const tmp = fs.lstatSync(t.paths.qtmp, { throwIfNoEntry: false });
  if (!tmp) return path.join(path.dirname(t.paths.qtmp), path.basename(h.quarantine));
  const { dir, stem, ext } = splitName(path.join(path.dirname(t.paths.qtmp), path.basename(h.quarantine)));
  for (let n = 0; ; n++) {
    const name = path.join(dir, n === 0 ? stem + ext : `${stem}.${n}${ext}`);
    try {
      fs.linkSync(t.paths.qtmp, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const there = fs.lstatSync(name, { throwIfNoEntry: false });
      if (!there || there.ino !== tmp.ino || there.dev !== tmp.dev) continue; // someone else's file
    }
    fs.unlinkSync(t.paths.qtmp);
    fsyncDir(dir);
    return name;
  }
}

/** The end of a repair: journal and temp files go, then (last, after an fsync) the `.inode` link. */
export function finish(t: Target): void {
  unlinkQuietly(t.paths.journal);
  t.hook('unjournaled');
  unlinkQuietly(t.paths.next);
  unlinkQuietly(t.paths.qtmp);
  fsyncDir(path.dirname(t.paths.link));
  unlinkQuietly(t.paths.link);
  fsyncDir(path.dirname(t.paths.link));
  t.hook('unlinked');
}
