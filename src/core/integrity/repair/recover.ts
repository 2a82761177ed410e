import * as fs from 'node:fs';
import * as path from 'node:path';
import { IntegrityError } from '../reader';
import { placeQuarantine, RepairStep, runJournal, Target } from './apply';
import { closeQuietly, ownerOf, unlinkQuietly, fsyncDir } from './io';
import { openJournal } from './journal';
import { RepairLock } from './lock';
import { ArtifactSet, listArtifacts, setPath } from './names';
import type { LockMode } from '../../sink/locks';

export interface RecoverContext {
  live: string;
  timeoutMs: number;
  mode: LockMode;
  hook: (step: RepairStep) => void;
  chunk: number;
}

/**
 * Finishes or cleans what killed repairs left in the family of `live`: each set under the lock of
 * its own file (reached through its `.inode` link, so a file rotated or deleted since is still the
 * right one). A set whose file is locked by someone else for longer than the timeout is probably a
 * repair at work: it is left alone. Returns one line per set handled (for the report).
 */
export async function recoverFamily(c: RecoverContext): Promise<string[]> {
  const done: string[] = [];
  for (const s of listArtifacts(c.live)) {
    try {
      const msg = await recoverSet(c, s);
      if (msg) done.push(msg);
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      // A file locked for longer than the timeout is probably being repaired: not a leftover.
      // Anything else is reported; it does not stop the repair of other files.
      if (err.code !== 'ERR_LOCK_TIMEOUT') done.push(`could not finish what a killed repair of ${s.base} left: ${err.message}`);
    }
  }
  return done;
}

/** Sets whose `.inode` link is this file (dev, ino): recovered under the lock the caller holds. */
export async function recoverOwn(c: RecoverContext, st: { dev: number; ino: number }, lock: RepairLock): Promise<string[]> {
  const done: string[] = [];
  for (const s of listArtifacts(c.live)) {
    const l = fs.lstatSync(setPath(s, 'inode'), { throwIfNoEntry: false });
    if (!l?.isFile() || l.dev !== st.dev || l.ino !== st.ino) continue;
    const msg = await recoverSet(c, s, lock);
    if (msg) done.push(msg);
  }
  return done;
}

async function recoverSet(c: RecoverContext, s: ArtifactSet, held?: RepairLock): Promise<string | undefined> {
  const link = setPath(s, 'inode');
  if (!s.kinds.has('inode')) {
    return `left ${[...s.kinds].map((k) => `.${s.base}.repair-${s.id}.${k}`).join(', ')} alone: without its .inode link the file it belongs to cannot be known (move it away if you removed the link)`;
  }
  let fd: number;
  try {
    fd = fs.openSync(link, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // finished by another repair
    throw new IntegrityError('ERR_WRITE', `cannot open ${link} to finish an interrupted repair: ${(err as Error).message}`, err);
  }
  if (!fs.fstatSync(fd).isFile()) {
    closeQuietly(fd);
    throw new IntegrityError('ERR_NOT_REGULAR', `${link} is not a regular file (repair only ever makes hard links there): left alone`);
  }
  let lock = held;
  try {
    lock ??= await RepairLock.acquire(c.live, fd, { timeoutMs: c.timeoutMs, shared: false, mode: c.mode });
    const st = fs.fstatSync(fd);
    const now = fs.lstatSync(link, { throwIfNoEntry: false });
    if (!now || now.ino !== st.ino || now.dev !== st.dev) return undefined; // finished meanwhile
    const t: Target = {
      live: c.live,
      fd,
      dev: st.dev,
      ino: st.ino,
      owner: ownerOf(st),
      lock,
      paths: { link, journal: setPath(s, 'journal'), next: setPath(s, 'new'), qtmp: setPath(s, 'quarantine') },
      hook: c.hook,
      chunk: c.chunk,
    };
    if (!fs.existsSync(t.paths.journal)) {
      abandon(t); // killed before its journal was committed: the file was never touched
      return `removed the temp files of a repair of ${s.base} that was killed before it changed anything`;
    }
    const j = openJournal(t.paths.journal, st);
    if (typeof j === 'string') throw new IntegrityError('ERR_CHANGED', `${j}; ${s.base} may hold a half-applied repair: move the journal away only if you know the file is consistent`);
    unlinkQuietly(t.paths.next); // a later journal that was never committed
    const q = placeQuarantine(t, j.h);
    await runJournal(t, j);
    return `finished a repair of ${s.base} that was interrupted${q ? ` (its quarantine: ${path.basename(q)})` : ''}`;
  } finally {
    if (!held) lock?.release();
    closeQuietly(fd);
  }
}

/** Removes an uncommitted repair's artifacts (the file was not touched): temp files first, the link last. */
export function abandon(t: Target): void {
  const dir = path.dirname(t.paths.link);
  unlinkQuietly(t.paths.qtmp);
  unlinkQuietly(t.paths.next);
  fsyncDir(dir);
  unlinkQuietly(t.paths.link);
  fsyncDir(dir);
}

